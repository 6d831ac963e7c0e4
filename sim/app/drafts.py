"""The scenario being edited: opened from a file, changed lever by lever, checked, saved.

Why a value object: a page re-renders on every change, and Solara notices a change
only when the value is replaced, so a ``Draft`` is never modified in place: every
edit returns a new one. It keeps the merged scenario it started from (``base``) so
that what changed, and so what a saved variant holds, is always ``diff(base, raw)``.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from sim.app import backend
from sim.app.paths import Folders, PathRefused
from sim.app.yamlfiles import as_date as _date
from sim.app.yamlfiles import diff, parse_upload, variant_text


@dataclass(frozen=True)
class Draft:
    file: str  # name in scenarios/ the draft started from
    base: dict = field(repr=False)  # that file, merged (read_raw)
    levers: tuple = ()  # the edited ``policies`` list
    name: str = ""  # the scenario's name (a variant gets its own)
    origins: tuple = ()  # per lever: (file, index in that file's list) it was read from; None if added here

    def raw(self) -> dict:
        return {**self.base, "name": self.name or self.base.get("name", ""), "policies": list(self.levers)}

    def edits(self) -> dict:
        """What differs from the file it started from."""
        return diff(self.base, self.raw())

    @property
    def changed(self) -> bool:
        return bool(self.edits())

    def period(self) -> tuple[dt.date | None, dt.date | None]:
        p = self.base.get("period") or {}
        return _date(p.get("start")), _date(p.get("end"))

    def set_lever(self, i: int, lever: dict) -> "Draft":
        levers = list(self.levers)
        levers[i] = lever
        return replace(self, levers=tuple(levers))

    def add_lever(self, lever: dict) -> "Draft":
        return replace(self, levers=(*self.levers, lever), origins=(*self.written_in(), None))

    def remove_lever(self, i: int) -> "Draft":
        return replace(self, levers=tuple(lv for k, lv in enumerate(self.levers) if k != i),
                       origins=tuple(o for k, o in enumerate(self.written_in()) if k != i))

    def written_in(self) -> tuple:
        """Per lever, (file, index) where it was read from, None for a lever added here."""
        return tuple(self.origins[:len(self.levers)]) + (None,) * max(0, len(self.levers) - len(self.origins))

    def places(self, path: str) -> list[tuple[str, int]]:
        """Where the command line would name each lever: where it was written (an edited
        one too), and a lever added here after the levers of its own file ``path``, as if
        appended to that file."""
        mine = [i for f, i in filter(None, self.written_in()) if f == path]
        nxt = max(mine, default=-1) + 1
        out = []
        for o in self.written_in():
            if o is None:
                o, nxt = (path, nxt), nxt + 1
            out.append(tuple(o))
        return out

    def inherited(self, path: str) -> list[bool]:
        """Per lever: read unchanged from a file other than ``path`` (the history's levers
        under a policy scenario), which the page shows folded until asked."""
        base = (self.base.get("policies") or [])
        return [o is not None and o[0] != path and lv in base for lv, o in zip(self.levers, self.written_in())]

    def lever_at(self, path: str, problem) -> tuple[int | None, str | None]:
        """The lever (index in the draft) and field an InputError of ``check`` points to."""
        parts = problem.field.split(".")
        if len(parts) < 2 or parts[0] != "policies" or not parts[1].isdigit():
            return None, None
        place = (problem.file, int(parts[1]))
        i = next((k for k, p in enumerate(self.places(path)) if p == place), None)
        return i, (parts[2] if i is not None and len(parts) > 2 else None)


def open_draft(folders: Folders, name: str) -> Draft:
    """A draft of a file in scenarios/; PathRefused or InputError when it cannot be."""
    path = folders.scenario(name)
    raw, origins = backend.read_scenario_and_origins(path)
    rel = str(path.relative_to(folders.scenarios))
    places = tuple((folders.rel(Path(o[0])), int(o[1])) if o else None for o in origins)
    return Draft(rel, raw, tuple(copy.deepcopy(raw.get("policies") or [])), raw.get("name", ""), places)


_CHECKED: dict[str, tuple[float, object]] = {}
_CHECKED_LOCK = threading.Lock()
CHECK_TTL_S = 60.0  # data files may change on disk: a check is reused for a minute at most


def check(folders: Folders, draft: Draft):
    """The first problem of the draft as the command line would report it (an
    InputError, whose ``str`` is ``file: field: message``), or None.

    A lever's error names it where it was written (its file and its place in that
    file's list), as ``migsim validate`` does; ``Draft.lever_at`` finds it in the draft.
    Checking reads the network and the departure schedule (a few tenths of a second),
    and every page shows the draft's state, so a result is reused across pages and
    sessions for the same scenario."""
    path = folders.rel(folders.scenarios / draft.file)
    raw = backend.with_origins(draft.raw(), [list(p) for p in draft.places(path)])
    key = path + json.dumps(raw, sort_keys=True, default=str)
    now = time.monotonic()
    with _CHECKED_LOCK:
        hit = _CHECKED.get(key)
    if hit is not None and now - hit[0] < CHECK_TTL_S:
        return hit[1]
    try:
        backend.check_scenario(raw, path)
        result = None
    except backend.InputError as exc:
        result = exc
    with _CHECKED_LOCK:
        if len(_CHECKED) > 256:
            _CHECKED.clear()
        _CHECKED[key] = (now, result)
    return result


def save_as(folders: Folders, draft: Draft, stem: str) -> Path:
    """Write the draft as ``scenarios/<stem>.yaml``: ``extends:`` the file it started from
    and only the differences. Refuses bad names, existing files and invalid drafts;
    reads the file back and removes it unless it gives the draft again."""
    target = folders.new_scenario(stem)
    draft = replace(draft, name=target.stem)
    problem = check(folders, draft)
    if problem is not None:
        raise PathRefused(f"not saved: {problem}")
    text = variant_text(Path(draft.file).as_posix(), draft.edits())  # target is in scenarios/ itself
    with open(target, "x", encoding="utf-8") as f:  # "x": never overwrite
        f.write(text)
    try:
        again = backend.read_scenario(target)
        if again != draft.raw():
            raise PathRefused(f"{target.name}: reading the saved file back does not give the draft")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def save_upload(folders: Folders, filename: str, data: bytes) -> Path:
    """Check an uploaded scenario and keep it as a new file in scenarios/ (named after
    the upload); nothing is written unless it is a valid scenario."""
    parse_upload(filename, data, folders.scenarios)
    target = folders.new_scenario(Path(filename).stem)
    tmp = folders.scenarios / f".upload-{target.stem}.yaml"
    try:
        with open(tmp, "x", encoding="utf-8") as f:
            f.write(data.decode("utf-8"))
        merged = backend.read_scenario(tmp)
        backend.check_scenario(merged, f"scenarios/{Path(filename).name}")
        tmp.rename(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


@lru_cache(maxsize=8)
def _network_choices(nodes: str, edges: str, speeds: tuple) -> tuple[str, ...]:
    net = backend.route_network({"network": {"nodes": nodes, "edges": edges}, "speeds_km_per_day": dict(speeds)})
    return tuple(str(i) for i in net.ids)


def choices(draft: Draft) -> dict[str, list[str]]:
    """Options of the choice fields: citizenship labels and the network's node ids."""
    net = draft.base.get("network") or {}
    try:
        nodes = list(_network_choices(net.get("nodes", ""), net.get("edges", ""),
                                      tuple(sorted((draft.base.get("speeds_km_per_day") or {}).items()))))
    except Exception:  # noqa: BLE001 - a broken network is reported by the validation
        nodes = []
    return {"citizenships": backend.citizenships(), "nodes": nodes}


@lru_cache(maxsize=1)
def schema() -> dict:
    return backend.scenario_schema()
