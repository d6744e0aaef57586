"""The code's shape (issue: the job engine in its own package): webapp/jobs/ names no
feature, the packages under webapp/ import each other without cycles, and no file
under webapp/ grows past 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WEBAPP = Path(__file__).resolve().parents[2] / "webapp"
FEATURES = ("webapp.ingestion", "webapp.emissions", "webapp.schedules")
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(WEBAPP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every webapp module `path` imports, at any depth (lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("webapp.")}


def _node(module: str) -> str:
    """The part of webapp a module belongs to: its sub-package, or itself at the top."""
    return ".".join(module.split(".")[:2])


SOURCES = sorted(WEBAPP.rglob("*.py"))


def test_the_job_engine_names_no_feature():
    for path in (WEBAPP / "jobs").rglob("*.py"):
        named = {name for name in _imports(path) if name.startswith(FEATURES)}
        assert not named, f"{path.name} imports {sorted(named)}"


def test_no_import_cycle_between_the_parts_of_webapp():
    # webapp/__init__.py (create_app) is the composition root: it may import every part.
    graph: dict[str, set[str]] = {}
    for path in SOURCES:
        module = _module_name(path)
        if module == "webapp":
            continue
        here = _node(module)
        targets = {_node(name) for name in _imports(path)} - {here, "webapp"}
        graph.setdefault(here, set()).update(target for target in targets
                                             if (WEBAPP.parent / target.replace(".", "/")).exists()
                                             or (WEBAPP.parent / f"{target.replace('.', '/')}.py")
                                             .exists())
    cycle = _find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(WEBAPP)))
def test_files_stay_small(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_the_cycle_finder_finds_a_cycle_and_only_then():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
