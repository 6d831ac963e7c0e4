"""Variations of a scenario: dotted-path edits of its raw dict, and policy switches.

Why one module: sweeps set parameters (``border.removed_retry``), calibration sets its
free parameters, effects move a baseline onto a scenario's period, and the browser app
edits levers; all of them edit the same plain dict before validation, so they share
the same rules: ``a.b.c`` creates missing mappings, an integer part indexes a list
(``policies.0.start``), a part ``name[LABEL]`` picks the one item of the list ``name``
whose ``label`` is LABEL (``policies[US-Panama memorandum flights].seats_per_flight``:
a lever named, not numbered, so it stays the same lever when the files it extends gain
levers), and a scalar shorthand (``ofo_share: 0.15``) becomes ``{default: 0.15}``
before a citizenship is keyed into it.
"""

from __future__ import annotations

import copy
from typing import Any


def split_path(path: str) -> list[str]:
    """The parts of a dotted path; dots inside ``[...]`` belong to the label."""
    parts, cur, depth = [], [], 0
    for ch in path:
        if ch == "." and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        depth += (ch == "[") - (ch == "]")
        cur.append(ch)
    parts.append("".join(cur))
    if depth != 0 or any(not p for p in parts):
        raise ValueError(f"not a path: {path!r}")
    return parts


def _labelled(d: Any, part: str) -> tuple[Any, Any] | None:
    """For ``name[LABEL]``: (the list ``name``, the index of its item labelled LABEL);
    None for a plain part. KeyError when no item or several carry the label."""
    if not part.endswith("]") or "[" not in part:
        return None
    name, label = part[:-1].split("[", 1)
    items = d.get(name) if isinstance(d, dict) else None
    if not isinstance(items, list):
        raise KeyError(f"{name}: no list to pick {label!r} from")
    hits = [i for i, it in enumerate(items) if isinstance(it, dict) and it.get("label") == label]
    if len(hits) != 1:
        raise KeyError(f"{name}: {'no' if not hits else len(hits)} item(s) labelled {label!r}")
    return items, hits[0]


def set_path(raw: dict, path: str, value: Any) -> None:
    """Set ``a.b.c`` in nested dicts (creating mappings), list items by integer index or
    by label (``policies[LABEL].field``)."""
    keys = split_path(path)
    d: Any = raw
    for k in keys[:-1]:
        pick = _labelled(d, k)
        if pick is not None:
            d = pick[0][pick[1]]
            continue
        if isinstance(d, list):
            d = d[int(k)]
            continue
        nxt = d.get(k)
        if nxt is None:
            nxt = d[k] = {}
        elif not isinstance(nxt, (dict, list)):
            # a scalar shorthand (ofo_share: 0.15) becomes {default: 0.15} before keying into it
            nxt = d[k] = {"default": nxt}
        d = nxt
    last = keys[-1]
    pick = _labelled(d, last)
    if pick is not None:
        pick[0][pick[1]] = copy.deepcopy(value)
    elif isinstance(d, list):
        d[int(last)] = copy.deepcopy(value)
    else:
        d[last] = copy.deepcopy(value)


def get_path(raw: dict, path: str, default: Any = None) -> Any:
    """The value at ``a.b.c`` (list items by index or by label), or ``default`` when absent."""
    d: Any = raw
    try:
        keys = split_path(path)
    except ValueError:
        return default
    for k in keys:
        try:
            pick = _labelled(d, k)
            d = pick[0][pick[1]] if pick is not None else d[int(k)] if isinstance(d, list) else d[k]
        except (KeyError, IndexError, ValueError, TypeError):
            return default
    return d


def apply_changes(raw: dict, keys: dict[str, Any] | None = None, policies: list[dict] | None = None,
                  remove_policies: list[str] | None = None) -> None:
    """Set dotted keys, drop levers by type, and add levers: an added lever replaces the
    existing ones of the same type and label, otherwise it is appended."""
    for p, v in (keys or {}).items():
        set_path(raw, p, v)
    if not policies and not remove_policies:
        return
    pol = [dict(p) for p in (raw.get("policies") or [])]
    drop = set(remove_policies or ())
    pol = [p for p in pol if p.get("type") not in drop]
    for new in policies or []:
        same = [i for i, p in enumerate(pol) if p.get("type") == new["type"] and p.get("label", "") == new.get("label", "")]
        if same:
            pol = [p for i, p in enumerate(pol) if i not in same[1:]]
            pol[same[0]] = copy.deepcopy(new)
        else:
            pol.append(copy.deepcopy(new))
    raw["policies"] = pol


def on_period_of(raw: dict, other) -> dict:
    """``raw`` moved onto the period, spin-up and random-numbers mode of the validated
    scenario ``other`` (the counterfactual of a policy scenario)."""
    out = copy.deepcopy(raw)
    out["period"] = {"start": other.period.start, "end": other.period.end}
    out["spinup_start"] = other.spinup_start
    out["random_numbers"] = other.random_numbers
    return out
