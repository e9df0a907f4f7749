"""The shape of the package: no import cycles among its modules, no module over 700 lines, and no
dependency on Snakemake (the workflow calls the package, never the reverse).

Imports are read from the source with ``ast``, at any depth (inside functions and ``if`` blocks,
``TYPE_CHECKING`` ones included), so an import deferred into a function still counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "moflow"
MAX_LINES = 700


def _modules() -> dict[str, Path]:
    """Module name -> file; a package's ``__init__.py`` is the module of the package itself."""
    out = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _existing(name: str) -> str | None:
    """The module itself, or its longest prefix that is a module of the package (``None``: not ours)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def _imports(name: str, tree: ast.AST) -> set[str]:
    """The package's modules that module ``name`` imports, anywhere in its source."""
    package = name if _is_package(name) else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    found.add(_existing(alias.name))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not (target == PACKAGE or target.startswith(PACKAGE + ".")):
                continue
            # `from T import x` runs T (a package's __init__ included), and T.x when that is a module
            found.add(_existing(target))
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    found.add(f"{target}.{alias.name}")
    found.discard(None)
    found.discard(name)  # a package's __init__ naming its own submodules (`from . import x`) is no cycle
    return found


def import_graph() -> dict[str, set[str]]:
    return {name: _imports(name, ast.parse(path.read_text(), filename=str(path))) for name, path in MODULES.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle that a depth-first search meets (each as the module path that closes it)."""
    cycles, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_graph_resolves_relative_imports():
    """The resolver itself: relative imports at every level, `from . import x`, imports inside functions."""
    graph = import_graph()
    assert "moflow.preprocess.chain" in graph["moflow.preprocess"]  # from .chain import ... in __init__
    assert "moflow.preprocess._base" in graph["moflow.preprocess.chain"]  # from ._base import ...
    assert "moflow.errors" in graph["moflow.preprocess.chain"]  # from ..errors import ...
    assert "moflow.inputs.checks" in graph["moflow.preprocess.chain"]  # from ..validate import ... inside a method
    assert "moflow.preprocess.impute_benchmark" in graph["moflow.preprocess.diagnostics"]  # inside a function
    # a cycle through a package's __init__ is found
    toy = {"p": {"p.a"}, "p.a": {"p.b"}, "p.b": {"p"}, "q": set()}
    assert find_cycles(toy) == [["p", "p.a", "p.b", "p"]]


def test_no_import_cycles():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_size(name):
    n = len(MODULES[name].read_text().splitlines())
    assert n <= MAX_LINES, f"{MODULES[name].relative_to(SRC)} has {n} lines (at most {MAX_LINES}); split it"


def test_package_does_not_import_snakemake():
    offenders = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            mods = ([a.name for a in node.names] if isinstance(node, ast.Import)
                    else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            offenders += [f"{name}:{node.lineno} imports {m}" for m in mods if m.split(".")[0] == "snakemake"]
    assert not offenders, "\n".join(offenders)
