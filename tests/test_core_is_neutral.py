"""No provider names in the core (issue 12): a format's knowledge lives in its codec package.

Every module under ``agentloop/`` is read as tokens; no name and no string in its code may
name a provider (docstrings and comments may, as examples). Outside the rule, each for a
reason:

- the format packages (``providers/<format>/``, the wire formats of `endpoints.WIRE_FORMATS`)
  and ``providers/openai_strict.py`` (OpenAI strict mode's transform, shared by both OpenAI
  formats): they are each format's own knowledge;
- ``providers/endpoints.py``: the endpoints as data, the one place hosts are listed;
- in ``registry.py``, the built-in registrations by dotted path (`_register_builtin`,
  `WIRE_FACTORIES`): the one registration a format needs, which imports nothing;
- in ``conversation_formats.py`` (what `Conversation` builds on), the converters
  ``to_openai()``... and ``from_openai()``...: names fixed by the public API, each a one-line
  deferred import of its codec's converter.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

from agentloop.providers.endpoints import WIRE_FORMATS

ROOT = Path(__file__).parents[1] / "agentloop"
PROVIDER = re.compile(r"openai|anthropic|gemini|claude", re.IGNORECASE)

FORMAT_PACKAGES = {f"providers/{name}" for name in WIRE_FORMATS if name != "custom"}
ALLOWED_MODULES = {"providers/openai_strict.py", "providers/endpoints.py"}
#: Module -> the functions and assignments (qualified names) that may name providers.
ALLOWED_SCOPES = {
    "registry.py": {"_register_builtin", "WIRE_FACTORIES"},
    "conversation_formats.py": {
        f"ConversationFormats.{direction}_{name}"
        for direction in ("to", "from")
        for name in ("openai", "openai_responses", "anthropic", "gemini")
    },
}


def core_modules() -> Iterator[tuple[str, str]]:
    """(path under agentloop/, source) of every core module."""
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        package = "/".join(relative.split("/")[:2])
        if package in FORMAT_PACKAGES or relative in ALLOWED_MODULES:
            continue
        yield relative, path.read_text()


def docstring_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def scopes(tree: ast.Module) -> list[tuple[int, int, str]]:
    """(first line, last line, qualified name) of every function, class and assignment."""
    out: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = None
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = child.name
            elif isinstance(child, ast.Assign | ast.AnnAssign) and not prefix:
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                name = next((t.id for t in targets if isinstance(t, ast.Name)), None)
            if name is not None:
                qualified = f"{prefix}{name}"
                end = child.end_lineno or child.lineno
                out.append((child.lineno, end, qualified))
                visit(child, f"{qualified}.")

    visit(tree, "")
    return out


def provider_mentions(relative: str, source: str) -> list[str]:
    """``path:line token`` for each name or non-docstring string naming a provider, outside
    the scopes allowed for this module."""
    tree = ast.parse(source)
    skipped = docstring_lines(tree)
    allowed = ALLOWED_SCOPES.get(relative, set())
    allowed_lines = {
        line
        for first, last, name in scopes(tree)
        if name in allowed
        for line in range(first, last + 1)
    }
    found = []
    kinds = {tokenize.NAME, tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        line = token.start[0]
        if token.type not in kinds or line in skipped or line in allowed_lines:
            continue
        if PROVIDER.search(token.string):
            found.append(f"{relative}:{line} {token.string[:60]}")
    return found


def test_no_core_module_names_a_provider_in_its_code() -> None:
    mentions = [
        m for relative, source in core_modules() for m in provider_mentions(relative, source)
    ]
    assert mentions == []


def test_the_rule_reads_code_and_leaves_docstrings_and_comments() -> None:
    source = (
        '"""Anthropic in a docstring is an example."""\n'
        "x = 1  # so is Gemini in a comment\n"
        'name = "openai"\n'
        "def to_claude():\n"
        '    """Claude, documented."""\n'
        "    return GEMINI\n"
    )
    assert provider_mentions("example.py", source) == [
        'example.py:3 "openai"',
        "example.py:4 to_claude",
        "example.py:6 GEMINI",
    ]


def test_allowed_scopes_are_only_those_named() -> None:
    source = (
        "def _register_builtin():\n"
        '    register_model("gemini")\n'
        "def other():\n"
        '    register_model("gemini")\n'
    )
    assert provider_mentions("registry.py", source) == ['registry.py:4 "gemini"']


def test_every_allowed_scope_and_module_exists() -> None:
    # An allowance outliving what it was for would hide a new mention.
    for relative, names in ALLOWED_SCOPES.items():
        tree = ast.parse((ROOT / relative).read_text())
        assert names <= {name for _, _, name in scopes(tree)}, relative
    for relative in ALLOWED_MODULES | {f"{p}/__init__.py" for p in FORMAT_PACKAGES}:
        assert (ROOT / relative).is_file(), relative
