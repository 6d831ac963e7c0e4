"""The package's layers: who may import whom, no import cycle, no file too large.

Why a test: the layers (engine, levers, scenario, outcomes, studies) are what lets a new
lever, outcome or plot go in one place; an import that crosses a layer the wrong way
or closes a cycle undoes that quietly.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import ROOT

PKG = ROOT / "sim"
MAX_LINES = 500
# layer -> the sim modules (prefixes) it may import at run time
ALLOWED = {
    "sim.engine": ("sim.engine", "sim.citizenship", "sim.errors", "sim.outcomes.metrics"),
    "sim.levers": ("sim.levers", "sim.engine", "sim.schema", "sim.citizenship", "sim.errors"),
    "sim.outcomes": ("sim.outcomes", "sim.citizenship", "sim.errors"),
    "sim.scenario": ("sim.scenario", "sim.levers", "sim.engine.network", "sim.schema", "sim.citizenship", "sim.errors"),
}


def _modules() -> dict[str, Path]:
    out = {}
    for f in PKG.rglob("*.py"):
        name = ".".join(f.relative_to(ROOT).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = f
    return out


def _imports(path: Path, mods: dict[str, Path]) -> set[str]:
    """sim modules imported at run time (``if TYPE_CHECKING:`` blocks skipped)."""
    tree = ast.parse(path.read_text())
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            skip.update(id(n) for n in ast.walk(node))
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sim"):
            for cand in [node.module] + [f"{node.module}.{a.name}" for a in node.names]:
                if cand in mods:
                    out.add(cand)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in mods)
    return out


MODS = _modules()
GRAPH = {name: _imports(path, MODS) - {name} for name, path in MODS.items()}


def test_no_import_cycle():
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in GRAPH:
        if v not in index:
            visit(v)
    assert not cycles


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layers_import_only_below_them(layer):
    bad = {}
    for name, deps in GRAPH.items():
        if name == layer or name.startswith(layer + "."):
            wrong = {d for d in deps if not d.startswith(ALLOWED[layer])}
            if wrong:
                bad[name] = sorted(wrong)
    assert not bad


def test_no_module_over_the_size_limit():
    big = {str(p.relative_to(ROOT)): n for p in PKG.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not big
