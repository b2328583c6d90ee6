"""Kernel tier: generated float64 kernels vs the same SymPy expressions at 50 digits in mpmath."""

import subprocess
import sys
import textwrap
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy

from exactsnn import models
from exactsnn.codegen.cache import compile_model, write_builtins
from exactsnn.compiled import load_builtin
from exactsnn.model import S, kernel_model

ROOT = Path(__file__).resolve().parent.parent
ALPHA = dict(psp="s/tau*exp(1 - s/tau)", reset="theta*exp(-s/tau_r)", threshold="theta",
             params={"tau": 1.5, "tau_r": 0.8, "theta": 1.0})


def test_shipped_generated_modules_are_up_to_date():
    assert write_builtins(check=True) == [], "run: python -m exactsnn.codegen.cache"


def test_numeric_path_does_not_import_sympy():
    code = textwrap.dedent("""
        import sys
        import exactsnn
        from exactsnn import Network, simulate, forward_propagation, adjoint
        r = simulate("lif", Network.feedforward([[[5.0]]]), [[0.0]], 4.0)
        forward_propagation(r); adjoint(r, [1.0] * r.n_spikes)
        assert r.n_spikes > 0
        print("sympy" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_fastmath_anywhere():
    for path in list((ROOT / "exactsnn").rglob("*.py")):
        assert "fastmath=True" not in path.read_text(), path


def _reference_values(model, points, params):
    """{kernel name: (values at 50 digits over points)} from the model's own SymPy expressions."""
    syms = [model.symbols[n] for n in model.param_names]
    exprs = {"psp": model.psp, "dpsp_ds": sympy.diff(model.psp, S), "reset": model.reset,
             "dreset_ds": sympy.diff(model.reset, S)}
    for i, sym in enumerate(syms):
        exprs[f"dpsp_dp[{i}]"] = sympy.diff(model.psp, sym)
        exprs[f"dreset_dp[{i}]"] = sympy.diff(model.reset, sym)
    out = {}
    with mpmath.workdps(120):
        vals = [mpmath.mpf(v) for v in params]
        if len(set(params[:2])) == 1 and len(params) == 3:
            # tau_syn == tau_mem: evaluate the generic formula 1e-30 away (independent of the limit code;
            # its 1/eps^2 cancellation costs 60 of the 120 digits)
            vals[0] = vals[0] * (1 + mpmath.mpf(10) ** -30)
        for name, e in exprs.items():
            f = sympy.lambdify([S] + syms, e, "mpmath")
            out[name] = [f(mpmath.mpf(float(s)), *vals) for s in points]
    return out


def _float_values(compiled, name, points, p):
    if "[" in name:
        base, i = name[:-1].split("[")
        vals = []
        for s in points:
            out = np.zeros(p.size)
            getattr(compiled.module, base)(s, p, out)
            vals.append(out[int(i)])
        return np.array(vals)
    return np.array([getattr(compiled.module, name)(s, p) for s in points])


def _check_kernels(compiled, model, points, params, max_ulps, loose=()):
    """Each kernel's error, in ulps of its largest magnitude over the points, is <= max_ulps.

    (Per-value ulps are not the right measure: derivatives cross zero, and exp(-s/tau) inherits
    |s/tau| ulps from the rounding of its argument.)"""
    p = np.array(params, float)
    worst = {}
    for name, ref in _reference_values(model, points, params).items():
        got = _float_values(compiled, name, points, p)
        ref = np.array([float(r) for r in ref])
        scale = np.max(np.abs(ref))
        if scale == 0:
            assert np.all(got == 0), name
            continue
        worst[name] = float(np.max(np.abs(got - ref)) / np.spacing(scale))
    for name in loose:
        worst.pop(name, None)
    assert max(worst.values()) <= max_ulps, worst
    return worst


@pytest.mark.parametrize("params", [(0.5, 1.0, 1.0), (1.0, 1.0, 1.0), (2.0, 0.7, 1.3), (1 / 0.999, 1.0, 1.0),
                                    (1.0, 1.0 + 1e-9, 1.0), (1.0, 1.0 - 1e-13, 1.0)])
def test_lif_kernels_match_mpmath(params):
    """Every kernel and every parameter derivative within 8 ulps of its scale, on, near and far from
    tau_syn == tau_mem. The tau-derivatives used to be exempt near the set: the plain formula cancels
    like 1/gap^2 (1.5e3 ulps at the Yin-Yang setting tau_syn = 1/0.999, ~2e9 ulps 1e-9 away); the
    Newton form (numeric/expdd.py) has none of that."""
    w = _check_kernels(load_builtin("lif"), models.get("lif"), np.linspace(0.01, 7.0, 23), params, 8)
    print(params, {k: round(v, 1) for k, v in w.items()})


def test_nonleaky_kernels_match_mpmath():
    pts = np.linspace(0.05, 5.0, 17)
    _check_kernels(load_builtin("nonleaky_if"), models.get("nonleaky_if"), pts, (0.7, 1.2), 8)


def test_user_kernel_model_compiles_and_matches_mpmath():
    m = kernel_model(**ALPHA)
    cm = compile_model(m)
    assert cm.strategy == "interval"
    assert compile_model(m) is cm  # same content hash -> same module
    _check_kernels(cm, m, np.linspace(0.05, 6.0, 15), (1.5, 0.8, 1.0), 8)


def test_generated_file_is_readable_source_with_header():
    cm = compile_model(kernel_model(**ALPHA))
    text = Path(cm.module.__file__).read_text()
    assert text.startswith('"""Generated by exactsnn from model')
    assert cm.content_hash in text and "s/tau*exp(1 - s/tau)" in text.replace(" ", "").replace("s/tau*exp(1-s/tau)", "s/tau*exp(1 - s/tau)") or "exp" in text
    assert "def psp(s, p):" in text and "exec(" not in text


def test_interval_enclosures_contain_point_values(rng):
    cm = compile_model(kernel_model(**ALPHA))
    p = np.array([1.5, 0.8, 1.0])
    for _ in range(200):
        lo = rng.uniform(0, 8)
        hi = lo + rng.uniform(0, 2) ** 3
        for name in ("psp", "dpsp_ds", "reset", "dreset_ds"):
            elo, ehi = getattr(cm.module, "iv_" + name)(lo, hi, p)
            for s in np.linspace(lo, hi, 9):
                v = getattr(cm.module, name)(s, p)
                assert elo <= v <= ehi, (name, lo, hi, s, v, elo, ehi)


def _mp_divided_difference(rates, s):
    with mpmath.workdps(60):
        rs = [mpmath.mpf(r) for r in rates]
        return sum(mpmath.exp(-r * s) / mpmath.fprod([r - q for q in rs if q is not r]) for r in rs)


@pytest.mark.parametrize("n", [2, 3])
def test_divided_difference_enclosures_contain_the_truth_and_stay_narrow_as_rates_meet(n, rng):
    """iv_expdd2/3 enclose f[rates] of exp(-lam s) (mpmath at 60 digits from the definition, or
    f^(n-1)(rate) / (n-1)! for equal rates) over random s-boxes, for rates far apart, 1e-3 .. 1e-12 apart,
    two close and one far, and equal. For close rates the width is within a small factor of the width
    at equal rates on the same box: it does not grow like 1 / gap (the plain difference quotient's does)."""
    from exactsnn.numeric.interval import iv_expdd2, iv_expdd3

    fn = iv_expdd2 if n == 2 else iv_expdd3
    worst = 0.0
    for trial in range(300):
        base = rng.uniform(0.2, 5.0)
        gap = [1.0, 1e-3, 1e-6, 1e-9, 1e-12, 0.0][trial % 6]
        rates = [base * (1 + gap * rng.uniform(-1, 1)) for _ in range(n)]
        if n == 3 and trial % 12 == 7:
            rates[0] = base * 3.0  # two close, one far
        lo = rng.uniform(0, 6)
        hi = lo + rng.uniform(0, 1) ** 3
        elo, ehi = fn(*rates, lo, hi)
        for s in np.linspace(lo, hi, 7):
            if gap == 0.0:
                with mpmath.workdps(60):
                    v = (-s) ** (n - 1) * mpmath.exp(-mpmath.mpf(base) * s) / mpmath.factorial(n - 1)
            else:
                v = _mp_divided_difference(rates, s)
            assert elo <= v <= ehi, (rates, lo, hi, s, float(v), elo, ehi)
        if 0.0 < gap <= 1e-3 and not (n == 3 and trial % 12 == 7):
            rlo, rhi = fn(*([base] * n), lo, hi)
            worst = max(worst, (ehi - elo) / ((rhi - rlo) + 1e-300))
    print(f"n={n}: width at gap <= 1e-3 / width at gap 0 <= {worst:.4g}")
    assert worst <= 1.5


def test_second_divided_difference_of_exp_is_accurate_to_the_widening_it_gets(rng):
    """G_2(x, y) = h[0, x, y] for h = exp(-t) (numeric/expdd.py) is widened by 64 ulps in iv_expdd3; measured
    worst 2.4 ulps (4000 points, y in [1e-12, 300]) against the three-term definition at 80 digits."""
    from exactsnn.numeric.expdd import _g2 as _phi2

    worst = 0.0
    with mpmath.workdps(80):
        for k in range(4000):
            y = 10 ** rng.uniform(-12, 2.5)
            x = (0.0, y, y * rng.uniform(0, 1))[min(k % 5, 2)]
            X, Y = mpmath.mpf(x), mpmath.mpf(y)
            if x == 0.0:
                want = ((mpmath.exp(-Y) - 1) / Y + 1) / Y
            elif x == y:
                want = (-mpmath.exp(-Y) - (mpmath.exp(-Y) - 1) / Y) / Y
            else:
                want = 1 / (X * Y) + mpmath.exp(-X) / (X * (X - Y)) + mpmath.exp(-Y) / (Y * (Y - X))
            worst = max(worst, float(abs(_phi2(x, y) - want) / want) / 2.220446049250313e-16)
    print(f"G_2: worst {worst:.3g} ulps")
    assert worst <= 32.0


#: (model, {parameter: value} near a singular set given as (fixed value, relative offsets of the moved ones))
NEAR_SETS = [
    ("lif", {"tau_mem": 1.0}, {"tau_syn": 1.0}),
    ("adaptive_threshold", {"tau_mem": 1.0}, {"tau_syn": 1.0}),
    ("lif_dual_exp", {"tau_mem": 1.0, "tau_rise": 0.1}, {"tau_decay": 1.0}),
    ("lif_dual_exp", {"tau_decay": 0.5, "tau_mem": 1.0}, {"tau_rise": 0.5}),
    ("lif_dual_exp", {"tau_mem": 1.0}, {"tau_decay": 1.0, "tau_rise": 1.0}),  # all three close
    ("lif_two_synapse", {"tau_mem": 1.0}, {"tau_slow": 1.0}),
    ("lif_two_synapse", {"tau_mem": 1.0}, {"tau_slow": 1.0, "tau_fast": 1.0}),
]


@pytest.mark.parametrize("name,fixed,moved", NEAR_SETS)
def test_kernels_and_their_parameter_derivatives_keep_full_accuracy_near_singular_sets(name, fixed, moved):
    """psp, dpsp_ds and d(psp)/d(params) at relative distances 1e-3 .. 1e-12 from a singular set, against
    the plain generic formula evaluated by mpmath at 80 digits (which absorbs its cancellation).

    The plain float64 formula loses log10(1/gap) digits (twice that for the tau-derivatives: 0.04 relative
    at 1e-12 for lif); the Newton form (divided differences of exp(-lam s)) keeps a few ulps. Measured
    worst over these cases: see the printed line; the bound is 2e-14 relative to each kernel's scale."""
    model = models.get(name)
    mod = load_builtin(name).module
    syms = [model.symbols[n] for n in mod.PARAM_NAMES]
    f_psp = sympy.lambdify([S, *syms], model.psp, "mpmath")
    f_ds = sympy.lambdify([S, *syms], sympy.diff(model.psp, S), "mpmath")
    f_dp = [sympy.lambdify([S, *syms], sympy.diff(model.psp, q), "mpmath") for q in syms]
    defaults = dict(zip(mod.PARAM_NAMES, mod.PARAM_DEFAULTS))
    grid = (0.01, 0.3, 1.0, 3.0, 10.0)
    worst = 0.0
    with mpmath.workdps(80):
        for k, e in enumerate((1e-3, -1e-6, 1e-9, -1e-12)):
            vals = {**defaults, **fixed}
            for j, (n, v) in enumerate(moved.items()):
                vals[n] = v * (1 + e * (j + 1))  # distinct offsets when two parameters move
            p = tuple(float(vals[n]) for n in mod.PARAM_NAMES)
            args = [[mpmath.mpf(s)] + [mpmath.mpf(x) for x in p] for s in grid]
            ref = {"psp": [f_psp(*a) for a in args], "ds": [f_ds(*a) for a in args],
                   "dp": [[f(*a) for f in f_dp] for a in args]}
            got = {"psp": [mod.psp(s, p) for s in grid], "ds": [mod.dpsp_ds(s, p) for s in grid], "dp": []}
            for s in grid:
                out = np.zeros(len(p))
                mod.dpsp_dp(s, p, out)
                got["dp"].append(list(out))
            for key in ("psp", "ds"):
                scale = max(abs(x) for x in ref[key])
                worst = max(worst, max(float(abs(g - r) / scale) for g, r in zip(got[key], ref[key])))
            for col in range(len(p)):
                column = [row[col] for row in ref["dp"]]
                scale = max(abs(x) for x in column)
                if scale > 0:
                    worst = max(worst, max(float(abs(g[col] - r) / scale) for g, r in zip(got["dp"], column)))
    print(f"{name} near {moved}: worst {worst:.2g} relative")
    assert worst <= 2e-14


@pytest.mark.parametrize("k", [2, 3, 4])
def test_divided_differences_of_exp_are_accurate_for_any_gap(k, rng):
    """expdd2/3/4 (numeric/expdd.py) against the definition sum_r exp(-x_r s) / prod_q (x_r - x_q) at 100
    digits, rates 1e-12 .. 1 apart (one far rate in every 7th case), s in [1e-3, 100]; all rates equal
    against (-s)**(k-1) / (k-1)! exp(-x s). The error is measured in ulps times (1 + x_min s): exp(-x s)
    inherits |x s| ulps from the rounding of its argument. Measured worst: 1.3, 2.2, 20 (expdd4 nests two
    levels of the G_k recursion just above max y = 1, each losing a few ulps)."""
    from exactsnn.numeric.expdd import expdd2, expdd3, expdd4

    fn = {2: expdd2, 3: expdd3, 4: expdd4}[k]
    worst = 0.0
    with mpmath.workdps(100):
        for trial in range(1500):
            base = rng.uniform(0.1, 10.0)
            s = 10 ** rng.uniform(-3, 2)
            if trial % 50 == 0:
                xs = [base] * k
                want = (-mpmath.mpf(s)) ** (k - 1) / mpmath.factorial(k - 1) * mpmath.exp(-mpmath.mpf(base) * s)
            else:
                gap = 10 ** rng.uniform(-12, -0.05)
                xs = [base * (1 + gap * rng.uniform(-1, 1)) for _ in range(k)]
                if trial % 7 == 0:
                    xs[0] = base * 5
                if len(set(xs)) < k:
                    continue
                want = _mp_divided_difference(xs, s)
            if abs(want) < 1e-290:
                continue
            got = fn(s, *xs)
            worst = max(worst, float(abs((got - want) / want)) / 2.220446049250313e-16 / (1 + min(xs) * s))
    print(f"expdd{k}: worst {worst:.2g} ulps x (1 + x_min s)")
    assert worst <= 32.0
