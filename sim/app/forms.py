"""Lever forms built from the scenario schema: one widget per field of a lever.

Why from the schema: the levers are pydantic models in the simulator; their JSON
schema says each field's type (date, number, yes/no, a choice, a list), its range and
its description. Building the widgets from it means a new lever or field appears in
the app with no change here.

Why every value goes through YAML: a field's text is parsed the way the same text
in a scenario file would be (``40`` a number, ``2024-03-01`` a date, ``[a, b]`` a
list), and checked by the simulator's own validation. So what the form accepts is
exactly what a file accepts, and a mistake is reported in the command line's words,
under the field it names.

Fields named ``citizenship(s)`` choose from CBP's citizenship labels, and ``node(s)``
/ ``return_to`` from the network's node ids: the schema only says "string", so
these names are the one convention the forms add.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

import yaml

from sim.app.yamlfiles import plain

# field name -> where its choices come from
CHOICE_SOURCES = {"citizenships": "citizenships", "citizenship": "citizenships",
                  "nodes": "nodes", "node": "nodes", "return_to": "nodes"}
NOT_SET = "(not set)"


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()  # a field left empty: the key is dropped and its default applies


@dataclass(frozen=True)
class FieldSpec:
    """What the form needs to know about one field of a lever."""

    name: str
    kind: str  # const | date | number | bool | text | choice | choices | yaml
    required: bool
    help: str = ""
    options: tuple[str, ...] = ()  # for enum choices
    source: str | None = None  # "citizenships" or "nodes" for choices from data
    example: str = ""  # placeholder of a YAML field


def lever_schemas(schema: dict) -> dict[str, dict]:
    """Lever type -> its JSON schema, from the scenario schema's ``policies`` items."""
    defs = schema.get("$defs", {})
    items = schema["properties"]["policies"]["items"]
    mapping = items.get("discriminator", {}).get("mapping", {})
    if mapping:
        return {t: defs[ref.rsplit("/", 1)[1]] for t, ref in mapping.items()}
    out = {}
    for ref in items.get("oneOf", []):
        d = defs[ref["$ref"].rsplit("/", 1)[1]]
        out[d["properties"]["type"]["const"]] = d
    return out


def _range(p: dict) -> str:
    lo = p.get("minimum")
    hi = p.get("maximum")
    if p.get("exclusiveMinimum") is not None:
        return f"> {p['exclusiveMinimum']:g}"
    if lo is not None and hi is not None:
        return f"{lo:g} to {hi:g}"
    if lo is not None:
        return f">= {lo:g}"
    return ""


def field_spec(name: str, p: dict, required: bool) -> FieldSpec:
    """The widget kind of one schema property."""
    options = p.get("anyOf", [p])
    main = [o for o in options if o.get("type") != "null"]
    m = main[0] if len(main) == 1 else {}
    source = CHOICE_SOURCES.get(name)
    parts = [p.get("description", "")]
    if m.get("type") in ("number", "integer") and _range(m):
        parts.append(f"range {_range(m)}")
    if not required and "default" in p:
        d = p["default"]
        parts.append("default: none" if d is None else f"default: {to_text(d) or 'empty'}")
    help_ = "; ".join(x for x in parts if x)
    if "const" in p:
        kind = "const"
    elif m.get("format") == "date":
        kind = "date"
    elif m.get("type") in ("number", "integer"):
        kind = "number"
    elif m.get("type") == "boolean":
        kind = "bool"
    elif "enum" in m:
        return FieldSpec(name, "choice", required, help_, tuple(m["enum"]))
    elif m.get("type") == "string":
        kind = "choice" if source else "text"
    elif m.get("type") == "array" and m.get("items", {}).get("type") == "string" and source:
        kind = "choices"
    else:
        kind = "yaml"
    example = {"object": "YAML, e.g. {default: 0.1, MEXICO: 0.3}", "array": "YAML, e.g. [[from, to], [from, to]]"}
    return FieldSpec(name, kind, required, help_, (), source if kind in ("choice", "choices") else None,
                     example.get(m.get("type"), "YAML") if kind == "yaml" else "")


def lever_fields(schema: dict, lever_type: str) -> list[FieldSpec]:
    """The fields of a lever type, in the schema's order."""
    d = lever_schemas(schema)[lever_type]
    req = set(d.get("required", []))
    return [field_spec(n, p, n in req) for n, p in d["properties"].items()]


def to_text(value: Any) -> str:
    """A value as the text a person would type in a YAML file ('' for none)."""
    if value is None or value is MISSING:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) and abs(value) >= 1e6 else str(value)
    if isinstance(value, (dt.date, str)):
        return str(value)
    text = yaml.safe_dump(plain(value), default_flow_style=True, width=10_000).strip()
    return text.removesuffix("...").strip()


def from_text(text: str | None, kind: str) -> Any:
    """What a field's text means in a YAML file; MISSING when empty. Text that is not
    valid YAML is kept as a string, so the schema reports it like a file's bad value."""
    if text is None or not text.strip():
        return MISSING
    if kind == "text":
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def new_lever(schema: dict, lever_type: str, start: dt.date) -> dict:
    """A lever to add: its type and start; the missing required fields are then named
    by the validation, at their fields."""
    return {"type": lever_type, "start": start}


def with_field(lever: dict, name: str, value: Any) -> dict:
    """A copy of ``lever`` with one field set (or dropped, for MISSING), keeping the
    order of the fields (so a saved file reads like the one it came from)."""
    if value is MISSING:
        return {k: v for k, v in lever.items() if k != name}
    return {**lever, name: value}


# ------------------------------------------------------------------ widgets

def LeverForm(index: int, lever: dict, specs: list[FieldSpec], choices: dict[str, list[str]],
              error: tuple[str | None, str] | None, on_change: Callable[[dict], None]):
    """The widgets of one lever. ``error`` is (field name or None, one-line message)."""
    import solara

    err_field, err_text = error if error else (None, "")

    def setter(name: str) -> Callable[[Any], None]:
        return lambda value: on_change(with_field(lever, name, value))

    def note(text: str):
        solara.Text(text, classes=["migsim-field-error"], style={"color": "#b00020", "font-size": "0.85em"})

    with solara.Column(gap="4px", classes=[f"migsim-lever-{index}"]):
        for spec in specs:
            if spec.kind == "const":
                continue
            mine = err_text if err_field == spec.name else None
            value = lever.get(spec.name, MISSING)
            label = spec.name + ("" if spec.required else " (optional)")
            if spec.kind == "choices":
                opts = list(choices.get(spec.source, []))
                current = [str(v) for v in value] if isinstance(value, list) else []
                solara.SelectMultiple(label=label, values=current,
                                      all_values=opts + [c for c in current if c not in opts],
                                      on_value=lambda vs, s=setter(spec.name): s(list(vs)),
                                      classes=[f"migsim-field-{spec.name}"])
                solara.Text(spec.help, style={"font-size": "0.8em", "color": "#666"})
                if mine:
                    note(mine)
            elif spec.kind in ("choice", "bool"):
                opts = (["true", "false"] if spec.kind == "bool"
                        else list(spec.options) or list(choices.get(spec.source, [])))
                current = to_text(value) or NOT_SET
                values = [NOT_SET] + opts + ([current] if current not in opts and current != NOT_SET else [])

                def pick(v, name=spec.name, kind=spec.kind):
                    setter(name)(MISSING if v in (None, NOT_SET) else (v == "true" if kind == "bool" else v))

                solara.Select(label=label, values=values, value=current, on_value=pick,
                              classes=[f"migsim-field-{spec.name}"])
                solara.Text(spec.help, style={"font-size": "0.8em", "color": "#666"})
                if mine:
                    note(mine)
            else:
                hint = {"date": "YYYY-MM-DD", "yaml": spec.example}.get(spec.kind, "")
                solara.InputText(label=label, value=to_text(value),
                                 on_value=lambda t, s=setter(spec.name), k=spec.kind: s(from_text(t, k)),
                                 continuous_update=False, error=mine or False,
                                 message=None if mine else spec.help, placeholder=hint or None,
                                 classes=[f"migsim-field-{spec.name}"])
        if err_text and (err_field is None or err_field not in {s.name for s in specs}):
            note(err_text)
