"""The small networks that several documents' checks share, built at the caller's precision."""

from __future__ import annotations

import mpmath as mp

from exactsnn.models import lif, nonleaky_if

from .mp_network import Network, kernels

#: tau_syn, tau_mem, theta of the running LIF example (tau_mem = 2 tau_syn).
LIF_Q = ("0.5", "1", "1")


def lif_kernels(tau_syn=0.5, tau_mem=1.0):
    """Kernels of ``exactsnn.models.lif`` near the given time constants and theta = 1.

    ``|psp''| <= 1/tau_syn + 1/tau_mem`` (its value at s = 0), ``|reset''| <= theta/tau_mem^2``;
    both bounds get a 1 % margin for the small parameter perturbations of finite differences.
    """
    m = lif.build()
    syms = [m.symbols[n] for n in m.param_names]
    return kernels(m.psp, m.reset, m.threshold, syms,
                   curv_psp=1.01 * (1 / tau_syn + 1 / tau_mem), curv_reset=1.01 / tau_mem**2)


def nonleaky_kernels(tau_syn=0.5):
    """Kernels of ``exactsnn.models.nonleaky_if``; ``|psp''| <= 1/tau_syn``, ``reset'' = 0``."""
    m = nonleaky_if.build()
    syms = [m.symbols[n] for n in m.param_names]
    return kernels(m.psp, m.reset, m.threshold, syms, curv_psp=1.01 / tau_syn, curv_reset=0.0)


def single_neuron(kern, q, inputs, weights, t_max, delays=None):
    """One neuron driven by input channel ``c`` through weight ``weights[c]``."""
    delays = delays or [0] * len(weights)
    syn = tuple((("in", c), 0, mp.mpf(w), mp.mpf(d)) for c, (w, d) in enumerate(zip(weights, delays)))
    return Network(kern, tuple(mp.mpf(x) for x in q),
                   tuple(tuple(mp.mpf(t) for t in ch) for ch in inputs), 1, syn, mp.mpf(t_max))


def two_layer_lif():
    """Two LIF neurons: neuron 0 fires three times, neuron 1 twice.

    Neuron 0 hears channel 0 (spikes at 0.0 and 0.35) and channel 1 (spike at 0.1); neuron 1 hears
    neuron 0 (delay 0.05) and channel 1. Every kind of causal edge occurs:
    input -> neuron, neuron -> neuron, own reset.
    """
    m = mp.mpf
    syn = (
        (("in", 0), 0, m("3.5"), m("0.01")),
        (("in", 1), 0, m("2.5"), m("0.02")),
        (("n", 0), 1, m("2.5"), m("0.05")),
        (("in", 1), 1, m("1"), m("0.01")),
    )
    inputs = ((m("0"), m("0.35")), (m("0.1"),))
    return Network(lif_kernels(), tuple(m(x) for x in LIF_Q), inputs, 2, syn, m("3"))
