"""Peer adapters: jaxsnn's and snnTorch's own simulators on a NIR graph, validated by exactsnn.

Each test skips when its peer package is absent (CI installs the ``dev`` extra only). The oracles are
independent of the peers: exactsnn's float64 engine and adjoint gradient, and the mpmath reference
behind ``compare``.
"""

import numpy as np
import pytest

import exactsnn as es
from exactsnn.errors import NIRError
from exactsnn.interop import to_nir

PARAMS = {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}
INPUTS = [[0.1], [0.3, 1.1], [0.5]]
LOSS = {"kind": "ttfs_cross_entropy", "label": 0}


def _small_net():
    rng = np.random.default_rng(0)
    return [rng.uniform(1.0, 2.5, (3, 4)), rng.uniform(0.4, 1.0, (4, 2))]


def _case(w, params, inputs, t_max, loss=None):
    doc = {"format": "exactsnn-case/1", "model": {"name": "lif", **params}, "inputs": inputs, "t_max": t_max,
           "network": {"kind": "feedforward", "weights": [m.tolist() for m in w]}}
    return doc if loss is None else {**doc, "loss": loss}


def _flat(claim):
    return [s for layer in claim["spikes"] for s in layer]


def _max_error(got, exact):
    assert [len(s) for s in got] == [len(s) for s in exact]
    return max((abs(a - b) for s, e in zip(got, exact) for a, b in zip(s, e)), default=0.0)


@pytest.fixture(scope="module")
def jaxsnn_claim():
    pytest.importorskip("jaxsnn")
    from exactsnn.interop.adapters.jaxsnn import jaxsnn_claim

    return jaxsnn_claim


@pytest.fixture(scope="module")
def snntorch_claim():
    pytest.importorskip("snntorch")
    from exactsnn.interop.adapters.snntorch import snntorch_claim

    return snntorch_claim


def test_jaxsnn_budget_keeps_every_spike_of_a_busy_network(jaxsnn_claim):
    """Regression: a fixed 64-event budget per layer dropped every spike past the budget (a 1,206-spike
    Yin-Yang sized case lost all spikes after t ~ 1.1). The sized budget keeps all ~170 spikes here."""
    rng = np.random.default_rng(3)
    w = [rng.uniform(0.5, 1.5, (3, 6)), rng.uniform(0.3, 0.8, (6, 2))]
    inputs = [np.arange(0.1, 6, 0.3).tolist(), np.arange(0.2, 6, 0.4).tolist(), np.arange(0.05, 6, 0.35).tolist()]
    res = es.simulate("lif", es.Network.feedforward(w), inputs, 6.0, params=PARAMS)
    assert res.n_spikes > 150  # ~170 events per layer, more than the old budget of 64
    claim = jaxsnn_claim(to_nir(es.Network.feedforward(w), "lif", PARAMS), inputs, 6.0)
    assert not claim["jaxsnn"]["budget_full"]
    assert _max_error(_flat(claim), [s.tolist() for s in res.spikes]) < 1e-9


@pytest.mark.slow  # jax compiles the forward and the EventProp backward for ~40 s per case
@pytest.mark.parametrize("tau_syn", [1.0, 0.5])  # jaxsnn's two solvable ratios
def test_jaxsnn_float64_spikes_and_eventprop_gradient_validate(jaxsnn_claim, tau_syn):
    w = _small_net()
    params = {**PARAMS, "tau_syn": tau_syn}
    claim = jaxsnn_claim(to_nir(es.Network.feedforward(w), "lif", params), INPUTS, 3.0, loss=LOSS)
    res = es.simulate("lif", es.Network.feedforward(w), INPUTS, 3.0, params=params)
    assert res.n_spikes > 6
    assert _max_error(_flat(claim), [s.tolist() for s in res.spikes]) < 1e-9
    _, exact = es.loss_grad(res, es.Loss(**LOSS))
    got = np.concatenate([np.ravel(g) for g in claim["grad"]["weights"]])
    assert np.abs(got - exact.weights).max() < 1e-9 * np.abs(exact.weights).max()
    assert es.compare(_case(w, params, INPUTS, 3.0, LOSS), claim, dps=30).ok


@pytest.mark.slow  # the 1,206-spike case of benchmarks/bench_reference.py: ~2,000 events per layer
def test_jaxsnn_yinyang_sized_case_has_every_spike(jaxsnn_claim):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from bench_reference import yinyang_case

    from exactsnn.io import load_case

    case = load_case(yinyang_case(hidden=120, seed=0))
    res = es.simulate(case.model, case.network, case.inputs, case.t_max, params=case.params)
    assert res.n_spikes == 1206
    claim = jaxsnn_claim(to_nir(case.network, case.model, case.params), case.inputs, case.t_max)
    assert _max_error(_flat(claim), [s.tolist() for s in res.spikes]) < 1e-9
    short = jaxsnn_claim(to_nir(case.network, case.model, case.params), case.inputs, case.t_max, n_steps=64)
    assert short["jaxsnn"]["budget_full"] and sum(map(len, _flat(short))) < 1206


def test_jaxsnn_adapter_refuses_what_jaxsnn_cannot_run(jaxsnn_claim):
    net = es.Network.feedforward([np.ones((2, 2))])
    with pytest.raises(NIRError, match="tau_mem / tau_syn"):
        jaxsnn_claim(to_nir(net, "lif", {"tau_syn": 0.3}), [[0.1], [0.2]], 2.0)
    with pytest.raises(NIRError, match="feed-forward CubaLIF"):
        jaxsnn_claim(to_nir(net, "nonleaky_if"), [[0.1], [0.2]], 2.0)
    with pytest.raises(NIRError, match="method"):
        jaxsnn_claim(to_nir(net, "lif", PARAMS), [[0.1], [0.2]], 2.0, method="bptt")


def test_snntorch_converges_to_exact_spike_times(snntorch_claim):
    """snnTorch's time-stepped Synaptic layers on an exported graph: same spike counts, and the spike-time
    error shrinks with dt (first order: about 10x for 10x smaller dt)."""
    w = _small_net()
    exact = [s.tolist() for s in es.simulate("lif", es.Network.feedforward(w), INPUTS, 3.0, params=PARAMS).spikes]
    graph = to_nir(es.Network.feedforward(w), "lif", PARAMS)
    errors = [_max_error(_flat(snntorch_claim(graph, INPUTS, 3.0, dt)), exact) for dt in (1e-2, 1e-3)]
    assert errors[1] < errors[0] / 4 and errors[1] < 10 * 1e-3


def test_snntorch_surrogate_gradient_is_reported_and_validated(snntorch_claim):
    """The claim carries snnTorch's surrogate BPTT gradient; the validator reads it (well-formed: no
    invalid-file error) and measures it; it points into the exact gradient's half-space here."""
    from exactsnn.interop.adapters.report import peer_report

    w = _small_net()
    graph = to_nir(es.Network.feedforward(w), "lif", PARAMS)
    claim = snntorch_claim(graph, INPUTS, 3.0, 1e-2, loss=LOSS)
    assert [np.shape(g) for g in claim["grad"]["weights"]] == [m.shape for m in w]
    report = es.compare(_case(w, PARAMS, INPUTS, 3.0, LOSS), claim, dps=20)
    assert "grad" in report.by_quantity() and not report.ok
    peer = peer_report(graph, INPUTS, 3.0, claim, loss=LOSS)
    assert peer.cosine > 0 and not peer.missing and not peer.extra
    assert 1e-3 < peer.errors.max() < 0.1  # O(dt) errors at dt = 1e-2


def test_peer_report_finds_missing_and_extra_spikes():
    """A hand-made claim: one spike dropped, one added, one shifted; the exact gradient claimed back
    gives cosine 1 and norm ratio 1."""
    from exactsnn.interop.adapters.report import peer_report

    w = _small_net()
    net = es.Network.feedforward(w)
    res = es.simulate("lif", net, INPUTS, 3.0, params=PARAMS)
    spikes = [s.tolist() for s in res.spikes]
    spikes[0] = spikes[0][:-1]
    spikes[1] = spikes[1] + [2.9]
    spikes[2] = [spikes[2][0] + 1e-3] + spikes[2][1:]
    _, g = es.loss_grad(res, es.Loss(**LOSS))
    mats = net.unflatten(g.weights)
    claim = {"spikes": [spikes[:4], spikes[4:]], "grad": {"weights": [mats["weights[0]"], mats["weights[1]"]]}}
    rep = peer_report(to_nir(net, "lif", PARAMS), INPUTS, 3.0, claim, loss=LOSS)
    assert [j for j, _ in rep.missing] == [0] and [j for j, _ in rep.extra] == [1]
    assert rep.errors.max() == pytest.approx(1e-3, rel=1e-6)
    assert rep.cosine == pytest.approx(1.0) and rep.norm_ratio == pytest.approx(1.0)
    assert rep.sign_agreement == 1.0


def test_snntorch_exact_scheme_puts_the_membrane_on_the_grid(snntorch_claim):
    """With inputs on the grid, the 'exact' mapping (weight kappa w, input at step t/dt + 1) makes
    snnTorch's mem[n] equal V(n dt): every first spike of the first layer (whose inputs are on the grid;
    the next layer's are not) is reported at the end of the step in which the exact crossing lies,
    0 <= t_claim - t_exact < dt."""
    w = _small_net()
    dt = 1e-2
    inputs = [[0.1], [0.3, 1.1], [0.5]]  # multiples of dt
    for params in (PARAMS, {**PARAMS, "tau_syn": 1.0}, {**PARAMS, "tau_syn": 0.4, "tau_mem": 2.0}):
        exact = es.simulate("lif", es.Network.feedforward(w), inputs, 3.0, params=params).spikes
        got = snntorch_claim(to_nir(es.Network.feedforward(w), "lif", params), inputs, 3.0, dt)["spikes"][0]
        firsts = [(g[0], e[0]) for g, e in zip(got, exact[:4]) if len(e)]
        assert len(firsts) >= 3 and all(len(g) for g, e in zip(got, exact) if len(e))
        assert all(-1e-12 <= g - e < dt for g, e in firsts), firsts


def test_cli_validate_and_verify_take_a_nir_graph(tmp_path, capsys):
    """Regression: ``validate``/``verify`` on ``CASE.nir --inputs`` passed the CLI's Case to ``load_case``
    (exit 2, "a case must be a path ..."). An exact claim (exactsnn's own grad output) validates: exit 0;
    the same claim with one weight gradient entry changed disagrees: exit 1."""
    import json

    from exactsnn.cli import main
    from exactsnn.interop import write_nir

    w = _small_net()
    net = es.Network.feedforward(w)
    write_nir(tmp_path / "g.nir", to_nir(net, "lif", PARAMS))
    (tmp_path / "in.json").write_text(json.dumps({"inputs": INPUTS}))
    (tmp_path / "loss.json").write_text(json.dumps(LOSS))
    res = es.simulate("lif", net, INPUTS, 3.0, params=PARAMS)
    value, g = es.loss_grad(res, es.Loss(**LOSS))
    mats = net.unflatten(g.weights)
    claim = {"format": "exactsnn-result/1", "spikes": [[s.tolist() for s in res.spikes[:4]], [s.tolist() for s in res.spikes[4:]]],
             "loss": value, "grad": {"weights": [mats["weights[0]"].tolist(), mats["weights[1]"].tolist()]}}
    (tmp_path / "ok.json").write_text(json.dumps(claim))
    claim["grad"]["weights"][0][0][0] *= 1.01
    (tmp_path / "bad.json").write_text(json.dumps(claim))
    common = ["--inputs", str(tmp_path / "in.json"), "--t-max", "3", "--loss", str(tmp_path / "loss.json"),
              "--dps", "20"]
    assert main(["validate", str(tmp_path / "g.nir"), str(tmp_path / "ok.json"), *common]) == 0
    assert main(["validate", str(tmp_path / "g.nir"), str(tmp_path / "bad.json"), *common]) == 1
    assert main(["verify", str(tmp_path / "g.nir"), *common]) == 0
    capsys.readouterr()
