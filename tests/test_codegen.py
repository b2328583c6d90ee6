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
                                    (1.0, 1.0 + 1e-9, 1.0)])
def test_lif_kernels_match_mpmath(params):
    """psp and psp' stay within 8 ulps even 1e-9 away from tau_syn == tau_mem (expm1 + exact
    parameter differences); the time-constant derivatives are exempt there (see next test)."""
    pts = np.linspace(0.01, 7.0, 23)
    near = params[0] != params[1] and abs(params[0] - params[1]) < 0.01
    _check_kernels(load_builtin("lif"), models.get("lif"), pts, params, 8,
                   loose=("dpsp_dp[0]", "dpsp_dp[1]") if near else ())


def test_lif_time_constant_derivatives_near_singular_set_known_accuracy():
    """Known limitation (measured): d psp / d tau near tau_syn == tau_mem cancels like 1/delta^2.

    At the Yin-Yang setting tau_syn = 1/0.999, tau_mem = 1 the error is about 1.5e3 ulps of the
    kernel's scale (~3e-13 relative); 1e-9 away from equality it reaches ~2e9 ulps (~5e-7). A
    series branch near the singular set would fix it.
    """
    w = _check_kernels(load_builtin("lif"), models.get("lif"), np.linspace(0.01, 7.0, 23), (1 / 0.999, 1.0, 1.0),
                       1e4)
    assert w["dpsp_dp[1]"] > 8  # documents that this is not yet ulp-accurate


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
