"""The layout is the architecture (ARCHITECTURE.md): these tests keep it so.

Every import of `src/sovtrain` is read from the source, at module level, inside functions and
under `TYPE_CHECKING` alike (an import moved into a function still couples two modules).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

# Bottom to top: a package may import only packages before it in this list. eval, export, plan
# and slurm share a layer and know nothing of each other; cli sits on top.
LAYERS: list[set[str]] = [
    {"core"},
    {"distributed"},
    {"storage"},
    {"tracking"},
    {"recipe"},
    {"model"},
    {"governance"},
    {"data"},
    {"train"},
    {"eval", "export", "slurm", "plan"},
    {"cli"},
]
DOORS = {"mlflow": "tracking", "fsspec": "storage", "s3fs": "storage"}


def _modules() -> dict[str, Path]:
    modules = {}
    for path in (SRC / "sovtrain").rglob("*.py"):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    return modules


def _imports(name: str, path: Path) -> set[str]:
    """Every dotted name `path` imports (relative imports resolved against `name`)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _module_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for target in _imports(name, path):
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                graph[name].add(target)
    return graph


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(root)"


def test_no_module_imports_itself_back_through_others():
    graph = _module_graph()
    cycles = []
    for start in list(graph):
        stack, seen = [(start, (start,))], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    cycles.append(" -> ".join((*path, start)))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, (*path, nxt)))
    assert not cycles, cycles[:5]


def test_packages_import_only_the_layers_below_them():
    layer_of = {package: i for i, layer in enumerate(LAYERS) for package in layer}
    upward = []
    for module, targets in _module_graph().items():
        here = _package(module)
        assert here in layer_of, f"{module}: package {here!r} is in no layer of ARCHITECTURE.md"
        for target in targets:
            there = _package(target)
            if there != here and (there not in layer_of or layer_of[there] >= layer_of[here]):
                upward.append(f"{module} -> {target}")
    assert not upward, upward


def test_mlflow_and_fsspec_each_have_one_door():
    strays = []
    for name, path in _modules().items():
        for target in _imports(name, path):
            door = DOORS.get(target.split(".")[0])
            if door and _package(name) != door:
                strays.append(f"{name} imports {target} (door: sovtrain.{door})")
    assert not strays, strays


def test_the_package_root_holds_no_modules_and_the_trainer_none_of_the_generators():
    root = sorted(p.name for p in (SRC / "sovtrain").glob("*.py"))
    assert root == ["__init__.py"], root  # commands live in sovtrain/cli/
    direct = [
        name
        for name, path in _modules().items()
        if any(t.split(".")[0] == "sovtrain_synth" for t in _imports(name, path))
    ]
    assert not direct, direct  # generators are reached through core.generators only
