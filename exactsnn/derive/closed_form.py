"""Closed-form spike times between events, where SymPy finds them.

Between two events the potential of an ``expsum`` model, minus its threshold, is an exponential
sum in the time ``u`` since the last event whose coefficients are the neuron's state:

    F(u) = sum_r (A_r + B_r u) exp(-rate_r u) - threshold

(``A_r`` in every slot some kernel uses, ``B_r`` only where a kernel has an ``s exp(...)`` term,
since moving the state forward in time keeps that pattern). For each branch this module builds
``F`` with symbolic ``A_r, B_r``, recognises the structures whose equation ``F(u) = 0`` has a
closed-form solution, and asks SymPy to solve it. Where SymPy succeeds, the closed form is kept:

- ``log``: one exponential and constants, no ``u`` term (non-leaky IF);
- ``lambert``: one exponential with a ``u`` term, and constants (alpha PSP, LIF at
  ``tau_mem == tau_syn``);
- ``quadratic``: two exponentials without ``u`` terms whose rates are in ratio 2, and constants
  (a quadratic in the slower exponential).

Constant-rate slots (``rate == 0``) are lumped with the threshold. Where the rate ratio is 2 only
on a parameter set (LIF: ``tau_mem == 2 tau_syn`` and ``tau_syn == 2 tau_mem``), the set is a
*runtime condition* inside its branch: it is an ordinary point of the generic formulas (nothing
divides by zero there), so it gets no branch of its own, only a parameter check once per
simulation that selects the closed form.

SymPy's solution is printed into the generated module's docstring; the float64 evaluation is one
of three stable kernels in ``exactsnn/numeric/closed_form_roots.py`` (the branch choice of the
root or Lambert branch, ``expm1``/``log1p`` forms, the branch point ``-1/e``), onto which the
generated ``es_closed_form`` maps the state's slots. The simulator uses the value as the start of
its bracketed Newton polish only, so the sign test that brackets every crossing stays the judge.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

#: The time since the last event in the crossing equation.
U = sympy.Symbol("u", positive=True)


@dataclass(frozen=True)
class ClosedForm:
    """A closed-form crossing of one branch.

    kind : "log", "quadratic" or "lambert" (the numeric kernel ``cf_<kind>``).
    condition : (symbol, value) or None: applies only where ``symbol == value`` (inside the branch).
    slots : state slots of the structure: (i,) for log and lambert, (slow, fast) for quadratic.
    const_slots : constant-rate slots (lumped with the threshold).
    equation : F(u) with state symbols ``A_r``, ``B_r`` (condition substituted).
    solutions : SymPy's solutions of ``F(u) = 0`` for ``u``.
    """

    kind: str
    condition: tuple | None
    slots: tuple
    const_slots: tuple
    equation: sympy.Expr
    solutions: tuple


def state_symbols(n):
    """(A_0..A_{n-1}, B_0..B_{n-1}): the symbolic state coefficients."""
    return (tuple(sympy.Symbol(f"A{r}", real=True) for r in range(n)),
            tuple(sympy.Symbol(f"B{r}", real=True) for r in range(n)))


def closed_forms(expsum, threshold, params) -> tuple:
    """The closed-form crossings of a branch with exponential-sum kernels (empty tuple if none).

    expsum : (rates, (psp_a, psp_b), (reset_a, reset_b)) of the branch.
    threshold : the branch's threshold expression.
    params : the model's parameter symbols (for runtime conditions).
    """
    rates, (pa, pb), (ra, rb) = expsum
    used = [r for r in range(len(rates)) if any(c[r] != 0 for c in (pa, pb, ra, rb))]
    has_b = {r for r in used if pb[r] != 0 or rb[r] != 0}
    const = tuple(r for r in used if sympy.simplify(rates[r]) == 0)
    decaying = [r for r in used if r not in const]
    if has_b & set(const) or not decaying:
        return ()
    a_sym, b_sym = state_symbols(len(rates))
    terms = [(a_sym[r] + (b_sym[r] * U if r in has_b else 0)) * sympy.exp(-rates[r] * U) for r in decaying]
    equation = sympy.Add(*terms, *(a_sym[r] for r in const)) - threshold
    found = []
    if len(decaying) == 1:
        kind = "lambert" if decaying[0] in has_b else "log"
        found.append((kind, None, (decaying[0],)))
    elif len(decaying) == 2 and not has_b:
        i, j = decaying
        for slow, fast in ((i, j), (j, i)):
            for cond in _ratio_two_conditions(rates[slow], rates[fast], params):
                found.append(("quadratic", cond, (slow, fast)))
    out = []
    for kind, cond, slots in found:
        eq = equation if cond is None else equation.subs(cond[0], cond[1])
        sols = _solve(eq)
        if sols:
            out.append(ClosedForm(kind, cond, slots, const, eq, sols))
    return tuple(out)


def _ratio_two_conditions(slow, fast, params) -> list:
    """Conditions under which ``fast == 2 slow``: [None] when it always holds, [] when never,
    else [(symbol, value), ...] solved for the first parameter that gives a solution."""
    gap = sympy.simplify(fast - 2 * slow)
    if gap == 0:
        return [None]
    num, _ = sympy.fraction(sympy.together(gap))
    for sym in sorted(num.free_symbols & set(params), key=lambda x: x.name):
        sols = [s for s in sympy.solve(num, sym) if sympy.simplify(gap.subs(sym, s)) == 0]
        if sols:
            return [(sym, s) for s in sols]
    return []


def _solve(equation) -> tuple:
    """SymPy's solutions of ``equation = 0`` for ``u`` (empty when it finds none)."""
    try:
        return tuple(sympy.solve(equation, U))
    except (NotImplementedError, ValueError):
        return ()
