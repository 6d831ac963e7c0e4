"""The path guard: the app reads and writes only inside ``scenarios/`` and ``results/``.

Why a guard of its own: every name the app gets from a person (a picked file, a
"save as" name, an uploaded file's ``extends:`` or data paths, a download) ends up
as a path on this machine. A server reachable from a browser must not let any of
them reach another file (``../pyproject.toml``, ``/etc/passwd``, a symlink placed in
``scenarios/`` that points elsewhere). So every such name goes through ``inside``:
it must be relative, without ``..``, and its fully resolved path (all symlinks
followed) must still lie under the resolved folder. Anything else raises
``PathRefused`` with a sentence the page shows as it is.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

SAFE_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


class PathRefused(ValueError):
    """A name that would lead outside the folders the app may use."""


def find_root(root: str | Path | None = None) -> Path:
    """The project folder: the one given, else $MIGSIM_APP_ROOT, else the working
    folder, else the checkout the package runs from; it must hold ``scenarios/``."""
    candidates = [root, os.environ.get("MIGSIM_APP_ROOT"), Path.cwd(), Path(__file__).resolve().parents[2]]
    for c in candidates:
        if c and (Path(c) / "scenarios").is_dir():
            return Path(c).resolve()
    raise PathRefused(f"no scenarios/ folder in {root or Path.cwd()}: run the app from the project folder")


def inside(base: Path, name: str | os.PathLike) -> Path:
    """``base / name`` resolved, or PathRefused if it would leave ``base``."""
    text = os.fspath(name)
    if not text or not text.strip():
        raise PathRefused("no file name given")
    if "\x00" in text:
        raise PathRefused(f"{text!r}: not a file name")
    p = Path(text)
    if p.is_absolute() or text.startswith("~"):
        raise PathRefused(f"{text}: absolute paths are refused; give a name inside {base.name}/")
    if ".." in p.parts:
        raise PathRefused(f"{text}: '..' is refused; give a name inside {base.name}/")
    base_r = base.resolve()
    full = (base_r / p).resolve()
    if not full.is_relative_to(base_r):
        raise PathRefused(f"{text}: leads outside {base.name}/ (through a symbolic link)")
    return full


class Folders:
    """The two folders of a project the app may touch."""

    def __init__(self, root: str | Path | None = None):
        self.root = find_root(root)
        self.scenarios = (self.root / "scenarios").resolve()
        self.results = (self.root / "results").resolve()
        self.app_results = self.results / "app"

    def scenario(self, name: str) -> Path:
        """An existing scenario file picked by name (relative to scenarios/)."""
        p = inside(self.scenarios, name)
        if p.suffix not in (".yaml", ".yml"):
            raise PathRefused(f"{name}: not a YAML file")
        if not p.is_file():
            raise PathRefused(f"{name}: no such file in scenarios/")
        return p

    def new_scenario(self, stem: str) -> Path:
        """Where a new scenario called ``stem`` would be saved; refuses bad or taken names."""
        stem = stem.strip().removesuffix(".yaml").removesuffix(".yml")
        if not SAFE_STEM.match(stem):
            raise PathRefused(f"{stem or '(empty)'}: use letters, digits, '_', '-' or '.' "
                              "(at most 80, starting with a letter or digit)")
        p = inside(self.scenarios, stem + ".yaml")
        if p.exists() or p.is_symlink():
            raise PathRefused(f"{stem}.yaml exists already in scenarios/: choose another name")
        return p

    def result(self, name: str | os.PathLike) -> Path:
        """A file or folder under results/app/ (downloads, cached runs)."""
        self.app_results.mkdir(parents=True, exist_ok=True)
        return inside(self.app_results, name)

    def scenario_names(self) -> list[str]:
        """Scenario files directly in scenarios/ (not sweeps or data), symlinks out excluded."""
        out = []
        for p in sorted(self.scenarios.glob("*.yaml")):
            if p.name.startswith("."):
                continue
            try:
                inside(self.scenarios, p.name)
            except PathRefused:
                continue
            out.append(p.name)
        return out

    def rel(self, p: Path) -> str:
        """A path as the command line would show it: relative to the project folder."""
        try:
            return str(Path(p).resolve().relative_to(self.root))
        except ValueError:
            return str(p)
