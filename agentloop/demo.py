"""The offline demo: the scripted model behind ``agentloop demo`` and ``examples/quickstart.py``.

The user-facing code (the tools, the ``Notes`` toolbox, the hooks and the
chain) lives in ``examples/quickstart.py``, the file a newcomer opens first; it
is shipped inside the wheel as ``agentloop/_quickstart.py`` so that
``agentloop demo`` runs the very same code after ``pip install``. This module
holds what the example should not have to show: a scripted
[FunctionModel][agentloop.FunctionModel] that plays a careful assistant, so no
API key is needed. Name a real model (``agentloop demo -m gpt-4.1-mini``, or
``AGENTLOOP_MODEL``) and that provider's key to run the same chain against it.

The example's tools are also reachable here (``agentloop.demo.word_count``,
``agentloop.demo.Notes``), so ``agentloop chain -m demo -T agentloop.demo:word_count
-T agentloop.demo:Notes`` works without a checkout.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from agentloop.messages import Message, ToolCall, ToolResult
from agentloop.providers.base import Request
from agentloop.providers.offline import FunctionModel

if TYPE_CHECKING:
    from rich.console import Console

    from agentloop.model import Model

#: The tools the scripted model knows how to use, in the order it calls them.
DEMO_TOOLS = ("word_count", "Notes_write", "Notes_read")

#: Where the example lives: inside an installed wheel, else in a checkout.
_QUICKSTART_FILES = (
    Path(__file__).with_name("_quickstart.py"),
    Path(__file__).parents[1] / "examples" / "quickstart.py",
)


def scripted_model(request: Request) -> Any:
    """Plays a careful assistant: count the words, note the count, read it back, answer."""
    offered = {tool.name for tool in request.tools}
    if not offered.issuperset(DEMO_TOOLS):
        return missing_tools_answer(offered)
    results = _results_of_this_turn(request.messages)
    failed = next((r for r in results if r.is_error), None)
    if failed is not None:
        return f"The {failed.name} tool failed, so I cannot answer: {failed.output}"
    sentence = sentence_to_count(request.last_user_text)
    if not results:
        return ["Let me count the words first.", ToolCall("word_count", {"text": sentence}, "")]
    if len(results) == 1:
        return ToolCall("Notes_write", {"title": "count", "body": results[0].output}, "")
    if len(results) == 2:
        return ToolCall("Notes_read", {"title": "count"}, "")
    count = results[-1].output
    words = "word" if count == "1" else "words"
    return f'"{sentence}" has {count} {words}; I noted that down.'


def missing_tools_answer(offered: set[str]) -> str:
    """What the scripted model says when it is not given the tools it needs."""
    missing = [name for name in DEMO_TOOLS if name not in offered]
    return (
        "The demo model needs the demo tools word_count, Notes_write and Notes_read, and this "
        f"chain does not offer {', '.join(missing)}. Run `agentloop demo`, or give them to the "
        "chain with `-T agentloop.demo:word_count -T agentloop.demo:Notes`."
    )


def sentence_to_count(prompt: str) -> str:
    """The text after the prompt's last colon ("How many words are in: ..."), else all of it."""
    _, _, tail = prompt.rpartition(":")
    return tail.strip().strip("\"'“”") or prompt.strip()


def _results_of_this_turn(messages: Sequence[Message]) -> list[ToolResult]:
    """Tool results after the last user message: earlier turns are answered already."""
    results: list[ToolResult] = []
    for message in reversed(messages):
        if message.role == "user":
            break
        if message.role == "tool":
            results[:0] = message.tool_results
    return results


def demo_model(name: str | None = None) -> Model:
    """The model named (or in $AGENTLOOP_MODEL), else the offline scripted one."""
    from agentloop.registry import get_model

    name = name or os.environ.get("AGENTLOOP_MODEL")
    return get_model(name) if name else FunctionModel(scripted_model, model_id="demo")


@functools.cache
def quickstart() -> ModuleType:
    """The example ``examples/quickstart.py``, loaded once as a module (its ``main`` not run)."""
    path = next((p for p in _QUICKSTART_FILES if p.exists()), None)
    if path is None:
        raise FileNotFoundError(
            f"The quickstart example is missing: looked for {_QUICKSTART_FILES}"
        )
    spec = importlib.util.spec_from_file_location("agentloop_quickstart", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(model_name: str | None = None, console: Console | None = None) -> None:
    """Run the quickstart with the demo model (or the one named); ``agentloop demo``."""
    model = demo_model(model_name)
    if console is None:
        quickstart().main(model)
        return
    # The example prints; the command line decides where its output goes.
    with contextlib.redirect_stdout(console.file):
        quickstart().main(model)


def __getattr__(name: str) -> Any:
    """``word_count``, ``Notes`` and ``PROMPT`` come from the example, loaded on first use."""
    if name in ("word_count", "Notes", "PROMPT"):
        return getattr(quickstart(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    main()
