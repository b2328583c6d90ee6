"""Current-based LIF neuron with two synaptic current components of different time constants.

Equations::

    dI_f/dt = -I_f / tau_fast                     input spike: I_f += (1 - frac_slow) w
    dI_s/dt = -I_s / tau_slow                     input spike: I_s += frac_slow w
    dV/dt = -V / tau_mem + I_f + I_s,             V <- V - threshold at each spike

Every synapse splits its weight between a fast and a slow current (e.g. AMPA- and NMDA-like) by the
fixed fraction ``frac_slow``. As a spike response model (for ``s > 0``)::

    psp(s)   = (1 - frac_slow) h(s; tau_fast) + frac_slow h(s; tau_slow)
    h(s; tau) = (exp(-s/tau) - exp(-s/tau_mem)) / (1/tau_mem - 1/tau)        (the lif kernel)
    reset(s) = threshold * exp(-s/tau_mem)

Assumptions
-----------
- Time constants positive, ``0 < frac_slow < 1`` (shared by all synapses; a learnable parameter).
- ``tau_fast == tau_mem`` and ``tau_slow == tau_mem`` are singular sets of the formula; ``exactsnn.derive``
  uses the symbolic limit there. ``tau_fast == tau_slow`` is not singular.
- Three distinct rates: crossings are isolated by the interval strategy.

Two-component synaptic currents (fast and slow receptors) as sums of exponential kernels: Gerstner,
Kistler, Naud & Paninski (2014), ch. 3; exact integration as a linear system: Rotter & Diesmann (1999).
"""

import sympy

from ..model import S, NeuronModel, Param

CITATION = ("W. Gerstner, W. M. Kistler, R. Naud, L. Paninski. Neuronal Dynamics. Cambridge University "
            "Press (2014), ch. 3; S. Rotter, M. Diesmann. Biological Cybernetics 81, 381-402 (1999).")


def build() -> NeuronModel:
    """The symbolic ``lif_two_synapse`` model."""
    params = (
        Param("tau_fast", 0.25, doc="time constant of the fast synaptic current"),
        Param("tau_slow", 2.0, doc="time constant of the slow synaptic current"),
        Param("frac_slow", 0.3, lower=0.0, upper=1.0, doc="fraction of each weight carried by the slow current"),
        Param("tau_mem", 1.0, doc="membrane time constant"),
        Param("threshold", 1.0, doc="firing threshold; the reset subtracts it"),
    )
    tf, tsl, frac, tm, th = (p.symbol for p in params)

    def h(tau):
        return (sympy.exp(-S / tau) - sympy.exp(-S / tm)) / (1 / tm - 1 / tau)

    psp = (1 - frac) * h(tf) + frac * h(tsl)
    reset = th * sympy.exp(-S / tm)
    return NeuronModel("lif_two_synapse", psp, reset, th, params, citation=CITATION,
                       description="current-based LIF, fast + slow synaptic currents, subtractive reset")
