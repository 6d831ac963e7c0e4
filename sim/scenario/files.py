"""Reading scenario files: YAML, ``extends``, relative paths, validation, hashing.

Why apart from the schema: ``extends: other.yaml`` (or a list of files) makes a policy
variant a small diff of the baseline: mappings merge key by key, everything else (lists,
numbers) is replaced, and relative paths are resolved against the file that wrote them,
so a variant in another folder still finds the baseline's network. The first problem is
reported as one line naming the file and the field path.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import ValidationError

from sim.errors import InputError
from sim.levers import LEVER_TYPES
from sim.scenario.spec import Scenario
from sim.schema import field_path, first_error, read_yaml_mapping

# keys whose values are file paths, resolved against the YAML file that sets them
PATH_KEYS = {("network", "nodes"), ("network", "edges"), ("departures", "file"), ("observed",)}


def _resolve_paths(raw: dict, base: Path) -> dict:
    for keys in PATH_KEYS:
        d = raw
        for k in keys[:-1]:
            d = d.get(k) if isinstance(d, dict) else None
            if d is None:
                break
        if isinstance(d, dict) and isinstance(d.get(keys[-1]), str):
            p = Path(d[keys[-1]])
            d[keys[-1]] = str(p if p.is_absolute() else (base / p).resolve())
    return raw


def merge(base: dict, over: dict) -> dict:
    """``over`` on top of ``base``: mappings merge key by key, anything else is replaced."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def read_raw(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict:
    """The scenario as a plain dict, with ``extends`` applied and paths resolved.

    ``extends`` names one file or a list of files; they merge left to right and the
    file's own keys come last, so ``extends: [handset.yaml, fitted_params.yaml]`` lets
    fitted values override hand-set ones without editing either.
    """
    path = Path(path)
    raw = read_yaml_mapping(path, "scenario")
    raw = _resolve_paths(raw, path.parent)
    parents = raw.pop("extends", None)
    if parents is None:
        return raw
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not parents or not all(isinstance(p, str) for p in parents):
        raise InputError(path, "extends", "must be a file name or a list of file names")
    merged: dict = {}
    for i, parent in enumerate(parents):
        field = "extends" if len(parents) == 1 else f"extends.{i}"
        ppath = (path.parent / parent).resolve()
        if ppath in _seen or ppath == path.resolve():
            raise InputError(path, field, "scenarios extend each other in a circle")
        if not ppath.is_file():
            raise InputError(path, field, f"file not found: {parent}")
        merged = merge(merged, read_raw(ppath, _seen + (path.resolve(),)))
    return merge(merged, raw)


def validate_raw(raw: dict, path: str | Path) -> Scenario:
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        if err["type"] == "union_tag_invalid":
            raise InputError(path, field_path(err, LEVER_TYPES) + ".type", f"unknown lever type {err['input'].get('type')!r} "
                             f"(one of {', '.join(LEVER_TYPES)})") from None
        if err["type"] == "union_tag_not_found":
            raise InputError(path, field_path(err, LEVER_TYPES) + ".type", f"missing (one of {', '.join(LEVER_TYPES)})") from None
        raise first_error(exc, path, "scenario", LEVER_TYPES) from None


def load(path: str | Path) -> Scenario:
    """Read, merge, validate. Cross-checks against data files happen in ``Inputs``."""
    return validate_raw(read_raw(path), path)


def sha256(scenario: Scenario, files: list[str] = ()) -> str:
    """Hash of the validated scenario plus the bytes of every data file it reads."""
    h = hashlib.sha256(json.dumps(scenario.model_dump(mode="json"), sort_keys=True).encode())
    for f in files:
        h.update(Path(f).read_bytes())
    return h.hexdigest()


def json_schema() -> dict:
    return Scenario.model_json_schema()
