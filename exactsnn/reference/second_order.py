"""Second derivatives of spike times, independently: differences of the reference's own IFT Jacobian.

This module uses no second-order formula (none of ``proofs/second_order.md``, none of
``exactsnn.hessian``): column ``b`` of ``d2 t_k / dq dq_b`` is the central difference

    ( J(q + h e_b) - J(q - h e_b) ) / 2h,       h = 10**(-((dps + GUARD_DIGITS) // 3)) * max(1, |q_b|),

of the first-order IFT Jacobian ``J`` that the reference computes at ``dps + GUARD_DIGITS`` digits
(each perturbed network simulated again, its crossings certified again). The truncation error is
``O(h^2)`` and the rounding error ``O(10^-(dps + GUARD) / h)``: both ~``10^-(2/3 (dps + GUARD))``,
far below float64 for ``dps = 50``. A delay closer than ``h`` to 0 uses the one-sided
``(-3 J(q) + 4 J(q + h) - J(q + 2h)) / 2h``. The spike pattern must not change under the perturbation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mpmath import mp

from ..errors import SimulationError
from .expressions import working_precision
from .gradients import KINDS, layout
from .solve import GUARD_DIGITS, TAYLOR_ORDER, _jacobian, _subset, setup

SECOND_KINDS = ("weight", "delay", "input", "model")


@dataclass
class ReferenceHessian:
    """Reference second derivatives, rounded to ``dps`` digits.

    times : list of mpf, spike times in time order; ``order`` their ``(neuron, index)``.
    jacobian : list of list of mpf, ``(n_spikes, n_q)`` in the layout ``weight | delay | input | model``.
    columns : list of (kind, index), the differentiated columns ``b``.
    hessian : list (n_spikes) of list (n_q) of list (len(columns)) of mpf: ``d2 t_k / dq_a dq_b``.
    """

    times: list
    order: list
    jacobian: list
    columns: list
    hessian: list
    dps: int
    n_columns: dict

    def as_float(self) -> tuple:
        """``(jacobian (n_spikes, n_q), hessian (n_spikes, n_q, len(columns)))`` as float64 arrays."""
        jac = np.array([[float(x) for x in row] for row in self.jacobian], np.float64)
        hess = np.array([[[float(x) for x in col] for col in row] for row in self.hessian], np.float64)
        return jac.reshape(len(self.times), -1), hess.reshape(len(self.times), jac.shape[-1] if jac.size else 0,
                                                             len(self.columns))

    def flat_index(self, kind: str, index: int) -> int:
        """Position of column ``(kind, index)`` in the ``weight | delay | input | model`` layout."""
        start, size = layout(*(self.n_columns[k] for k in ("weight", "input", "model")))[kind]
        if not 0 <= index < size:
            raise ValueError(f"{kind} index {index} must be in [0, {size})")
        return start + index


def reference_hessian(model, params, network, inputs, t_max, columns=None, dps=50, *, max_spikes=10000,
                      taylor_order=TAYLOR_ORDER) -> ReferenceHessian:
    """Second derivatives ``d2 t_k / dq_a dq_b`` of every spike, for every ``a`` and the requested ``b``.

    Parameters
    ----------
    model, params, network, inputs, t_max, max_spikes, taylor_order
        As for :func:`exactsnn.reference.reference_solve`.
    columns : list of (str, int), optional
        The ``(kind, index)`` columns ``b`` to difference, kind in ``("weight", "delay", "input", "model")``
        (a model parameter by index or name; one population, as the reference); default all of them.
    dps : int
        Decimal digits of the results (``GUARD_DIGITS`` more carried internally).

    Returns
    -------
    ReferenceHessian

    Raises
    ------
    SimulationError
        A perturbation changes the spike pattern (the second derivative does not exist there).
    """
    problem, _, q0 = setup(model, params, network, inputs, t_max, dps, max_spikes, taylor_order)
    cols = [(k, i) for k, i in _subset(columns, q0, model) if k in SECOND_KINDS] if columns is not None else \
        [(k, i) for k in SECOND_KINDS for i in range(len(q0[k]))]
    if columns is not None and len(cols) != len(columns):
        raise ValueError(f"columns must be of kinds {SECOND_KINDS}, got {columns!r}")
    rec, jac0, work = _solve_jacobian(problem, q0)
    h_digits = (dps + GUARD_DIGITS) // 3
    with working_precision(work):
        diffs = [_difference(problem, rec, jac0, q0, kind, i, h_digits) for kind, i in cols]
    with working_precision(dps):
        hess = [[[+d[g][a] for d in diffs] for a in range(len(jac0[g]))] for g in range(len(jac0))]
        jac = [[+x for x in row] for row in jac0]
        return ReferenceHessian([+t for t in rec.times], list(rec.order), jac, cols, hess, dps,
                                {k: len(q0[k]) for k in KINDS})


def _solve_jacobian(problem, q):
    rec, table, work = problem.run(q)
    with working_precision(work):
        rows, _ = _jacobian(table, rec, q["weight"], len(q["input"]), len(q["model"]), problem.t_max)
    return rec, rows, work


def _difference(problem, base, jac0, q0, kind, i, h_digits):
    """``d J / d q_(kind, i)`` by central (or one-sided, at a delay near 0) differences; rows in base order."""
    q = q0[kind][i]
    h = mp.mpf(10) ** (-h_digits) * max(mp.one, abs(q))
    one_sided = kind == "delay" and q - h < 0
    jacs = []
    for step in ((1, 2) if one_sided else (1, -1)):
        moved = dict(q0)
        moved[kind] = list(q0[kind])
        moved[kind][i] = q + step * h
        rec, rows, _ = _solve_jacobian(problem, moved)
        if rec.order != base.order:
            raise SimulationError(f"second differences: perturbing {kind}[{i}] by {mp.nstr(h, 3)} changes the spike "
                                  "pattern; the second derivative does not exist here")
        jacs.append(rows)
    a, b = jacs
    if one_sided:
        return [[(-3 * x0 + 4 * xa - xb) / (2 * h) for x0, xa, xb in zip(r0, ra, rb)] for r0, ra, rb in zip(jac0, a, b)]
    return [[(xa - xb) / (2 * h) for xa, xb in zip(ra, rb)] for ra, rb in zip(a, b)]
