"""The house rules of the code base, checked on its source (no imports of the project needed):
the store package is the only door to SQLite, no import cycles (function-local imports included),
no module over 600 lines, stores and settings typed at every seam, a docstring on every module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "stresswatch"
MAX_LINES = 600


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _targets(module: str, path: Path, node: ast.Import | ast.ImportFrom, known: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join(package + ([base] if base else []))
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
    out = []
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            out.append(name)
    return out


def import_graph() -> dict[str, set[str]]:
    """module -> project modules it imports anywhere in its body (module level or in functions)."""
    known = modules()
    graph: dict[str, set[str]] = {m: set() for m in known}
    for module, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[module].update(_targets(module, path, node, known))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles_function_local_imports_included():
    assert cycles(import_graph()) == []


def test_store_is_the_only_door_to_sqlite():
    offenders = []
    for module, path in modules().items():
        if module.startswith("stresswatch.store"):
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"\bimport sqlite3\b|\.conn\b|\.execute\(|\.executemany\(", text):
            offenders.append(module)
        if re.search(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE TABLE)\b", text):
            offenders.append(module)
    assert offenders == []


def test_the_store_package_imports_no_domain_package():
    domain = ("stresswatch.regimes", "stresswatch.alerts", "stresswatch.mail", "stresswatch.reports",
              "stresswatch.app", "stresswatch.events", "stresswatch.compute", "stresswatch.pipeline")
    graph = import_graph()
    leaks = {m: sorted(t for t in targets if t.startswith(domain))
             for m, targets in graph.items() if m.startswith("stresswatch.store")}
    assert {m: t for m, t in leaks.items() if t} == {}


@pytest.mark.parametrize("module,path", sorted(modules().items()))
def test_module_size_and_docstring(module, path):
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_LINES, f"{module} has more than {MAX_LINES} lines"
    if text.strip():
        assert ast.get_docstring(ast.parse(text)), f"{module} has no docstring saying what it owns"


def test_stores_and_settings_are_typed_at_every_seam():
    pattern = re.compile(r"\b(store|settings|app_settings)\s*:\s*Any\b")
    offenders = [f"{m}:{n}" for m, p in modules().items()
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert offenders == []
