"""Saved runs: every trained block on disk, ``load`` reproduces the run's test accuracy bit for bit,
a killed run resumed from its checkpoint equals an uninterrupted run, metrics.csv grows per epoch."""

import csv
import json

import numpy as np
import pytest

import exactsnn
from exactsnn.cli import main
from exactsnn.errors import InvalidInputError
from exactsnn.training import command, config_for, datasets, load, train_to_folder

# Yin-Yang exercises everything that must survive a save: the bias -> output block, learned
# delays and thresholds (per-neuron populations), EMA weights and best-validation selection.
TINY = dict(hidden=8, epochs=4, train_size=60, batch_size=20, eval_every=1, learn_delays=True,
            learn_thresholds=True)


def _rows(path):
    with open(path) as f:
        return [{k: v for k, v in r.items() if k != "wall_time_s"} for r in csv.DictReader(f)]


def _strip_times(history):
    return [{k: v for k, v in r.items() if k != "wall_time_s"} for r in history]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = train_to_folder(config_for("yinyang", **TINY), out, figures=False, progress=False)
    return out, result


def test_saved_run_holds_every_block_and_loads_exactly(tiny_run):
    out, result = tiny_run
    with np.load(out / "weights.npz", allow_pickle=False) as f:
        assert {"w1", "w2", "w_bias_output", "delays", "thresholds"} <= set(f.files)
        assert f["delays"].size == f["w1"].size + f["w2"].size + f["w_bias_output"].size
    model = exactsnn.load(out)
    assert model.config == result.config
    assert [b[0] for b in model.network.blocks] == ["weights[0]", "weights[1]", "bias_output"]
    want = result.state.network()
    for k in ("pre", "post", "weight", "delay", "outputs"):
        assert np.array_equal(getattr(model.network, k), getattr(want, k)), k
    assert np.array_equal(model.thresholds, result.state.thresholds)
    metrics = json.loads((out / "metrics.json").read_text())
    ev = model.evaluate("test")
    # bit for bit: the recorded number, not an approximation of it
    assert ev.accuracy == metrics["final"]["test_accuracy"] and ev.loss == metrics["final"]["test_loss"]
    assert np.array_equal(model.predict(datasets.yinyang("test").times), ev.predictions)


def test_metrics_csv_has_one_row_per_epoch(tiny_run):
    out, result = tiny_run
    rows = _rows(out / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == list(range(1, TINY["epochs"] + 1))
    for r, h in zip(rows, result.history):
        assert float(r["train_loss"]) == h["train_loss"] and float(r["test_accuracy"]) == h["test_accuracy"]


def kill_and_resume(config, out, monkeypatch, after: int):
    """Train ``config`` into ``out``, kill it after epoch ``after`` (its checkpoint written), resume; the result."""
    real = command.save_checkpoint

    def save_then_die(trainer, folder):
        real(trainer, folder)
        if len(trainer.history) == after:
            raise KeyboardInterrupt(f"killed after epoch {after}")

    monkeypatch.setattr(command, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_to_folder(config, out, figures=False, progress=False)
    assert len(_rows(out / "metrics.csv")) == after
    monkeypatch.setattr(command, "save_checkpoint", real)
    return train_to_folder(None, out, figures=False, progress=False, resume=True)


def test_killed_run_resumes_to_the_uninterrupted_result(tiny_run, tmp_path, monkeypatch):
    full_dir, full = tiny_run
    resumed = kill_and_resume(config_for("yinyang", **TINY), tmp_path, monkeypatch, after=2)
    assert _strip_times(resumed.history) == _strip_times(full.history)
    for a, b in zip(resumed.state.weights + [resumed.state.delays, resumed.state.thresholds],
                    full.state.weights + [full.state.delays, full.state.thresholds]):
        assert np.array_equal(a, b)
    assert _rows(tmp_path / "metrics.csv") == _rows(full_dir / "metrics.csv")
    assert resumed.test_accuracy == full.test_accuracy


def test_cli_resume_and_messages(tmp_path, capsys):
    out = tmp_path / "xor"
    assert main(["train", "xor", "--epochs", "2", "--hidden", "4", "--out", str(out), "--no-figures",
                 "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "figures" not in text and str(out) in text
    assert main(["train", "xor", "--resume", str(out), "--epochs", "5"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["train", "iris", "--resume", str(out)]) == 2
    # resuming a finished run trains nothing more and gives the same result
    assert main(["train", "xor", "--resume", str(out), "--no-figures", "--quiet"]) == 0
    assert len(_rows(out / "metrics.csv")) == 2


def test_progress_prints_one_line_per_epoch_when_not_a_terminal(tmp_path, capsys):
    train_to_folder(config_for("xor", epochs=3, hidden=4), tmp_path, figures=False, progress=True)
    lines = [l for l in capsys.readouterr().err.splitlines() if l.startswith("train xor epoch")]
    assert [l.split()[3] for l in lines] == ["1/3", "2/3", "3/3"]


def test_load_rejects_a_folder_without_a_model(tmp_path):
    with pytest.raises(InvalidInputError, match="model.json"):
        load(tmp_path)
    (tmp_path / "model.json").write_text('{"format": "exactsnn-model/1", "config": {"task": "xor"}}')
    np.savez(tmp_path / "weights.npz", w1=np.zeros((3, 2)))
    with pytest.raises(InvalidInputError, match="TrainConfig fields"):
        load(tmp_path)


def test_evaluate_rejects_an_unknown_split(tiny_run):
    with pytest.raises(InvalidInputError, match="split 'dev'"):
        load(tiny_run[0]).evaluate("dev")


def test_a_trained_run_exported_to_nir_reads_back_to_the_same_network_and_predictions(tiny_run, tmp_path):
    """``exactsnn export-nir RUN_DIR out.nir``: the NIR graph of a trained run (bias -> output block, learned
    delays and per-neuron thresholds) imports to the same synapses and predicts the same classes on the test
    set as the loaded run."""
    pytest.importorskip("nir")
    from exactsnn.interop.nir import from_nir, read_nir

    out, _ = tiny_run
    path = tmp_path / "trained.nir"
    assert main(["export-nir", str(out), str(path)]) == 0
    trained = load(out)
    imported = from_nir(read_nir(path))
    test = datasets.yinyang("test")
    ours = trained.run(test.times[:60], test.labels[:60])
    theirs = exactsnn.batch_loss_grad(imported.model, imported.network, exactsnn.Patterns.first_spikes(test.times[:60]),
                                      trained.config.t_max, trained.loss, labels=test.labels[:60], params=imported.params,
                                      want_grad=False, populations=imported.populations)
    assert np.array_equal(ours.t_first, theirs.t_first)
    assert np.array_equal(np.argmin(ours.t_first, axis=1), np.argmin(theirs.t_first, axis=1))


def test_train_export_nir_writes_the_trained_network(tmp_path):
    pytest.importorskip("nir")
    from exactsnn.interop.nir import from_nir, read_nir

    out, path = tmp_path / "run", tmp_path / "xor.nir"
    assert main(["train", "xor", "--epochs", "2", "--out", str(out), "--no-figures", "--quiet",
                 "--export-nir", str(path)]) == 0
    imported, trained = from_nir(read_nir(path)), load(out)
    order_ours = np.lexsort((trained.network.post, trained.network.pre))
    order_nir = np.lexsort((imported.network.post, imported.network.pre))
    assert np.array_equal(trained.network.weight[order_ours], imported.network.weight[order_nir])
