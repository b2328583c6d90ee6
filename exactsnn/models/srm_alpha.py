"""Spike response model with an alpha-function PSP (Comsa et al. 2020), multi-spike with a reset.

Equations (for ``s > 0``; both kernels vanish for ``s <= 0``)::

    psp(s)   = (s / tau) * exp(1 - s / tau)          peak 1 at s = tau
    reset(s) = threshold * exp(-s / tau)
    V(t) = sum_j w_j sum_f psp(t - t_j^f - d_j) - sum_k reset(t - t^k)

Equivalently, as linear ODEs: ``dI/dt = -I/tau``, ``dV/dt = -V/tau + I``, an input adds ``(e/tau) w``
to ``I``, and a spike subtracts ``threshold`` from ``V``. (The alpha PSP is the LIF kernel at
``tau_syn == tau_mem == tau``, scaled to peak 1.)

Assumptions
-----------
- One time constant ``tau > 0`` for the PSP; the PSP is normalised to peak 1 at ``s = tau``.
- Comsa et al. let every neuron fire at most once and so have no reset. Here a neuron may fire
  again: each spike subtracts ``threshold`` from ``V``, which then relaxes with the same ``tau``
  (the membrane's decay). With one shared rate the potential between events is
  ``(a + b u) exp(-u/tau)``: at most one critical point per interval (the closed-form ``expsum``
  crossing strategy), and the upward crossing is the Lambert-W form of Comsa et al. (branch ``W0``).
  Kernels with a separate reset constant ``tau_r`` are user kernel models (interval strategy).
- ``threshold > 0``; the reset brings ``V`` down by exactly ``threshold`` at the spike.
"""

import sympy

from ..model import S, NeuronModel, Param

CITATION = ("I. M. Comsa, K. Potempa, L. Versari, T. Fischbacher, A. Gesmundo, J. Alakuijala. Temporal "
            "Coding in Spiking Neural Networks with Alpha Synaptic Function. ICASSP 2020, 8529-8533.")


def build() -> NeuronModel:
    """The symbolic ``srm_alpha`` model (parameters ``tau``, ``threshold``)."""
    params = (
        Param("tau", 1.0, doc="time constant of the alpha PSP (its peak time) and of the reset's decay"),
        Param("threshold", 1.0, doc="firing threshold; the reset subtracts it"),
    )
    tau, th = (p.symbol for p in params)
    psp = S / tau * sympy.exp(1 - S / tau)
    reset = th * sympy.exp(-S / tau)
    return NeuronModel("srm_alpha", psp, reset, th, params, citation=CITATION,
                       description="alpha-PSP spike response model, subtractive reset decaying with tau")
