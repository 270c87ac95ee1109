"""The pipeline's layering, read from the source: no module of `analyzer/` may reach back up to itself.

Every import counts, also those inside functions and under `if TYPE_CHECKING:`: a lazy import that
closes a loop hides the knot at start-up but not from a reader, and a type named in an annotation
is a dependency on the module that defines it. A stage names the types of the stages before it,
never of those after it.

An edge goes to the module an import names: `from analyzer.web import audit_log` is an edge to
`analyzer.web.audit_log`, `from analyzer.continuity import GapEvent` one to the package
`analyzer.continuity` (its `__init__`). Parent packages that Python runs on the way are not edges,
so a package's `__init__` may re-export its modules as long as those modules import each other
directly rather than through the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "analyzer"


def _module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(tree: ast.AST) -> list[tuple[str, list[str], int]]:
    """(module, imported names, level) of every import statement, wherever it stands."""
    found: list[tuple[str, list[str], int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, [], 0) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", [alias.name for alias in node.names], node.level))
    return found


def import_graph(package: Path = PACKAGE) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(edges between analyzer modules, every top-level import name used) by importing module."""
    files = {_module_name(p, package): p for p in sorted(package.rglob("*.py"))}
    edges: dict[str, set[str]] = {name: set() for name in files}
    roots: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        is_pkg = path.name == "__init__.py"
        for module, names, level in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (level - 1)]
                module = ".".join(base + ([module] if module else []))
            roots[name].add(module.split(".")[0])
            if module not in files:
                continue
            targets = [f"{module}.{n}" for n in names if f"{module}.{n}" in files]
            if len(targets) < len(names) or not names:
                targets.append(module)  # some names are attributes of the module itself
            edges[name].update(t for t in targets if t != name)
    return edges, roots


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            strongconnect(v)
    return found


def test_the_graph_sees_lazy_and_typing_imports(tmp_path):
    pkg = tmp_path / "analyzer"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from analyzer.sub.b import thing\n")
    (pkg / "sub" / "b.py").write_text("from . import c\nthing = 1\n")
    (pkg / "sub" / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from analyzer.a import A\n"
        "def f():\n    from analyzer.sub import thing\n    import bench.eval\n"
    )
    (pkg / "a.py").write_text("A = int\n")
    edges, roots = import_graph(pkg)
    assert edges["analyzer.sub"] == {"analyzer.sub.b"}
    assert edges["analyzer.sub.b"] == {"analyzer.sub.c"}
    assert edges["analyzer.sub.c"] == {"analyzer.sub", "analyzer.a"}  # lazy and typing-only imports count
    assert edges["analyzer.a"] == set()
    assert "bench" in roots["analyzer.sub.c"]
    assert cycles(edges) == [["analyzer.sub", "analyzer.sub.b", "analyzer.sub.c"]]


def test_covers_the_web_app_and_the_commands():
    edges, _ = import_graph()
    assert "analyzer.web.app" in edges and "analyzer.commands.analyze" in edges
    assert "analyzer.web.routes_review" in edges["analyzer.web.app"]


def test_no_import_cycles_in_analyzer():
    edges, _ = import_graph()
    assert cycles(edges) == []


@pytest.mark.parametrize("forbidden", ["bench", "tests"])
def test_analyzer_does_not_import_the_repository_tools(forbidden):
    _, roots = import_graph()
    offenders = sorted(name for name, used in roots.items() if forbidden in used)
    assert offenders == []


def test_only_report_producers_import_report():
    """File writing is a bottom layer; the report module is the top of the pipeline."""
    edges, _ = import_graph()
    producers = {
        "analyzer.batch",
        "analyzer.commands.analyze",
        "analyzer.web.jobs",
        "analyzer.web.routes_review",
    }
    importers = {name for name, targets in edges.items() if "analyzer.report" in targets}
    assert importers <= producers, sorted(importers - producers)


def _readme_layers() -> dict[str, int]:
    """Row index of every module named in the first column of README's "How it works" table."""
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## How it works") :]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    rows = rows[: next((i for i, r in enumerate(rows) if "commands/" in r.split("|")[1]), len(rows)) + 1]
    layers = {}
    for i, row in enumerate(rows):
        for name in re.findall(r"`([^`]+)`", row.split("|")[1]):
            layers["analyzer." + name.rstrip("/").removesuffix(".py").replace("/", ".")] = i
    return layers


def test_readme_module_table_lists_the_layers_bottom_up():
    """Each module imports only modules in its own row of the README table or the rows above it."""
    layers = _readme_layers()

    def layer(module: str) -> int | None:
        parts = module.split(".")
        while parts and ".".join(parts) not in layers:
            parts.pop()
        return layers.get(".".join(parts)) if parts else None

    edges, _ = import_graph()
    upward = [
        f"{m} -> {t}"
        for m, targets in sorted(edges.items())
        for t in sorted(targets)
        if layer(m) is not None and layer(t) is not None and layer(t) > layer(m)
    ]
    assert len(layers) > 15 and upward == []
    unlisted = sorted(
        m for m in edges if layer(m) is None and m not in ("analyzer", "analyzer.__main__", "analyzer.cli")
    )
    assert unlisted == []
