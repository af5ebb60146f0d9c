"""The step-overhead scenario through peer libraries, where they are installed.

Each runner makes a model that calls a trivial tool ``steps`` times and then
answers, runs the whole loop once, and returns the elapsed seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def available_peers() -> dict[str, Callable[[int], float]]:
    peers: dict[str, Callable[[int], float]] = {}
    try:
        import llm  # noqa: F401

        peers["llm sync"] = llm_chain
    except ImportError:
        pass
    try:
        import pydantic_ai  # noqa: F401

        peers["pydantic-ai sync"] = pydantic_ai_run
    except ImportError:
        pass
    return peers


def llm_chain(steps: int) -> float:
    import llm

    calls = 0

    class Counting(llm.Model):  # type: ignore[misc]
        model_id = "counting"
        supports_tools = True

        def execute(self, prompt: Any, stream: bool, response: Any, conversation: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls > steps:
                yield "finished"
                return
            response.add_tool_call(llm.ToolCall(name="bump", arguments={"n": calls}))
            yield ""

    def bump(n: int) -> int:
        "Add one."
        return n + 1

    conversation = Counting().conversation(tools=[bump], chain_limit=steps + 2)
    started = time.perf_counter()
    text = conversation.chain("go", stream=False).text()
    elapsed = time.perf_counter() - started
    assert text.endswith("finished"), text
    return elapsed


def pydantic_ai_run(steps: int) -> float:
    from pydantic_ai import Agent, UsageLimits
    from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart
    from pydantic_ai.models.function import AgentInfo, FunctionModel

    def play(messages: list[Any], info: AgentInfo) -> ModelResponse:
        done = (len(messages) - 1) // 2
        if done >= steps:
            return ModelResponse(parts=[TextPart("finished")])
        return ModelResponse(parts=[ToolCallPart("bump", {"n": done})])

    agent = Agent(FunctionModel(play))

    @agent.tool_plain
    def bump(n: int) -> int:
        "Add one."
        return n + 1

    started = time.perf_counter()
    result = agent.run_sync("go", usage_limits=UsageLimits(request_limit=steps + 2))
    elapsed = time.perf_counter() - started
    assert result.output == "finished", result.output
    return elapsed
