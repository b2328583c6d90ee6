"""The Dask client a campaign runs on: a ``LocalCluster`` that exactsnn starts and closes, or an existing
scheduler (``scheduler="tcp://host:port"`` or ``$DASK_SCHEDULER_ADDRESS``).

Scheduling, retries after a lost worker and work stealing are Dask's; nothing here re-implements them.
The local cluster listens on 127.0.0.1 only (scheduler, workers and, when bokeh is installed, the
dashboard). Workers run one thread each: the mpmath reference sets its precision on mpmath's global
context (``mp.workdps``), which threads of one process share.
"""

from __future__ import annotations

import importlib.util
import os
from contextlib import contextmanager

from ..errors import InvalidInputError


def _dask():
    try:
        from dask import distributed
    except ImportError:
        raise InvalidInputError("campaigns need Dask: pip install 'exactsnn[distributed]' "
                                "(dask[distributed])") from None
    return distributed


def has_dashboard() -> bool:
    """True when the Dask dashboard can run (it needs bokeh)."""
    return importlib.util.find_spec("bokeh") is not None


@contextmanager
def dask_client(scheduler: str | None = None, n_workers: int = 2):
    """Yield a ``distributed.Client``; a cluster started here is closed on exit (also on an exception).

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler. Default: ``$DASK_SCHEDULER_ADDRESS``, else a new
        ``LocalCluster(n_workers, threads_per_worker=1, processes=True)`` on 127.0.0.1.
    n_workers : int
        Worker processes of the local cluster (ignored when attaching).
    """
    distributed = _dask()
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        with distributed.Client(address) as client:
            _check_threads(client)
            yield client
        return
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise InvalidInputError(f"n_workers = {n_workers!r}: need a positive integer")
    # the scheduler's HTTP server (dashboard when bokeh is installed, else metrics) also on loopback
    with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0") as cluster, distributed.Client(cluster) as client:
        yield client


def _check_threads(client):
    """Refuse workers with several threads (mpmath's precision is process-global)."""
    many = {w: n for w, n in client.nthreads().items() if n > 1}
    if many:
        raise InvalidInputError(f"workers {sorted(many)} run {sorted(set(many.values()))} threads; exactsnn tasks "
                                "need one thread per worker process (dask worker --nthreads 1): the mpmath "
                                "reference's precision is global to a process")
