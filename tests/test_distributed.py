"""exactsnn.distributed: campaigns on Dask LocalClusters that the tests start on 127.0.0.1 and close.

- the same campaign on 2 worker processes and on 1 gives identical records (timings aside);
- an interrupted campaign, run again, runs exactly the cases it had not recorded;
- killing a worker process mid-campaign: Dask reruns its tasks, every case is recorded exactly once;
- a case that raises becomes an ``error`` record with its message, and its case file is written out;
- the store's primary key refuses a second record of a case, and a store refuses another campaign;
- workers compiling the same model on a cold cache (fresh ``EXACTSNN_CACHE_DIR``) agree (slow).

Cases are tiny random lif networks (feed-forward and recurrent, multi-spike) checked against the
30-digit mpmath reference.
"""

import json
import os
import signal
import sqlite3
import textwrap

import psutil
import pytest

pytest.importorskip("dask.distributed")
from dask.distributed import Client, LocalCluster  # noqa: E402

from exactsnn.distributed import CampaignStore, GeneratorSpec, campaign  # noqa: E402
from exactsnn.distributed.sources import generated_cases  # noqa: E402
from exactsnn.distributed.tasks import RECORD_FIELDS, TIMING_FIELDS  # noqa: E402
from exactsnn.errors import InvalidInputError  # noqa: E402

SPEC = GeneratorSpec(seeds=tuple(range(6)), n_hidden=(1, 2), t_max=(1.5, 2.0))
IDS = [f"lif-{s}" for s in range(6)]


def local_cluster(n_workers=2, **kw):
    return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address="127.0.0.1:0", **kw)


@pytest.fixture(scope="module")
def cluster():
    with local_cluster() as c, Client(c) as client:
        yield c, client


def listen_ips():
    """IP addresses that this process and its children (workers, nannies) listen on."""
    procs = [psutil.Process()] + psutil.Process().children(recursive=True)
    return [c.laddr.ip for p in procs for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]


def without_timings(records):
    return sorted(({k: r[k] for k in RECORD_FIELDS + ("case_json",) if k not in TIMING_FIELDS} for r in records),
                  key=lambda r: r["case_id"])


def test_two_workers_give_the_records_of_one(cluster, tmp_path):
    c, client = cluster
    two = campaign(SPEC, store=tmp_path / "two.db", scheduler=c.scheduler_address)
    listening = []  # exactsnn starts and closes this cluster; what it listens on, seen mid-campaign
    one = campaign(SPEC, store=tmp_path / "one.db", n_workers=1, on_record=lambda _: listening.extend(listen_ips()))
    assert listening and set(listening) == {"127.0.0.1"}
    assert sorted(two.ran) == sorted(one.ran) == IDS
    assert without_timings(two.records) == without_timings(one.records)
    # the networks are tiny: the engine agrees with the reference and some neurons fire several times
    assert two.counts == {"ok": 6, "fail": 0, "error": 0}
    assert max(r["max_abs_err_time"] for r in two.records) < 1e-11
    assert any('"recurrent"' in r["case_json"] for r in two.records)
    assert any('"feedforward"' in r["case_json"] for r in two.records)
    assert max(r["n_spikes"] for r in two.records) > 3


class Interrupt(Exception):
    pass


def test_interrupted_campaign_resumes_with_the_missing_cases_only(cluster, tmp_path):
    c, _ = cluster
    store, first = tmp_path / "c.db", []

    def stop_after_three(record):
        first.append(record["case_id"])
        if len(first) == 3:
            raise Interrupt

    with pytest.raises(Interrupt):
        campaign(SPEC, store=store, scheduler=c.scheduler_address, on_record=stop_after_three)
    with sqlite3.connect(store) as db:
        before = {r[0]: r for r in db.execute("SELECT * FROM records")}
    assert sorted(before) == sorted(first)
    again = campaign(SPEC, store=store, scheduler=c.scheduler_address)
    assert again.skipped == 3 and sorted(again.ran) == sorted(set(IDS) - set(first))
    with sqlite3.connect(store) as db:
        after = {r[0]: r for r in db.execute("SELECT * FROM records")}
    assert len(after) == 6 and all(after[k] == before[k] for k in before)  # timings too: not run again
    assert campaign(SPEC, store=store, scheduler=c.scheduler_address).ran == ()


def test_killed_worker_still_records_every_case_exactly_once(cluster, tmp_path):
    c, client = cluster  # its nanny starts a new worker process after the kill
    killed = []

    def kill_a_busy_worker(record):
        if killed:
            return
        busy = [w for w, keys in client.processing().items() if keys]
        pids = client.run(os.getpid, workers=busy[:1])
        for addr, pid in pids.items():
            killed.append((addr, client.processing()[addr]))
            os.kill(pid, signal.SIGKILL)

    res = campaign(SPEC, store=tmp_path / "k.db", scheduler=c.scheduler_address, on_record=kill_a_busy_worker)
    assert killed and killed[0][1], "a worker with a task in flight was killed"
    assert res.lost == () and sorted(res.ran) == IDS
    with sqlite3.connect(tmp_path / "k.db") as db:
        ids = [r[0] for r in db.execute("SELECT case_id FROM records")]
    assert sorted(ids) == IDS
    assert res.counts["ok"] == 6


def test_a_raising_case_is_a_failure_record_with_its_case_file(cluster, tmp_path):
    c, _ = cluster
    folder = tmp_path / "cases"
    folder.mkdir()
    good = json.loads(dict(generated_cases(SPEC))["lif-3"])
    (folder / "good.json").write_text(json.dumps(good))
    bad = dict(good, model=dict(good["model"], tau_syn=-1.0))
    (folder / "bad.json").write_text(json.dumps(bad))
    res = campaign(folder, store=tmp_path / "f.db", scheduler=c.scheduler_address)
    rec = {r["case_id"]: r for r in res.records}
    assert rec["good"]["status"] == "ok" and rec["good"]["error"] is None
    assert rec["bad"]["status"] == "error" and "tau_syn" in rec["bad"]["error"]
    assert res.records[0]["case_id"] == "bad"  # worst first
    written = res.write_flagged(tmp_path / "flagged")
    assert [p.name for p in written] == ["bad.json"] and json.loads(written[0].read_text()) == bad


def test_store_refuses_duplicates_and_another_campaign(tmp_path):
    record = dict.fromkeys(RECORD_FIELDS, None) | {"case_id": "a", "status": "ok"}
    with CampaignStore(tmp_path / "s.db", {"kind": "verify", "dps": 30}) as db:
        db.add(record, "{}")
        with pytest.raises(sqlite3.IntegrityError):
            db.add(record, "{}")
        assert db.done() == {"a"}
    with pytest.raises(InvalidInputError, match="another campaign"):
        CampaignStore(tmp_path / "s.db", {"kind": "verify", "dps": 50})


@pytest.mark.parametrize("kw, match", [(dict(kind="train"), "kind"), (dict(dps=5), "dps"),
                                       (dict(n_workers=0), "n_workers")])
def test_bad_arguments_are_named(tmp_path, kw, match):
    with pytest.raises(InvalidInputError, match=match):
        campaign(GeneratorSpec(seeds=(0,)), store=tmp_path / "x.db", **kw)


def test_bad_sources_are_named(tmp_path):
    with pytest.raises(InvalidInputError, match="not a folder"):
        campaign(tmp_path / "missing", store=tmp_path / "x.db")
    with pytest.raises(InvalidInputError, match="no \\*.json"):
        campaign(tmp_path, store=tmp_path / "x.db")
    with pytest.raises(InvalidInputError, match="kinds"):
        GeneratorSpec(kinds=("convolutional",))


COMPILE = textwrap.dedent("""
    def compile_and_simulate(_):
        import exactsnn
        from exactsnn import Network, simulate
        m = exactsnn.kernel_model("s/tau*exp(1 - s/tau)", "theta*exp(-s/tau_r)", "theta",
                                  {"tau": 1.4, "tau_r": 0.7, "theta": 1.0})
        cm = exactsnn.compile_model(m)
        return cm.module.__file__, simulate(cm, Network.feedforward([[[2.0]]]), [[0.0]], 4.0).spike_time.tolist()
""")


@pytest.mark.slow
def test_workers_compile_the_same_model_on_a_cold_cache_safely(tmp_path):
    cache = tmp_path / "cache"
    ns = {}
    exec(COMPILE, ns)  # a function defined in no importable module: cloudpickle ships it by value
    with local_cluster(env={"EXACTSNN_CACHE_DIR": str(cache)}) as c, Client(c) as client:
        workers = list(client.nthreads())
        futures = [client.submit(ns["compile_and_simulate"], i, workers=[w], pure=False)
                   for i, w in enumerate(workers)]
        results = client.gather(futures)
    assert len(results) == 2 and results[0] == results[1] and results[0][1]
    assert results[0][0].startswith(str(cache))
    generated = sorted(f for f in os.listdir(cache) if f.endswith(".py"))
    assert len(generated) == 2 and sum(f.endswith("_kernels.py") for f in generated) == 1
    assert not [f for f in os.listdir(cache) if f.endswith(".tmp")]


def test_cli_campaign_summary_flagged_cases_and_figure(tmp_path, capsys):
    from exactsnn.cli import main

    folder = tmp_path / "cases"
    folder.mkdir()
    cases = dict(generated_cases(SPEC))
    (folder / "good.json").write_text(cases["lif-3"])
    (folder / "broken.json").write_text(cases["lif-2"].replace('"t_max"', '"t_end"'))
    argv = ["campaign", str(folder), "--store", str(tmp_path / "c.db"), "--workers", "1", "--out",
            str(tmp_path / "flagged"), "--plot", str(tmp_path / "hist.png"), "--no-progress"]
    assert main(argv) == 1  # one case could not be run
    out = capsys.readouterr().out
    assert "1 ok, 0 outside tolerance, 1 error(s)" in out
    assert out.index("broken") < out.index("good")  # worst first
    assert (tmp_path / "flagged" / "broken.json").read_text() == (folder / "broken.json").read_text()
    assert not (tmp_path / "flagged" / "good.json").exists()
    assert (tmp_path / "hist.png").stat().st_size > 0
    assert main(argv) == 1 and "0 run now, 2 recorded before" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["campaign"], ["campaign", "--generate", "lif", "--seeds", "3-1"],
                                  ["campaign", "--generate", "lif", "--kinds", "conv"],
                                  ["campaign", "--generate", "lif", "--workers", "0"]])
def test_cli_campaign_bad_arguments_exit_2(argv, tmp_path, capsys):
    from exactsnn.cli import main

    assert main(argv + ["--store", str(tmp_path / "x.db")]) == 2
    assert "invalid input" in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()


def test_sweep_runs_are_the_in_process_runs_and_resume(cluster, tmp_path):
    import numpy as np

    from exactsnn.distributed.sweep import sweep
    from exactsnn.training import config_for
    from exactsnn.training.command import train_to_folder

    c, _ = cluster
    res = sweep("xor", {"hidden": [4, 8]}, seeds=(0, 1), out=tmp_path, scheduler=c.scheduler_address, epochs=5)
    assert sorted(res.ran) == sorted(f"xor-hidden{h}-seed{s}" for h in (4, 8) for s in (0, 1))
    assert [(r["hidden"], r["seed"]) for r in res.rows] == [(4, 0), (4, 1), (8, 0), (8, 1)]
    # a worker's run is the run of the same configuration in this process, weight for weight
    local = train_to_folder(config_for("xor", hidden=8, seed=1, epochs=5), tmp_path / "local", figures=False,
                            progress=False)
    remote = np.load(tmp_path / "xor-hidden8-seed1" / "weights.npz")
    assert np.array_equal(remote["w1"], local.state.weights[0]) and np.array_equal(remote["w2"], local.state.weights[1])
    assert res.rows[3]["test_accuracy"] == local.metrics()["final"]["test_accuracy"]
    means = {(n, v): m for n, v, m, _, _ in res.summary()}
    assert means[("hidden", 8)] == np.mean([r["test_accuracy"] for r in res.rows if r["hidden"] == 8])
    assert res.table.read_text().count("\n") == 5 and res.figure.exists()
    again = sweep("xor", {"hidden": [4, 8]}, seeds=(0, 1), out=tmp_path, scheduler=c.scheduler_address, epochs=5)
    assert again.ran == () and again.rows == res.rows


def engine_answers(text):
    """exactsnn's own exactsnn-result/1 document of a case (spike times, loss, gradient)."""
    from exactsnn import adjoint, loss_value_and_dt, simulate
    from exactsnn.io import load_case, result_document

    case = load_case(text)
    res = simulate(case.model, case.network, case.inputs, case.t_max, params=case.params)
    value, dl_dt, _ = loss_value_and_dt(res, case.loss)
    return result_document(case, res, value, adjoint(res, dl_dt))


def test_compare_campaign_finds_a_perturbed_claim(cluster, tmp_path):
    c, _ = cluster
    cases = dict(generated_cases(SPEC))
    for cid in ("lif-0", "lif-1", "lif-2"):
        (tmp_path / f"{cid}.json").write_text(cases[cid])
    (tmp_path / "lif-0.claimed.json").write_text(json.dumps(engine_answers(cases["lif-0"])))
    shifted = engine_answers(cases["lif-1"])
    shifted["spikes"][0][0][0] += 1e-6  # one claimed spike time off by 1e-6
    (tmp_path / "lif-1.claimed.json").write_text(json.dumps(shifted))
    res = campaign(tmp_path, "compare", store=tmp_path / "c.db", scheduler=c.scheduler_address)
    rec = {r["case_id"]: r for r in res.records}
    assert set(rec) == {"lif-0", "lif-1", "lif-2"}  # the .claimed.json files are not cases
    assert rec["lif-0"]["status"] == "ok" and rec["lif-0"]["max_abs_err_time"] < 1e-11
    assert rec["lif-1"]["status"] == "fail" and json.loads(rec["lif-1"]["flags"]) == ["disagree:spikes"]
    assert abs(rec["lif-1"]["max_abs_err_time"] - 1e-6) < 1e-9
    assert rec["lif-2"]["status"] == "error" and "claimed" in rec["lif-2"]["error"]
    with pytest.raises(InvalidInputError, match="compare"):
        campaign(SPEC, "compare", store=tmp_path / "g.db")


def test_dask_scheduler_address_attaches_to_the_running_cluster(cluster, tmp_path, monkeypatch):
    c, _ = cluster
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", c.scheduler_address)
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    during = []
    res = campaign(GeneratorSpec(seeds=(3,)), store=tmp_path / "e.db",
                   on_record=lambda _: during.append({p.pid for p in psutil.Process().children(recursive=True)}))
    assert res.ran == ("lif-3",) and during == [before]  # no new cluster was started
    assert res.dashboard and "127.0.0.1" in res.dashboard


def test_workers_with_several_threads_are_refused(tmp_path):
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address="127.0.0.1:0") as c:
        with pytest.raises(InvalidInputError, match="one thread per worker"):
            campaign(GeneratorSpec(seeds=(0,)), store=tmp_path / "t.db", scheduler=c.scheduler_address)


@pytest.mark.slow
def test_check_model_campaign_runs_the_battery_per_model(cluster, tmp_path):
    from exactsnn.verification import check_model
    from exactsnn.models import get

    c, _ = cluster
    res = campaign(["srm_alpha"], "check_model", store=tmp_path / "m.db", scheduler=c.scheduler_address)
    (rec,) = res.records
    direct = check_model(get("srm_alpha"), dps=30)  # the same battery in this process
    assert rec["case_id"] == "srm_alpha" and rec["status"] == ("ok" if direct.ok else "fail")
    assert rec["n_spikes"] == sum(n for n, _, _ in direct.networks)
    assert rec["max_abs_err_time"] == max(dt for _, dt, _ in direct.networks)
    with pytest.raises(InvalidInputError, match="check_model"):
        campaign(SPEC, "check_model", store=tmp_path / "x.db")


@pytest.mark.parametrize("recurrent", [False, True])
def test_data_parallel_training_gives_bit_identical_weights(cluster, tmp_path, recurrent):
    import numpy as np

    from exactsnn.distributed.data_parallel import DaskTrainer
    from exactsnn.training import Trainer, config_for

    c, client = cluster
    config = config_for("xor", epochs=8, seed=2, recurrent=recurrent)
    assert len(Trainer(config, progress=False).state.weights) == 3 + recurrent  # the hidden -> hidden block
    single = Trainer(config, progress=False).run()
    trainer = DaskTrainer(config, client, n_shards=2)
    split = trainer.run()
    assert trainer.shard_tasks >= 2 * config.epochs  # every batch was split in two
    for a, b in zip(single.state.weights, split.state.weights):
        assert np.array_equal(a, b)
    assert single.history[-1]["train_loss"] == split.history[-1]["train_loss"]
    assert not np.array_equal(single.state.weights[0], Trainer(config, progress=False).state.weights[0])  # it trained


@pytest.mark.slow
def test_data_parallel_yinyang_three_epochs_bit_identical(cluster):
    import numpy as np

    from exactsnn.distributed.data_parallel import DaskTrainer
    from exactsnn.training import Trainer, config_for

    c, client = cluster
    config = config_for("yinyang", epochs=3, hidden=30, seed=0)
    single = Trainer(config, progress=False).run()
    trainer = DaskTrainer(config, client, n_shards=2)
    split = trainer.run()
    assert trainer.shard_tasks > 3 * 100
    assert all(np.array_equal(a, b) for a, b in zip(single.state.weights, split.state.weights))
    assert single.final["test"].accuracy == split.final["test"].accuracy


def test_a_raising_sweep_run_is_a_failed_row_with_its_message(cluster, tmp_path):
    import json

    from exactsnn.distributed.sweep import sweep

    c, _ = cluster
    (tmp_path / "xor-hidden4-seed1").write_text("a file where the run folder must go")  # that run's task raises
    res = sweep("xor", {"hidden": [4]}, seeds=(0, 1), out=tmp_path, scheduler=c.scheduler_address, epochs=3)
    assert sorted(res.ran) == ["xor-hidden4-seed0", "xor-hidden4-seed1"]
    ok, bad = res.rows
    assert ok["status"] == "ok" and ok["test_accuracy"] is not None
    assert bad["status"] == "failed" and bad["test_accuracy"] is None and (bad["hidden"], bad["seed"]) == (4, 1)
    assert list(res.failed) == ["xor-hidden4-seed1"] and res.failed["xor-hidden4-seed1"] == bad["error"]
    assert bad["error"].startswith(("FileExistsError", "NotADirectoryError")), bad["error"]
    assert "xor-hidden4-seed1" in bad["error"]  # the message names the path
    logged = json.loads((tmp_path / "sweep_failures.json").read_text())
    assert logged["xor-hidden4-seed1"]["error"] == bad["error"] and "mkdir" in logged["xor-hidden4-seed1"]["traceback"]
    assert res.summary() == [("hidden", 4, ok["test_accuracy"], 0.0, 1)]  # the failed run is not averaged
    assert "failed" in res.table.read_text()
    (tmp_path / "xor-hidden4-seed1").unlink()  # fixed: the next call runs only the failed run
    again = sweep("xor", {"hidden": [4]}, seeds=(0, 1), out=tmp_path, scheduler=c.scheduler_address, epochs=3)
    assert again.ran == ("xor-hidden4-seed1",) and again.failed == {}
    assert not (tmp_path / "sweep_failures.json").exists()
    assert [r["status"] for r in again.rows] == ["ok", "ok"]


def test_cli_sweep_exits_1_and_names_the_failed_run(tmp_path, capsys, monkeypatch):
    from exactsnn.cli import main

    with local_cluster(n_workers=1) as c:
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", c.scheduler_address)
        (tmp_path / "xor-hidden4-seed0").write_text("in the way")
        code = main(["sweep", "xor", "--seeds", "0", "--hidden", "4", "--epochs", "2", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and "run xor-hidden4-seed0 failed" in err and "sweep_failures.json" in err


def test_cli_train_dp_xor_weights_equal_one_process(cluster, tmp_path, capsys, monkeypatch):
    import numpy as np

    from exactsnn.cli import main

    c, _ = cluster
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", c.scheduler_address)
    common = ["xor", "--epochs", "6", "--seed", "1", "--no-figures", "--quiet"]
    assert main(["train-dp", *common, "--out", str(tmp_path / "dp"), "--shards", "2"]) == 0
    assert "2 shards" in capsys.readouterr().out
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS")
    assert main(["train", *common, "--out", str(tmp_path / "one")]) == 0
    dp, one = np.load(tmp_path / "dp" / "weights.npz"), np.load(tmp_path / "one" / "weights.npz")
    assert sorted(dp.files) == sorted(one.files) and all(np.array_equal(dp[k], one[k]) for k in one.files)
    from exactsnn.training import Trainer, config_for

    initial = Trainer(config_for("xor", epochs=6, seed=1), progress=False).state.weights[0]
    assert not np.array_equal(one["w1"], initial)  # it trained
    m_dp, m_one = (json.loads((tmp_path / d / "metrics.json").read_text())["final"] for d in ("dp", "one"))
    assert m_dp["test_accuracy"] == m_one["test_accuracy"] and m_dp["train_loss"] == m_one["train_loss"]
