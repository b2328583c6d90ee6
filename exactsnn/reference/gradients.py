"""Spike-time gradients two ways: the implicit function theorem, and finite differences.

Parameter vector layout (one column each), used by every Jacobian row::

    [ weight[0..n_syn) | delay[0..n_syn) | input spike times (flat) | model parameters ]

Implicit function theorem
-------------------------
Spike ``k`` of neuron ``j`` at ``t_k`` solves ``F(t_k) = V_j(t_k) - theta = 0``. With active arrivals
``e`` (synapse ``syn_e``, weight ``w_e``, arrival ``tau_e = t_src(e) + d_e``) and own earlier spikes
``m``,

    F = sum_e w_e psp(t_k - tau_e) - sum_m reset(t_k - t_m) - theta,
    Vdot = dF/dt_k = sum_e w_e psp'(t_k - tau_e) - sum_m reset'(t_k - t_m),

    dt_k/dq = -( dF/dq + sum_e (-w_e psp'(s_e)) dtau_e/dq + sum_m reset'(s_m) dt_m/dq ) / Vdot,

where ``dtau_e/dq = dt_src/dq + [q = d_e]`` (an input time's derivative with respect to itself is 1)
and the explicit partials are ``dF/dw = sum_e psp(s_e)`` over the arrivals through that synapse and
``dF/dp = sum_e w_e dpsp/dp - sum_m dreset/dp - dtheta/dp``. The own-reset sum is what makes the
gradient of a neuron's second and later spikes right. Rows are solved forward in time order.

Finite differences
------------------
Central differences ``(t(q + h) - t(q - h)) / 2h`` with the spike pattern held fixed (the number of
spikes per neuron must not change), ``h = 10**(-((dps + GUARD) // 3)) * max(1, |q|)``. A delay closer than
``h`` to 0 uses the one-sided ``(-3 t(q) + 4 t(q + h) - t(q + 2h)) / 2h``.
"""

from __future__ import annotations

from mpmath import mp

from ..errors import SimulationError

KINDS = ("weight", "delay", "input", "model")


def layout(n_syn, n_in, n_p):
    """Column offsets of the four parameter blocks: ``{kind: (start, size)}``."""
    sizes = dict(zip(KINDS, (n_syn, n_syn, n_in, n_p)))
    out, start = {}, 0
    for kind in KINDS:
        out[kind] = (start, sizes[kind])
        start += sizes[kind]
    return out


def ift_jacobian(table, rec, weight, n_in, n_p):
    """Forward-mode IFT Jacobian of every spike time.

    Parameters
    ----------
    table : KernelTable
    rec : SimRecord
    weight : list of mpf
    n_in, n_p : int
        Number of input spikes and of model parameters.

    Returns
    -------
    rows : list of list of mpf
        One row per spike in time order, columns as in :func:`layout`.
    vdot : list of mpf
        ``dV/dt`` at each spike.
    """
    n_syn = len(weight)
    cols = layout(n_syn, n_in, n_p)
    width = sum(size for _, size in cols.values())
    index = {key: g for g, key in enumerate(rec.order)}
    rows, vdots = [], []
    for g, (j, idx) in enumerate(rec.order):
        row = [mp.zero] * width
        vdot = _arrival_terms(table, rec, g, weight, cols, rows, row)
        vdot += _own_terms(table, rec, g, cols, rows, index, row)
        p0 = cols["model"][0]
        for i in range(n_p):
            row[p0 + i] -= table.theta_dp[i]
        if not vdot > 0:
            raise SimulationError(f"spike {idx} of neuron {j} at t = {mp.nstr(rec.times[g], 17)} has "
                                  f"dV/dt = {mp.nstr(vdot, 5)} <= 0; its gradient does not exist")
        rows.append([-x / vdot for x in row])
        vdots.append(vdot)
    return rows, vdots


def _arrival_terms(table, rec, g, weight, cols, rows, row):
    """Add every arrival's contributions to ``row``; return its part of ``Vdot``."""
    j, _ = rec.order[g]
    t = rec.times[g]
    d0, in0, p0 = cols["delay"][0], cols["input"][0], cols["model"][0]
    n_p = cols["model"][1]
    vdot = mp.zero
    for arr in rec.active[j][:rec.n_active[g]]:
        k, w, s = arr.syn, weight[arr.syn], t - arr.time
        dpsp = table.psp(mp, 1, s)
        vdot += w * dpsp
        row[k] += table.psp(mp, 0, s)
        coef = -w * dpsp
        row[d0 + k] += coef
        kind, src = arr.src
        if kind == "input":
            row[in0 + src] += coef
        else:
            _axpy(row, coef, rows[src], stop=p0 + n_p)
        for i in range(n_p):
            row[p0 + i] += w * table.psp_dp(i, s)
    return vdot


def _own_terms(table, rec, g, cols, rows, index, row):
    """Add the own-reset contributions (earlier spikes of the same neuron); return their ``Vdot`` part."""
    j, idx = rec.order[g]
    t = rec.times[g]
    p0, n_p = cols["model"]
    vdot = mp.zero
    for m, t_m in enumerate(rec.spikes[j][:idx]):
        s = t - t_m
        dreset = table.reset(mp, 1, s)
        vdot -= dreset
        _axpy(row, dreset, rows[index[(j, m)]], stop=p0 + n_p)
        for i in range(n_p):
            row[p0 + i] -= table.reset_dp(i, s)
    return vdot


def _axpy(row, a, x, stop):
    for i in range(stop):
        if x[i]:
            row[i] += a * x[i]


def finite_differences(run, base, q0, subset, h_digits, labels=None):
    """Finite-difference Jacobian columns of the spike times.

    Parameters
    ----------
    run : callable
        ``run(kind, index, value) -> SimRecord``: a simulation with one parameter replaced.
    base : SimRecord
        The unperturbed simulation (fixes the spike pattern and the row order).
    q0 : dict
        ``kind -> list of mpf``: the unperturbed values of each parameter kind.
    subset : list of (str, int)
        The ``(kind, index)`` columns to compute.
    h_digits : int
        ``h = 10**(-h_digits) * max(1, |q|)``.
    labels : dict, optional
        ``kind -> list of names`` used in error messages (e.g. the model's parameter names).

    Returns
    -------
    dict
        ``(kind, index) -> list of mpf``, one entry per spike in ``base`` time order.
    """
    counts = [len(s) for s in base.spikes]
    out = {}
    for kind, i in subset:
        q = q0[kind][i]
        h = mp.mpf(10) ** (-h_digits) * max(mp.one, abs(q))
        one_sided = kind == "delay" and q - h < 0
        steps = (1, 2) if one_sided else (1, -1)
        sims = [run(kind, i, q + n * h) for n in steps]
        for sim in sims:
            got = [len(s) for s in sim.spikes]
            if got != counts:
                name = repr(labels[kind][i]) if labels and kind in labels else f"{kind}[{i}]"
                raise SimulationError(
                    f"finite differences: perturbing {kind} {name} by {mp.nstr(h, 3)} changes the spike "
                    f"counts per neuron from {counts} to {got}; the spike pattern is not locally fixed"
                )
        column = []
        for j, idx in base.order:
            t_a, t_b = (sim.spikes[j][idx] for sim in sims)
            if one_sided:
                column.append((-3 * base.spikes[j][idx] + 4 * t_a - t_b) / (2 * h))
            else:
                column.append((t_a - t_b) / (2 * h))
        out[(kind, i)] = column
    return out
