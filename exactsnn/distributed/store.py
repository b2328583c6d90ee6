"""The durable table of a campaign: one SQLite file, one row per case, written as results arrive.

Why SQLite: it is in the standard library (no extra dependency), every insert is a transaction that is
on disk when ``commit`` returns (an interrupted campaign loses at most the tasks in flight), the whole
campaign is one file to copy or query (``sqlite3 campaign.db 'select * from records'``), and the
primary key ``case_id`` makes a second record of the same case an error rather than a silent duplicate.
Parquet would need pandas/pyarrow and cannot append one row durably.

Tables: ``records`` (the columns ``tasks.RECORD_FIELDS`` plus ``kind``, ``dps`` and the case's JSON
text) and ``meta`` (``key``/``value``: the campaign's configuration, checked when it resumes).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from ..errors import InvalidInputError
from .tasks import RECORD_FIELDS

_TYPES = {"case_id": "TEXT PRIMARY KEY", "status": "TEXT NOT NULL", "flags": "TEXT", "error": "TEXT",
          "ok": "INTEGER", "well_conditioned": "INTEGER", "certified": "INTEGER", "n_spikes": "INTEGER",
          "n_spikes_ref": "INTEGER"}
COLUMNS = RECORD_FIELDS + ("case_json",)


class CampaignStore:
    """An open campaign table (use as a context manager, or call ``close``).

    Parameters
    ----------
    path : str or Path
        The SQLite file; created with its tables when missing.
    config : dict
        What defines the campaign's answers (kind, digits, source). A new file stores it; an existing
        one must hold the same, else ``InvalidInputError`` (resuming would mix two campaigns).
    """

    def __init__(self, path, config: dict):
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(self.path)
        except sqlite3.Error as exc:
            raise InvalidInputError(f"store = {str(path)!r}: cannot open an SQLite file there ({exc})") from None
        cols = ", ".join(f"{c} {_TYPES.get(c, 'REAL')}" for c in RECORD_FIELDS)
        with self.db:
            self.db.execute(f"CREATE TABLE IF NOT EXISTS records ({cols}, case_json TEXT NOT NULL)")
            self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._check_config(config)

    def _check_config(self, config: dict):
        text = json.dumps(config, sort_keys=True)
        row = self.db.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()
        if row is None:
            with self.db:
                self.db.execute("INSERT INTO meta VALUES ('config', ?)", (text,))
        elif row[0] != text:
            old = json.loads(row[0])
            diff = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
            raise InvalidInputError(f"store {str(self.path)!r} holds another campaign (it differs in {diff}: "
                                    f"{[old.get(k) for k in diff]!r} there); use a new store file for this one")

    def done(self) -> set:
        """Case ids already recorded."""
        return {r[0] for r in self.db.execute("SELECT case_id FROM records")}

    def add(self, record: dict, case_json: str):
        """Insert one record and commit it; a second record of the same case raises ``sqlite3.IntegrityError``."""
        with self.db:
            self.db.execute(f"INSERT INTO records VALUES ({', '.join('?' * len(COLUMNS))})",
                            [record.get(c) for c in RECORD_FIELDS] + [case_json])

    def records(self, with_case: bool = False) -> list:
        """Every record as a dict, worst first: errors, then failures, then by descending spike-time error."""
        cols = COLUMNS if with_case else RECORD_FIELDS
        rows = self.db.execute(
            f"SELECT {', '.join(cols)} FROM records ORDER BY CASE status WHEN 'error' THEN 0 WHEN 'fail' THEN 1 "
            "ELSE 2 END, max_abs_err_time IS NULL, max_abs_err_time DESC, max_rel_err_grad DESC, case_id").fetchall()
        return [dict(zip(cols, r)) for r in rows]

    def close(self):
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
