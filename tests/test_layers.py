"""The package's shape: modules sit in layer folders, imports point down, no cycles.

The layers, bottom to top, are the folders of ``symgrad/`` (README, "How the code
is organised").  A module may import from its own layer and the layers below;
the Graph reaches the analyses above it through one lazy registry
(``symgrad.core.registry``), which names modules as strings, not imports.
Every ``import`` statement counts, including those inside functions.
"""

import ast
import pathlib

import networkx as nx
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "symgrad"
LAYERS = ["core", "front", "numeric", "symbolic", "nn", "show", "teach", "cli"]
TOP = {"symgrad", "symgrad.errors", "symgrad.strategies", "symgrad.plot", "symgrad.__main__"}   # allowed flat


def _modules() -> dict:
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = path
    return mods


MODULES = _modules()


def _imports(name: str, path: pathlib.Path):
    """(target module, imported names, line) for every import in the module."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:
                    yield sub, None, node.lineno
                elif target.startswith("symgrad"):
                    yield target, alias.name, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("symgrad"):
                    yield alias.name, None, node.lineno


def _graph() -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(MODULES)
    for name, path in MODULES.items():
        for target, _, _ in _imports(name, path):
            if target in MODULES and target != name and target != "symgrad":
                g.add_edge(name, target)
    return g


def _layer(name: str) -> int:
    parts = name.split(".")
    if name == "symgrad.errors":
        return -1
    if len(parts) > 2 and parts[1] in LAYERS:
        return LAYERS.index(parts[1])
    return len(LAYERS)        # the package itself, strategies, __main__: the top


def test_no_import_cycles():
    cycles = list(nx.simple_cycles(_graph()))
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c + c[:1]) for c in cycles)


def test_every_module_sits_in_a_layer_folder():
    flat = sorted(m for m in MODULES if m not in TOP and (m.count(".") < 2 or m.split(".")[1] not in LAYERS))
    assert flat == []


def test_imports_only_point_down():
    up = [f"{a} imports {b}" for a, b in _graph().edges if _layer(b) > _layer(a)]
    assert up == []


def test_no_private_cross_module_imports():
    private = [f"{name}:{line} imports {target}.{what}"
               for name, path in MODULES.items()
               for target, what, line in _imports(name, path)
               if what and what.startswith("_") and target != name and not what.startswith("__")]
    assert private == []


def test_the_layer_checker_sees_a_planted_cycle():
    """The cycle test is not vacuous: two modules importing each other are found."""
    g = _graph()
    g.add_edge("symgrad.core.ops", "symgrad.show.latex")
    assert any("symgrad.core.ops" in c for c in nx.simple_cycles(g))
