"""Current-based LIF neuron with a dual-exponential (rise and decay) synaptic current.

Equations::

    dR/dt = -R / tau_rise                         input spike: R += w
    dI/dt = -I / tau_decay + R / tau_rise
    dV/dt = -V / tau_mem + I,                     V <- V - threshold at each spike

The synaptic current of one input is ``I(s) = w tau_decay / (tau_decay - tau_rise) (exp(-s/tau_decay)
- exp(-s/tau_rise))``: it rises with ``tau_rise``, decays with ``tau_decay`` and carries the charge
``w tau_decay`` of the single-exponential synapse of ``lif`` (which it becomes as ``tau_rise -> 0``).
As a spike response model (for ``s > 0``), with the three constants ``T = (tau_rise, tau_decay, tau_mem)``::

    psp(s)   = tau_decay tau_mem sum_{tau in T} tau exp(-s/tau) / prod_{sigma in T, sigma != tau} (tau - sigma)
    reset(s) = threshold * exp(-s/tau_mem)

(the residues of ``c^T (z - A)^{-1} b e^{zs}``, as ``exactsnn.models.ode`` computes them; equivalently
``tau_decay / (tau_decay - tau_rise) (h(s; tau_decay) - h(s; tau_rise))`` with ``h`` the ``lif`` kernel.
This form derives faster than the nested one.)

Assumptions
-----------
- All time constants positive. The formula divides by ``tau_decay - tau_rise``, ``tau_mem - tau_decay``
  and ``tau_mem - tau_rise``; on each of those equalities ``exactsnn.derive`` uses the symbolic limit
  (the exact Jordan-form kernel, as ``exactsnn.models.ode`` computes it from the ODEs).
- Three distinct rates: ``V`` may have several critical points between events, so crossings are
  isolated by the interval strategy.

The dual-exponential ("beta", "exp2") synapse and its exact integration as a linear system follow
Rotter & Diesmann (1999).
"""

import sympy

from ..model import S, NeuronModel, Param

CITATION = ("S. Rotter, M. Diesmann. Exact digital simulation of time-invariant linear systems with "
            "applications to neuronal modeling. Biological Cybernetics 81, 381-402 (1999).")


def build() -> NeuronModel:
    """The symbolic ``lif_dual_exp`` model."""
    params = (
        Param("tau_rise", 0.1, doc="rise time constant of the synaptic current"),
        Param("tau_decay", 0.5, doc="decay time constant of the synaptic current"),
        Param("tau_mem", 1.0, doc="membrane time constant"),
        Param("threshold", 1.0, doc="firing threshold; the reset subtracts it"),
    )
    tr, td, tm, th = (p.symbol for p in params)

    taus = (tr, td, tm)
    psp = td * tm * sympy.Add(*[tau * sympy.exp(-S / tau) / sympy.Mul(*[tau - sig for sig in taus if sig != tau])
                                for tau in taus])
    reset = th * sympy.exp(-S / tm)
    return NeuronModel("lif_dual_exp", psp, reset, th, params, citation=CITATION,
                       description="current-based LIF, dual-exponential synapse, subtractive reset")
