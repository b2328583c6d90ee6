"""Every public entry point rejects bad input with a clear error naming the input."""


import numpy as np
import pytest

from exactsnn import (CaseFormatError, InputSpikeError, Loss, ModelError, Network, NetworkError, adjoint,
                      batch_loss_grad, simulate)
from exactsnn.io.case import load_case
from exactsnn.model import kernel_model

NET = Network.feedforward([[[2.0, 1.0]], [[1.0], [1.0]]])


@pytest.mark.parametrize("inputs,match", [
    ([[float("nan")]], r"inputs\[0\]\[0\] = nan is not finite"),
    ([[float("inf")]], r"inputs\[0\]\[0\] = inf is not finite"),
    ([[-0.5]], r"inputs\[0\]\[0\] = -0.5 is negative"),
    ([[0.5, 0.2]], r"inputs\[0\] is not ascending"),
    ([[0.1], [0.2]], r"inputs has 2 channels; the network has 1"),
    ("abc", r"inputs must be a list"),
    ([["x"]], r"inputs\[0\] must hold numbers only; it holds strings"),
    ([["0.5"]], r"inputs\[0\] must hold numbers only; it holds strings"),
    ([[True]], r"inputs\[0\] must hold numbers only; it holds booleans"),
])
def test_bad_input_spikes(inputs, match):
    with pytest.raises(InputSpikeError, match=match):
        simulate("lif", NET, inputs, 5.0)


@pytest.mark.parametrize("t_max", [0.0, -1.0, float("nan"), float("inf"), "x"])
def test_bad_t_max(t_max):
    with pytest.raises(InputSpikeError, match="t_max"):
        simulate("lif", NET, [[0.1]], t_max)


@pytest.mark.parametrize("params,match", [
    ({"tau_syn": -1.0}, r"tau_syn.*-1.0.*outside the allowed range"),
    ({"tau_mem": 0.0}, r"tau_mem.*outside"),
    ({"threshold": float("nan")}, r"threshold.*outside"),
    ({"tau": 1.0}, r"no parameter\(s\) \['tau'\]"),
    ({"tau_syn": "fast"}, r"tau_syn.*must be a number"),
])
def test_bad_model_parameters(params, match):
    with pytest.raises(ModelError, match=match):
        simulate("lif", NET, [[0.1]], 5.0, params=params)


def test_unknown_model_name():
    with pytest.raises(ModelError, match=r"unknown model name 'lfi'.*lif"):
        simulate("lfi", NET, [[0.1]], 5.0)


@pytest.mark.parametrize("build,match", [
    (lambda: Network.feedforward([[[1.0, float("nan")]]]), r"weights\[0\]\[0, 1\] = nan is not finite"),
    (lambda: Network.feedforward([[[1.0, 2.0]], [[1.0, 1.0]]]), r"weights\[1\] has shape \(1, 2\)"),
    (lambda: Network.feedforward([[[1.0]]], [[[-0.1]]]), r"delays\[0\]\[0, 0\] = -0.1 is negative"),
    (lambda: Network.feedforward([[[1.0]]], [[[0.1, 0.2]]]), r"delays\[0\] has shape"),
    (lambda: Network.feedforward([]), r"at least one layer"),
    (lambda: Network.feedforward([[1.0, 2.0]]), r"2-D"),
    (lambda: Network.recurrent([[1.0, 1.0]], [[1.0]], [0]), r"square"),
    (lambda: Network.recurrent([[1.0]], [[1.0]], [3]), r"outputs = \[3\]"),
    (lambda: Network.recurrent([[1.0]], [[1.0]], [0], delays=[[-1.0]]), r"negative"),
])
def test_bad_networks(build, match):
    with pytest.raises(NetworkError, match=match):
        build()


@pytest.mark.parametrize("args,match", [
    (("exp(-s/tau)", "theta", "theta", {"tau": 1.0, "theta": 1.0}), r"psp\(0\+\) = 1 must be 0"),
    (("s*exp(-s/tau", "theta", "theta", {"tau": 1.0, "theta": 1.0}), r"psp = 's\*exp\(-s/tau' does not parse"),
    (("s*exp(-s/tau)", "theta*exp(-s/q)", "theta", {"tau": 1.0, "theta": 1.0}), r"unknown name 'q'"),
    (("s*exp(-s/tau)", "theta", "theta", {"tau": float("inf"), "theta": 1.0}), r"'tau' = inf must be finite"),
    (("s*exp(-s/tau)", "theta", "theta", {"s": 1.0}), r"reserved"),
])
def test_bad_kernel_models(args, match):
    with pytest.raises(ModelError, match=match):
        kernel_model(*args)


def test_bad_losses_and_gradients():
    with pytest.raises(ValueError, match="loss kind 'mse' is unknown"):
        Loss("mse")
    with pytest.raises(ValueError, match="tau0"):
        Loss("ttfs_cross_entropy", tau0=0.0)
    r = simulate("lif", NET, [[0.1]], 5.0)
    with pytest.raises(ValueError, match=r"dl_dt must have shape"):
        adjoint(r, np.ones(r.n_spikes + 1))
    with pytest.raises(ValueError, match=r"label = 5 must be < the number of outputs"):
        batch_loss_grad("lif", NET, [[[0.1]]], 5.0, Loss("ttfs_cross_entropy", label=5))


def _case(**over):
    doc = {"format": "exactsnn-case/1", "model": {"name": "lif", "tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0},
           "network": {"kind": "feedforward", "weights": [[[3.0]]]}, "inputs": [[0.1]], "t_max": 5.0}
    doc.update(over)
    return doc


@pytest.mark.parametrize("doc,match", [
    (_case(format="exactsnn-case/2"), "format"),
    ({k: v for k, v in _case().items() if k != "t_max"}, r"missing key\(s\) \['t_max'\]"),
    (_case(model={"name": "izhikevich"}), r"model.name = 'izhikevich' is unknown"),
    (_case(model={"name": "lif", "tau_syn": -2.0}), r"tau_syn.*outside"),
    (_case(model={"name": "lif", "tau": 2.0}), r"unknown key"),
    (_case(network={"kind": "grid"}), r"network.kind = 'grid'"),
    (_case(inputs=[[0.3, 0.1]]), r"not ascending"),
    (_case(loss={"kind": "ttfs_cross_entropy"}), r"missing key\(s\) \['label'\]"),
    (_case(loss={"kind": "ttfs_cross_entropy", "label": 3}), r"label = 3 must be <"),
    (_case(model={"name": "kernel", "psp": "exp(-s)", "reset": "1", "threshold": 1.0, "params": {}}), r"psp\(0\+\)"),
])
def test_bad_case_documents(doc, match):
    with pytest.raises(CaseFormatError, match=match):
        load_case(doc)


def test_case_file_that_is_not_json(tmp_path):
    p = tmp_path / "c.json"
    p.write_text("{not json")
    with pytest.raises(CaseFormatError, match="not valid JSON"):
        load_case(str(p))
