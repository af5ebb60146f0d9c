"""Run context: a tool's ``RunContext`` parameter (left out of the schema, given ``deps=``,
the conversation, the call, the usage and the retry count), hooks that ask for it, and
per-step tool preparation (``prepare=``, ``Toolbox.prepare_tools``). Offline models, sync
and async; the schema on all four wire formats; and over local HTTP on two of them.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from anthropic_wire import message_body, text, tool_use
from anthropic_wire import model as anthropic_model
from local_server import LocalServer
from openai_chat_wire import completion, http_client, tool_call

import agentloop
from agentloop import (
    FunctionModel,
    Request,
    RunContext,
    TestModel,
    Tool,
    Toolbox,
    ToolCall,
    ToolDefinitionError,
    ToolError,
    ToolResult,
    tool,
)
from agentloop.providers.anthropic.request import encode_request as anthropic_body
from agentloop.providers.gemini.request import encode_body as gemini_body
from agentloop.providers.openai_chat import OpenAIChatModel
from agentloop.providers.openai_chat.request import encode_body as chat_body
from agentloop.providers.openai_responses.request import encode_body as responses_body


@dataclass
class Deps:
    user: str
    seen: list[RunContext[Deps]] = dataclasses.field(default_factory=list)


def greet(ctx: RunContext[Deps], greeting: str) -> str:
    "Greet the user."
    ctx.deps.seen.append(ctx)
    return f"{greeting}, {ctx.deps.user}"


async def agreet(greeting: str, ctx: RunContext[Deps]) -> str:
    "Greet the user, asynchronously."
    await asyncio.sleep(0)
    ctx.deps.seen.append(ctx)
    return f"{greeting}, {ctx.deps.user}"


def calls_then(*steps: Any) -> tuple[FunctionModel, list[Request]]:
    seen: list[Request] = []
    queue = iter(steps)

    def play(request: Request) -> Any:
        seen.append(request)
        return next(queue)

    return FunctionModel(play), seen


def chain(model: Any, prompt: str, *, use_async: bool, **kwargs: Any) -> Any:
    if not use_async:
        return model.chain(prompt, **kwargs)

    async def go() -> Any:
        return await model.to_async().chain(prompt, **kwargs)

    return asyncio.run(go())


def test_the_context_parameter_is_left_out_of_the_schema() -> None:
    for fn in (greet, agreet):
        schema = Tool.function(fn).parameters
        assert schema["properties"] == {"greeting": {"type": "string"}}
        assert schema["required"] == ["greeting"]


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("fn", [greet, agreet], ids=["def", "async-def"])
def test_a_tool_gets_deps_the_conversation_the_call_and_the_usage(
    use_async: bool, fn: Callable[..., Any]
) -> None:
    deps = Deps("Ada")
    name = fn.__name__
    model, _ = calls_then(ToolCall(name, {"greeting": "Hello"}, "c1"), "done")
    response = chain(model, "hi", use_async=use_async, tools=[fn], deps=deps)
    assert response.tool_results()[0].output == "Hello, Ada"
    (ctx,) = deps.seen
    assert ctx.deps is deps
    assert ctx.conversation is response.conversation
    assert ctx.tool_call == ToolCall(name, {"greeting": "Hello"}, "c1")
    assert ctx.retry == 0
    assert ctx.step == 1
    assert ctx.usage == response.responses[0].usage()
    assert ctx.messages is response.conversation.messages


def test_the_retry_count_is_the_tools_failures_so_far() -> None:
    retries: list[int] = []

    def flaky(ctx: RunContext[None], n: int) -> str:
        "Fails twice."
        retries.append(ctx.retry)
        if ctx.retry < 2:
            raise ToolError("try again")
        return "ok"

    model, _ = calls_then(*[ToolCall("flaky", {"n": 1}, f"c{i}") for i in range(3)], "done")
    model.chain("x", tools=[flaky])
    assert retries == [0, 1, 2]


def test_deps_given_to_the_conversation_and_overridden_per_call() -> None:
    greeting = ToolCall("greet", {"greeting": "Hi"}, "c1")
    model, _ = calls_then(greeting, "ok", dataclasses.replace(greeting, tool_call_id="c2"), "ok")
    conversation = model.conversation(tools=[greet], deps=Deps("Ada"))
    assert conversation.chain("a").tool_results()[0].output == "Hi, Ada"
    assert conversation.chain("b", deps=Deps("Bob")).tool_results()[0].output == "Hi, Bob"


class Notes(Toolbox):
    "Notes kept per user."

    def __init__(self) -> None:
        self.notes: dict[str, list[str]] = {}

    def add(self, ctx: RunContext[Deps], note: str) -> str:
        "Add a note for the current user."
        self.notes.setdefault(ctx.deps.user, []).append(note)
        return "noted"

    async def count(self, ctx: RunContext[Deps]) -> int:
        "How many notes the current user has."
        return len(self.notes.get(ctx.deps.user, []))


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_deps_reach_a_toolbox_method(use_async: bool) -> None:
    notes = Notes()
    model, seen = calls_then(
        ToolCall("Notes_add", {"note": "milk"}, "c1"), ToolCall("Notes_count", {}, "c2"), "done"
    )
    response = chain(model, "x", use_async=use_async, tools=[notes], deps=Deps("Ada"))
    assert notes.notes == {"Ada": ["milk"]}
    assert [r.output for r in response.tool_results()] == ["noted", "1"]
    offered = {t.name: t.parameters for t in seen[0].tools}
    assert offered["Notes_add"]["properties"] == {"note": {"type": "string"}}
    assert offered["Notes_count"]["properties"] == {}


def test_hooks_that_declare_a_context_parameter_get_it() -> None:
    got: list[tuple[str, Any]] = []

    def before(tool: Tool | None, call: ToolCall, ctx: RunContext[Deps]) -> None:
        got.append(("before", ctx.deps.user))

    async def after(tool: Tool, call: ToolCall, result: ToolResult, c: RunContext[Deps]) -> None:
        got.append(("after", c.tool_call))

    def plain(tool: Tool | None, call: ToolCall) -> None:
        got.append(("plain", None))

    model, _ = calls_then(ToolCall("greet", {"greeting": "Hi"}, "c1"), "done")
    model.chain("x", tools=[greet], before_call=before, after_call=after, deps=Deps("Ada"))
    assert got == [("before", "Ada"), ("after", ToolCall("greet", {"greeting": "Hi"}, "c1"))]
    model, _ = calls_then(ToolCall("greet", {"greeting": "Hi"}, "c1"), "done")
    model.chain("x", tools=[greet], before_call=plain, deps=Deps("Ada"))
    assert got[-1] == ("plain", None)


def test_approve_gets_the_context_too() -> None:
    @tool(requires_approval=True)
    def delete(path: str) -> str:
        "Delete a file."
        return "deleted"

    def approve(tool: Tool, call: ToolCall, ctx: RunContext[Deps]) -> bool:
        return ctx.deps.user == "admin"

    for user, output in (("admin", "deleted"), ("guest", "did not approve")):
        model, _ = calls_then(ToolCall("delete", {"path": "x"}, "c1"), "done")
        response = model.chain("x", tools=[delete], approve=approve, deps=Deps(user))
        assert output in response.tool_results()[0].output


def test_two_context_parameters_are_a_definition_error() -> None:
    def twice(a: RunContext[None], b: RunContext[None], x: int) -> int:
        "Two contexts."
        return x

    with pytest.raises(ToolDefinitionError, match="2 RunContext parameters"):
        Tool.function(twice)


# -- per-step preparation -----------------------------------------------------------------


def only_after_edit(ctx: RunContext[Any], tool: Tool) -> Tool | None:
    return tool if ctx.ran("edit") else None


def edit(path: str) -> str:
    "Edit a file."
    return f"edited {path}"


@tool(prepare=only_after_edit)
def commit(message: str) -> str:
    "Commit the edits."
    return f"committed: {message}"


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_prepare_hides_a_tool_until_another_ran(use_async: bool) -> None:
    model, seen = calls_then(
        ToolCall("commit", {"message": "early"}, "c0"),  # not on offer yet: refused
        ToolCall("edit", {"path": "a.py"}, "c1"),
        ToolCall("commit", {"message": "done"}, "c2"),
        "finished",
    )
    response = chain(model, "x", use_async=use_async, tools=[edit, commit])
    offered = [[t.name for t in r.tools] for r in seen]
    assert offered == [["edit"], ["edit"], ["edit", "commit"], ["edit", "commit"]]
    early, edited, committed = response.tool_results()
    assert early.is_error
    assert "Unknown tool 'commit'" in early.output
    assert (edited.output, committed.output) == ("edited a.py", "committed: done")


def test_an_async_prepare_can_reshape_a_tool() -> None:
    async def describe(ctx: RunContext[Deps], tool: Tool) -> Tool:
        return dataclasses.replace(tool, description=f"Greet {ctx.deps.user}.")

    shaped = Tool.function(greet, name="greet")
    shaped = dataclasses.replace(shaped, prepare=describe)
    for use_async in (False, True):
        model, seen = calls_then(ToolCall("greet", {"greeting": "Hi"}, "c1"), "done")
        response = chain(model, "x", use_async=use_async, tools=[shaped], deps=Deps("Ada"))
        assert seen[0].tools[0].description == "Greet Ada."
        assert response.tool_results()[0].output == "Hi, Ada"


class Repo(Toolbox):
    "A repository."

    def edit(self, path: str) -> str:
        "Edit a file."
        return "edited"

    def commit(self, message: str) -> str:
        "Commit."
        return "committed"

    async def prepare_tools(self, ctx: RunContext[Any], tools: list[Tool]) -> list[Tool]:
        if ctx.ran("Repo_edit"):
            return tools
        return [t for t in tools if t.name != "Repo_commit"]


def test_a_toolbox_prepares_its_own_tools_each_step() -> None:
    model, seen = calls_then(ToolCall("Repo_edit", {"path": "a"}, "c1"), "done")
    model.chain("x", tools=[greet, Repo()], deps=Deps("Ada"))
    offered = [[t.name for t in r.tools] for r in seen]
    assert offered == [["greet", "Repo_edit"], ["greet", "Repo_edit", "Repo_commit"]]
    assert "prepare_tools" not in str(offered)  # the override is not a tool itself


def test_a_prepare_that_returns_something_else_is_a_definition_error() -> None:
    @tool(prepare=lambda ctx, tool: "commit")
    def odd(x: int) -> int:
        "Odd."
        return x

    model, _ = calls_then("done")
    with pytest.raises(ToolDefinitionError, match="prepare function of tool 'odd'"):
        model.chain("x", tools=[odd])


def test_without_preparation_the_tools_are_fixed_for_the_run() -> None:
    model = TestModel()
    response = model.chain("Hello", tools=[greet], deps=Deps("Ada"))
    assert "Ada" in response.tool_results()[0].output


# -- the schema on every wire format, and over HTTP -----------------------------------------

GREET = Tool.function(greet)


def _chat(r: Request) -> list[dict[str, Any]]:
    body = chat_body(r, model="gpt-4o", stream=False, options={})
    return [t["function"]["parameters"] for t in body["tools"]]


def _responses(r: Request) -> list[dict[str, Any]]:
    return [t["parameters"] for t in responses_body("gpt-4.1", r, {}, stream=False)["tools"]]


def _anthropic(r: Request) -> list[dict[str, Any]]:
    body = anthropic_body("claude-sonnet-4-5", r, {}, stream=False)
    return [t["input_schema"] for t in body["tools"]]


def _gemini(r: Request) -> list[dict[str, Any]]:
    declarations = gemini_body(r, {})["tools"][0]["functionDeclarations"]
    return [d.get("parametersJsonSchema") or d["parameters"] for d in declarations]


@pytest.mark.parametrize("encode", [_chat, _responses, _anthropic, _gemini])
def test_the_context_parameter_is_absent_from_the_schema_sent_on_every_format(
    encode: Callable[[Request], list[dict[str, Any]]],
) -> None:
    (parameters,) = encode(Request([agentloop.Message.user("Hi")], (GREET,)))
    assert set(parameters["properties"]) == {"greeting"}
    assert "ctx" not in str(parameters)


def test_over_http_openai_chat_deps_reach_the_tool(local_server: LocalServer) -> None:
    local_server.reply(completion(None, tool_calls=[tool_call("greet", {"greeting": "Hi"}, "c1")]))
    local_server.reply(completion("Done."))
    model = OpenAIChatModel(
        "gpt-4o",
        api_key="sk-test",
        base_url=f"{local_server.url}/v1",
        retry_backoff=0,
        http_client=http_client(),
    )
    response = model.chain("x", tools=[greet], deps=Deps("Ada"))
    first, second = (r.json() for r in local_server.requests)
    assert first["tools"][0]["function"]["parameters"]["properties"] == {
        "greeting": {"type": "string"}
    }
    assert second["messages"][-1]["content"] == "Hi, Ada"
    assert response.text() == "Done."


def test_over_http_anthropic_deps_reach_an_async_toolbox_method(local_server: LocalServer) -> None:
    local_server.reply(message_body([tool_use("t1", "Notes_add", {"note": "milk"})], "tool_use"))
    local_server.reply(message_body([text("Noted.")]))
    notes = Notes()

    async def go() -> Any:
        return (
            await anthropic_model(local_server)
            .to_async()
            .chain("x", tools=[notes], deps=Deps("Ada"))
        )

    assert asyncio.run(go()).text() == "Noted."
    first, second = (r.json() for r in local_server.requests)
    schemas = {t["name"]: t["input_schema"] for t in first["tools"]}
    assert set(schemas["Notes_add"]["properties"]) == {"note"}
    assert notes.notes == {"Ada": ["milk"]}
    assert second["messages"][-1]["content"][0]["content"] == "noted"


def test_a_hook_whose_hints_cannot_be_resolved_still_gets_the_context() -> None:
    got: list[str] = []

    def before(tool: Tool | None, call: ToolCall, ctx: RunContext[Missing]) -> None:  # noqa: F821
        got.append(ctx.deps.user)

    model, _ = calls_then(ToolCall("greet", {"greeting": "Hi"}, "c1"), "done")
    model.chain("x", tools=[greet], before_call=before, deps=Deps("Ada"))
    assert got == ["Ada"]
