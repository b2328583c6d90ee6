"""Current-based LIF neuron with an adaptive threshold (a slow reset component that accumulates).

Equations::

    dI/dt = -I / tau_syn                          input spike: I += w
    dV/dt = -V / tau_mem + I                      spike: V <- V - threshold
    da/dt = -a / tau_adapt                        spike: a <- a + beta
    spike when V - a crosses threshold from below

``a`` raises the effective threshold ``threshold + a(t)`` after every spike and decays slowly, so it
accumulates over a burst and spaces later spikes out (spike-frequency adaptation). With the
membrane variable ``V - a``, as a spike response model (for ``s > 0``)::

    psp(s)   = (exp(-s/tau_syn) - exp(-s/tau_mem)) / (1/tau_mem - 1/tau_syn)     (the lif kernel)
    reset(s) = threshold * exp(-s/tau_mem) + beta * exp(-s/tau_adapt)

Assumptions
-----------
- Time constants positive, ``beta > 0`` (``beta -> 0`` is ``lif``); one adaptation variable per neuron,
  jumping by ``beta`` and decaying with ``tau_adapt`` (usually ``tau_adapt >> tau_mem``).
- ``tau_syn == tau_mem`` is the singular set of the PSP formula; ``exactsnn.derive`` uses its limit.
- Three rates: crossings are isolated by the interval strategy.

Adaptive threshold as in the adaptive LIF (ALIF) neurons of Bellec et al. (2018), in continuous time;
see also Gerstner, Kistler, Naud & Paninski, Neuronal Dynamics (2014), ch. 6 (spike response model
with adaptation).
"""

import sympy

from ..model import S, NeuronModel, Param

CITATION = ("G. Bellec, D. Salaj, A. Subramoney, R. Legenstein, W. Maass. Long short-term memory and "
            "learning-to-learn in networks of spiking neurons. NeurIPS 2018.")


def build() -> NeuronModel:
    """The symbolic ``adaptive_threshold`` model."""
    params = (
        Param("tau_syn", 0.5, doc="synaptic current time constant"),
        Param("tau_mem", 1.0, doc="membrane time constant"),
        Param("threshold", 1.0, doc="baseline firing threshold; the reset subtracts it from V"),
        Param("beta", 0.5, doc="threshold increase per spike"),
        Param("tau_adapt", 4.0, doc="time constant of the threshold adaptation"),
    )
    ts, tm, th, beta, ta = (p.symbol for p in params)
    psp = (sympy.exp(-S / ts) - sympy.exp(-S / tm)) / (1 / tm - 1 / ts)
    reset = th * sympy.exp(-S / tm) + beta * sympy.exp(-S / ta)
    return NeuronModel("adaptive_threshold", psp, reset, th, params, citation=CITATION,
                       description="current-based LIF with an adaptive threshold, subtractive reset")
