"""Exception classes. Every one is a ``ValueError``, so callers may catch either."""


class ExactSNNError(ValueError):
    """Base class of exactsnn's input errors."""


class ModelError(ExactSNNError):
    """A neuron model, its formulas or its parameter values are invalid."""


class NetworkError(ExactSNNError):
    """Weights, delays, shapes or neuron indices are invalid."""


class InputSpikeError(ExactSNNError):
    """Input spike times are invalid (non-finite, negative, unsorted, wrong shape)."""


class CaseFormatError(ExactSNNError):
    """A case or result JSON file does not follow the exactsnn case format."""


class NIRError(ExactSNNError):
    """A NIR graph (or file) that exactsnn cannot read, or a network that NIR cannot express."""


class SimulationError(RuntimeError):
    """The simulation could not produce a trustworthy answer (e.g. spike budget exceeded)."""


class DegenerateSpikeError(RuntimeError):
    """A spike at which the exact gradient does not exist or is ill-conditioned.

    Raised under the ``"raise"`` degeneracy policy; ``.report`` holds the per-spike findings.
    """

    def __init__(self, message, report=None):
        super().__init__(message)
        self.report = report
