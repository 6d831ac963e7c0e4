"""Reading scenario files: YAML, ``extends``, relative paths, validation, hashing.

Why apart from the schema: ``extends: other.yaml`` (or a list of files) makes a policy
variant a small diff of the baseline: mappings merge key by key, other values (lists,
numbers) are replaced, except ``policies``, which adds up: a variant's levers join the
ones it extends (one with the same ``label`` replaces the earlier), and
``drop_policies: [label prefixes]`` removes inherited ones (a counterfactual). Relative
paths are resolved against the file that wrote them, so a variant in another folder
still finds the baseline's network. The first problem is reported as one line naming
the file and the field path.
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

ORIGIN = "__written_in__"  # tag on each raw lever: [file, index in that file's own list]
# keys whose values are file paths, resolved against the YAML file that sets them
PATH_KEYS = {("network", "nodes"), ("network", "edges"), ("observed",), ("posterior",)}


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
    """``over`` on top of ``base``: mappings merge key by key, levers add up, anything
    else is replaced."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        elif k == "policies" and isinstance(v, list) and isinstance(out.get(k), list):
            out[k] = merge_levers(out[k], v)
        else:
            out[k] = v
    return out


def merge_levers(base: list, over: list) -> list:
    """The levers of ``base`` then those of ``over``; one of ``over`` with the label of one
    of ``base`` takes its place."""
    out = list(base)
    for lever in over:
        label = lever.get("label") if isinstance(lever, dict) else None
        same = [i for i, b in enumerate(out) if label and isinstance(b, dict) and b.get("label") == label]
        if same:
            out[same[0]] = lever
        else:
            out.append(lever)
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
    if isinstance(raw.get("policies"), list):  # where each lever was written, for error messages
        raw["policies"] = [{**lever, ORIGIN: [str(path), i]} if isinstance(lever, dict) else lever
                           for i, lever in enumerate(raw["policies"])]
    parents = raw.pop("extends", None)
    drop = raw.pop("drop_policies", None)
    if drop is not None and (not isinstance(drop, list) or not all(isinstance(d, str) and d for d in drop)):
        raise InputError(path, "drop_policies", "must be a list of lever label prefixes")
    if parents is None:
        if drop:
            raise InputError(path, "drop_policies", "only a scenario that extends another can drop its levers")
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
    if drop:
        levers = merged.get("policies") or []
        kept = [p for p in levers if not str(p.get("label", "") if isinstance(p, dict) else "").startswith(tuple(drop))]
        unused = [d for d in drop if not any(str(p.get("label", "")).startswith(d) for p in levers if isinstance(p, dict))]
        if unused:
            raise InputError(path, "drop_policies", f"no inherited lever has a label starting with {unused[0]!r}")
        merged["policies"] = kept
    return merge(merged, raw)


def without_origins(raw: dict) -> tuple[dict, list]:
    """The raw scenario without the levers' origin tags, and the tags by lever index."""
    levers = raw.get("policies")
    if not isinstance(levers, list):
        return raw, []
    origins = [lever.get(ORIGIN) if isinstance(lever, dict) else None for lever in levers]
    clean = [{k: v for k, v in lever.items() if k != ORIGIN} if isinstance(lever, dict) else lever for lever in levers]
    return {**raw, "policies": clean}, origins


def lever_error(path, origins: list, index: int, rest: str, message: str) -> InputError:
    """An error in lever ``index`` of the merged list, named where that lever was written
    (the file and its place in that file's own list)."""
    origin = origins[index] if 0 <= index < len(origins) else None
    file, i = (origin if origin else (path, index))
    return InputError(file, f"policies.{i}" + (f".{rest}" if rest else ""), message)


def validate_raw(raw: dict, path: str | Path) -> Scenario:
    clean, origins = without_origins(raw)
    try:
        sc = Scenario.model_validate(clean)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = field_path(err, LEVER_TYPES)
        if err["type"] == "union_tag_invalid":
            msg = f"unknown lever type {err['input'].get('type')!r} (one of {', '.join(LEVER_TYPES)})"
            where += ".type"
        elif err["type"] == "union_tag_not_found":
            msg = f"missing (one of {', '.join(LEVER_TYPES)})"
            where += ".type"
        else:
            e = first_error(exc, path, "scenario", LEVER_TYPES)
            where, msg = e.field, e.message
        parts = where.split(".")
        if parts[0] == "policies" and len(parts) > 1 and parts[1].isdigit():
            raise lever_error(path, origins, int(parts[1]), ".".join(parts[2:]), msg) from None
        raise InputError(path, where, msg) from None
    for lever, origin in zip(sc.policies, origins):
        lever._origin = origin
    return sc


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
