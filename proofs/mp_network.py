"""A small high-precision spike response network, written only for the checks in ``proofs/``.

It is deliberately independent of the library's numeric path: everything is mpmath, the kernels
come from SymPy expressions through ``lambdify``, and precision is whatever the caller's
``mpmath.workdps`` sets (nothing here changes it).

The network is feed-forward in neuron index: a synapse goes from an input channel or from a
neuron ``j`` to a neuron ``i > j``. The potential of neuron ``i`` is

    V_i(t) = sum_syn w sum_f psp(t - t_src^f - d) - sum_k reset(t - t_i^k),

and a spike is the first time after the previous one at which ``V_i`` reaches ``theta``.
Crossings are located by recursive subdivision with a bound on ``|V_i''|`` (a cell is discarded
only when Taylor's theorem proves ``V_i < theta`` on it, so no crossing is skipped), then polished
by bisection and Newton. The one exception: inside a final bracket of width 1e-9 the crossing found
is taken as the first, which could only be wrong for a potential that touches theta twice within
1e-9 (a near-tangency the checks avoid by construction). A cell narrower than ``min_width`` that
can neither be discarded nor shown to contain a crossing raises ``TangencyError``.

Names follow the documents: ``vdot`` is dV/dt at a spike, ``a_off[e][e']`` is dF_e/dt_{e'} for a
causal parent ``e'`` of spike ``e``, ``b[e][key]`` is dF_e/dp, with ``F_e = V_i(t_e) - theta``.
Parameter keys: ``("w", s)`` weight of synapse ``s``, ``("d", s)`` its delay, ``("x", c, f)``
time of input spike ``f`` of channel ``c``, ``("q", name)`` a model parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import mpmath as mp
import sympy

from exactsnn.model import S


@dataclass(frozen=True)
class Kernels:
    """mpmath callables of one spike response model.

    Every callable takes ``(s, *q)`` with ``q`` the parameter values in ``names`` order
    (``theta`` and ``theta_q`` take ``*q`` only). ``curv_psp`` and ``curv_reset`` bound
    ``|psp''|`` and ``|reset''|`` on ``s > 0`` for the parameter values used by a check.
    """

    names: tuple
    psp: object
    dpsp: object
    psp_q: dict
    reset: object
    dreset: object
    reset_q: dict
    psp_both: object
    reset_both: object
    theta: object
    theta_q: dict
    curv_psp: float
    curv_reset: float


def kernels(psp, reset, threshold, symbols, curv_psp, curv_reset) -> Kernels:
    """Lambdify a model's SymPy expressions (and their partial derivatives) to mpmath."""
    symbols = tuple(symbols)
    names = tuple(str(x) for x in symbols)
    args = (S,) + symbols

    def f(expr):
        return sympy.lambdify(args, expr, modules="mpmath")

    def g(expr):
        return sympy.lambdify(symbols, expr, modules="mpmath")

    def both(expr):  # (kernel, its s-derivative) with shared subexpressions
        return sympy.lambdify(args, (expr, sympy.diff(expr, S)), modules="mpmath", cse=True)

    return Kernels(
        names=names,
        psp=f(psp), dpsp=f(sympy.diff(psp, S)),
        psp_q={str(x): f(sympy.diff(psp, x)) for x in symbols},
        reset=f(reset), dreset=f(sympy.diff(reset, S)),
        reset_q={str(x): f(sympy.diff(reset, x)) for x in symbols},
        theta=g(threshold), theta_q={str(x): g(sympy.diff(threshold, x)) for x in symbols},
        psp_both=both(psp), reset_both=both(reset),
        curv_psp=curv_psp, curv_reset=curv_reset,
    )


@dataclass(frozen=True)
class Network:
    """Inputs, synapses ``(src, dst, w, d)`` with ``src = ("in", c)`` or ``("n", j)``, and ``t_max``."""

    kern: Kernels
    q: tuple
    inputs: tuple
    n_neurons: int
    synapses: tuple
    t_max: object

    def __post_init__(self):
        for s, (src, dst, _w, d) in enumerate(self.synapses):
            if src[0] == "n" and not src[1] < dst:
                raise ValueError(f"synapse {s}: neuron {src[1]} -> {dst} is not feed-forward")
            if d < 0:
                raise ValueError(f"synapse {s}: delay {d} < 0")

    def param_keys(self):
        keys = [("w", s) for s in range(len(self.synapses))]
        keys += [("d", s) for s in range(len(self.synapses))]
        keys += [("x", c, f) for c, ch in enumerate(self.inputs) for f in range(len(ch))]
        keys += [("q", n) for n in self.kern.names]
        return keys

    def perturbed(self, key, h) -> "Network":
        """The same network with parameter ``key`` increased by ``h``."""
        if key[0] in ("w", "d"):
            syn = [list(x) for x in self.synapses]
            syn[key[1]][2 if key[0] == "w" else 3] += h
            return replace(self, synapses=tuple(tuple(x) for x in syn))
        if key[0] == "x":
            inp = [list(ch) for ch in self.inputs]
            inp[key[1]][key[2]] += h
            return replace(self, inputs=tuple(tuple(ch) for ch in inp))
        q = list(self.q)
        q[self.kern.names.index(key[1])] += h
        return replace(self, q=tuple(q))


class TangencyError(RuntimeError):
    """The potential comes within the resolution limit of ``theta`` without a resolvable crossing."""


def _potential(net, arrivals, spikes):
    """``vd(t) = (V(t), V'(t))`` for the given arrivals and own spikes."""
    k, q = net.kern, net.q

    def vd(t):
        v, dv = mp.mpf(0), mp.mpf(0)
        for a, w, _syn, _src in arrivals:
            if a < t:
                p, dp = k.psp_both(t - a, *q)
                v += w * p
                dv += w * dp
        for tk in spikes:
            if tk <= t:
                r, dr = k.reset_both(t - tk, *q)
                v -= r
                dv -= dr
        return v, dv

    return vd


def _polish(vd, theta, a, b, va):
    """The crossing in ``[a, b]`` where ``v(a) < theta <= v(b)``: bisection, then Newton."""
    while b - a > mp.mpf("1e-12") * (1 + abs(b)):
        m = (a + b) / 2
        vm = vd(m)[0]
        if vm < theta:
            a, va = m, vm
        else:
            b = m
    t, tol = b, mp.mpf(10) ** (-mp.mp.dps + 3)
    for _ in range(12):
        v, dv = vd(t)
        t_new = min(max(t - (v - theta) / dv, a), b)
        if abs(t_new - t) <= tol * (1 + abs(t)):
            return t_new
        t = t_new
    return t


def _first_crossing(vd, theta, a, b, va, vb, curv, min_width):
    """First ``t`` in ``(a, b]`` with ``v(t) >= theta``, or ``None``, given ``v(a) < theta``.

    ``curv`` bounds ``|v''|`` on ``(a, b)``. With the midpoint ``m`` and ``delta = b - a``,
    Taylor's theorem gives ``max v <= v(m) + |v'(m)| delta/2 + curv delta^2/8`` on the cell, so a
    cell whose bound is below ``theta`` holds no crossing; other cells are halved, left first.
    """
    if vb >= theta and b - a < mp.mpf("1e-9"):
        return _polish(vd, theta, a, b, va)
    m, delta = (a + b) / 2, b - a
    vm, dvm = vd(m)
    if vm >= theta:
        left = _first_crossing(vd, theta, a, m, va, vm, curv, min_width)
        return left if left is not None else _polish(vd, theta, a, m, va)
    if vm + abs(dvm) * delta / 2 + curv * delta**2 / 8 < theta and vb < theta:
        return None
    if delta < min_width:
        raise TangencyError(f"V comes within {theta - max(va, vb, vm)} of theta near t={a}")
    left = _first_crossing(vd, theta, a, m, va, vm, curv, min_width)
    if left is not None:
        return left
    return _first_crossing(vd, theta, m, b, vm, vb, curv, min_width)


@dataclass
class Record:
    """Spike times and the causal record of one simulation.

    ``spikes[i]`` lists neuron ``i``'s spike times; ``events`` lists ``(i, k)`` in time order;
    ``arrivals[i]`` lists ``(a, w, syn, src)`` with ``src = ("in", c, f)`` or ``("n", j, k)``.
    """

    net: Network
    spikes: list
    arrivals: list
    events: list

    def time(self, e):
        i, k = e
        return self.spikes[i][k]


def simulate(net: Network, min_width=mp.mpf("1e-14"), shift=None) -> Record:
    """Event-driven simulation of ``net`` on ``[0, t_max]`` at the current mpmath precision.

    ``shift`` maps a spike ``(i, k)`` to an offset: that spike is emitted (and resets) at its
    threshold crossing plus the offset, and everything after it is solved anew. The derivative of a
    loss in that offset is the adjoint ``lambda`` of the spike (hebbian.md, eq. 1.3).
    """
    shift = shift or {}
    k, q = net.kern, net.q
    theta = k.theta(*q)
    spikes, arrivals = [], []
    for i in range(net.n_neurons):
        arr = []
        for s, (src, dst, w, d) in enumerate(net.synapses):
            if dst != i:
                continue
            times = net.inputs[src[1]] if src[0] == "in" else spikes[src[1]]
            for f, tf in enumerate(times):
                arr.append((tf + d, w, s, (src[0], src[1], f)))
        arr.sort(key=lambda x: x[0])
        own = []
        t0 = mp.mpf(0)
        while True:
            vd = _potential(net, arr, own)
            cuts = [t0] + [a for a, *_ in arr if t0 < a < net.t_max] + [net.t_max]
            curv = sum(abs(w) for _a, w, *_ in arr) * k.curv_psp + len(own) * k.curv_reset
            found = None
            for a, b in zip(cuts[:-1], cuts[1:]):
                found = _first_crossing(vd, theta, a, b, vd(a)[0], vd(b)[0], curv, min_width)
                if found is not None:
                    break
            if found is None:
                break
            found += shift.get((i, len(own)), 0)
            own.append(found)
            t0 = found
        spikes.append(own)
        arrivals.append(arr)
    events = sorted(((i, kk) for i in range(net.n_neurons) for kk in range(len(spikes[i]))),
                    key=lambda e: spikes[e[0]][e[1]])
    return Record(net, spikes, arrivals, events)


@dataclass
class IFTSystem:
    """The linearised spike equations ``A J = -B`` in time order (see forward_propagation.md).

    ``vdot[e]`` is the diagonal, ``a_off[e]`` maps a causal parent to dF_e/dt_parent,
    ``b[e]`` maps a parameter key to dF_e/dp.
    """

    events: list
    keys: list
    vdot: list
    a_off: list
    b: list


def ift_system(rec: Record, own_reset=True) -> IFTSystem:
    """Partial derivatives of ``F_e = V_i(t_e) - theta`` at every spike ``e``.

    ``own_reset=False`` drops the dependence on the neuron's own earlier spikes (the wrong
    variant that own_reset.md shows to be wrong).
    """
    net, k, q = rec.net, rec.net.kern, rec.net.q
    index = {e: n for n, e in enumerate(rec.events)}
    keys = net.param_keys()
    vdot, a_off, b = [], [], []
    for i, kk in rec.events:
        t = rec.spikes[i][kk]
        vd, par, bb = mp.mpf(0), {}, {key: mp.mpf(0) for key in keys}
        for a, w, syn, src in rec.arrivals[i]:
            if not a < t:
                continue
            s = t - a
            dp = k.dpsp(s, *q)
            vd += w * dp
            bb[("w", syn)] += k.psp(s, *q)
            bb[("d", syn)] -= w * dp
            for n in k.names:
                bb[("q", n)] += w * k.psp_q[n](s, *q)
            if src[0] == "in":
                bb[("x", src[1], src[2])] -= w * dp
            else:
                e_src = index[(src[1], src[2])]
                par[e_src] = par.get(e_src, 0) - w * dp
        for k2 in range(kk):
            s = t - rec.spikes[i][k2]
            dr = k.dreset(s, *q)
            vd -= dr
            for n in k.names:
                bb[("q", n)] -= k.reset_q[n](s, *q)
            if own_reset:
                par[index[(i, k2)]] = par.get(index[(i, k2)], 0) + dr
        for n in k.names:
            bb[("q", n)] -= k.theta_q[n](*q)
        vdot.append(vd)
        a_off.append(par)
        b.append(bb)
    return IFTSystem(list(rec.events), keys, vdot, a_off, b)


def forward_propagation(sys: IFTSystem):
    """Rows ``J[e][key] = dt_e/dp`` by forward substitution in time order."""
    jac = []
    for e in range(len(sys.events)):
        row = {}
        for key in sys.keys:
            acc = sys.b[e][key]
            for p, a in sys.a_off[e].items():
                acc += a * jac[p][key]
            row[key] = -acc / sys.vdot[e]
        jac.append(row)
    return jac


def adjoint(sys: IFTSystem, g):
    """``lambda_e = dL/dt_e`` (total, downstream included) and ``dL/dp``, for ``g[e] = dl/dt_e``.

    Back substitution on the transposed system: ``lambda_e = g_e - sum_c a_off[c][e] lambda_c / vdot_c``.
    """
    n = len(sys.events)
    lam = [mp.mpf(0)] * n
    for e in reversed(range(n)):
        acc = mp.mpf(g[e])
        for c in range(e + 1, n):
            if e in sys.a_off[c]:
                acc -= sys.a_off[c][e] * lam[c] / sys.vdot[c]
        lam[e] = acc
    grad = {key: sum((-lam[e] * sys.b[e][key] / sys.vdot[e] for e in range(n)), mp.mpf(0))
            for key in sys.keys}
    return lam, grad


def central_difference(net: Network, key, h, quantity):
    """``(quantity(p + h) - quantity(p - h)) / (2 h)`` for a scalar or list-valued ``quantity(record)``.

    Raises ``ValueError`` if the two simulations do not have the same number of spikes per neuron
    (then the difference quotient does not approximate a derivative).
    """
    up, down = simulate(net.perturbed(key, h)), simulate(net.perturbed(key, -h))
    if [len(x) for x in up.spikes] != [len(x) for x in down.spikes]:
        raise ValueError(f"spike counts change under a perturbation of {key} by {h}")
    qu, qd = quantity(up), quantity(down)
    if isinstance(qu, (list, tuple)):
        return [(a - b) / (2 * h) for a, b in zip(qu, qd)]
    return (qu - qd) / (2 * h)
