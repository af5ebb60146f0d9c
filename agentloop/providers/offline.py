"""Models that run offline: [`TestModel`][agentloop.TestModel] and
[`FunctionModel`][agentloop.FunctionModel].

They are real models as far as the chain is concerned (the same Request in,
Reply out), so agent code tested with them behaves as with a provider.
"""

from __future__ import annotations

import inspect
import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from agentloop.messages import Message, Part, Text, ToolCall, ToolResult
from agentloop.model import Model
from agentloop.providers.base import Delta, Reply, Request, StreamEvent
from agentloop.providers.options import check_keywords, keyword_only
from agentloop.providers.samples import sample
from agentloop.usage import Usage

FunctionResult = str | Message | Reply | ToolCall | Sequence[Part | str]
ModelFunction = Callable[[Request], Any]


class FunctionModel(Model):
    """A function plays the model: ``FunctionModel(lambda request: "hi")``.

    The function gets the [`Request`][agentloop.Request] (messages,
    tools, options) and returns text, a [`ToolCall`][agentloop.ToolCall], a list of parts, a
    [`Message`][agentloop.Message] or a [`Reply`][agentloop.Reply]. A generator function streams:
    each ``str`` it yields is a text chunk, each [`ToolCall`][agentloop.ToolCall] a call (streamed
    as a provider's would be: begun, then its arguments). Tool calls without an id get one.
    An ``async def`` function works from both the sync and the async API.
    """

    blocking_io = False

    def __init__(self, fn: ModelFunction, *, model_id: str = "function") -> None:
        self.fn = fn
        self.model_id = model_id
        self._ids = itertools.count(1)
        self._estimate = UsageEstimator()
        self._kind_of: tuple[object, str] = (None, "")

    def _kind(self) -> str:
        """``fn`` as "generator", "coroutine" or "plain": asked once per function, not at
        every call (``inspect`` takes microseconds, and a batch calls thousands of times)."""
        fn = self.fn
        known, kind = self._kind_of
        if known is not fn:
            if inspect.isgeneratorfunction(fn):
                kind = "generator"
            elif inspect.iscoroutinefunction(fn):
                kind = "coroutine"
            else:
                kind = "plain"
            self._kind_of = (fn, kind)
        return kind

    def complete(self, request: Request) -> Reply:
        if self._kind() == "generator":
            return _last_reply(self.stream(request))
        result = self.fn(request)
        if inspect.isawaitable(result):
            from agentloop.shells import portal

            result = portal.run(result)
        return self._reply(request, result)

    async def acomplete(self, request: Request) -> Reply:
        if self._kind() == "coroutine":
            return self._reply(request, await self.fn(request))
        return self.complete(request)

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        if self._kind() != "generator":
            yield from super().stream(request)
            return
        parts: list[Part] = []
        for item in self.fn(request):
            if isinstance(item, str):
                yield Delta(item)
                if parts and isinstance(parts[-1], Text):
                    parts[-1] = Text(parts[-1].text + item)
                    continue
                parts.append(Text(item))
            else:
                if isinstance(item, ToolCall):
                    item.tool_call_id = item.tool_call_id or f"call_{next(self._ids)}"
                    yield from call_deltas(item)
                parts.append(item)
        yield self._reply(request, parts)

    def _reply(self, request: Request, result: FunctionResult) -> Reply:
        if isinstance(result, Reply):
            return result
        if isinstance(result, Message):
            message = result
        elif isinstance(result, str):
            message = Message("assistant", [Text(result)])
        elif isinstance(result, ToolCall):
            message = Message("assistant", [result])
        else:
            message = Message("assistant", [Text(p) if isinstance(p, str) else p for p in result])
        for part in message.parts:
            if isinstance(part, ToolCall) and not part.tool_call_id:
                part.tool_call_id = f"call_{next(self._ids)}"
        return Reply(message, self._estimate(request, message), _finish_reason(message))


class TestModel(Model):
    """Calls every offered tool once, with arguments made from its schema, then sums up.

    The arguments look like a model's: a string comes from the prompt (a quoted
    phrase, the text after a colon, else its first telling word) or from the
    parameter's name (``city`` gets ``"Paris"``), a number is one of the prompt's
    numbers or a small one, an enum its first value.

    The final answer is ``text`` when given; else, for a prompt with ``schema=``,
    JSON that validates against the schema (every field filled, so ``parsed()``
    works offline); else a JSON object mapping each tool name to its output, or a
    plain reply when no tool was called. A quick, deterministic stand-in for a
    real model in tests of agent code.
    """

    __test__ = False  # not a pytest test class, despite the name
    blocking_io = False

    def __init__(
        self,
        *,
        text: str | None = None,
        call_tools: Sequence[str] | None = None,
        model_id: str = "test",
    ) -> None:
        self.text = text
        self.call_tools = call_tools
        self.model_id = model_id
        self._estimate = UsageEstimator()

    def complete(self, request: Request) -> Reply:
        turn = _current_turn(request.messages)
        results = [r for m in turn if m.role == "tool" for r in m.tool_results]
        if not results and not any(m.tool_calls for m in turn):
            wanted = [t for t in request.tools if self._wants(t.name)]
            if wanted:
                prompt = request.last_user_text
                calls: list[Part] = [
                    ToolCall(t.name, example_arguments(t.parameters, prompt), f"test_{i}")
                    for i, t in enumerate(wanted, 1)
                ]
                message = Message("assistant", calls)
                return Reply(message, self._estimate(request, message), "tool_calls")
        if self.text is not None:
            answer = self.text
        elif request.schema is not None:
            answer = example_answer(request.schema, request.last_user_text)
        elif results:
            answer = json.dumps({r.name: r.output for r in results}, ensure_ascii=False)
        else:
            answer = "success (no tool calls)"
        message = Message("assistant", [Text(answer)])
        return Reply(message, self._estimate(request, message), "stop")

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        reply = self.complete(request)
        text = reply.message.text
        for i, word in enumerate(text.split(" ") if text else []):
            yield Delta(word if i == 0 else " " + word)
        for call in reply.message.tool_calls:
            yield from call_deltas(call)
        yield reply

    def _wants(self, name: str) -> bool:
        return self.call_tools is None or name in self.call_tools


def call_deltas(call: ToolCall, pieces: int = 3) -> Iterator[Delta]:
    """A tool call as a stream shows it: begun (its id and name), then its arguments' JSON in
    a few fragments."""
    yield Delta(call.name, "tool_call", call.tool_call_id)
    text = call.arguments_json()
    size = max(1, -(-len(text) // pieces))
    for start in range(0, len(text), size):
        yield Delta(text[start : start + size], "arguments", call.tool_call_id)


def create_test(name: str, **kwargs: Any) -> TestModel:
    """``get_model("test")``: the offline TestModel (``text=``, ``call_tools=``)."""
    check_keywords(kwargs, keyword_only(TestModel) - {"model_id"}, call=f"get_model({name!r})")
    return TestModel(model_id="test", **kwargs)


def _current_turn(messages: Sequence[Message]) -> list[Message]:
    """The messages after the last user message."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "user":
            return list(messages[index + 1 :])
    return list(messages)


def _finish_reason(message: Message) -> str:
    return "tool_calls" if message.tool_calls else "stop"


def _last_reply(events: Iterator[StreamEvent]) -> Reply:
    reply = None
    for event in events:
        if isinstance(event, Reply):
            reply = event
    assert reply is not None
    return reply


class UsageEstimator:
    """A deterministic token estimate (about four characters a token) for offline models.

    A chain sends the same message objects again with a few more appended, so
    the characters of the prefix seen last time are remembered: estimating
    costs what is new, not the whole history, and a long chain stays cheap.
    """

    __slots__ = ("_chars", "_last")

    def __init__(self) -> None:
        self._last: Message | None = None
        self._chars: list[int] = []

    def __call__(self, request: Request, message: Message) -> Usage:
        messages = request.messages
        known = len(self._chars)
        if not (known and known <= len(messages) and messages[known - 1] is self._last):
            known = 0
            self._chars = []
        total = self._chars[-1] if known else 0
        for index in range(known, len(messages)):
            total += _characters(messages[index])
            self._chars.append(total)
        self._last = messages[-1] if messages else None
        received = _characters(message)
        return Usage(input_tokens=max(1, total // 4), output_tokens=max(1, received // 4))


def _characters(message: Message) -> int:
    count = 0
    for part in message.parts:
        if isinstance(part, Text):
            count += len(part.text)
        elif isinstance(part, ToolCall):
            count += len(part.name) + len(part.arguments_json())
        elif isinstance(part, ToolResult):
            count += len(part.output)
    return count


def example_arguments(schema: dict[str, Any], prompt: str = "") -> dict[str, Any]:
    """Plausible arguments for a tool's JSON schema (required properties only).

    Strings come from ``prompt`` or the parameter's name, numbers from ``prompt`` or
    small ones: see `agentloop.providers.samples`.
    """
    value = sample(schema, prompt)
    return value if isinstance(value, dict) else {}


def example_answer(schema: dict[str, Any], prompt: str = "") -> str:
    """A JSON answer that validates against a structured-output schema, every field filled."""
    return json.dumps(sample(schema, prompt, optional=True), ensure_ascii=False)
