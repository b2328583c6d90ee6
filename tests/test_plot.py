"""exactsnn.plot: the figures hold the data they claim to show."""

import numpy as np
import pytest

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import exactsnn as es  # noqa: E402
from exactsnn import plot  # noqa: E402

PARAMS = {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(3)
    net = es.Network.feedforward([rng.uniform(1.0, 4.0, (3, 6)), rng.uniform(-0.3, 0.9, (6, 2))])
    res = es.simulate("lif", net, [[0.0, 0.8], [0.3], [0.5, 1.7]], 6.0, params=PARAMS)
    assert np.bincount(res.spike_neuron, minlength=8)[:6].max() >= 2  # some hidden neuron bursts
    return res


def test_raster_points_are_the_spike_times_grouped_by_layer(result):
    fig = plot.raster(result)
    ax = fig.axes[0]
    lines = {ln.get_label(): ln for ln in ax.get_lines() if not ln.get_label().startswith("_")}
    assert list(lines) == ["input", "hidden", "output"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["input", "hidden", "output"]
    np.testing.assert_array_equal(lines["input"].get_xdata(), result.in_times)
    xs = np.concatenate([lines["hidden"].get_xdata(), lines["output"].get_xdata()])
    ys = np.concatenate([lines["hidden"].get_ydata(), lines["output"].get_ydata()])
    # every spike appears once, at its exact time, in its neuron's row (inputs occupy rows 0..2)
    assert sorted(zip(xs.tolist(), ys.tolist())) == sorted(zip(result.spike_time.tolist(),
                                                               (3 + result.spike_neuron).tolist()))
    assert np.all(lines["output"].get_ydata() >= 3 + 6)
    plt.close(fig)


def test_raster_of_a_recurrent_network_labels_outputs():
    net = es.Network.recurrent(np.full((1, 3), 3.0), [[0, 0.5, 0], [0, 0, 0.8], [0, 0, 0]], outputs=[2])
    res = es.simulate("lif", net, [[0.1]], 5.0, params=PARAMS)
    fig = plot.raster(res, inputs=False)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["recurrent", "output"]
    out = [ln for ln in ax.get_lines() if ln.get_label() == "output"][0]
    np.testing.assert_array_equal(out.get_xdata(), res.spike_time[res.spike_neuron == 2])
    plt.close(fig)


def test_membrane_trace_reaches_threshold_exactly_at_the_spikes(result):
    counts = np.bincount(result.spike_neuron, minlength=result.network.n_neurons)
    busiest = int(np.argmax(counts))
    fig = plot.membrane(result, [busiest, 6], n_samples=3000)
    ax = fig.axes[0]
    traces = [ln for ln in ax.get_lines() if ln.get_label().startswith("neuron")]
    assert [ln.get_label() for ln in traces] == [f"neuron {busiest} (hidden)", "neuron 6 (output)"]
    t, v = traces[0].get_xdata(), traces[0].get_ydata()
    own = result.spike_time[result.spike_neuron == busiest]
    # just below each spike time the trace is at the threshold (to root-finding accuracy) ...
    before = np.searchsorted(t, own) - 1
    np.testing.assert_allclose(t[before], np.nextafter(own, -np.inf), rtol=0, atol=0)
    np.testing.assert_allclose(v[before], 1.0, rtol=0, atol=1e-9)
    # ... it approaches the threshold with the slope the engine recorded at each spike, V(t_k - d) ~ theta - vdot d,
    vdot = result.spike_vdot[result.spike_neuron == busiest]
    v_before = es.membrane_potential(result, busiest, own - 1e-7)
    np.testing.assert_allclose(v_before, 1.0 - vdot * 1e-7, rtol=0, atol=1e-11)
    # ... and stays below it everywhere else on the grid (no crossing without a spike)
    assert np.all(v[np.setdiff1d(np.arange(t.size), before)] < 1.0)
    # threshold line and spike markers
    assert any(np.all(np.asarray(ln.get_ydata()) == 1.0) and ln.get_linestyle() == "--" for ln in ax.get_lines())
    marks = [ln for ln in ax.get_lines() if ln.get_marker() == "o"][0]
    np.testing.assert_array_equal(marks.get_xdata(), own)
    plt.close(fig)


def test_gradient_check_plots_the_pairs_and_their_scaled_errors():
    ref = np.array([1.0, -2.0, 0.5, 4.0])
    val = ref + np.array([0.0, 1e-12, -4e-8, 0.0])
    fig = plot.gradient_check(val, ref)
    ax1, ax2 = fig.axes[:2]
    np.testing.assert_array_equal(ax1.collections[0].get_offsets(), np.column_stack([ref, val]))
    err = ax2.get_lines()[0].get_ydata()
    np.testing.assert_allclose(err, [plot.ERROR_FLOOR, 1e-12 / 4, 4e-8 / 4, plot.ERROR_FLOOR], rtol=1e-3)
    assert ax2.get_yscale() == "log" and "1.00e-08" in ax2.get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="differ in size"):
        plot.gradient_check([1.0], [1.0, 2.0])
    with pytest.raises(TypeError, match="VerifyReport"):
        plot.gradient_check("report")


def test_gradient_check_of_a_verify_report(result):
    case = {"format": "exactsnn-case/1", "model": {"name": "lif", **PARAMS}, "t_max": 4.0,
            "network": {"kind": "feedforward", "weights": [[[2.5, 1.8]], [[0.9, 0.4], [1.2, 1.5]]]},
            "inputs": [[0.1]], "loss": {"kind": "ttfs_cross_entropy", "label": 0}}
    report = es.verify(case, dps=30)
    fig = plot.gradient_check(report)
    pts = fig.axes[0].collections[0].get_offsets()
    grads = [p for p in report.params if p.grad is not None]
    assert len(pts) == len(grads) > 0
    np.testing.assert_allclose(pts[:, 0], [float(p.grad_ref) for p in grads], rtol=1e-15)
    np.testing.assert_array_equal(pts[:, 1], [p.grad for p in grads])
    assert max(fig.axes[1].get_lines()[0].get_ydata()) < 1e-10
    plt.close(fig)


def test_plot_is_not_imported_with_exactsnn():
    import subprocess
    import sys

    code = "import sys, exactsnn; print('matplotlib' in sys.modules, 'exactsnn.plot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
