"""From ``-T``, ``--functions`` and ``--tool-option`` to the tools of a conversation.

``-T`` takes ``module:function``, ``module:ToolboxClass`` (or an instance, or an
``agentloop.Tool``), or the name of a toolbox from the ``toolboxes`` package.
Toolbox classes are built with the ``--tool-option Name.key=value`` given for
them. ``--functions FILE.py`` offers every public function defined in the file.
Every mistake here is a :class:`UsageError`, found before any model call.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from agentloop.cli.errors import UsageError
from agentloop.cli.key_values import parse_tool_options
from agentloop.toolbox import Toolbox
from agentloop.tools import Tool, ToolSource

#: The toolboxes of the ``toolboxes`` package, by name.
BUILTIN = ("Memory", "Files", "HTTP", "SQLite", "Shell", "MCP")


def resolve_tools(
    specs: Sequence[str], function_files: Sequence[str], tool_options: Sequence[str]
) -> list[ToolSource]:
    """The tools the command line asked for, in the order given."""
    options = parse_tool_options(tool_options)
    used: set[str] = set()
    tools: list[ToolSource] = []
    for spec in specs:
        target, label = _lookup(spec)
        tools.append(_tool_source(target, label, options, used))
    for path in function_files:
        tools.extend(load_functions(path))
    unused = sorted(set(options) - used)
    if unused:
        raise UsageError(
            f"--tool-option {unused[0]}.…: no -T gives a toolbox class called {unused[0]!r}"
        )
    return tools


def _lookup(spec: str) -> tuple[Any, str]:
    """What ``-T spec`` names, and a label for messages."""
    if ":" in spec:
        module_name, _, attribute = spec.partition(":")
        module = _import(module_name, spec)
        target: Any = module
        for part in attribute.split("."):
            if not hasattr(target, part):
                raise UsageError(f"-T {spec}: {module_name} has no {attribute!r}")
            target = getattr(target, part)
        return target, spec
    for name in BUILTIN:
        if spec.lower() == name.lower():
            import toolboxes

            return getattr(toolboxes, name), name
    raise UsageError(
        f"Unknown tool {spec!r}: use module:function, module:ToolboxClass, "
        f"--functions FILE.py, or a built-in toolbox ({', '.join(BUILTIN)})"
    )


def _import(module_name: str, spec: str) -> ModuleType:
    # Like `python -m`, find modules in the current folder too.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"-T {spec}: cannot import {module_name!r} ({exc})") from exc


def _tool_source(
    target: Any, label: str, options: dict[str, dict[str, Any]], used: set[str]
) -> ToolSource:
    if inspect.isclass(target) and issubclass(target, Toolbox):
        used.add(target.__name__)
        return build_toolbox(target, options.get(target.__name__, {}))
    if isinstance(target, Toolbox | Tool) or (callable(target) and not inspect.isclass(target)):
        return target
    kind = "class" if inspect.isclass(target) else type(target).__name__
    raise UsageError(f"-T {label}: a {kind} is not a tool; give a function or a Toolbox class")


def build_toolbox(cls: type[Toolbox], options: dict[str, Any]) -> Toolbox:
    """``cls(**options)``, with a usage error naming the options when they do not fit."""
    signature = inspect.signature(cls)
    try:
        signature.bind(**options)
    except TypeError as exc:
        accepted = [
            name
            for name, p in signature.parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        example = f" (--tool-option {cls.__name__}.{accepted[0]}=...)" if accepted else ""
        raise UsageError(
            f"{cls.__name__}: {exc}; it takes {', '.join(accepted) or 'no options'}{example}"
        ) from exc
    try:
        return cls(**options)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{cls.__name__}: {exc}") from exc


def load_functions(path: str) -> list[Any]:
    """Every public function defined in the Python file at ``path``."""
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"--functions {path}: no such file")
    name = f"agentloop_functions_{abs(hash(str(file.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise UsageError(f"--functions {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pydantic look their module up here
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise UsageError(f"--functions {path}: {type(exc).__name__}: {exc}") from exc
    functions = [
        value
        for attribute, value in vars(module).items()
        # Defined here with `def` under its own name: not imported, not a lambda or alias.
        if inspect.isfunction(value)
        and value.__module__ == name
        and value.__name__ == attribute
        and not attribute.startswith("_")
    ]
    if not functions:
        raise UsageError(f"--functions {path}: the file defines no public function")
    return functions
