"""The import graph of a package, read with ``ast`` (nothing is imported), and the checks of
tests/test_architecture.py over it: cycles, imports against the layer order, module size.

Every ``import`` and ``from … import`` counts, wherever it is written: at the top, inside a
function, under ``if TYPE_CHECKING:`` (a type-only import still ties one module to the other).
Relative imports are resolved against the importing module's package; ``from X import Y``
where ``X.Y`` is a module counts as importing ``X.Y``, otherwise as importing ``X``. Importing
``a.b.c`` counts as importing ``a.b.c`` only, not the packages above it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    is_package: bool


def modules_of(package_dir: Path) -> dict[str, Module]:
    """Every module of the package in ``package_dir`` by dotted name (``pkg``, ``pkg.sub.mod``)."""
    root = package_dir.parent
    found = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        found[".".join(parts)] = Module(".".join(parts), path, is_package)
    return found


def _resolve(module: Module, level: int, target: str | None) -> str:
    """The absolute name of a relative import's base (``from ..x import y`` → ``pkg.x``)."""
    package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
    if level - 1 > len(package) - 1:
        raise ValueError(f"{module.path}: relative import beyond the top-level package")
    base = package[:len(package) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def imports_of(module: Module, known: Iterable[str]) -> set[str]:
    """The names of the modules among ``known`` that ``module`` imports."""
    names = set(known)
    tree = ast.parse(module.path.read_text(encoding="utf-8"), str(module.path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = (_resolve(module, node.level, node.module) if node.level
                    else node.module or "")
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in names else base)
    return {name for name in found if name in names and name != module.name}


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Module name → the package's modules it imports."""
    modules = modules_of(package_dir)
    return {name: imports_of(module, modules) for name, module in modules.items()}


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """One cycle (``[a, b, …, a]``) through each strongly connected group of modules."""
    return [_cycle_in(graph, group) for group in circles(graph)]


def circles(graph: Mapping[str, set[str]]) -> list[set[str]]:
    """The groups of two or more modules that all import each other, directly or not (each
    holds at least one cycle), in the order of their first module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.add(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups, key=min)


def _cycle_in(graph: Mapping[str, set[str]], group: set[str]) -> list[str]:
    """A shortest cycle through the group's first module, staying inside the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & group):
                if nxt == start:
                    return paths[node] + [start]
                if nxt not in paths:
                    paths[nxt] = paths[node] + [nxt]
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no cycle in the group {sorted(group)}")


def layer_of(module: str, layers: Sequence[Sequence[str]]) -> int | None:
    """The index of the layer naming ``module`` or a package above it (the longest name wins)."""
    best: tuple[int, int] | None = None
    for number, names in enumerate(layers):
        for name in names:
            covers = module == name or module.startswith(name + ".")
            if covers and (best is None or len(name) > best[0]):
                best = (len(name), number)
    return None if best is None else best[1]


def unassigned(graph: Mapping[str, set[str]], layers: Sequence[Sequence[str]],
               outside: Iterable[str] = ()) -> list[str]:
    """Modules no layer names (a new module must be placed deliberately)."""
    skip = set(outside)
    return sorted(m for m in graph if m not in skip and layer_of(m, layers) is None)


def upward_imports(graph: Mapping[str, set[str]], layers: Sequence[Sequence[str]],
                   outside: Iterable[str] = ()) -> list[str]:
    """Imports of a module from a later layer, or of a module that sits outside the order (the
    package's re-exporting top), each as "importer (layer n) imports imported (layer m)"."""
    skip = set(outside)
    found = []
    for importer in sorted(graph):
        if importer in skip:
            continue
        mine = layer_of(importer, layers)
        for imported in sorted(graph[importer]):
            if imported in skip:
                found.append(f"{importer} imports {imported}, which sits outside the layers")
                continue
            theirs = layer_of(imported, layers)
            if mine is not None and theirs is not None and theirs > mine:
                found.append(f"{importer} (layer {mine}: {', '.join(layers[mine])}) imports "
                             f"{imported} (layer {theirs}: {', '.join(layers[theirs])})")
    return found


def long_modules(package_dir: Path, limit: int) -> list[str]:
    """Modules over ``limit`` lines, with their length."""
    found = []
    for module in modules_of(package_dir).values():
        lines = len(module.path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            found.append(f"{module.name}: {lines} lines")
    return sorted(found)
