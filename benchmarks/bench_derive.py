"""Derivation + printing time of a model's kernel module: lazy limit forms against taking every limit.

Baseline ("every limit"): each special branch takes the limit form of every derived expression and
searches all of them for nested singular sets (the derivation before issue 16's change). Measured: the
default derivation, where a special branch takes a limit only when it is looked up and the Newton-form
kernels' derivative limits are never taken (``exactsnn.derive.LimitExprs``). Both print the same module
(checked here). CPU seconds, SymPy's and our memo caches cleared before each run.

``--text``: the ``exactsnn derive MODEL`` report (``formulas_text``) instead. Baseline ("sympy.limit"):
every limit form by ``sympy.limit`` and the closed-form crossings solved although the report does not
print them, no memo of limit forms, a ``simplify`` proves every plain substitution's denominator nonzero
(the derivation before the derive2 change). Measured: limits by L'Hopital's rule where it settles them
(``exactsnn.derive.singular.lhopital_limit``), each limit form kept (``lru_cache``), a sample value shows
a denominator nonzero, no closed-form solve. Same text (checked).

Run:  python benchmarks/bench_derive.py lif adaptive_threshold
      python benchmarks/bench_derive.py --text lif lif_two_synapse lif_dual_exp
"""

import sys
import time

from sympy.core.cache import clear_cache

import exactsnn.derive as derive_mod
from exactsnn import models
from exactsnn.codegen.module import kernel_source
from exactsnn.derive import expsum, singular
from exactsnn.io import model_files


def _clear_caches():
    clear_cache()
    expsum.decompose.cache_clear()
    expsum._newton_form.cache_clear()
    singular.limit_form.cache_clear()


def timed(name, every_limit):
    _clear_caches()
    keep = derive_mod._search_keys
    if every_limit:
        derive_mod._search_keys = lambda generic, params: tuple(generic)
    try:
        t0 = time.process_time()
        src = kernel_source(derive_mod.derive(models.get(name)))
        return time.process_time() - t0, src
    finally:
        derive_mod._search_keys = keep


def timed_text(name, baseline):
    _clear_caches()
    keep = singular.lhopital_limit, model_files.derive, singular._numerically_nonzero, derive_mod.limit_form
    if baseline:
        singular.lhopital_limit = lambda expr, sym, value: None
        model_files.derive = lambda model, with_closed_forms=True: keep[1](model)
        singular._numerically_nonzero = lambda expr: False
        derive_mod.limit_form = singular.limit_form.__wrapped__
    try:
        t0 = time.process_time()
        text = model_files.formulas_text(models.get(name))
        return time.process_time() - t0, text
    finally:
        (singular.lhopital_limit, model_files.derive, singular._numerically_nonzero,
         derive_mod.limit_form) = keep


def compare(names, timer, base_label, now_label, what):
    """Baseline then measured run of ``timer`` per model, with the ratio and whether the outputs agree."""
    print(f"{'model':20s} {base_label:>16s} {now_label:>9s} {'ratio':>6s}  same {what}")
    for name in names:
        base, out_base = timer(name, True)
        now, out_now = timer(name, False)
        print(f"{name:20s} {base:16.1f} {now:9.1f} {base / now:6.2f}  {out_base == out_now}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--text"]:
        compare(sys.argv[2:] or ["lif", "lif_two_synapse"], timed_text, "sympy.limit (s)", "now (s)", "text")
    else:
        compare(sys.argv[1:] or ["lif", "adaptive_threshold"], timed, "every limit (s)", "lazy (s)", "module")
