"""Non-leaky integrate-and-fire neuron with exponential synaptic current (Mostafa 2017).

    dI/dt = -I / tau_syn + sum_j w_j sum_f delta(t - t_j^f - d_j)
    dV/dt = I,        V <- V - threshold at each spike

As a spike response model (for s > 0):

    psp(s)   = tau_syn * (1 - exp(-s/tau_syn))
    reset(s) = threshold

This is the case format's ``"lif"`` with ``"tau_mem": null``.
"""

import sympy

from ..model import S, NeuronModel, Param

CITATION = ("H. Mostafa. Supervised Learning Based on Temporal Coding in Spiking Neural Networks. "
            "IEEE TNNLS 29(7), 2018.")


def build() -> NeuronModel:
    params = (
        Param("tau_syn", 0.5, doc="synaptic current time constant"),
        Param("threshold", 1.0, doc="firing threshold; the reset subtracts it"),
    )
    ts, th = (p.symbol for p in params)
    psp = ts * (1 - sympy.exp(-S / ts))
    reset = th + 0 * S
    return NeuronModel("nonleaky_if", psp, reset, th, params, citation=CITATION,
                       description="non-leaky IF, exponential synaptic current, subtractive reset")
