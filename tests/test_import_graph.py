"""No import cycles in `agentloop` and `toolboxes`, counting deferred imports.

The graph is read from the source (AST), not from a running interpreter: an import inside a
function is an edge as much as one at the top, because it ties the two modules together all the
same. Only imports under ``if TYPE_CHECKING:`` are left out, since they never run.

An edge goes to the module named: ``from a.b import c`` is an edge to ``a.b.c`` when that is a
module, else to ``a.b``. The parent packages Python runs first are not edges of their own, as in
other import-graph tools; ``agentloop/__init__.py`` imports nothing at run time anyway until a
name is asked for (tests/test_lazy_import.py checks its table). Imports by dotted path (the
registry's built-in providers) are not statements, so not edges either.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGES = ("agentloop", "toolboxes")


def module_files() -> dict[str, Path]:
    """Every module of the two packages, by dotted name."""
    out: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under ``node``, at any depth, except in TYPE_CHECKING blocks."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _imports(ast.Module(body=[other], type_ignores=[]))
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        yield from _imports(child)


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    # A package's own relative imports start from itself; a module's from its package.
    keep = len(base) - node.level + (1 if is_package else 0)
    return ".".join(base[:keep] + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """Module → the modules of the two packages it imports."""
    files = module_files()
    graph: dict[str, set[str]] = {name: set() for name in files}
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                source = _absolute(module, is_package, node)
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in files else source
                    for alias in node.names
                ]
            graph[module].update(t for t in targets if t in files and t != module)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as ``[a, b, ..., a]``, or None (an iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if start in state:
            continue
        path = [start]
        stack = [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            following = next(stack[-1], None)
            if following is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(following) == 1:
                return [*path[path.index(following) :], following]
            elif following not in state:
                state[following] = 1
                path.append(following)
                stack.append(iter(sorted(graph[following])))
    return None


def test_the_graph_sees_deferred_imports() -> None:
    graph = import_graph()
    assert "agentloop.errors" in graph["agentloop.messages"]
    # Imported inside Conversation.to_openai(): an edge all the same.
    assert "agentloop.providers.openai_chat.messages" in graph["agentloop.conversation_formats"]
    assert len(graph) > 60


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_find_cycle_reports_the_modules() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_type_checking_blocks_are_not_edges() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "import agentloop.errors\n"
        "if TYPE_CHECKING:\n"
        "    import agentloop.model\n"
        "else:\n"
        "    import agentloop.usage\n"
        "def f():\n"
        "    from agentloop import media\n"
    )
    names = [
        alias.name if isinstance(node, ast.Import) else f"{node.module}.{alias.name}"
        for node in _imports(ast.parse(source))
        for alias in node.names
    ]
    assert names == [
        "typing.TYPE_CHECKING",
        "agentloop.errors",
        "agentloop.usage",
        "agentloop.media",
    ]


# -- docs/architecture.md's module map -------------------------------------------------------


def map_rows() -> list[list[str]]:
    """The module map's rows, top first: the modules and packages each names (paths under
    ``agentloop/``, as written there)."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## Module map", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [re.findall(r"`([\w/]+(?:\.py|/))`", row.split(" | ")[0]) for row in rows]


def _row_of(module: str, places: dict[str, int]) -> int | None:
    """The row naming ``module``: the module itself, else its closest package."""
    parts = module.split(".")
    for end in range(len(parts), 1, -1):
        row = places.get(".".join(parts[:end]))
        if row is not None:
            return row
    return None


def _places() -> dict[str, int]:
    places: dict[str, int] = {}
    for index, names in enumerate(map_rows()):
        for name in names:
            dotted = "agentloop." + name.removesuffix(".py").removesuffix("/").replace("/", ".")
            places[dotted] = index
    return places


def test_the_module_map_names_modules_that_exist() -> None:
    files = module_files()
    assert len(map_rows()) > 20
    assert sorted(name for name in _places() if name not in files) == []


def test_each_module_in_the_map_uses_only_those_above_it() -> None:
    # Modules the map does not name yet are not checked (nor is what they import).
    places = _places()
    wrong = []
    for module, imported in sorted(import_graph().items()):
        row = _row_of(module, places)
        for other in sorted(imported):
            other_row = _row_of(other, places)
            if row is not None and other_row is not None and other_row > row:
                wrong.append(f"{module} (row {row + 1}) imports {other} (row {other_row + 1})")
    assert wrong == []
