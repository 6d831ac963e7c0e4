"""YAML in and out of the app: uploads, and variants saved as a diff of their base.

Why a diff: a variant saved by the app is read by researchers next to the file it
came from, so it holds ``extends: <that file>`` and only what changed (as the
hand-written variants in ``scenarios/`` do). ``diff`` is the inverse of the
simulator's ``extends`` merge: mappings merge key by key, levers add up (a variant
lists the levers it adds or changes and drops the ones it removes by label), anything
else (lists, numbers, dates) is replaced whole.

Why limits on uploads: an upload comes from a browser. It is read only if it is at
most 256 kB of UTF-8 text, it is parsed with ``yaml.safe_load`` (no Python objects),
anchors and aliases are refused (a few hundred bytes of nested aliases expand to
gigabytes once merged and hashed), and every file it names (``extends``, the network
and data files, ``observed``) must lie inside ``scenarios/``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from sim.app import backend
from sim.app.paths import PathRefused, inside

UPLOAD_LIMIT = 256 * 1024  # bytes
# keys of a scenario whose values name files, as (path of keys)
FILE_KEYS = (("network", "nodes"), ("network", "edges"), ("departures", "file"), ("observed",))


class UploadRefused(ValueError):
    """An uploaded file the app will not read; the message says why, in one line."""


def parse_upload(name: str, data: bytes, scenarios: Path) -> dict:
    """The mapping in an uploaded scenario file, or UploadRefused."""
    if len(data) > UPLOAD_LIMIT:
        raise UploadRefused(f"{name}: {len(data) / 1024:,.0f} kB is over the {UPLOAD_LIMIT // 1024} kB limit")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UploadRefused(f"{name}: not UTF-8 text") from None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, (yaml.AliasToken, yaml.AnchorToken)):
                raise UploadRefused(f"{name}: line {token.start_mark.line + 1}: YAML anchors and aliases are "
                                    "not accepted in uploads")
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise UploadRefused(f"{name}: {where}bad YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(raw, dict):
        raise UploadRefused(f"{name}: a scenario must be a YAML mapping")
    for field, value in named_files(raw):
        if not isinstance(value, str):
            continue  # the schema reports a wrong type
        try:
            inside(scenarios, value)
        except PathRefused as exc:
            raise UploadRefused(f"{name}: {field}: {exc}") from None
    return raw


def named_files(raw: dict) -> list[tuple[str, Any]]:
    """(field, value) of every file a scenario mapping names itself."""
    out = []
    ext = raw.get("extends")
    if isinstance(ext, list):
        out += [(f"extends.{i}", e) for i, e in enumerate(ext)]
    elif ext is not None:
        out.append(("extends", ext))
    for keys in FILE_KEYS:
        d: Any = raw
        for k in keys:
            d = d.get(k) if isinstance(d, dict) else None
        if d is not None:
            out.append((".".join(keys), d))
    return out


def merge(base: dict, over: dict) -> dict:
    """``extends`` semantics (the simulator's own merge), with ``drop_policies`` applied."""
    over = dict(over)
    drop = over.pop("drop_policies", None)
    if drop:
        base = {**base, "policies": [p for p in base.get("policies") or []
                                     if not str(p.get("label", "")).startswith(tuple(drop))]}
    return backend.merge_scenarios(base, over)


def diff(base: dict, new: dict, where: str = "") -> dict:
    """The smallest mapping ``d`` with ``merge(base, d) == new``.

    A key of ``base`` missing from ``new`` cannot be expressed (a variant can only add
    or replace), so it raises ValueError. Levers add up under ``extends``: a variant
    lists the levers it adds or changes (a changed one keeps its label) and drops the
    inherited ones it removes by label (``_lever_diff``)."""
    gone = [k for k in base if k not in new]
    if gone:
        raise ValueError(f"{where}{gone[0]}: a variant cannot remove a key of the scenario it extends")
    out = {}
    for k, v in new.items():
        if k not in base:
            out[k] = v
        elif not where and k == "policies" and isinstance(v, list) and isinstance(base[k], list):
            out.update(_lever_diff(base[k], v))
        elif isinstance(v, dict) and isinstance(base[k], dict):
            d = diff(base[k], v, f"{where}{k}.")
            if d:
                out[k] = d
        elif not same(v, base[k]):
            out[k] = v
    return out


def _lever_diff(base: list, new: list) -> dict:
    """``policies`` (added or changed levers) and ``drop_policies`` (labels of inherited
    levers removed) that turn ``base`` into ``new``; ValueError if an inherited lever
    without a label would have to go, or if no such pair gives ``new`` exactly."""
    labels = {lv.get("label") for lv in new if isinstance(lv, dict)}
    drop = [lv.get("label") for lv in base if isinstance(lv, dict) and lv.get("label") not in labels]
    kept = [lv for lv in base if not (isinstance(lv, dict) and lv.get("label") in drop)]
    over = [lv for lv in new if not any(same(lv, k) for k in kept)]
    out = ({"drop_policies": drop} if drop else {}) | ({"policies": over} if over else {})
    if any(d is None for d in drop) or not same(merge({"policies": base}, out)["policies"], new):
        # the order changed, or a label is shared: drop every inherited lever, list them all
        drop = [lv.get("label") for lv in base if isinstance(lv, dict)]
        if any(not d for d in drop):
            raise ValueError("policies: a variant cannot remove or reorder an inherited lever without a label")
        out = {"drop_policies": drop, "policies": list(new)}
        if not same(merge({"policies": base}, out)["policies"], new):
            raise ValueError("policies: the levers cannot be written as a variant of the inherited ones")
    return out


def same(a: Any, b: Any) -> bool:
    """Equal as YAML values (1 == 1.0, but True is not 1)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def as_date(v) -> dt.date | None:
    """A date from a YAML value (a date or ISO text); None when it is not one."""
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v))
    except ValueError:
        return None


def plain(v: Any) -> Any:
    """Tuples to lists, so YAML writes flow sequences and not Python tags."""
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def dump(doc: dict) -> str:
    """YAML text of ``doc``: readable (accents as they are), unless a character would not
    read back the same (a few Unicode line breaks), then escaped."""
    data = plain(doc)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)
    if yaml.safe_load(text) != data:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=False, default_flow_style=None, width=100)
    return text


def variant_text(extends: str, edits: dict, note: str = "") -> str:
    """A variant file: a comment, ``extends:``, then the edits."""
    head = f"# {note}\n" if note else ""
    stamp = dt.date.today().isoformat()
    return (f"{head}# Written by `migsim app` on {stamp}: only what differs from {extends}.\n"
            + dump({"extends": extends, **edits}))
