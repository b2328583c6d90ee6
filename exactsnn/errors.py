"""Exception classes. Every exactsnn error derives from ``ExactSNNError``.

Invalid input (a model, network, input spikes or a file) raises a subclass that is also a
``ValueError``; a run that cannot produce a trustworthy answer raises one that is also a
``RuntimeError``. The command line maps the first kind to exit status 2 and the second to 1.
"""


class ExactSNNError(Exception):
    """Base class of every exactsnn error."""


class InvalidInputError(ExactSNNError, ValueError):
    """Base class of the input errors (each is also a ``ValueError``)."""


class ModelError(InvalidInputError):
    """A neuron model, its formulas or its parameter values are invalid."""


class NetworkError(InvalidInputError):
    """Weights, delays, shapes or neuron indices are invalid."""


class InputSpikeError(InvalidInputError):
    """Input spike times are invalid (non-finite, negative, unsorted, wrong shape)."""


class CaseFormatError(InvalidInputError):
    """A case or result JSON file does not follow the exactsnn case format."""


class NIRError(InvalidInputError):
    """A NIR graph (or file) that exactsnn cannot read, or a network that NIR cannot express."""


class SimulationError(ExactSNNError, RuntimeError):
    """The simulation could not produce a trustworthy answer (e.g. spike budget exceeded)."""


class DegenerateSpikeError(ExactSNNError, RuntimeError):
    """A spike at which the exact gradient does not exist or is ill-conditioned.

    Raised under the ``"raise"`` degeneracy policy; ``.report`` holds the per-spike findings.
    """

    def __init__(self, message, report=None):
        super().__init__(message)
        self.report = report
