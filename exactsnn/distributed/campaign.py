"""``campaign``: many verification tasks on a Dask cluster, recorded in a durable SQLite table.

Each case becomes one Dask task (``tasks.run_case``); its record is inserted and committed as soon as it
arrives (``store.CampaignStore``). Running the same campaign again with the same store runs only the
cases that have no record yet, so an interrupted campaign resumes and no case is recorded twice.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidInputError
from .cluster import dask_client, has_dashboard
from .sources import GeneratorSpec, claimed_text, folder_cases, generated_cases, model_sources
from .store import CampaignStore
from .tasks import KINDS, run_case


@dataclass
class CampaignResult:
    """What a campaign run did and found.

    Attributes
    ----------
    records : list of dict
        Every record in the store (this run's and earlier ones), worst first (``CampaignStore.records``),
        each with its ``case_json``.
    ran : tuple of str
        Case ids run by this call (in completion order).
    skipped : int
        Cases already recorded by an earlier run and not run again.
    lost : tuple of (str, str)
        Cases whose task Dask could not complete (e.g. its workers kept dying): not recorded, so a
        re-run retries them.
    store : Path
    dashboard : str or None
        The Dask dashboard's address, when there was one.
    wall_time : float
        Seconds of this call.
    """

    records: list
    ran: tuple
    skipped: int
    lost: tuple = ()
    store: Path | None = None
    dashboard: str | None = None
    wall_time: float = 0.0
    counts: dict = field(default_factory=dict)

    def __post_init__(self):
        self.counts = {s: sum(r["status"] == s for r in self.records) for s in ("ok", "fail", "error")}

    @property
    def flagged(self) -> list:
        """Records that are not clean: status ``fail`` or ``error``, or any conditioning flag."""
        return [r for r in self.records if r["status"] != "ok" or r["flags"] not in (None, "[]")]

    def write_flagged(self, folder) -> list:
        """Write each flagged record's case to ``folder/<case_id>.json``; return the paths."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for r in self.flagged:
            path = out / f"{_safe(r['case_id'])}.json"
            path.write_text(r["case_json"])
            paths.append(path)
        return paths


def _safe(case_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in case_id)


def case_source(source) -> tuple:
    """``(cases, description)`` of a source: a folder path, a ``GeneratorSpec`` or a dict of its fields, or
    (``check_model``) a list of built-in model names and model files."""
    if isinstance(source, dict):
        source = GeneratorSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in source.items()})
    if isinstance(source, GeneratorSpec):
        spec = {k: v for k, v in source.to_dict().items() if k != "seeds"}  # more seeds may join a store later
        return generated_cases(source), {"generator": spec}
    if isinstance(source, (str, Path)):
        return folder_cases(source), {"folder": str(Path(source).resolve())}
    if isinstance(source, (list, tuple)) and source and all(isinstance(x, (str, Path)) for x in source):
        return model_sources(source), {"models": [str(x) for x in source]}
    raise InvalidInputError(f"campaign source = {source!r}: expected a folder of case files, a GeneratorSpec "
                            "or a dict of its fields")


def campaign(source, kind: str = "verify", *, dps: int = 30, store="campaign.db", scheduler: str | None = None,
             n_workers: int = 2, retries: int = 1, progress: bool = False, on_record=None) -> CampaignResult:
    """Run ``kind`` on every case of ``source`` as Dask tasks; record each result in ``store`` as it arrives.

    Parameters
    ----------
    source : str, Path, GeneratorSpec, dict or list
        A folder of ``*.json`` case files (case id = file stem), random networks (``GeneratorSpec``), or
        for ``check_model`` a list of models.
    kind : {"verify", "compare"}
        ``"verify"``: float64 spike times, Jacobian and loss gradient against the reference
        (``exactsnn.verify``). ``"compare"`` (folder sources): the claimed answers of another
        implementation, ``<case_id>.claimed.json`` beside each case, against the reference
        (``exactsnn.compare``, the validator). ``"check_model"``: the model battery on each model of a list
        of built-in names and model files (JSON/TOML).
    dps : int
        Digits of the reference (>= 15).
    store : str or Path
        SQLite file of the records. Re-running with the same store runs only the cases without a record.
    scheduler : str, optional
        Address of an existing Dask scheduler (else ``$DASK_SCHEDULER_ADDRESS``, else a ``LocalCluster``
        of ``n_workers`` processes on 127.0.0.1, closed when the campaign ends).
    retries : int
        Dask's ``retries`` per task. A case's own failure never raises (it becomes an ``"error"`` record),
        so these only re-run tasks that failed for reasons outside the case.
    progress : bool
        Show a tqdm progress bar on standard error.
    on_record : callable, optional
        Called with each record after it is committed (an exception from it stops the campaign; what is
        committed stays).

    Returns
    -------
    CampaignResult

    Notes
    -----
    Per case: ``max_abs_err_time = max_k |t_k - t*_k|`` over matched spikes, ``max_rel_err_grad`` the worst
    ``|g - g*| / max_{q' in block} |g*_q'|`` over Jacobian rows and the loss gradient (``exactsnn.verify``).
    """
    if kind not in KINDS:
        raise InvalidInputError(f"kind = {kind!r}; allowed {list(KINDS)}")
    if isinstance(dps, bool) or not isinstance(dps, int) or dps < 15:
        raise InvalidInputError(f"dps = {dps!r}: need an integer >= 15")
    if scheduler is None and (isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1):
        raise InvalidInputError(f"n_workers = {n_workers!r}: need a positive integer")
    start = time.perf_counter()
    cases, described = case_source(source)
    if kind == "compare" and "folder" not in described:
        raise InvalidInputError("kind = 'compare' needs a folder of cases with <case>.claimed.json beside each")
    if (kind == "check_model") != ("models" in described):
        raise InvalidInputError("kind = 'check_model' takes a list of models (built-in names or model files), "
                                "and only it does")
    ids = [cid for cid, _ in cases]
    if len(set(ids)) != len(ids):
        raise InvalidInputError("campaign source has repeated case ids")
    with CampaignStore(store, {"kind": kind, "dps": dps, **described}) as db:
        done = db.done()
        todo = {cid: text for cid, text in cases if cid not in done}
        claims = {cid: claimed_text(source, cid) for cid in todo} if kind == "compare" else {}
        ran, lost, dashboard = [], [], None
        if todo:
            with dask_client(scheduler, n_workers) as client:
                attached = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
                dashboard = client.dashboard_link if (attached or has_dashboard()) else None
                _run(client, todo, claims, kind, dps, retries, db, progress, on_record, ran, lost, dashboard)
        records = db.records(with_case=True)
    return CampaignResult(records, tuple(ran), len(cases) - len(todo), tuple(lost), Path(store), dashboard,
                          time.perf_counter() - start)


def _run(client, todo, claims, kind, dps, retries, db, progress, on_record, ran, lost, dashboard):
    """Submit every case, then commit records in completion order (``distributed.as_completed``)."""
    from dask.distributed import as_completed

    tag = uuid.uuid4().hex[:8]
    ids = list(todo)
    futures = client.map(run_case, ids, [todo[c] for c in ids], [kind] * len(ids), [dps] * len(ids),
                         [claims.get(c) for c in ids], retries=retries, pure=False,
                         key=[f"exactsnn-{kind}-{tag}-{c}" for c in ids])
    owner = dict(zip((f.key for f in futures), ids))
    bar = _bar(len(ids), progress, dashboard)
    try:
        for fut in as_completed(futures):
            try:
                record = fut.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: infrastructure, not the case
                lost.append((owner[fut.key], f"{type(exc).__name__}: {exc}"))
                continue
            finally:
                bar.update(1)
            db.add(record, todo[record["case_id"]])
            ran.append(record["case_id"])
            if on_record is not None:
                on_record(record)
    finally:
        bar.close()
        client.cancel(futures)


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _bar(total, progress, dashboard):
    if not progress:
        return _NoBar()
    if dashboard:
        print(f"exactsnn campaign: Dask dashboard at {dashboard}", file=sys.stderr)
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, unit="case", file=sys.stderr)
