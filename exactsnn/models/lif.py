"""Current-based leaky integrate-and-fire neuron (the model of Lee, Haghighatshoar & Karbasi, 2023).

    dI/dt = -I / tau_syn + sum_j w_j sum_f delta(t - t_j^f - d_j)
    dV/dt = -V / tau_mem + I,        V <- V - threshold at each spike

As a spike response model (for s > 0):

    psp(s)   = (exp(-s/tau_syn) - exp(-s/tau_mem)) / (1/tau_mem - 1/tau_syn)
    reset(s) = threshold * exp(-s/tau_mem)

The parameter set ``tau_syn == tau_mem`` is singular for this formula; the derivation layer
finds it and uses the limit ``psp(s) = s exp(-s/tau_mem)`` there, obtained symbolically.
"""

import sympy

from ..model import S, NeuronModel, Param

CITATION = ("J. H. Lee, S. Haghighatshoar, A. Karbasi. Exact Gradient Computation for Spiking Neural "
            "Networks Through Forward Propagation. AISTATS 2023.")


def build() -> NeuronModel:
    params = (
        Param("tau_syn", 0.5, doc="synaptic current time constant"),
        Param("tau_mem", 1.0, doc="membrane time constant"),
        Param("threshold", 1.0, doc="firing threshold; the reset subtracts it"),
    )
    ts, tm, th = (p.symbol for p in params)
    psp = (sympy.exp(-S / ts) - sympy.exp(-S / tm)) / (1 / tm - 1 / ts)
    reset = th * sympy.exp(-S / tm)
    return NeuronModel("lif", psp, reset, th, params, citation=CITATION,
                       description="current-based LIF, subtractive reset")
