"""Scenario page: pick a scenario file, see its levers on a timeline, edit them in
forms built from the schema, and save the result as a new variant file.

Every change is checked at once with the simulator's own validation; the first
problem is shown next to the field it names, in the command line's words
(``file: field: message``), and a scenario with a problem cannot be saved or run.
"""

from __future__ import annotations

import solara

from sim.app import backend, drafts, figures, forms, state
from sim.app.pages.widgets import Heading, Note, shown_while_open
from sim.app.paths import PathRefused
from sim.app.yamlfiles import UPLOAD_LIMIT, UploadRefused, dump


def _say(text: str) -> None:
    state.message.set(text)


def _open(name: str) -> None:
    try:
        state.draft.set(drafts.open_draft(state.folders(), name))
        _say(f"opened scenarios/{name}")
    except PathRefused as exc:
        _say(f"refused: {exc}")
    except backend.InputError as exc:
        _say(f"cannot open: {exc}")


@solara.component
def FilePicker(d: drafts.Draft):
    f = state.folders()
    names = f.scenario_names()
    typed = solara.use_reactive("")

    def on_upload(info):
        name = str(info.get("name") or "upload.yaml")
        if int(info.get("size") or 0) > UPLOAD_LIMIT:
            _say(f"refused: {name}: {int(info['size']) / 1024:,.0f} kB is over the {UPLOAD_LIMIT // 1024} kB limit")
            return
        try:
            data = info["file_obj"].read(UPLOAD_LIMIT + 1)
            path = drafts.save_upload(f, name, data)
        except (UploadRefused, PathRefused) as exc:
            _say(f"refused: {exc}")
            return
        except backend.InputError as exc:
            _say(f"refused: not a valid scenario: {exc}")
            return
        _open(path.name)

    with solara.Card("Scenario file", classes=["migsim-file-card"]):
        solara.Select(label="scenario file in scenarios/", values=names,
                      value=d.file if d.file in names else None, on_value=_open, classes=["migsim-file-select"])
        with solara.Row(style={"align-items": "center"}):
            # sent when the field loses focus, so before the button's click
            solara.InputText("or open by name (inside scenarios/)", value=typed, classes=["migsim-open-name"])
            solara.Button("Open", on_click=lambda: _open(typed.value), classes=["migsim-open-button"])
        solara.FileDrop(label=f"drop a scenario YAML here to add it to scenarios/ ({UPLOAD_LIMIT // 1024} kB at most)",
                        on_file=on_upload, lazy=True)
        msg = state.message.value
        if msg:
            (solara.Error if msg.startswith(("refused", "cannot", "not saved")) else solara.Success)(
                msg, classes=["migsim-message"])


@solara.component
def SavePanel(d: drafts.Draft, problem):
    f = state.folders()
    name = solara.use_reactive("")
    edits = d.edits()

    def save():
        try:
            path = drafts.save_as(f, d, name.value)
        except PathRefused as exc:
            _say(f"refused: {exc}" if not str(exc).startswith("not saved") else str(exc))
            return
        state.draft.set(drafts.open_draft(f, path.name))
        _say(f"saved scenarios/{path.name} (extends {d.file})")
        name.set("")

    with solara.Card("Save as a new file", classes=["migsim-save-card"]):
        solara.InputText("new file name in scenarios/ (without .yaml)", value=name, classes=["migsim-save-name"])
        solara.Button("Save", on_click=save, disabled=problem is not None, color="primary",
                      classes=["migsim-save-button"])
        if edits:
            Note(f"Changes against {d.file} (what the new file holds, with extends: {d.file}):")
            solara.Preformatted(dump(edits))
        else:
            solara.Text(f"No changes against {d.file} yet.")


@solara.component
def FoldedLever(i: int, lever: dict, d: drafts.Draft, place: tuple, on_unfold):
    """An inherited, unchanged lever in one line: a scenario extending the history has
    a dozen of them, and drawing every form made opening it take seconds."""
    title = f"{i + 1}. {lever.get('type', '(no type)')}"
    end = lever.get("end") or "the end"
    with solara.Card(title, subtitle=str(lever.get("label") or ""), classes=["migsim-lever-card", "migsim-lever-folded"]):
        Note(f"{lever.get('start')} to {end}; inherited from {place[0]} (policies.{place[1]})")
        with solara.Row():
            solara.Button("Edit its fields", on_click=on_unfold, text=True, classes=[f"migsim-unfold-{i}"])
            solara.Button("Remove this lever", on_click=lambda: state.draft.set(d.remove_lever(i)), text=True,
                          classes=["migsim-remove-lever"])


@solara.component
def LeverCard(i: int, lever: dict, d: drafts.Draft, error: tuple[str | None, str] | None):
    """A lever's form; ``error`` is (field or None, the one-line message) when the
    draft's problem is in this lever."""
    schema = drafts.schema()
    kinds = forms.lever_schemas(schema)
    title = f"{i + 1}. {lever.get('type', '(no type)')}"
    with solara.Card(title, subtitle=str(lever.get("label") or ""), classes=["migsim-lever-card"]):
        if lever.get("type") in kinds:
            forms.LeverForm(i, lever, forms.lever_fields(schema, lever["type"]), drafts.choices(d), error,
                            lambda new: state.draft.set(d.set_lever(i, new)))
        else:
            solara.Preformatted(dump(lever))
            solara.Error(error[1] if error else "unknown lever type")
        solara.Button("Remove this lever", on_click=lambda: state.draft.set(d.remove_lever(i)), text=True,
                      classes=["migsim-remove-lever"])


@solara.component
def AddLever(d: drafts.Draft):
    types = list(forms.lever_schemas(drafts.schema()))
    kind, set_kind = solara.use_state(types[0])
    start = d.period()[0]
    with solara.Row(style={"align-items": "center"}):
        solara.Select("lever type", values=types, value=kind, on_value=set_kind, classes=["migsim-add-type"])
        solara.Button("Add lever", on_click=lambda: state.draft.set(
            d.add_lever(forms.new_lever(drafts.schema(), kind, start))), classes=["migsim-add-lever"])


@solara.component
def Page(active: bool = True, visit: int = 0):
    d = shown_while_open(state.current_draft(), active)
    if d is None:
        solara.Error(f"no scenario files in {state.folders().scenarios}")
    else:
        Editor(d)


@solara.component
def Editor(d: drafts.Draft):
    f = state.folders()
    problem = solara.use_memo(lambda: drafts.check(f, d), [d])
    unfolded = solara.use_reactive(frozenset())
    solara.use_effect(lambda: unfolded.set(frozenset()), [d.file])  # another file: fold again
    raw = d.raw()
    png = figures.draft_timeline_png(d)
    with solara.Columns([1, 2.2]):
        with solara.Column():
            FilePicker(d)
            SavePanel(d, problem)
        with solara.Column(classes=["migsim-scenario-main"]):
            Heading(raw.get("name", ""), 2)
            Note(raw.get("description", "") or "")
            p0, p1 = d.period()
            solara.Text(f"scenarios/{d.file}{' (edited, not saved)' if d.changed else ''}: period {p0} to {p1}, "
                        f"{len(d.levers)} lever(s)", classes=["migsim-scenario-status"])
            if problem is not None:
                solara.Error(f"not valid: {problem}", classes=["migsim-check-error"])
            else:
                solara.Success("valid: ready to run", classes=["migsim-check-ok"])
            solara.Image(png, width="100%")
            path = f.rel(f.scenarios / d.file)
            folded = d.inherited(path)
            if any(folded):
                Note(f"{sum(folded)} lever(s) inherited unchanged from the files {d.file} extends are folded: "
                     "'Edit its fields' opens one.")
            places = d.places(path)
            wrong, wrong_field = d.lever_at(path, problem) if problem is not None else (None, None)
            for i, lever in enumerate(d.levers):
                if folded[i] and places[i] not in unfolded.value and i != wrong:  # by place: removals shift indices
                    FoldedLever(i, lever, d, places[i], lambda p=places[i]: unfolded.set(unfolded.value | {p}))
                else:
                    LeverCard(i, lever, d, (wrong_field, str(problem)) if i == wrong else None)
            AddLever(d)
