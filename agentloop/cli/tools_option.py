"""From ``-T``, ``--functions`` and ``--tool-option`` to the tools of a conversation.

``-T`` takes ``module:function``, ``module:ToolboxClass`` (or an instance, or an
``agentloop.Tool``), the name of a toolbox from the ``toolboxes`` package, or
``WebSearch`` / ``CodeExecution``, the provider's own tools (`agentloop.server_tools`).
Toolbox classes are built with the ``--tool-option Name.key=value`` given for
them (`agentloop.cli.toolbox_options`). ``--functions`` offers every public
function of a file or of inline code (`agentloop.cli.functions_option`).
Every mistake here is a `UsageError`, found before any model call.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any, cast

from agentloop.cli.errors import UsageError
from agentloop.cli.functions_option import load_functions
from agentloop.cli.key_values import parse_tool_options
from agentloop.cli.toolbox_options import build_toolbox
from agentloop.server_tools import CodeExecution, ServerTool, WebSearch
from agentloop.toolbox import Toolbox
from agentloop.tools import Tool, ToolSource

#: The toolboxes of the ``toolboxes`` package, by name.
BUILTIN = ("Memory", "Files", "HTTP", "SQLite", "Shell", "MCP")
#: The provider-side tools, by name: the provider runs them, with their default options.
SERVER = {"WebSearch": WebSearch, "CodeExecution": CodeExecution}


def resolve_tools(
    specs: Sequence[str], functions: Sequence[str], tool_options: Sequence[str]
) -> list[ToolSource]:
    """The tools the command line asked for, in the order given."""
    options = parse_tool_options(tool_options)
    used: set[str] = set()
    tools: list[ToolSource] = []
    for spec in specs:
        target, label = _lookup(spec)
        tools.append(_tool_source(target, label, options, used))
    for value in functions:
        tools.extend(load_functions(value))
    unused = sorted(set(options) - used)
    if unused:
        raise UsageError(
            f"--tool-option {unused[0]}.…: no -T gives a toolbox class called {unused[0]!r} "
            f"(add -T {unused[0]}, or check the spelling)"
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
    for name, server_tool in SERVER.items():
        if spec.lower() == name.lower():
            return server_tool, name
    for name in BUILTIN:
        if spec.lower() == name.lower():
            import toolboxes

            return getattr(toolboxes, name), name
    raise UsageError(
        f"Unknown tool {spec!r}: use module:function, module:ToolboxClass, "
        f"--functions, a built-in toolbox ({', '.join(BUILTIN)}) or a provider-side tool "
        f"({', '.join(SERVER)})"
    )


def _import(module_name: str, spec: str) -> ModuleType:
    # Like `python -m`, find modules in the current folder too.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"-T {spec}: cannot import {module_name!r} ({exc})") from exc
    except Exception as exc:  # the module itself failed: a mistake in the user's code
        raise UsageError(
            f"-T {spec}: importing {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from exc


def _tool_source(
    target: Any, label: str, options: Mapping[str, Mapping[str, str]], used: set[str]
) -> ToolSource:
    if inspect.isclass(target) and issubclass(target, Toolbox):
        used.add(target.__name__)
        return build_toolbox(target, options.get(target.__name__, {}))
    if inspect.isclass(target) and issubclass(target, ServerTool):
        return target()
    if isinstance(target, Toolbox | Tool | ServerTool) or (
        callable(target) and not inspect.isclass(target)
    ):
        return cast("ToolSource", target)
    kind = "class" if inspect.isclass(target) else type(target).__name__
    raise UsageError(f"-T {label}: a {kind} is not a tool; give a function or a Toolbox class")
