"""The implicit-function-theorem Jacobian of :mod:`.gradients`, with the history kept as state sums.

The equations are those of :mod:`.gradients` (read its docstring): for spike ``k`` of neuron ``j``,

    Vdot dt_k/dq = -( dF/dq + sum_e (-w_e psp'(s_e)) dtau_e/dq + sum_m reset'(s_m) dt_m/dq ),
    dF/dw_syn = sum_{e in syn} psp(s_e),  dF/dp = sum_e w_e dpsp/dp(s_e) - sum_m dreset/dp(s_m) - dtheta/dp,
    Vdot = sum_e w_e psp'(s_e) - sum_m reset'(s_m).

Every sum has the form ``sum_x f(t_k - tau_x) v_x`` with a kernel ``f`` in ``psp, psp', dpsp/dp,
reset', dreset/dp`` and a sparse vector ``v_x`` (a unit column, a parent's row, a weight; ``Vdot``
is one more component). When every kernel is an exponential polynomial (:mod:`.expstate`), such a
sum is ``sum_{r,i} t_k^i exp(-rate_r t_k) A_{r,i}`` with vector states ``A_{r,i}`` that each event
updates once (equation (2) of :mod:`.expstate`). A spike's row then costs ``O(#states * row size)``
instead of ``O(#arrivals * row size)``; the rows are the same numbers up to rounding at the working
precision (see :mod:`.expstate` for the bound). Rows are kept sparse (dicts ``column -> value``).

Arithmetic: the vector states and rows are fixed-point numbers, Python integers ``X = round(x 2^P)``
(products ``(A B) >> P``, sums exact), ``P = working bits + 64 + ceil(max|rate| t_max / ln 2)``; the
last term is the headroom for ``exp(rate tau)`` and ``exp(-rate t)`` (both lie in
``[exp(-|rate| t_max), exp(|rate| t_max)]``). Each operation errs by at most ``2^-P`` absolutely and
each scalar weight carries the relative error ``2^-(working bits)`` of the ``mp`` value it came from,
so an entry of a row errs by at most ``(#operations) 2^-P / Vdot`` plus the relative error of the term
by term sum at the working precision: far below the requested digits relative to the row's scale
(entries below ``2^-(P - 64)`` times the row's scale may have fewer correct digits; verify and
validate compare entries relative to that scale). Integer arithmetic is ~20x cheaper than ``mpf``
here, and the row work is what dominates at Yin-Yang size (``benchmarks/reference_profile.md``).
"""

from __future__ import annotations

from mpmath import mp
from mpmath.libmp import from_man_exp, round_nearest

from ..errors import SimulationError
from .gradients import layout

VDOT = -1  # the key of dV/dt in the state vectors


class _Fixed:
    """Conversions between ``mpf`` and fixed-point integers with ``bits`` fractional bits."""

    def __init__(self, bits):
        self.bits = bits

    def to_int(self, x):
        return int(mp.nint(mp.ldexp(x, self.bits)))

    def to_mpf(self, n):
        return mp.make_mpf(from_man_exp(n, -self.bits, mp.prec, round_nearest))


def _axpy(acc, a, vec, bits):
    """``acc += a * vec`` (fixed point; ``a`` and the entries of ``vec`` are integers)."""
    for c, x in vec.items():
        acc[c] = acc.get(c, 0) + ((a * x) >> bits)


class _Neuron:
    def __init__(self):
        self.acc = {}  # (r, i) -> {column: fixed-point int}
        self.n_arr = 0
        self.n_own = 0

    def add(self, ex, fx, name, tau, vec):
        for key, b in ex.weights(name, mp, tau).items():
            _axpy(self.acc.setdefault(key, {}), fx.to_int(b), vec, fx.bits)


def ift_jacobian_state(table, ex, rec, weight, n_in, n_p, t_max):
    """Same result as :func:`.gradients.ift_jacobian` (``rows`` dense, time order; ``vdot``), from
    state sums; ``ex`` is the bound :class:`.expstate.ExpPolyTable` of ``table``."""
    n_syn = len(weight)
    cols = layout(n_syn, n_in, n_p)
    width = sum(size for _, size in cols.values())
    d0, in0, p0 = cols["delay"][0], cols["input"][0], cols["model"][0]
    head = max((abs(r) for r in ex.rates[mp]), default=mp.zero) * mp.mpf(t_max) / mp.log(2)
    fx = _Fixed(mp.prec + 64 + int(mp.ceil(head)))
    one = 1 << fx.bits
    index = {key: g for g, key in enumerate(rec.order)}
    neurons = [_Neuron() for _ in rec.spikes]
    sparse, rows, vdots = [], [], []
    theta_dp = [fx.to_int(x) for x in table.theta_dp]
    for g, (j, idx) in enumerate(rec.order):
        nrn = neurons[j]
        for arr in rec.active[j][nrn.n_arr:rec.n_active[g]]:
            k, w = arr.syn, fx.to_int(weight[arr.syn])
            nrn.add(ex, fx, "psp", arr.time, {k: one})
            kind, src = arr.src
            vec = {VDOT: w, d0 + k: -w}
            _axpy(vec, -w, {in0 + src: one} if kind == "input" else sparse[src], fx.bits)
            nrn.add(ex, fx, "dpsp", arr.time, vec)
            for i in range(n_p):
                nrn.add(ex, fx, ("psp_dp", i), arr.time, {p0 + i: w})
        nrn.n_arr = max(nrn.n_arr, rec.n_active[g])
        for m in range(nrn.n_own, idx):
            t_m = rec.spikes[j][m]
            nrn.add(ex, fx, "dreset", t_m, {VDOT: -one, **sparse[index[(j, m)]]})
            for i in range(n_p):
                nrn.add(ex, fx, ("reset_dp", i), t_m, {p0 + i: -one})
        nrn.n_own = idx
        row = _row_at(nrn, ex, fx, rec.times[g])
        vdot_int = row.pop(VDOT, 0)
        for i in range(n_p):
            row[p0 + i] = row.get(p0 + i, 0) - theta_dp[i]
        vdot = fx.to_mpf(vdot_int)
        if not vdot > 0:
            raise SimulationError(f"spike {idx} of neuron {j} at t = {mp.nstr(rec.times[g], 17)} has "
                                  f"dV/dt = {mp.nstr(vdot, 5)} <= 0; its gradient does not exist")
        row = {c: -((x << fx.bits) // vdot_int) for c, x in row.items() if x}
        sparse.append(row)
        dense = [mp.zero] * width
        for c, x in row.items():
            dense[c] = fx.to_mpf(x)
        rows.append(dense)
        vdots.append(vdot)
    return rows, vdots


def _row_at(nrn, ex, fx, t):
    """``sum_{r,i} t^i exp(-rate_r t) A_{r,i}`` as a dict (fixed point)."""
    out = {}
    rates = ex.rates[mp]
    for (r, i), vec in nrn.acc.items():
        _axpy(out, fx.to_int(mp.exp(-rates[r] * t) * t ** i), vec, fx.bits)
    return out
