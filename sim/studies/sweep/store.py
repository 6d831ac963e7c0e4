"""The sweep folder and its commit protocol: crash-consistent at every instant.

- ``sweep.json``: the spec, its hash (spec + base scenario + data files), the SALib
  problem, provenance. A resume with a different spec is refused.
- ``design.parquet``: the plan, one row per run (run_id, point, seed, factor values),
  and the raw sampler matrix columns (``x_<factor>``) the sensitivity analysis needs.
- ``journal.jsonl``: the commit log, one JSON line per finished run (ok or failed).
  A run exists iff its line is complete. A torn last line is dropped on resume.
- ``series/run_id=<id>/part.parquet``: the run's daily rows (hive-partitioned), and
  ``legs/run_id=<id>/part.parquet``: the people who started each leg (for flow maps).
  Each is written first to ``.staging/<id>.<kind>.parquet`` (tmp + rename), then the
  journal line is appended (the commit point), then moved into place. On resume a
  staged file with a journal line is moved into place (roll forward), one without is
  deleted (roll back), so ``series/`` and ``legs/`` only ever show committed runs.
- ``runs.parquet``: the journal compacted to a table (one row per run, the last entry
  per id wins), rewritten atomically every few seconds, at the end, on Ctrl-C and on
  resume.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from sim.errors import InputError
from sim.studies.storage import atomic_write

KINDS = ("series", "legs")


class Store:
    """The sweep folder and its commit protocol (see the module docstring)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.journal = self.root / "journal.jsonl"
        self.staging = self.root / ".staging"
        self.runs = self.root / "runs.parquet"
        self.meta_path = self.root / "sweep.json"
        self.design_path = self.root / "design.parquet"
        self._fd: int | None = None
        self.columns: list[str] | None = None

    def folder(self, kind: str) -> Path:
        return self.root / kind

    def file(self, kind: str, rid: str) -> Path:
        return self.root / kind / f"run_id={rid}" / "part.parquet"

    # -- set up / check
    def open(self, meta: dict, design: pd.DataFrame, columns: list[str]) -> None:
        self.columns = columns
        if self.meta_path.exists():
            old = json.loads(self.meta_path.read_text())
            if old.get("spec_sha256") != meta["spec_sha256"]:
                raise InputError(self.root, "sweep.json", (
                    "this folder holds a different sweep (spec, base scenario or data files changed); "
                    "use another --out, or the original files to resume"))
        else:
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write(self.design_path, lambda p: design.to_parquet(p, index=False))
            atomic_write(self.meta_path, lambda p: p.write_text(json.dumps(meta, indent=2, default=str) + "\n"))
        if not self.design_path.exists():
            atomic_write(self.design_path, lambda p: design.to_parquet(p, index=False))
        self.staging.mkdir(exist_ok=True)
        for kind in KINDS:
            self.folder(kind).mkdir(exist_ok=True)
        self.recover()
        self._fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- journal
    def read_journal(self) -> dict[str, dict]:
        """Committed runs by id (the last line per id wins); a torn last line is cut off."""
        if not self.journal.exists():
            return {}
        data = self.journal.read_bytes()
        good_end = data.rfind(b"\n") + 1
        rows: dict[str, dict] = {}
        for line in data[:good_end].splitlines():
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            rows[r["run_id"]] = r
        if good_end < len(data) and self._fd is None:  # torn write from a kill: drop it
            with open(self.journal, "r+b") as f:
                f.truncate(good_end)
        return rows

    def _place(self, staged: Path, kind: str, rid: str) -> None:
        dest = self.file(kind, rid)
        dest.parent.mkdir(exist_ok=True)
        os.replace(staged, dest)

    def _drop(self, kind: str, rid: str) -> None:
        d = self.file(kind, rid).parent
        if d.exists():
            for f in d.glob("*"):
                f.unlink()
            d.rmdir()

    def recover(self) -> dict[str, dict]:
        """Roll staged files forward (committed) or back (not), drop orphans, compact."""
        rows = self.read_journal()
        ok = {k for k, r in rows.items() if r.get("status") == "ok"}
        for f in self.staging.glob("*"):
            parts = f.name.split(".")
            rid, kind = parts[0], parts[1] if len(parts) == 3 and parts[2] == "parquet" else None
            if kind in KINDS and rid in ok and not self.file(kind, rid).exists():
                self._place(f, kind, rid)
            else:
                f.unlink(missing_ok=True)
        for kind in KINDS:
            for d in self.folder(kind).glob("run_id=*"):
                rid = d.name.split("=", 1)[1]
                if rid not in ok or not (d / "part.parquet").exists():
                    self._drop(kind, rid)
        self.compact(rows)
        return rows

    def commit(self, row: dict, files: dict[str, bytes] | None) -> None:
        """Stage the run's files, append its journal line (the commit), move them into place."""
        rid = row["run_id"]
        staged = {}
        for kind, data in (files or {}).items():
            staged[kind] = self.staging / f"{rid}.{kind}.parquet"
            tmp = self.staging / f"{rid}.{kind}.tmp-{os.getpid()}"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, staged[kind])
        line = (json.dumps(row, default=str, allow_nan=True) + "\n").encode()
        os.write(self._fd, line)  # the commit point (O_APPEND: one write, one line)
        os.fsync(self._fd)
        for kind in KINDS:
            if kind in staged:
                self._place(staged[kind], kind, rid)
            else:  # a retried run that now failed: no stale files
                self._drop(kind, rid)

    def compact(self, rows: dict[str, dict] | None = None) -> pd.DataFrame:
        rows = self.read_journal() if rows is None else rows
        df = pd.DataFrame(list(rows.values()))
        if self.columns is not None:
            df = df.reindex(columns=self.columns)
        if "point" in df.columns and len(df):
            df = df.sort_values(["point", "seed"], kind="stable").reset_index(drop=True)
        atomic_write(self.runs, lambda p: df.to_parquet(p, index=False))
        return df
