"""The house has no import circle (issue 19 item 5): an AST walk over every module of fhrn_ode,
fhrn_ode.dynamics, fhrn_ode.analysis and fhrn_ode.figures, counting deferred (function-level) imports too."""

from __future__ import annotations

import ast
import importlib
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = {"fhrn_ode": ROOT / "fhrn_ode", "fhrn_ode.dynamics": ROOT / "dynamics",
            "fhrn_ode.analysis": ROOT / "analysis", "fhrn_ode.figures": ROOT / "figures"}


def _modules() -> dict[str, pathlib.Path]:
    mods = {}
    for pkg, folder in PACKAGES.items():
        for f in folder.rglob("*.py"):
            parts = list(f.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join([pkg, *parts])] = f
    return mods


def _targets(name: str, is_pkg: bool, node, mods) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in mods]
    base = name if is_pkg else name.rsplit(".", 1)[0]
    if node.level:
        for _ in range(node.level - 1):
            base = base.rsplit(".", 1)[0]
        mod = base + ("." + node.module if node.module else "")
    else:
        mod = node.module or ""
    return [mod + "." + a.name if mod + "." + a.name in mods else mod for a in node.names
            if mod + "." + a.name in mods or mod in mods]


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of the house it imports anywhere in its body (deferred imports included)."""
    mods = _modules()
    graph = {}
    for name, f in mods.items():
        tree = ast.parse(f.read_text(encoding="utf-8"))
        graph[name] = {m for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                       for m in _targets(name, f.name == "__init__.py", node, mods) if m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
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
                out.append(sorted(comp))

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def test_the_walker_finds_a_planted_circle():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(g) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_deferred_imports():
    g = import_graph()
    assert "fhrn_ode.integration" in g["fhrn_ode.slots"]  # imported inside integrate_slots only
    assert "fhrn_ode.solver" in g["fhrn_ode.integration"]


def test_no_import_circle_in_the_house():
    assert cycles(import_graph()) == []


@pytest.mark.parametrize("pkg", sorted(PACKAGES))
def test_every_module_imports(pkg):
    mods = [m for m in _modules() if m == pkg or m.startswith(pkg + ".") and (
        pkg != "fhrn_ode" or not m.startswith(("fhrn_ode.dynamics", "fhrn_ode.analysis", "fhrn_ode.figures")))]
    for m in sorted(mods):
        if m.endswith("__main__"):
            continue
        importlib.import_module(m)
