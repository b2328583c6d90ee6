"""Shared fixtures. Precision for mpmath is always set locally (mpmath.workdps) in tests."""

import mpmath
import numpy as np
import pytest
from hypothesis import settings


@pytest.fixture(autouse=True)
def _mpmath_precision_is_restored():
    before = mpmath.mp.dps
    yield
    assert mpmath.mp.dps == before, "a test changed mpmath's global precision"


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


# Every hypothesis test is derandomised (examples seeded by the test's name, no example database),
# so a run checks the same examples every time; tests may still override max_examples etc.
settings.register_profile("exactsnn", derandomize=True, database=None, deadline=None)
settings.load_profile("exactsnn")
