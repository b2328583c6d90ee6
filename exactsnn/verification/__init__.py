"""Verification: exactsnn's float64 answers, or another implementation's, against the mpmath reference.

- ``verify(case)``: the float64 engine (spike times, FP Jacobian, adjoint) against the reference, with a
  conditioning report per spike (``_verify.py``).
- ``compare(case, claimed)``: another implementation's ``exactsnn-result/1`` answers against the
  reference: the validator behind ``exactsnn validate`` (``_compare.py``).
- ``check_model(model)``: a new model's symbolic identities, kernel accuracy and agreement of random
  networks with the reference (``_check.py``; imports SymPy, so it is loaded on first use).
- ``ground_truth(case)``: the reference's answers for a case (``_truth.py``); ``claims.py`` reads and
  checks a claimed result document before any reference work; ``reference_store.py`` saves and loads
  reference answers (JSON, keyed by the case's hash); ``agreement.py`` is the one comparison of a float64
  run with the reference and the one kernel-ulps check, shared with the tests.

This layer sits above the runtime and the reference and uses both; nothing below imports it.
Degeneracy diagnostics stay in the runtime (``exactsnn.diagnostics``): every gradient call applies
their policy.
"""

from ._compare import ATOL as ATOL
from ._compare import ATOL_TIME as ATOL_TIME
from ._compare import FLOAT32 as FLOAT32
from ._compare import RTOL as RTOL
from ._compare import CompareReport as CompareReport
from ._compare import compare as compare
from ._compare import load_claimed as load_claimed
from ._compare import reference_document as reference_document
from ._verify import GRAD_RTOL as GRAD_RTOL
from ._verify import TIME_TOL as TIME_TOL
from ._truth import GroundTruth as GroundTruth
from ._verify import VerifyReport as VerifyReport
from ._truth import ground_truth as ground_truth
from ._truth import symbolic_model as symbolic_model
from ._verify import verify as verify

_LAZY = {"check_model", "ModelCheck"}


def __getattr__(name):
    if name in _LAZY:
        from . import _check

        return getattr(_check, name)
    raise AttributeError(f"module 'exactsnn.verification' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _LAZY)
