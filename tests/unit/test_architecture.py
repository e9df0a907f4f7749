"""The shape of the package: rooms that mirror the workflow, no import cycles among its modules, no
module over 700 lines, no private name imported across a module border, and no dependency on
Snakemake (the workflow calls the package, never the reverse).

Imports are read from the source with ``ast``, at any depth (inside functions and ``if`` blocks,
``TYPE_CHECKING`` ones included), so an import deferred into a function still counts. A room's face
(its ``__init__``) re-exports lazily (``lazy_loader.attach``): ``from moflow.evaluate import x`` is
counted as an import of the module that defines ``x``.
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


ROOT_MODULES_MAX = 12
# the rooms: one per stage of the workflow (rules/<stage>.smk), the tasks of the rules, and the demo
ROOMS = (
    "inputs",
    "preprocess",
    "integrate",
    "evaluate",
    "enrich",
    "design",
    "model",
    "subtypes",
    "scarcity",
    "report",
    "export",
    "demo",
    "tasks",
)


def face(package: str) -> dict[str, str]:
    """name -> the module that defines it, read off a package's ``lazy.attach(..., submod_attrs={...})``."""
    tree = ast.parse(MODULES[package].read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "submod_attrs":
            attrs = ast.literal_eval(node.value)
            return {name: f"{package}.{mod}" for mod, names in attrs.items() for name in names}
    return {}


FACES = {name: face(name) for name in MODULES if _is_package(name)}


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
            # `from T import x` runs T (a package's __init__ included), and T.x when that is a module;
            # a name T's face re-exports counts as an import of the module that defines it
            found.add(_existing(target))
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    found.add(f"{target}.{alias.name}")
                elif alias.name in FACES.get(target, {}):
                    found.add(FACES[target][alias.name])
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
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_graph_resolves_imports():
    """The resolver itself: relative imports at every level, imports inside functions, names re-exported
    by a room's lazy face."""
    graph = import_graph()
    assert "moflow.preprocess.steps_base" in graph["moflow.preprocess.chain"]
    assert "moflow.errors" in graph["moflow.preprocess.chain"]
    assert "moflow.inputs.matrices" in graph["moflow.preprocess.chain"]  # inside a method
    assert "moflow.preprocess.impute_benchmark" in graph["moflow.preprocess.diagnostics"]  # inside a function
    assert FACES["moflow.evaluate"]  # faces are read
    toy = (
        "from .chain import LayerPreprocessor\nfrom ..errors import InputError\n"
        "from moflow.evaluate import make_splits\n"
    )
    found = _imports("moflow.preprocess.filter", ast.parse(toy))
    assert {"moflow.preprocess.chain", "moflow.errors", FACES["moflow.evaluate"]["make_splits"]} <= found
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
            mods = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            offenders += [f"{name}:{node.lineno} imports {m}" for m in mods if m.split(".")[0] == "snakemake"]
    assert not offenders, "\n".join(offenders)


def test_rooms_mirror_the_workflow():
    """One room per rules file (``rules/<stage>.smk``; the start-up checks of ``common.smk`` and
    ``config_file.smk`` live with the inputs); at most a dozen modules at the root."""
    rules = {p.stem for p in (SRC.parent / "rules").glob("*.smk")} - {"common", "config_file"}
    rooms = {n.split(".")[1] for n in MODULES if n.count(".") >= 1 and _is_package(n)}
    assert rules <= rooms, f"rules without a room of the package: {sorted(rules - rooms)}"
    assert set(ROOMS) <= rooms
    root = [n for n in MODULES if n.count(".") == 1 and not _is_package(n)] + ["moflow"]
    assert len(root) <= ROOT_MODULES_MAX, (
        f"{len(root)} modules at the root (at most {ROOT_MODULES_MAX}): {sorted(root)}"
    )


def test_no_two_modules_share_a_name():
    """A name says where a thing lives: no module or room is named like another (``__init__`` and
    the private ``_base`` / ``_common`` helpers of a room aside)."""
    seen: dict[str, list[str]] = {}
    for name in MODULES:
        leaf = name.rpartition(".")[2]
        if leaf.startswith("_") or name == PACKAGE:
            continue
        seen.setdefault(leaf, []).append(name)
    shared = {leaf: names for leaf, names in seen.items() if len(names) > 1}
    assert not shared, f"modules sharing a name: {shared}"


@pytest.mark.parametrize("room", ROOMS)
def test_room_face(room):
    """Every room says in its docstring what it holds and re-exports every public name of its modules
    (lazily), each from the module that defines it."""
    package = f"{PACKAGE}.{room}"
    doc = ast.get_docstring(ast.parse(MODULES[package].read_text()))
    assert doc and len(doc.split()) >= 10, f"{package}: say in the docstring what the room holds"
    exported = FACES[package]
    missing = []
    for name, path in MODULES.items():
        if not name.startswith(package + ".") or _is_package(name):
            continue
        for node in ast.parse(path.read_text()).body:
            defined = [node.name] if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else []
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                defined = [t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper()]
            for d in defined:
                if d.startswith("_"):
                    continue
                if exported.get(d) != name:
                    missing.append(f"{d} ({name}; face says {exported.get(d)})")
    assert not missing, f"{package}'s face does not re-export: {missing}"


def test_no_private_name_crosses_a_module_border():
    """``from moflow.x import _y`` outside ``moflow.x`` couples two modules through a name that promises
    nothing: make it public (with a docstring) or keep the use inside its module."""
    offenders = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith(PACKAGE)):
                offenders += [
                    f"{name}:{node.lineno} imports {a.name} from {node.module}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
    assert not offenders, "\n".join(offenders)
