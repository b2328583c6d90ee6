"""NIR in and out: round trips, peer conventions against an independent mpmath oracle, refusals, bad input.

The oracle (tests/nir_oracle.py) integrates NIR's own equations from the node fields (reset to
v_reset = 0), so agreement with exactsnn (SRM kernels, subtractive reset) on multi-spike neurons also
checks that the two resets coincide at an exact crossing.
"""

import numpy as np
import pytest

nir = pytest.importorskip("nir")

import exactsnn as es  # noqa: E402
from exactsnn.errors import ExactSNNError, NIRError  # noqa: E402
from exactsnn.interop import from_nir, read_nir, to_nir, write_nir  # noqa: E402

from nir_oracle import cubalif_system, feedforward_spikes, li_if_system  # noqa: E402


def _same_spikes(a, b):
    return len(a.spikes) == len(b.spikes) and all(np.array_equal(x, y) for x, y in zip(a.spikes, b.spikes))


def _roundtrip(tmp_path, graph):
    path = tmp_path / "net.nir"
    write_nir(path, graph)
    return from_nir(path)


def _layers_of(res_spikes, sizes):
    out, k = [], 0
    for n in sizes:
        out.append([list(s) for s in res_spikes[k:k + n]])
        k += n
    return out


def _assert_close(exact, oracle, tol=1e-10):
    for layer_e, layer_o in zip(exact, oracle):
        for se, so in zip(layer_e, layer_o):
            assert len(se) == len(so), (exact, oracle)
            assert np.max(np.abs(np.subtract(se, so)), initial=0) < tol


# ----------------------------------------------------------------------------------------------- round trips
def test_roundtrip_feedforward_bit_identical(tmp_path):
    rng = np.random.default_rng(1)
    net = es.Network.feedforward([rng.normal(2.0, 1.0, (3, 5)), rng.normal(1.0, 1.0, (5, 2))])
    params = {"tau_syn": 0.4, "tau_mem": 1.3, "threshold": 0.9}
    imp = _roundtrip(tmp_path, to_nir(net, "lif", params))
    assert imp.model == "lif" and imp.params == params and imp.populations is None
    assert imp.network.kind == "feedforward" and imp.network.layer_sizes == (3, 5, 2)
    assert np.array_equal(imp.network.weight, net.weight) and np.array_equal(imp.network.delay, net.delay)
    inputs = [[0.1, 0.5, 1.2], [0.2], [0.3, 0.9]]
    a = es.simulate("lif", net, inputs, 6.0, params=params)
    b = imp.simulate(inputs, 6.0)
    assert a.n_spikes > 5 and _same_spikes(a, b)


@pytest.mark.parametrize("model", ["lif", "nonleaky_if"])
def test_roundtrip_recurrent_populations_delays(tmp_path, model):
    rng = np.random.default_rng(2)
    u, w = rng.normal(2.0, 1.0, (3, 5)), rng.normal(0.0, 0.6, (5, 5))
    du = np.tile([[0.1], [0.0], [0.35]], (1, 5))  # per-source delays: one Delay node
    net = es.Network.recurrent(u, w, [1, 3], input_delays=du)
    params = {"tau_syn": [0.5, 0.7], "threshold": [1.0, 1.2]}
    if model == "lif":
        params["tau_mem"] = [1.0, 0.8]
    pops = np.array([0, 1, 0, 1, 1])
    graph = to_nir(net, model, params, pops)
    assert any(isinstance(n, nir.Delay) for n in graph.nodes.values())
    imp = _roundtrip(tmp_path, graph)
    assert imp.model == model and imp.network.kind == "recurrent"
    assert np.array_equal(imp.network.weight, net.weight) and np.array_equal(imp.network.delay, net.delay)
    assert np.array_equal(imp.network.outputs, [1, 3]) and np.array_equal(imp.populations, pops)
    inputs = [[0.1, 0.6], [0.3], [0.2, 0.4]]
    a = es.simulate(model, net, inputs, 3.0, params=params, populations=pops)
    assert a.n_spikes > 5 and _same_spikes(a, imp.simulate(inputs, 3.0))


def test_export_node_fields_follow_the_documented_scaling():
    net = es.Network.feedforward([np.array([[1.5, -0.5]])])
    g = to_nir(net, "lif", {"tau_syn": 0.3, "tau_mem": 2.0, "threshold": 1.1})
    lif = g.nodes["lif1"]
    assert lif.r[0] == 0.3 * 2.0 and lif.w_in[0] == 1.0 and lif.v_reset[0] == 0 and lif.v_leak[0] == 0
    assert np.array_equal(g.nodes["linear_input_layer1"].weight, [[1.5], [-0.5]])
    assert g.nodes["output"].output_type["output"].tolist() == [2]
    g2 = to_nir(net, "nonleaky_if", {"tau_syn": 0.3, "threshold": 1.1})
    assert g2.nodes["synapse1"].r[0] == 0.3 and g2.nodes["if1"].r[0] == 1.0
    assert ("synapse1", "if1") in g2.edges


# ------------------------------------------------------------------ independent oracle, one per convention
INPUTS = [[0.05, 0.3, 0.31], [0.1, 0.7], [0.2]]


def _check_against_oracle(graph, sizes, inputs, t_max, spike_area=1.0, min_multi=1):
    imp = from_nir(graph, spike_area=spike_area)
    res = imp.simulate(inputs, t_max)
    names = [n for n, _, _ in imp.neurons]
    layers = []
    lin = {b: a for a, b in graph.edges}
    for name, size in zip(names, sizes):
        node = graph.nodes[name]
        if isinstance(node, nir.LI):
            fire = [b for a, b in graph.edges if a == name][0]
            systems = [li_if_system(node, graph.nodes[fire], j) for j in range(size)]
        else:
            systems = [cubalif_system(node, j) for j in range(size)]
        layers.append((np.asarray(graph.nodes[lin[name]].weight, float), systems))
    oracle = feedforward_spikes(layers, inputs, t_max, spike_area=spike_area)
    exact = _layers_of(res.spikes, sizes)
    assert sum(len(s) >= 2 for layer in exact for s in layer) >= min_multi  # resets matter
    _assert_close(exact, oracle)
    return res


@pytest.mark.parametrize("tau_syn", [0.5, 1.0])  # 1.0: tau_syn == tau_mem, the kernel's singular set
def test_exactsnn_export_against_oracle(tau_syn):
    rng = np.random.default_rng(3)
    scale = {0.5: (0.5, 1.0), 1.0: (0.3, 0.5)}[tau_syn]  # 1 to 4 spikes per neuron
    net = es.Network.feedforward([rng.uniform(1.5, 4.0, (3, 3)) * scale[0], rng.uniform(1.0, 3.0, (3, 2)) * scale[1]])
    graph = to_nir(net, "lif", {"tau_syn": tau_syn, "tau_mem": 1.0, "threshold": 1.0})
    _check_against_oracle(graph, [3, 2], INPUTS, 3.0)


def _cubalif(n, tau_syn, tau_mem, r, w_in, thr, shape=None):
    shape = (n,) if shape is None else shape
    full = lambda v: np.full(shape, float(v))
    return nir.CubaLIF(tau_syn=full(tau_syn), tau_mem=full(tau_mem), r=full(r), v_leak=full(0),
                       v_threshold=full(thr), v_reset=full(0), w_in=full(w_in))


def test_snntorch_convention_against_oracle():
    """snnTorch's export_to_nir: Synaptic(alpha, beta) -> CubaLIF with tau = dt/(1-decay), r = tau_mem/dt,
    w_in = tau_syn/dt, parameters as shape-(1,) arrays broadcast over the layer, nn.Linear -> Affine
    (zero bias here). Its simulator treats a spike as height 1 for one step: spike_area = dt."""
    dt, alpha, beta = 1e-4, 0.9, 0.95
    ts, tm = dt / (1 - alpha), dt / (1 - beta)
    rng = np.random.default_rng(4)
    w1, w2 = rng.uniform(0.06, 0.12, (3, 3)), rng.uniform(0.04, 0.08, (2, 3))
    nodes = {"input": nir.Input(np.array([3])), "fc1": nir.Affine(w1, np.zeros(3)),
             "lif1": _cubalif(3, ts, tm, tm / dt, ts / dt, 1.0, (1,)), "fc2": nir.Affine(w2, np.zeros(2)),
             "lif2": _cubalif(2, ts, tm, tm / dt, ts / dt, 1.0, (1,)), "output": nir.Output(np.array([2]))}
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")]
    graph = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
    inputs = [[t * 1e-2 for t in ch] for ch in INPUTS]
    _check_against_oracle(graph, [3, 2], inputs, 0.03, spike_area=dt)


def test_norse_convention_against_oracle():
    """Norse's to_nir: LIFCell -> CubaLIF with tau = 1/tau_inv, r = 1, w_in = 1, per-neuron arrays; Linear
    without bias. Dirac spikes (NIR's definition)."""
    ts, tm = 1 / 200.0, 1 / 100.0
    rng = np.random.default_rng(5)
    w1, w2 = rng.uniform(0.0045, 0.012, (4, 3)), rng.uniform(0.002, 0.004, (2, 4))
    nodes = {"input": nir.Input(np.array([3])), "linear1": nir.Linear(w1), "lif1": _cubalif(4, ts, tm, 1, 1, 1.0),
             "linear2": nir.Linear(w2), "lif2": _cubalif(2, ts, tm, 1, 1, 1.0), "output": nir.Output(np.array([2]))}
    edges = [("input", "linear1"), ("linear1", "lif1"), ("lif1", "linear2"), ("linear2", "lif2"), ("lif2", "output")]
    graph = nir.NIRGraph(nodes=nodes, edges=edges, type_check=True)
    inputs = [[t * 2e-2 for t in ch] for ch in INPUTS]
    _check_against_oracle(graph, [4, 2], inputs, 0.05)


def test_jaxsnn_convention_against_oracle():
    """jaxsnn's from_nir: CubaLIF with r = 1, homogeneous per-neuron arrays, Linear weights; its event solver
    favours tau_mem = 2 tau_syn. Dirac spikes."""
    ts, tm = 5e-3, 1e-2
    rng = np.random.default_rng(6)
    w1, w2 = rng.uniform(0.002, 0.005, (3, 3)), rng.uniform(0.0015, 0.003, (2, 3))
    nodes = {"input": nir.Input(np.array([3])), "lin1": nir.Linear(w1), "lif1": _cubalif(3, ts, tm, 1, 1, 0.5),
             "lin2": nir.Linear(w2), "lif2": _cubalif(2, ts, tm, 1, 1, 0.5), "output": nir.Output(np.array([2]))}
    edges = [("input", "lin1"), ("lin1", "lif1"), ("lif1", "lin2"), ("lin2", "lif2"), ("lif2", "output")]
    graph = nir.NIRGraph(nodes=nodes, edges=edges, type_check=True)
    inputs = [[t * 2e-2 for t in ch] for ch in INPUTS]
    _check_against_oracle(graph, [3, 2], inputs, 0.05)


def test_heterogeneous_li_if_chain_against_oracle():
    """A third-party LI -> IF (non-leaky) graph with per-neuron parameters -> populations."""
    rng = np.random.default_rng(7)
    tau = np.array([0.4, 0.6, 0.4])
    nodes = {"input": nir.Input(np.array([3])), "w": nir.Linear(rng.uniform(0.2, 0.6, (3, 3))),
             "syn": nir.LI(tau=tau, r=np.array([1.0, 2.0, 0.5]), v_leak=np.zeros(3)),
             "spk": nir.IF(r=np.array([1.5, 1.0, 2.0]), v_threshold=np.array([1.0, 1.2, 1.0])),
             "output": nir.Output(np.array([3]))}
    edges = [("input", "w"), ("w", "syn"), ("syn", "spk"), ("spk", "output")]
    graph = nir.NIRGraph(nodes=nodes, edges=edges, type_check=True)
    imp = from_nir(graph)
    assert imp.model == "nonleaky_if" and imp.populations.tolist() == [0, 1, 0]  # equal (tau, threshold): one population
    _check_against_oracle(graph, [3], INPUTS, 2.0)


@pytest.mark.slow
def test_odefun_oracle_on_exported_graph():
    """The same check with mpmath's Taylor ODE solver instead of the matrix exponential."""
    net = es.Network.feedforward([np.array([[3.0, 2.0], [1.5, 2.5]])])
    graph = to_nir(net, "lif", {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0})
    res = from_nir(graph).simulate([[0.1, 0.4], [0.2]], 2.0)
    layers = [(graph.nodes["linear_input_layer1"].weight, [cubalif_system(graph.nodes["lif1"], j) for j in range(2)])]
    oracle = feedforward_spikes(layers, [[0.1, 0.4], [0.2]], 2.0, method="odefun", dps=20)
    _assert_close(_layers_of(res.spikes, [2]), oracle, tol=1e-9)


# ------------------------------------------------------------------------------------------------- refusals
def test_refuses_what_nir_cannot_express():
    net = es.Network.feedforward([np.ones((2, 2))], delays=[np.array([[0.1, 0.2], [0.0, 0.0]])])
    with pytest.raises(NIRError, match="per synapse"):
        to_nir(net, "lif")
    with pytest.raises(NIRError, match="adaptive_threshold"):
        to_nir(es.Network.feedforward([np.ones((2, 2))]), "adaptive_threshold")
    model = es.kernel_model(psp="s*exp(-s)", reset="theta*exp(-s)", threshold="theta", params={"theta": 1.0})
    with pytest.raises(NIRError, match="user kernel"):
        to_nir(es.Network.feedforward([np.ones((2, 2))]), model)
    dup = es.Network.feedforward([np.ones((2, 2))]).with_synapses("extra", [0, 0], [0, 0], [1.0, 2.0])
    with pytest.raises(NIRError, match="same pair"):
        to_nir(dup, "lif")


def test_skip_connection_block_imports_as_extra_synapses(tmp_path):
    net = es.Network.feedforward([np.full((2, 3), 2.5), np.full((3, 1), 1.2)]).with_synapses("bias", [1], [3], [0.7])
    imp = _roundtrip(tmp_path, to_nir(net, "lif"))
    assert [b[0] for b in imp.network.blocks][-1].startswith("nir:")
    for field in ("pre", "post", "weight", "delay"):
        assert np.array_equal(getattr(imp.network, field), getattr(net, field))
    inputs = [[0.1, 0.6], [0.3]]
    assert _same_spikes(es.simulate("lif", net, inputs, 5.0), imp.simulate(inputs, 5.0))


# ------------------------------------------------------------------------------------------------ bad input
def _graph(**over):
    nodes = {"input": nir.Input(np.array([2])), "lin": nir.Linear(np.ones((3, 2))),
             "lif": _cubalif(3, 0.5, 1.0, 0.5, 1.0, 1.0), "output": nir.Output(np.array([3]))}
    nodes.update(over)
    edges = [("input", "lin"), ("lin", "lif"), ("lif", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


@pytest.mark.parametrize("over, words", [
    ({"lif": _cubalif(3, float("nan"), 1.0, 0.5, 1.0, 1.0)}, ["'lif'", "tau_syn", "not finite"]),
    ({"lif": _cubalif(3, 0.5, -1.0, 0.5, 1.0, 1.0)}, ["'lif'", "tau_mem", "> 0"]),
    ({"lin": nir.Linear(np.ones((4, 2)))}, ["'lin'", "weight", "inconsistent shapes"]),
    ({"lin": nir.Linear(np.ones((3, 5)))}, ["'lin'", "weight", "inconsistent shapes"]),
    ({"lin": nir.Affine(np.ones((3, 2)), np.ones(3))}, ["'lin'", "bias"]),
    ({"lin": nir.Flatten(np.array([2]))}, ["unsupported", "Flatten"]),
    ({"output": nir.Output(np.array([5]))}, ["'output'", "inconsistent shapes"]),
])
def test_bad_graphs_name_node_and_field(over, words):
    with pytest.raises(NIRError) as err:
        from_nir(_graph(**over))
    for w in words:
        assert w in str(err.value)


def test_bad_graph_structures():
    g = _graph()
    g.nodes["lif"].v_leak = np.full(3, 0.2)
    with pytest.raises(NIRError, match="v_leak"):
        from_nir(g)
    g = _graph()
    g.edges.append(("lin", "output2"))
    g.nodes["output2"] = nir.Output(np.array([3]))
    with pytest.raises(NIRError, match="'output2'"):
        from_nir(g)
    fire = nir.NIRGraph(nodes={"input": nir.Input(np.array([2])), "lin": nir.Linear(np.ones((2, 2))),
                               "if": nir.IF(r=np.ones(2), v_threshold=np.ones(2))},
                        edges=[("input", "lin"), ("lin", "if")], type_check=False)
    with pytest.raises(NIRError, match="no synaptic current"):
        from_nir(fire)


def test_malformed_files(tmp_path):
    bad = tmp_path / "bad.nir"
    bad.write_text("not hdf5")
    with pytest.raises(NIRError, match="cannot read NIR file .*bad.nir"):
        read_nir(bad)
    with pytest.raises(NIRError, match="cannot read"):
        from_nir(tmp_path / "missing.nir")
    import h5py

    write_nir(tmp_path / "ok.nir", _graph())
    with h5py.File(tmp_path / "ok.nir", "a") as f:
        del f["node/nodes/lin/type"]
        f["node/nodes/lin"].create_dataset("type", data="Mystery", dtype=h5py.string_dtype())
    with pytest.raises(NIRError, match="'lin'.*Mystery"):
        from_nir(tmp_path / "ok.nir")
    assert issubclass(NIRError, ExactSNNError)


def test_nested_subgraph_is_inlined():
    """snnTorch exports RSynaptic as a nested NIRGraph (input -> lif -> w_rec -> lif -> output)."""
    sub = nir.NIRGraph(nodes={"input": nir.Input(np.array([2])), "lif": _cubalif(2, 0.5, 1.0, 0.5, 1.0, 1.0),
                              "w_rec": nir.Linear(np.array([[0.0, 0.5], [0.5, 0.0]])),
                              "output": nir.Output(np.array([2]))},
                       edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
                       type_check=False)
    outer = nir.NIRGraph(nodes={"input": nir.Input(np.array([2])), "fc": nir.Linear(np.full((2, 2), 2.0)),
                                "rec": sub, "output": nir.Output(np.array([2]))},
                         edges=[("input", "fc"), ("fc", "rec"), ("rec", "output")], type_check=False)
    imp = from_nir(outer)
    assert imp.network.kind == "recurrent" and imp.neurons[0][0] == "rec.lif"
    # gain r w_in / (tau_mem tau_syn) = 1: the same network written by hand is U = fc.T, W = w_rec.T
    net = es.Network.recurrent(np.full((2, 2), 2.0), np.array([[0.0, 0.5], [0.5, 0.0]]), [0, 1])
    inputs = [[0.1, 0.4], [0.3]]
    params = {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}
    assert _same_spikes(es.simulate("lif", net, inputs, 3.0, params=params), imp.simulate(inputs, 3.0))


def test_trainer_shaped_network_roundtrip(tmp_path):
    """The Yin-Yang trainer's layout: 5 channels (last = bias) -> hidden -> 3, bias -> outputs block, per-layer
    thresholds (populations): identical spike times and first-output predictions after a file round trip."""
    rng = np.random.default_rng(8)
    n_in, n_hid, n_out = 5, 30, 3
    net = es.Network.feedforward([rng.normal(0.6, 0.4, (n_in, n_hid)), rng.normal(0.3, 0.3, (n_hid, n_out))])
    net = net.with_synapses("bias_output", np.full(n_out, n_in - 1), net.outputs, rng.normal(0.2, 0.1, n_out))
    pops = np.repeat([0, 1], [n_hid, n_out])
    params = {"tau_syn": 1.0, "tau_mem": 1.0, "threshold": [1.0, 0.9]}
    imp = _roundtrip(tmp_path, to_nir(net, "lif", params, pops))
    for field in ("pre", "post", "weight", "delay", "outputs"):
        assert np.array_equal(getattr(imp.network, field), getattr(net, field))
    for k in range(10):
        v = rng.uniform(0, 1, 4)
        inputs = [[0.15 + 1.85 * x] for x in v] + [[0.9]]
        a = es.simulate("lif", net, inputs, 4.0, params=params, populations=pops)
        b = imp.simulate(inputs, 4.0)
        assert _same_spikes(a, b)
        assert np.array_equal(a.first_spikes()[0], b.first_spikes()[0])


# ---------------------------------------------------------------------------------------------------- CLI
def test_cli_export_and_run_nir(tmp_path, capsys):
    import json
    from pathlib import Path

    from exactsnn.cli import main
    from exactsnn.interop.spike_data import write_spikes

    case = Path(__file__).parent / "fixtures" / "ff_lif_equal_tau.case.json"
    doc = json.loads(case.read_text())
    assert main(["export-nir", str(case), str(tmp_path / "m.nir")]) == 0
    write_spikes(tmp_path / "in.npz", doc["inputs"], t_max=doc["t_max"])
    (tmp_path / "loss.json").write_text(json.dumps(doc["loss"]))
    capsys.readouterr()
    assert main(["grad", str(case), "--jacobian"]) == 0
    expected = capsys.readouterr().out
    assert main(["grad", str(tmp_path / "m.nir"), "--inputs", str(tmp_path / "in.npz"), "--loss",
                 str(tmp_path / "loss.json"), "--jacobian"]) == 0
    assert capsys.readouterr().out == expected  # identical spikes, loss, gradients and Jacobian
    (tmp_path / "bad.nir").write_text("garbage")
    kernel = Path(__file__).parent / "fixtures" / "ff_kernel_alpha.case.json"
    for argv, words in ((["simulate", str(tmp_path / "m.nir")], "--inputs"),
                        (["simulate", str(tmp_path / "bad.nir"), "--inputs", str(tmp_path / "in.npz")], "bad.nir"),
                        (["simulate", str(case), "--inputs", str(tmp_path / "in.npz")], "go with a .nir graph"),
                        (["export-nir", str(kernel), str(tmp_path / "k.nir")], "user kernel")):
        assert main(argv) == 2
        assert words in capsys.readouterr().err


@pytest.mark.parametrize("over, words", [
    ({"lif": _cubalif(3, float("nan"), 1.0, 0.5, 1.0, 1.0)}, "'lif' (CubaLIF): field 'tau_syn'[0] = nan"),
    ({"lif": _cubalif(3, 0.5, -2.0, 0.5, 1.0, 1.0)}, "'lif' (CubaLIF): field 'tau_mem'[0] = -2.0"),
    ({"lin": nir.Scale(np.ones(3))}, "unsupported NIR node(s) {'lin': 'Scale'}"),
    ({"lin": nir.Linear(np.ones((3, 4)))}, "'lin' (Linear): field 'weight' has shape (3, 4)"),
])
def test_cli_bad_nir_files_exit_2(tmp_path, capsys, over, words):
    from exactsnn.cli import main
    from exactsnn.interop.spike_data import write_spikes

    write_nir(tmp_path / "g.nir", _graph(**over))
    write_spikes(tmp_path / "in.csv", [[0.1], [0.2]])
    assert main(["simulate", str(tmp_path / "g.nir"), "--inputs", str(tmp_path / "in.csv"), "--t-max", "2"]) == 2
    assert words in capsys.readouterr().err


def test_graph_written_by_snntorch(tmp_path):
    """A graph written by snnTorch's own export_to_nir (snnTorch 1.0.0, nir 1.0.8): Synaptic layers with
    per-neuron alpha/beta (scalar ones export 0-d parameters that nir 1.0.8's type inference rejects,
    snnTorch issue #410). Imported with spike_area = dt (snnTorch's dt = 1e-4) and checked against the oracle."""
    torch = pytest.importorskip("torch")
    snn = pytest.importorskip("snntorch")
    from snntorch.export_nir import export_to_nir

    def synaptic(n):
        return snn.Synaptic(alpha=torch.full((n,), 0.9), beta=torch.full((n,), 0.95), threshold=torch.ones(n),
                            init_hidden=True)

    net = torch.nn.Sequential(torch.nn.Linear(3, 3, bias=False), synaptic(3), torch.nn.Linear(3, 2, bias=False),
                              synaptic(2))
    rng = np.random.default_rng(4)
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(rng.uniform(0.06, 0.12, (3, 3))))
        net[2].weight.copy_(torch.tensor(rng.uniform(0.04, 0.08, (2, 3))))
    write_nir(tmp_path / "snntorch.nir", export_to_nir(net, torch.zeros(3)))
    graph = read_nir(tmp_path / "snntorch.nir")
    assert isinstance(graph.nodes["1"], nir.CubaLIF) and graph.nodes["1"].w_in[0] == pytest.approx(10.0, rel=1e-6)
    inputs = [[t * 1e-2 for t in ch] for ch in INPUTS]
    _check_against_oracle(graph, [3, 2], inputs, 0.03, spike_area=1e-4)


def test_nir_import_and_simulate_do_not_load_sympy(tmp_path):
    import subprocess
    import sys
    import textwrap

    write_nir(tmp_path / "g.nir", _graph())
    code = textwrap.dedent(f"""
        import sys
        from exactsnn.interop import from_nir
        r = from_nir({str(tmp_path / "g.nir")!r}).simulate([[0.1], [0.2]], 3.0)
        print("sympy" in sys.modules, "exactsnn" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def _random_net(seed, recurrent):
    rng = np.random.default_rng(seed)
    n_in = int(rng.integers(1, 4))
    if recurrent:
        n = int(rng.integers(1, 5))
        du = np.tile(rng.choice([0.0, 0.2], (n_in, 1)), (1, n))
        return es.Network.recurrent(rng.normal(1.5, 1.0, (n_in, n)), rng.normal(0.0, 0.5, (n, n)),
                                    sorted(rng.choice(n, int(rng.integers(1, n + 1)), replace=False).tolist()),
                                    input_delays=du), rng
    sizes = [n_in] + rng.integers(1, 5, int(rng.integers(1, 4))).tolist()
    return es.Network.feedforward([rng.normal(1.5, 1.0, (a, b)) for a, b in zip(sizes, sizes[1:])]), rng


@pytest.mark.parametrize("seed", range(12))
def test_random_networks_roundtrip_through_files(tmp_path, seed):
    """Property over random shapes, parameters, populations, per-source delays and both models."""
    net, rng = _random_net(seed, recurrent=seed % 2 == 1)
    model = "lif" if seed % 3 else "nonleaky_if"
    n_pop = min(int(rng.integers(1, 3)), net.n_neurons)
    pops = np.arange(net.n_neurons) % n_pop
    params = {"tau_syn": rng.uniform(0.2, 1.5, n_pop).tolist(), "threshold": rng.uniform(0.5, 1.5, n_pop).tolist()}
    if model == "lif":
        params["tau_mem"] = rng.choice([1.0, 2.0], n_pop).tolist()
    imp = _roundtrip(tmp_path, to_nir(net, model, params, pops if n_pop > 1 else None))
    for field in ("pre", "post", "weight", "delay", "outputs"):
        assert np.array_equal(getattr(imp.network, field), getattr(net, field))
    inputs = [np.sort(rng.uniform(0, 2, int(rng.integers(0, 3)))).tolist() for _ in range(net.n_inputs)]
    a = es.simulate(model, net, inputs, 4.0, params=params, populations=pops if n_pop > 1 else None)
    assert _same_spikes(a, imp.simulate(inputs, 4.0))
