"""check_model: the battery passes on a correct model and fails on a wrong derivation."""

from exactsnn import models
from exactsnn.verification import check_model


def test_check_model_passes_on_lif():
    report = check_model(models.get("lif"), n_networks=1)
    assert report.ok, report.text()
    assert report.networks[0][0] > 0 and report.networks[0][1] < 1e-11
    assert "OK" in report.text()


def test_check_model_reports_failure_when_the_kernel_tier_is_broken(monkeypatch):
    import exactsnn.verification._check as check

    monkeypatch.setattr(check, "_kernel_ulps", lambda *a, **k: {"psp": 1e6})
    report = check_model(models.get("lif"), n_networks=1)
    assert not report.ok and "FAILED" in report.text()
