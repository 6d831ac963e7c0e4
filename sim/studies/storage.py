"""Writing results safely: all-or-nothing folders and provenance.

Why: a run that fails half-way (bad input, Ctrl-C, a crash) must not leave a folder
that looks like a result. Everything is written into a hidden temporary sibling and
renamed into place at the end; an existing result folder is replaced only then.
Every output records what made it (version, git commit, scenario hash, seeds).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import sim

PACKAGES = ("mesa", "numpy", "pandas", "scipy", "pydantic", "pyarrow", "matplotlib", "pyyaml")


def atomic_write(path: str | Path, write) -> None:
    """``write(tmp)`` to a temporary name beside ``path``, then rename it to ``path``: a
    reader (or a run that stops half-way) never sees a half-written file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def atomic_text(path: str | Path, text: str) -> None:
    """Write a text file (UTF-8) under ``atomic_write``."""
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


@contextlib.contextmanager
def atomic_dir(final: str | Path):
    """Yield a temporary folder that becomes ``final`` only if the block succeeds."""
    final = Path(final).resolve()
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{os.getpid()}"
        final.rename(old)
    tmp.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, default=str) + "\n", encoding="utf-8")


def git_commit() -> str | None:
    """The commit of the source tree the package runs from, '+dirty' if modified."""
    root = Path(sim.__file__).resolve().parent.parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return rev.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def provenance() -> dict:
    versions = {}
    for p in PACKAGES:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = None
    return {"package": "migsim", "version": sim.__version__, "git_commit": git_commit(),
            "python": sys.version.split()[0], "platform": platform.platform(), "packages": versions}
