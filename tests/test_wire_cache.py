"""The per-run wire cache: what a codec sends with it is byte for byte a fresh encoding.

A run gives each request the same `WireCache`, so each message is converted once and its
JSON spliced into later bodies. Here random histories are encoded as a chain would send
them (each request the history so far), and between requests messages are edited,
replaced, moved or dropped: the bytes sent through the cache must equal those of a fresh
full encoding every time.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentloop import Message, Request, Text, ToolCall, ToolResult
from agentloop.loop import CallModel, CallUser, ChainSpec, Hooks, run_chain
from agentloop.providers.anthropic import AnthropicModel
from agentloop.providers.anthropic.format import ANTHROPIC
from agentloop.providers.base import Reply
from agentloop.providers.gemini import GeminiModel
from agentloop.providers.gemini.format import GEMINI
from agentloop.providers.http import HTTPModel
from agentloop.providers.http_call import wire_request
from agentloop.providers.openai_chat import OpenAIChatModel
from agentloop.providers.openai_chat.messages import OPENAI
from agentloop.providers.openai_responses import OpenAIResponsesModel
from agentloop.providers.openai_responses.fields import OPENAI_RESPONSES
from agentloop.providers.wire_cache import WireCache, WireList, dump_body, dump_json, made_once
from agentloop.tools import RetryBudget, collect_tools
from tests.strategies import conversations, text

MODELS: dict[str, list[HTTPModel]] = {
    OPENAI: [OpenAIChatModel("gpt-4.1-mini", api_key="sk-test")],
    # gpt-4.1 keeps the input as it is; o3 reasons, so its input is made stateless
    OPENAI_RESPONSES: [
        OpenAIResponsesModel("gpt-4.1", api_key="sk-test"),
        OpenAIResponsesModel("o3", api_key="sk-test"),
    ],
    ANTHROPIC: [AnthropicModel("claude-sonnet-4-5", api_key="sk-test")],
    GEMINI: [GeminiModel("gemini-2.5-flash", api_key="sk-test")],
}
CASES = [(fmt, model) for fmt, models in MODELS.items() for model in models]


def sent(model: HTTPModel, messages: list[Message], cache: WireCache | None) -> bytes:
    request = Request(list(messages), wire_cache=cache)
    return wire_request(model.encode(request, stream=False)).body


def edit(messages: list[Message], how: str, where: int, new_text: str) -> None:
    """Change the history in place, as a hook or tool could between two calls of a run."""
    index = where % len(messages)
    message = messages[index]
    if how == "reassign" and message.parts:
        part = message.parts[0]
        if isinstance(part, Text):
            part.text = new_text
        elif isinstance(part, ToolResult):
            part.output = new_text
        elif isinstance(part, ToolCall):
            part.arguments = {"edited": new_text}
    elif how == "add_part" and message.role in ("user", "assistant"):
        message.parts.append(Text(new_text))
    elif how == "replace_parts" and message.role in ("user", "system"):
        message.parts = [Text(new_text)]
    elif how == "replace" and message.role == "user":
        messages[index] = Message.user(new_text)
    elif how == "insert":
        messages.insert(index, Message.user(new_text))
    elif how == "drop" and message.role == "user" and len(messages) > 1:
        del messages[index]
    elif how == "move" and message.role == "user":
        messages.append(messages.pop(index))


edits = st.tuples(
    st.sampled_from(["reassign", "add_part", "replace_parts", "replace", "insert", "drop", "move"]),
    st.integers(0, 50),
    text,
)


@pytest.mark.parametrize(("fmt", "model"), CASES, ids=[f"{f}-{m.model_name}" for f, m in CASES])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_cached_bytes_equal_a_fresh_encoding(fmt: str, model: HTTPModel, data: Any) -> None:
    history = data.draw(conversations(fmt))
    cache = WireCache()
    # as a chain sends it: the history so far at each step, edited now and then
    for end in range(1, len(history) + 1):
        messages = history[:end]
        if data.draw(st.booleans()):
            edit(messages, *data.draw(edits))
        assert sent(model, messages, cache) == sent(model, messages, None)
        assert sent(model, messages, cache) == sent(model, messages, None)  # all kept now


@pytest.mark.parametrize(("fmt", "model"), CASES, ids=[f"{f}-{m.model_name}" for f, m in CASES])
def test_a_changed_message_is_encoded_again(fmt: str, model: HTTPModel) -> None:
    call = ToolCall("bump", {"n": 1}, "call_1")
    result = ToolResult("bump", "2", "call_1")
    history = [Message.user("hi"), Message("assistant", [call]), Message("tool", [result])]
    cache = WireCache()
    sent(model, history, cache)
    result.output = "3"
    history[0].parts[0] = Text("hello")
    history[1].parts.append(Text("and some text"))
    fresh = sent(model, history, None)
    assert sent(model, history, cache) == fresh
    assert b'"3"' in fresh
    assert b"hello" in fresh
    assert b"and some text" in fresh


def test_rearranged_history_is_sent_in_its_new_order() -> None:
    model = OpenAIChatModel("gpt-4.1-mini", api_key="sk-test")
    first, second = Message.user("one"), Message.user("two")
    cache = WireCache()
    sent(model, [first, second], cache)
    body = json.loads(sent(model, [second, first], cache))
    assert [m["content"] for m in body["messages"]] == ["two", "one"]


def test_dump_body_splices_byte_for_byte() -> None:
    items = [{"role": "user", "content": 'é \u2028 "q"'}, {"role": "tool", "content": ""}]
    body = {"model": "m", "messages": WireList(items, [dump_json(i) for i in items]), "n": 1.5}
    plain = {**body, "messages": list(items)}
    assert dump_body(body) == dump_json(plain)
    assert dump_json(plain) == json.dumps(
        plain, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )


def test_a_wire_list_changed_after_encoding_is_serialized_as_it_is_now() -> None:
    items = [{"role": "user", "content": "a"}]
    changed = WireList(items, [dump_json(items[0])])
    changed.append({"role": "user", "content": "b"})
    body = {"messages": changed}
    assert json.loads(dump_body(body))["messages"] == [
        {"role": "user", "content": "a"},
        {"role": "user", "content": "b"},
    ]
    unwritable = WireList(items, None)  # a piece that could not be written: the usual way
    assert dump_body({"messages": unwritable}) == dump_json({"messages": items})


def upper(text: str) -> str:
    "Upper."
    return text.upper()


class Listener:
    def replied(self, request: Request, reply: Reply) -> None:
        pass

    def tools_ran(self, messages: list[Message]) -> None:
        pass


def test_the_requests_of_a_run_share_one_cache_emptied_when_it_ends() -> None:
    model = OpenAIChatModel("gpt-4.1-mini", api_key="sk-test")
    step = run_chain(
        [], [Message.user("hi")], ChainSpec(collect_tools([upper])), RetryBudget(), Listener()
    )
    first = next(step)
    assert isinstance(first, CallModel)
    sent(model, list(first.request.messages), first.request.wire_cache)
    effect = step.send(Reply(Message("assistant", [ToolCall("upper", {"text": "a"}, "c1")])))
    assert isinstance(effect, CallUser)
    second = step.send(effect.fn(*effect.args))
    assert isinstance(second, CallModel)
    cache = second.request.wire_cache
    assert cache is not None
    assert cache is first.request.wire_cache
    assert cache._formats  # the first request's encodings are kept for the second
    with pytest.raises(StopIteration):
        step.send(Reply(Message.assistant("A")))
    assert not cache._formats


def test_a_prompt_makes_one_call_and_sends_it_without_a_cache() -> None:
    spec = ChainSpec(collect_tools([upper]), execute_tools=False)
    step = run_chain([], [Message.user("hi")], spec, RetryBudget(), Listener())
    effect = next(step)
    assert isinstance(effect, CallModel)
    assert effect.request.wire_cache is None  # nothing would be sent again
    with pytest.raises(StopIteration):
        step.send(Reply(Message("assistant", [ToolCall("upper", {"text": "a"}, "c1")])))


def test_a_hook_that_rewrites_the_history_is_seen_by_the_next_request() -> None:
    """A before_call hook that shortens an earlier tool result (context trimming): the next
    request sends the shortened result, not what was kept from the call before."""
    model = OpenAIChatModel("gpt-4.1-mini", api_key="sk-test")
    history: list[Message] = []

    def trim(tool: object, call: ToolCall) -> None:
        for result in (r for m in history for r in m.tool_results):
            result.output = "[trimmed]"

    spec = ChainSpec(collect_tools([upper]), hooks=Hooks(before_call=trim))
    step = run_chain(history, [Message.user("hi")], spec, RetryBudget(), Listener())
    effect = next(step)
    bodies = []
    for n in range(3):
        assert isinstance(effect, CallModel)
        bodies.append(sent(model, list(effect.request.messages), effect.request.wire_cache))
        assert bodies[-1] == sent(model, list(effect.request.messages), None)
        effect = step.send(
            Reply(Message("assistant", [ToolCall("upper", {"text": "abc"}, f"c{n}")]))
        )
        while isinstance(effect, CallUser):
            effect = step.send(effect.fn(*effect.args, **effect.kwargs))
    assert isinstance(effect, CallModel)
    last = sent(model, list(effect.request.messages), effect.request.wire_cache)
    assert last == sent(model, list(effect.request.messages), None)
    assert last.count(b"[trimmed]") == 2
    assert last.count(b'"ABC"') == 1


def test_gemini_calls_without_ids_and_nameless_results_as_fresh() -> None:
    """What Gemini's contents take from the rest of the history: a call Gemini sent without
    an id (its result goes without one), a result named only by its call, and the
    placeholder signature of an unsigned call."""
    model = GeminiModel("gemini-2.5-flash", api_key="sk-test")
    made_up = ToolCall("bump", {"n": 1}, "made-up", extra={GEMINI: {"no_id": True}})
    history = [
        Message.system("be brief"),
        Message.user("hi"),
        Message("assistant", [made_up]),
        Message("tool", [ToolResult("bump", "2", "made-up")]),
        Message("assistant", [ToolCall("bump", {"n": 2}, "c2")]),
        Message("tool", [ToolResult("", "3", "c2")]),  # named by its call only
        Message.user("and?"),
    ]
    cache = WireCache()
    for end in range(1, len(history) + 1):
        assert sent(model, history[:end], cache) == sent(model, history[:end], None)
    body = json.loads(sent(model, history, cache))
    response = body["contents"][2]["parts"][0]["functionResponse"]
    assert "id" not in response
    made_up.extra = {}  # now it is a call with an id of its own: the result names it
    assert sent(model, history[:4], cache) == sent(model, history[:4], None)
    assert b'"id":"made-up"' in sent(model, history[:4], cache)


def test_a_request_starting_with_the_previous_one_converts_only_what_is_new() -> None:
    """The usual request of a chain: the previous request's messages, then the new ones. The
    kept ones are taken whole; an edit to any of them still has it converted again."""
    from agentloop.providers.openai_chat.messages import _encode_message

    converted: list[str] = []

    def encode_one(index: int, message: Message) -> list[dict[str, Any]]:
        converted.append(message.text or message.role)
        return _encode_message(index, message)

    history = [Message.user("one"), Message.assistant("two"), Message.user("three")]
    cache = WireCache().messages(OPENAI)
    cache.encode(history[:2], encode_one)
    history.append(Message.assistant("four"))
    cache.encode(history, encode_one)
    assert converted == ["one", "two", "three", "four"]  # nothing converted twice
    history[1].parts[0] = Text("TWO")  # an edit inside the part of the kept prefix
    sent_now = cache.encode(history, encode_one)
    assert converted[4:] == ["TWO"]
    plain = [item for i, m in enumerate(history) for item in _encode_message(i, m)]
    assert sent_now == plain
    assert sent_now.json_text() == dump_json(plain)
    assert cache.encode(history[1:], encode_one) == plain[1:]  # not a prefix: per message
    assert converted[5:] == []  # each message still kept on its own


def test_the_prompt_cache_key_follows_the_opening_messages() -> None:
    """Chat Completions' prompt_cache_key is a hash of the opening wire items, kept for a
    run's requests while they open with the same kept items: an edit is seen."""
    model = OpenAIChatModel("gpt-4.1-mini", api_key="sk-test")
    history = [Message.system("be brief"), Message.user("hi"), Message.assistant("hello")]
    cache = WireCache()

    def key(cache: WireCache | None) -> str:
        return str(json.loads(sent(model, history, cache))["prompt_cache_key"])

    first = key(cache)
    history.append(Message.user("more"))
    assert key(cache) == first == key(None)
    history[1].parts[0] = Text("hello there")
    assert key(cache) == key(None) != first


@pytest.mark.parametrize(
    "options",
    [
        {"ensure_ascii": False, "separators": (",", ":"), "allow_nan": False},
        {"sort_keys": True, "ensure_ascii": False, "separators": (",", ":"), "default": repr},
        {"ensure_ascii": True},  # not made faster: encode itself
    ],
)
def test_an_encoder_made_once_writes_what_its_json_encoder_writes(options: dict[str, Any]) -> None:
    encoder = json.JSONEncoder(**options)
    encode = made_once(encoder)
    values: list[Any] = ["é", {"b": [1.5, None, True, "é"], "a": {"z": 2}}, [1, {"k": "v"}]]
    if "default" in options:
        values.append({"obj": object.__name__, "set": {1}})
    for value in values:
        assert encode(value) == encoder.encode(value)
    looped: list[Any] = []
    looped.append(looped)
    with pytest.raises(ValueError, match="Circular reference"):
        encode({"a": looped})
