"""Scale-out on Dask: verification campaigns (``campaign``), training sweeps (``sweep``) and
data-parallel training (``data_parallel.train_data_parallel``). Guide: ``docs/distributed.md``.

``campaign(source, ...)`` runs ``exactsnn.verify`` on every case of a folder of case files or of a
seeded generator of random networks (``GeneratorSpec``), one Dask task per case, on a ``LocalCluster``
that it starts and closes or on an existing scheduler. Records go to an SQLite table as they arrive, so
an interrupted campaign resumes. Dask (``pip install 'exactsnn[distributed]'``) is imported only when
a campaign runs.

This package sits above the runtime, the verification layer and ``exactsnn.io``, and uses only their
public names; nothing in exactsnn imports it.
"""

from .campaign import CampaignResult as CampaignResult
from .campaign import campaign as campaign
from .sources import GeneratorSpec as GeneratorSpec
from .sweep import SweepResult as SweepResult
from .sweep import sweep as sweep
from .sources import parse_seeds as parse_seeds
from .store import CampaignStore as CampaignStore
