"""Linear-ODE front end: a neuron written as linear ODEs becomes a spike response ``NeuronModel``.

A user writes a model as Brian2 or NESTML users do: states ``I, V``; ``dI/dt = -I/tau_syn``,
``dV/dt = -V/tau_mem + I``; input ``I += w``; membrane ``V``; threshold ``theta``; reset ``V -= theta``.
With state vector ``x``, ``dx/dt = A x`` between events, an input of weight ``w`` adds ``w b``, an own
spike adds ``r``, and the membrane is ``c^T x``. By linearity and superposition

    V(t) = sum_j w_j sum_f psp(t - t_j^f) - sum_k reset(t - t^k),
    psp(s) = c^T exp(A s) b,     reset(s) = -c^T exp(A s) r,

computed exactly with SymPy as the sum of the residues of ``c^T (z - A)^{-1} b e^{z s}`` at the
eigenvalues of ``A``. A pole of multiplicity ``m`` (a repeated eigenvalue, e.g. two states sharing a
time constant) gives the Jordan-form terms ``s^i e^{lambda s}``, ``i < m``.

Singular parameter sets: with distinct symbolic eigenvalues the residues divide by their differences
(``tau_syn - tau_mem``). :meth:`LinearODE.singular_sets` lists the sets where eigenvalues coincide,
also the deeper ones of longer chains (three equal constants), and :meth:`LinearODE.kernels` gives the
exact special form there, from the substituted system (not as a limit). The ``NeuronModel`` carries
the generic form; ``exactsnn.derive`` finds its singular sets and takes limits there.

This module is symbolic (SymPy). Strings are parsed once, at the edge, by ``ode_text``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import sympy

from ..errors import ModelError
from ..model import S, NeuronModel
from .ode_text import W as _W
from .ode_text import equations_of, jumps_of, membrane_row, params_of, state_names, threshold_of

_Z = sympy.Dummy("z")
_REQUIRED = ("name", "states", "equations", "jump", "membrane", "threshold", "reset", "params")
_DICT_KEYS = {*_REQUIRED, "citation", "description"}


@dataclass(frozen=True)
class LinearODE:
    """A validated linear neuron system ``dx/dt = A x`` with input, membrane and reset vectors.

    Attributes
    ----------
    states : tuple of sympy.Symbol
    matrix : (n, n) sympy.Matrix
        ``A``, free of the states.
    jump, reset_jump : (n, 1) sympy.Matrix
        ``b`` (an input of weight ``w`` adds ``w b``) and ``r`` (an own spike adds ``r``).
    membrane : (1, n) sympy.Matrix
        ``c^T``: the membrane potential is ``c^T x``.
    threshold : sympy.Expr
    params : tuple of Param
    """

    states: tuple
    matrix: sympy.Matrix
    jump: sympy.Matrix
    membrane: sympy.Matrix
    reset_jump: sympy.Matrix
    threshold: sympy.Expr
    params: tuple

    def eigenvalues(self, conditions=()) -> dict:
        """Distinct eigenvalues of ``A`` (after ``conditions``) -> multiplicity."""
        return _eigenvalues(_substitute(self.matrix, conditions))

    def kernels(self, conditions=()) -> tuple:
        """``(psp(s), reset(s))`` exactly, generic or on a singular set.

        Parameters
        ----------
        conditions : sequence of (sympy.Symbol, sympy.Expr)
            Equalities ``symbol == expr`` substituted into the system first (e.g. an entry of
            :meth:`singular_sets`); empty for the generic form.

        Notes
        -----
        ``psp(s) = c^T exp(A s) b``, ``reset(s) = -c^T exp(A s) r``; see :func:`impulse_response`.
        """
        a = _substitute(self.matrix, conditions)
        c = _substitute(self.membrane, conditions)
        psp = impulse_response(a, _substitute(self.jump, conditions), c)
        reset = -impulse_response(a, _substitute(self.reset_jump, conditions), c)
        return psp, reset

    def singular_sets(self) -> list:
        """Parameter sets on which eigenvalues of ``A`` coincide, shallow ones first.

        Returns
        -------
        list of tuple of (sympy.Symbol, sympy.Expr)
            Each entry is a sequence of equalities, applied in order; pairs come first, then the
            sets on which three or more eigenvalues meet (longer chains).
        """
        params = [p.symbol for p in self.params]
        found, frontier = [], [()]
        while frontier:
            nxt = []
            for conds in frontier:
                for cond in _coincidences(self.eigenvalues(conds), params):
                    cand = conds + (cond,)
                    if not any(_same_system(self.matrix, cand, old) for old in found):
                        found.append(cand)
                        nxt.append(cand)
            frontier = nxt
        return found

    def neuron_model(self, name: str, citation: str = "", description: str = "") -> NeuronModel:
        """The generic-form spike response model (see :meth:`kernels`)."""
        psp, reset = self.kernels()
        return NeuronModel(name, psp, reset, self.threshold, self.params, citation=citation,
                           description=description or "from linear ODEs")


def impulse_response(a, v, c):
    """``c^T exp(A s) v`` in closed form (sum of residues; repeated eigenvalues handled).

    Parameters
    ----------
    a, v, c : sympy.Matrix
        Shapes ``(n, n)``, ``(n, 1)``, ``(1, n)``.

    Returns
    -------
    sympy.Expr
        ``sum_lambda sum_i coeff_{lambda,i} s^i exp(lambda s)``, coefficients factored.

    Notes
    -----
    The residue at a pole ``lambda`` of multiplicity ``m`` of ``c^T (z - A)^{-1} v e^{z s}`` is
    ``sum_{i<m} F^{(i)}(lambda) / i! * s^(m-1-i) / (m-1-i)! * e^{lambda s}``,
    ``F(z) = (z - lambda)^m c^T (z - A)^{-1} v``.
    """
    n = a.shape[0]
    h = sympy.cancel((c * (_Z * sympy.eye(n) - a).LUsolve(v))[0])
    if h == 0:
        return sympy.Integer(0)
    num, den = sympy.fraction(h)
    poles = _eigenvalues_of(den)
    lead = sympy.Poly(den, _Z).LC()  # den = lead * prod (z - lambda)^m
    terms = []
    for lam, m in poles.items():
        others = sympy.Mul(*[(_Z - mu) ** k for mu, k in poles.items() if mu != lam])
        f = num / (lead * others)
        for i in range(m):
            coeff = sympy.factor(sympy.cancel(sympy.diff(f, _Z, i).subs(_Z, lam))) / math.factorial(i)
            power = m - 1 - i
            terms.append(coeff * S ** power / math.factorial(power) * sympy.exp(lam * S))
    return sympy.Add(*terms)


def _eigenvalues(a) -> dict:
    n = a.shape[0]
    return _eigenvalues_of(sympy.factor((_Z * sympy.eye(n) - a).det(method="berkowitz")))


def _eigenvalues_of(poly_expr) -> dict:
    """Roots in ``z`` of a polynomial expression, merged when symbolically equal -> multiplicity."""
    _, factors = sympy.factor_list(sympy.expand(poly_expr), _Z)
    roots = {}
    for fac, mult in factors:
        if not fac.has(_Z):
            continue
        found = sympy.roots(sympy.Poly(fac, _Z))
        if sum(found.values()) != sympy.degree(fac, _Z):
            raise ModelError(f"the system matrix has eigenvalues (roots of {fac} in z) that SymPy cannot "
                             "find in closed form; only systems with closed-form eigenvalues are supported")
        for lam, k in found.items():
            lam = sympy.simplify(lam)
            if lam.is_real is not True:
                raise ModelError(f"the system matrix has eigenvalue {lam}, which is not provably real; only "
                                 "systems with real eigenvalues (no oscillation) are supported")
            key = next((r for r in roots if sympy.simplify(r - lam) == 0), lam)
            roots[key] = roots.get(key, 0) + k * mult
    return roots


def _coincidences(eigs: dict, params) -> list:
    """``(symbol, value)`` per pair of distinct eigenvalues that can coincide."""
    out, lams = [], list(eigs)
    for i, li in enumerate(lams):
        for lj in lams[i + 1:]:
            num, _ = sympy.fraction(sympy.factor(sympy.together(li - lj)))
            for fac in sympy.Mul.make_args(num):
                base = fac.base if fac.is_Pow else fac
                free = sorted(base.free_symbols & set(params), key=lambda x: x.name)
                if not free or base.is_positive or base.is_negative:
                    continue
                sols = [x for x in sympy.solve(base, free[0]) if x.is_positive is not False]
                out.extend((free[0], sol) for sol in sols[:1])
    return out


def _substitute(mat, conditions):
    for sym, value in conditions:
        mat = mat.subs(sym, value)
    return mat


def _same_system(matrix, conds_a, conds_b) -> bool:
    diff = _substitute(matrix, conds_a) - _substitute(matrix, conds_b)
    return all(sympy.simplify(x) == 0 for x in diff)


# ----------------------------------------------------------------------------- parsing (the edge)
def linear_ode(states, equations, jump, membrane, threshold, reset, params) -> LinearODE:
    """Parse and validate a linear neuron system (see :func:`linear_ode_model` for the arguments)."""
    plist = params_of(params)
    psyms = {p.name: p.symbol for p in plist}
    names = state_names(states, psyms)
    xs = tuple(sympy.Symbol(n, real=True) for n in names)
    scope = {**psyms, **dict(zip(names, xs)), "w": _W}
    rhs = equations_of(equations, names, scope)
    a = sympy.Matrix([[sympy.diff(rhs[n], x) for x in xs] for n in names])
    for n in names:
        rest = sympy.simplify(rhs[n] - sum(sympy.diff(rhs[n], x) * x for x in xs))
        if rest != 0 or any(e.has(*xs, _W) for e in a.row(names.index(n))):
            raise ModelError(f"equation d{n}/dt = {rhs[n]} must be linear and homogeneous in the states "
                             f"{list(names)} (no constant or input terms; inputs enter through 'jump')")
    b = jumps_of(jump, names, scope, "jump", per_weight=True)
    r = jumps_of(reset, names, scope, "reset", per_weight=False)
    c = membrane_row(membrane, names, xs, scope)
    theta = threshold_of(threshold, psyms, scope)
    if sympy.simplify((c * b)[0]) != 0:
        raise ModelError(f"the input jump {dict(jump) if isinstance(jump, Mapping) else jump!r} changes the "
                         f"membrane {membrane!r} directly; an input may not make V jump (psp(0+) must be 0)")
    return LinearODE(xs, a, b, c, r, theta, plist)


def linear_ode_model(name, states, equations, jump, membrane, threshold, reset, params, citation="",
                     description="") -> NeuronModel:
    """A ``NeuronModel`` from linear ODEs, with kernels computed exactly by SymPy.

    Parameters
    ----------
    name : str
        Model name (a Python identifier).
    states : sequence of str
        State variable names, e.g. ``["I", "V"]``.
    equations : mapping state -> str, or sequence of str
        ``{"I": "-I/tau_syn", "V": "-V/tau_mem + I"}`` or ``["dV/dt = -V/tau_mem + I", ...]``; linear and
        homogeneous in the states (inputs enter through ``jump``).
    jump : mapping state -> str, or str, or sequence of str
        What an input spike of weight ``w`` adds: ``{"I": "w"}`` or ``"I += w"``; proportional to ``w``.
    membrane : str
        The membrane state, or a linear combination of states (``"V - a"``).
    threshold : str or float
        A number, a parameter name, or a formula of the parameters.
    reset : mapping state -> str, or str, or sequence of str
        What an own spike adds: ``{"V": "-theta"}`` or ``"V -= theta"``.
    params : mapping name -> float or dict, or sequence of Param
        A bare value ``v`` is the default, allowed in ``(0, inf)`` if ``v > 0`` else anywhere; a dict has
        ``default`` and optionally ``lower``, ``upper``, ``doc``.
    citation, description : str

    Returns
    -------
    NeuronModel
        Generic-form kernels; ``exactsnn.derive`` supplies the limits on singular parameter sets.

    Raises
    ------
    ModelError
        Naming the offending entry: unparsable or nonlinear equations, unknown names, a jump into the
        membrane, eigenvalues that are not provably real.

    Notes
    -----
    ``psp(s) = c^T exp(A s) b``, ``reset(s) = -c^T exp(A s) r`` (see :class:`LinearODE`).
    """
    ode = linear_ode(states, equations, jump, membrane, threshold, reset, params)
    return ode.neuron_model(name, citation=citation, description=description)


def ode_model_from_dict(d) -> NeuronModel:
    """``linear_ode_model(**d)`` for a JSON/TOML document, with its keys checked.

    Example: ``{"name": "lif_ode", "states": ["I", "V"], "equations": ["dI/dt = -I/tau_syn",
    "dV/dt = -V/tau_mem + I"], "jump": "I += w", "membrane": "V", "threshold": "theta",
    "reset": "V -= theta", "params": {"tau_syn": 0.5, "tau_mem": 1.0, "theta": 1.0}}``.
    """
    if not isinstance(d, Mapping):
        raise ModelError(f"an ODE model must be a mapping (JSON object / TOML table), got {type(d).__name__}")
    if set(d) - _DICT_KEYS:
        raise ModelError(f"ODE model has unknown key(s) {sorted(set(d) - _DICT_KEYS)}; "
                         f"allowed are {sorted(_DICT_KEYS)}")
    if set(_REQUIRED) - set(d):
        raise ModelError(f"ODE model is missing key(s) {sorted(set(_REQUIRED) - set(d))}")
    return linear_ode_model(**d)
