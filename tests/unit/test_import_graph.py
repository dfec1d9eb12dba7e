"""The code follows the flow: no import cycle between modules, and no stage imports a later one.

store -> features -> predictive -> audiences / segmentations -> dynamics -> activation -> campaigns -> report
-> service.
The package root, workspace.py (the front door), the CLI and config.py (the loader that
assembles every stage's settings) may import any stage; errors.py, settings.py, lazy.py and
formatting.py (figures for people) are the foundation every stage may import; report and
service present the workspace.
Every import counts, including those inside functions and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from pathlib import Path

import segmento

SRC = Path(segmento.__file__).parent
STAGES = {"store": 0, "features": 1, "demo": 1, "predictive": 1.5, "audiences": 2, "segmentations": 2,
          "dynamics": 3, "activation": 4, "campaigns": 4.5, "report": 5, "service": 6}
FOUNDATION = {"segmento.errors", "segmento.settings", "segmento.formatting", "segmento.config", "segmento.lazy"}
FRONT = {"segmento", "segmento.workspace", "segmento.config", "segmento.cli"}


def modules(root: Path) -> dict[str, Path]:
    found = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> the project modules it imports (``from pkg import sub`` names the submodule)."""
    known = modules(root)

    def owner(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in known.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {owner(alias.name) for alias in node.names if alias.name.startswith("segmento")}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("segmento"):
                imported |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else owner(node.module)
                             for a in node.names}
        graph[name] = imported - {name, None}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while (top := stack.pop()) != node:
                group.append(top)
            if group:
                found.append(sorted([node, *group]))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else None


def backward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Imports from a stage module to a later stage, a peer stage, or the front door."""
    wrong = []
    for module, imported in sorted(graph.items()):
        here = stage(module)
        if module in FOUNDATION - {"segmento.config"}:
            wrong += [f"{module} -> {other}" for other in sorted(imported) if other not in FOUNDATION]
        if here is None:
            continue
        for other in sorted(imported):
            there = stage(other)
            if there is None:
                allowed = other in FOUNDATION or (other == "segmento.workspace" and STAGES[here] >= STAGES["report"])
            else:
                allowed = there == here or STAGES[there] < STAGES[here]
            if not allowed:
                wrong.append(f"{module} -> {other}")
    return wrong


def test_every_package_has_a_place_in_the_flow() -> None:
    packages = {path.parent.name for path in SRC.glob("*/__init__.py")}
    assert packages - set(STAGES) == {"cli"}  # a new stage is placed in STAGES, or its imports go unchecked


def test_no_import_cycle_between_modules() -> None:
    assert cycles(import_graph(SRC)) == []


def test_no_stage_imports_a_later_stage() -> None:
    assert backward_imports(import_graph(SRC)) == []


def test_the_checks_see_cycles_and_backward_imports() -> None:
    graph = {"segmento.store.a": {"segmento.features.b"}, "segmento.features.b": {"segmento.store.a"},
             "segmento.dynamics.c": {"segmento.dynamics.d"}, "segmento.dynamics.d": set()}
    assert cycles(graph) == [["segmento.features.b", "segmento.store.a"]]
    assert backward_imports(graph) == ["segmento.store.a -> segmento.features.b"]
