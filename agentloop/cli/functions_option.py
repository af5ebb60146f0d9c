"""``--functions``: every public function of a Python file, or of code given inline.

As in the llm CLI, the value is a path (``--functions tools.py``) or the code
itself (``--functions 'def double(x: int) -> int: return x * 2'``). An existing
file is a path. Otherwise text that parses as Python statements (a ``def``, an
``import``...) is code; what parses only as an expression (``tools.py`` is one:
an attribute of ``tools``) or not at all is a path that does not exist. Every
mistake is a `UsageError`, found before any model call.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from agentloop.cli.errors import UsageError

#: How inline code that does not parse usually begins, to tell it from a mistyped path.
_CODE_STARTS = ("def ", "async def ", "import ", "from ", "class ", "@")


def load_functions(value: str) -> list[Any]:
    """Every public function defined in the file at ``value``, or in the code ``value``."""
    path = Path(value)
    if path.is_file():
        label = f"--functions {value}"
        return public_functions(_module_from_file(path, label), label)
    if path.is_dir():
        raise UsageError(f"--functions {value}: a folder; give a .py file or Python code")
    label = f"--functions {_shown(value)!r}"
    if _is_code(value, label):
        return public_functions(_module_from_code(value, label), label)
    raise UsageError(
        f"--functions {value}: no such file (give a .py file, or Python code that defines "
        "a function)"
    )


def _is_code(value: str, label: str) -> bool:
    try:
        tree = ast.parse(value)
    except (SyntaxError, ValueError) as exc:  # ValueError: a NUL byte
        if "\n" in value or value.lstrip().startswith(_CODE_STARTS):
            raise UsageError(f"{label}: the code does not parse ({_syntax(exc)})") from None
        return False
    return any(not isinstance(node, ast.Expr) for node in tree.body)


def _module_from_file(file: Path, label: str) -> ModuleType:
    name = _module_name(str(file.resolve()))
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise UsageError(f"{label}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pydantic look their module up here
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise UsageError(f"{label}: {type(exc).__name__}: {exc}") from exc
    return module


def _module_from_code(code: str, label: str) -> ModuleType:
    name = _module_name(code)
    module = ModuleType(name)
    sys.modules[name] = module
    try:
        exec(compile(code, "<--functions>", "exec"), module.__dict__)
    except Exception as exc:
        raise UsageError(f"{label}: {type(exc).__name__}: {exc}") from exc
    return module


def public_functions(module: ModuleType, label: str) -> list[Any]:
    functions = [
        value
        for attribute, value in vars(module).items()
        # Defined here with `def` under its own name: not imported, not a lambda or alias.
        if inspect.isfunction(value)
        and value.__module__ == module.__name__
        and value.__name__ == attribute
        and not attribute.startswith("_")
    ]
    if not functions:
        raise UsageError(f"{label}: defines no public function")
    return functions


def _module_name(source: str) -> str:
    # Stable and distinct per file or snippet: two --functions never share a module.
    return f"agentloop_functions_{hashlib.sha256(source.encode()).hexdigest()[:16]}"


def _shown(code: str, limit: int = 40) -> str:
    line = " ".join(code.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _syntax(exc: SyntaxError | ValueError) -> str:
    if isinstance(exc, SyntaxError) and exc.lineno is not None:
        return f"line {exc.lineno}: {exc.msg}"
    return str(exc)
