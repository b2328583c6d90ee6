"""Peer adapters: jaxsnn's own simulator on a NIR graph, validated by exactsnn (skipped without jaxsnn)."""

import numpy as np
import pytest

import exactsnn as es
from exactsnn.errors import NIRError
from exactsnn.interop import to_nir


@pytest.fixture(scope="module")
def jaxsnn_claim():
    pytest.importorskip("jaxsnn")
    from exactsnn.interop.adapters.jaxsnn import jaxsnn_claim

    return jaxsnn_claim


@pytest.mark.slow  # jax compiles for ~20 s per case
@pytest.mark.parametrize("tau_syn", [1.0, 0.5])  # jaxsnn's two solvable ratios
def test_jaxsnn_float64_matches_exact_and_validates(jaxsnn_claim, tau_syn):
    rng = np.random.default_rng(0)
    w = [rng.uniform(1.0, 2.5, (3, 4)), rng.uniform(0.4, 1.0, (4, 2))]
    net = es.Network.feedforward(w)
    params = {"tau_syn": tau_syn, "tau_mem": 1.0, "threshold": 1.0}
    inputs = [[0.1], [0.3, 1.1], [0.5]]
    claim = jaxsnn_claim(to_nir(net, "lif", params), inputs, 3.0)
    assert not claim["jaxsnn"]["budget_full"]
    res = es.simulate("lif", net, inputs, 3.0, params=params)
    exact = [s.tolist() for s in res.spikes]
    got = [s for layer in claim["spikes"] for s in layer]
    assert [len(s) for s in got] == [len(s) for s in exact] and res.n_spikes > 6
    assert max(abs(a - b) for s, e in zip(got, exact) for a, b in zip(s, e)) < 1e-9
    case = {"format": "exactsnn-case/1", "model": {"name": "lif", **params}, "inputs": inputs, "t_max": 3.0,
            "network": {"kind": "feedforward", "weights": [m.tolist() for m in w]}}
    report = es.compare(case, claim, dps=30)
    assert report.ok


def test_jaxsnn_adapter_refuses_what_jaxsnn_cannot_run(jaxsnn_claim):
    net = es.Network.feedforward([np.ones((2, 2))])
    with pytest.raises(NIRError, match="tau_mem / tau_syn"):
        jaxsnn_claim(to_nir(net, "lif", {"tau_syn": 0.3}), [[0.1], [0.2]], 2.0)
    with pytest.raises(NIRError, match="feed-forward CubaLIF"):
        jaxsnn_claim(to_nir(net, "nonleaky_if"), [[0.1], [0.2]], 2.0)


def test_snntorch_converges_to_exact_spike_times():
    """snnTorch's time-stepped Synaptic layers on an exported graph: same spike counts, and the spike-time
    error shrinks with dt (first order: about 10x for 10x smaller dt)."""
    pytest.importorskip("snntorch")
    from exactsnn.interop.adapters.snntorch import snntorch_claim

    rng = np.random.default_rng(0)
    net = es.Network.feedforward([rng.uniform(1.0, 2.5, (3, 4)), rng.uniform(0.4, 1.0, (4, 2))])
    params = {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}
    inputs = [[0.1], [0.3, 1.1], [0.5]]
    exact = [s.tolist() for s in es.simulate("lif", net, inputs, 3.0, params=params).spikes]
    graph = to_nir(net, "lif", params)
    errors = []
    for dt in (1e-2, 1e-3):
        got = [s for layer in snntorch_claim(graph, inputs, 3.0, dt)["spikes"] for s in layer]
        assert [len(s) for s in got] == [len(s) for s in exact]
        errors.append(max(abs(a - b) for s, e in zip(got, exact) for a, b in zip(s, e)))
    assert errors[1] < errors[0] / 4 and errors[1] < 10 * 1e-3
