"""prompt_cache: the breakpoints and keys each format's bodies carry, over the local server.

Anthropic: "auto" (the default) marks the last tool, the system prompt and the newest
message of every request, at most 4 marks in all with the caller's own, which win and stay.
OpenAI Chat and Responses: "auto" sends one ``prompt_cache_key`` for every step of a
conversation, and none to a compatible host.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from anthropic_wire import message_body, text, tool_use
from anthropic_wire import model as anthropic_model
from local_server import LocalServer
from openai_chat_wire import completion, tool_call
from responses_events import function_call
from responses_events import message as responses_message
from responses_events import reply as responses_reply

from agentloop import Message, Request, Text
from agentloop.errors import UnknownOptionError
from agentloop.providers.anthropic import AnthropicModel
from agentloop.providers.anthropic.caching import MAX_BREAKPOINTS, count_breakpoints
from agentloop.providers.endpoints import ENDPOINTS
from agentloop.providers.openai_chat import OpenAIChatModel, OpenAICompatibleModel
from agentloop.providers.openai_responses.model import create as responses_model
from agentloop.providers.options import check_option_names
from agentloop.providers.wire_cache import WireCache, WireList, dump_body, dump_json

Body = dict[str, Any]
STEPS = 4
MARK = {"type": "ephemeral"}
HOUR = {"type": "ephemeral", "ttl": "1h"}


def add(a: int, b: int) -> int:
    "Add two numbers."
    return a + b


def double(n: int) -> int:
    "Double a number."
    return 2 * n


# -- Anthropic ------------------------------------------------------------------------------


def script_anthropic(server: LocalServer, steps: int = STEPS) -> None:
    """``steps - 1`` replies calling ``add``, then an answer."""
    for n in range(steps - 1):
        server.reply(message_body([tool_use(f"toolu_{n}", "add", {"a": n, "b": 1})], "tool_use"))
    server.reply(message_body([text("done")]))


def marks(body: Body) -> list[tuple[str, Any]]:
    """Where ``body`` holds a ``cache_control`` mark, and which: (place, mark)."""
    found = [
        (f"tool {t['name']}", t["cache_control"])
        for t in body.get("tools", [])
        if "cache_control" in t
    ]
    system = body.get("system")
    if isinstance(system, list):
        found += [
            (f"system {i}", b["cache_control"])
            for i, b in enumerate(system)
            if "cache_control" in b
        ]
    for m, message in enumerate(body["messages"]):
        for b, block in enumerate(message["content"]):
            if "cache_control" in block:
                found.append((f"message {m} block {b}", block["cache_control"]))
    return found


def sent(server: LocalServer) -> list[Body]:
    return [r.json() for r in server.requests]


def newest(body: Body) -> str:
    last = len(body["messages"]) - 1
    return f"message {last} block {len(body['messages'][last]['content']) - 1}"


def test_auto_marks_tools_system_and_the_newest_message_of_every_step(
    local_server: LocalServer,
) -> None:
    script_anthropic(local_server)
    claude = anthropic_model(local_server)
    claude.chain("Add up.", system="Be brief.", tools=[double, add]).text()
    bodies = sent(local_server)
    assert len(bodies) == STEPS
    for body in bodies:
        assert marks(body) == [("tool add", MARK), ("system 0", MARK), (newest(body), MARK)]
        assert count_breakpoints(body) <= MAX_BREAKPOINTS
    # the step's whole prefix up to its mark is the next step's prefix too
    for before, after in itertools.pairwise(bodies):
        unmarked = [_without_marks(m) for m in before["messages"]]
        assert [_without_marks(m) for m in after["messages"][: len(unmarked)]] == unmarked


def _without_marks(message: Body) -> Body:
    content = [{k: v for k, v in b.items() if k != "cache_control"} for b in message["content"]]
    return {**message, "content": content}


def test_a_ttl_of_an_hour_goes_on_every_mark(local_server: LocalServer) -> None:
    script_anthropic(local_server)
    claude = anthropic_model(local_server, options={"prompt_cache_ttl": "1h"})
    claude.chain("Add up.", system="Be brief.", tools=[add]).text()
    for body in sent(local_server):
        assert [mark for _, mark in marks(body)] == [HOUR, HOUR, HOUR]


def test_off_adds_no_mark(local_server: LocalServer) -> None:
    script_anthropic(local_server)
    claude = anthropic_model(local_server)
    claude.chain("Add up.", system="Be brief.", tools=[add], prompt_cache="off").text()
    for body in sent(local_server):
        assert marks(body) == []
        assert body["system"] == "Be brief."


def test_a_model_default_applies_and_a_call_option_wins(local_server: LocalServer) -> None:
    script_anthropic(local_server, steps=1)
    script_anthropic(local_server, steps=1)
    claude = anthropic_model(local_server, options={"prompt_cache": "off"})
    claude.prompt("Hi", system="Be brief.").text()
    claude.prompt("Hi", system="Be brief.", prompt_cache="auto").text()
    first, second = sent(local_server)
    assert marks(first) == []
    assert marks(second) == [("system 0", MARK), ("message 0 block 0", MARK)]


def test_a_conversation_option_applies_to_its_chains(local_server: LocalServer) -> None:
    script_anthropic(local_server, steps=2)
    conversation = anthropic_model(local_server).conversation(
        tools=[add], options={"prompt_cache": "off"}
    )
    conversation.chain("Add up.").text()
    assert all(marks(body) == [] for body in sent(local_server))


def manual(value: str, mark: Body) -> Text:
    return Text(value, extra={"anthropic": {"cache_control": mark}})


def test_a_manual_mark_stays_where_it_is_and_counts(local_server: LocalServer) -> None:
    script_anthropic(local_server)
    opening = Message("user", [manual("A long document.", HOUR), Text("Add up.")])
    claude = anthropic_model(local_server)
    conversation = claude.conversation(system="Be brief.", tools=[add], messages=[opening])
    conversation.chain("Go.").text()
    for body in sent(local_server):
        found = marks(body)
        assert ("message 0 block 0", HOUR) in found  # the caller's, as given
        assert found[-1] == (newest(body), MARK)
        assert len(found) == MAX_BREAKPOINTS == count_breakpoints(body)


def test_a_manual_mark_on_the_newest_block_is_not_doubled() -> None:
    claude = AnthropicModel("claude-test", api_key="sk-ant-test")
    history = [Message.system("Be brief."), Message("user", [manual("Add up.", HOUR)])]
    body = claude.encode(Request(history), stream=False).body
    assert marks(body) == [("system 0", MARK), ("message 0 block 0", HOUR)]


def test_manual_marks_that_use_the_budget_leave_none_to_add(local_server: LocalServer) -> None:
    script_anthropic(local_server)
    opening = Message("user", [manual(f"Part {n}.", MARK) for n in range(MAX_BREAKPOINTS)])
    claude = anthropic_model(local_server)
    conversation = claude.conversation(system="Be brief.", tools=[add], messages=[opening])
    conversation.chain("Go.").text()
    for body in sent(local_server):
        assert marks(body) == [(f"message 0 block {n}", MARK) for n in range(MAX_BREAKPOINTS)]
        assert body["system"] == "Be brief."


def test_one_slot_left_goes_to_the_newest_message(local_server: LocalServer) -> None:
    script_anthropic(local_server, steps=2)
    opening = Message("user", [manual(f"Part {n}.", MARK) for n in range(MAX_BREAKPOINTS - 1)])
    claude = anthropic_model(local_server)
    conversation = claude.conversation(system="Be brief.", tools=[add], messages=[opening])
    conversation.chain("Go.").text()
    for body in sent(local_server):
        assert marks(body)[-1] == (newest(body), MARK)
        assert count_breakpoints(body) == MAX_BREAKPOINTS


def test_the_marked_body_bytes_are_the_body_json() -> None:
    # the rolling mark replaces the newest message by a copy after the run's cache: the
    # spliced bytes must still be exactly the body's JSON, and the kept encodings unmarked
    claude = AnthropicModel("claude-test", api_key="sk-ant-test")
    cache = WireCache()
    history = [Message.user("Add up."), Message.assistant("Sure."), Message.user("Now.")]
    for end in (1, 3):
        request = Request(history[:end], wire_cache=cache)
        body = claude.encode(request, stream=False).body
        assert dump_body(body) == dump_json(body)
        assert json.loads(dump_body(body))["messages"][-1]["content"][-1]["cache_control"]
    assert "cache_control" not in json.loads(dump_body(body))["messages"][0]["content"][0]


def test_a_bad_mode_or_ttl_is_refused() -> None:
    claude = AnthropicModel("claude-test", api_key="sk-ant-test")
    for options in ({"prompt_cache": "on"}, {"prompt_cache_ttl": "10m"}):
        with pytest.raises(ValueError, match="prompt_cache"):
            claude.encode(Request([Message.user("hi")], options=options), stream=False)


def test_option_names_know_prompt_cache() -> None:
    with pytest.raises(UnknownOptionError, match="prompt_cache"):
        check_option_names({"prompt_cahce": "auto"})
    check_option_names({"prompt_cache": "off", "prompt_cache_ttl": "1h"})
    check_option_names({"prompt_cache_key": "mine", "prompt_cache_retention": "24h"})


# -- OpenAI ---------------------------------------------------------------------------------


def script_chat(server: LocalServer, steps: int = STEPS) -> None:
    for n in range(steps - 1):
        server.reply(completion(tool_calls=[tool_call("add", {"a": n, "b": 1}, f"call_{n}")]))
    server.reply(completion("done"))


def chat_model(server: LocalServer, **kwargs: Any) -> OpenAIChatModel:
    return OpenAIChatModel("gpt-4o", api_key="sk-test", base_url=f"{server.url}/v1", **kwargs)


def keys(server: LocalServer) -> list[Any]:
    return [body.get("prompt_cache_key") for body in sent(server)]


def test_chat_sends_one_key_for_every_step_of_a_conversation(local_server: LocalServer) -> None:
    script_chat(local_server)
    script_chat(local_server, steps=1)
    script_chat(local_server, steps=1)
    conversation = chat_model(local_server).conversation(system="Be brief.", tools=[add])
    conversation.chain("Add up.").text()
    conversation.prompt("And now?").text()  # a later turn of the same conversation
    chat_model(local_server).prompt("Something else.", system="Be brief.").text()
    found = keys(local_server)
    assert len(set(found[:-1])) == 1
    assert str(found[0]).startswith("agentloop-")
    assert found[-1] != found[0]  # another conversation, another key


def test_chat_sends_no_key_with_off_and_the_callers_key_wins(local_server: LocalServer) -> None:
    script_chat(local_server, steps=1)
    script_chat(local_server, steps=1)
    chat = chat_model(local_server)
    chat.prompt("Hi", prompt_cache="off").text()
    chat.prompt("Hi", prompt_cache_key="mine").text()
    assert keys(local_server) == [None, "mine"]


def test_a_compatible_host_gets_no_key(local_server: LocalServer) -> None:
    script_chat(local_server, steps=1)
    mistral = OpenAICompatibleModel(
        "mistral-small", endpoint=ENDPOINTS["mistral"], api_key="k", base_url=local_server.url
    )
    mistral.prompt("Hi").text()
    assert keys(local_server) == [None]


def test_responses_sends_one_key_for_every_step(local_server: LocalServer) -> None:
    for n in range(STEPS - 1):
        local_server.reply(responses_reply(function_call("add", {"a": n, "b": 1}, f"c{n}")))
    local_server.reply(responses_reply(responses_message("done")))
    model = responses_model("gpt-4.1-mini", base_url=f"{local_server.url}/v1", api_key="sk")
    model.chain("Add up.", system="Be brief.", tools=[add]).text()
    found = keys(local_server)
    assert len(found) == STEPS
    assert len(set(found)) == 1
    assert str(found[0]).startswith("agentloop-")


def test_responses_sends_no_key_with_off(local_server: LocalServer) -> None:
    local_server.reply(responses_reply(responses_message("done")))
    model = responses_model("gpt-4.1-mini", base_url=f"{local_server.url}/v1", api_key="sk")
    model.prompt("Hi", prompt_cache="off").text()
    assert keys(local_server) == [None]


@pytest.mark.parametrize(
    ("ttl", "retention"), [(None, None), ("5m", "in_memory"), ("1h", "24h"), ("24h", "24h")]
)
def test_a_ttl_is_openais_retention_on_chat_and_responses(
    local_server: LocalServer, ttl: str | None, retention: str | None
) -> None:
    script_chat(local_server, steps=1)
    local_server.reply(responses_reply(responses_message("done")))
    options = {} if ttl is None else {"prompt_cache_ttl": ttl}
    chat_model(local_server).prompt("Hi", **options).text()
    model = responses_model("gpt-4.1-mini", base_url=f"{local_server.url}/v1", api_key="sk")
    model.prompt("Hi", **options).text()
    found = [body.get("prompt_cache_retention", None) for body in sent(local_server)]
    assert found == [retention, retention]
    assert all(body["prompt_cache_key"] for body in sent(local_server))


def test_retention_is_not_sent_with_off_nor_to_a_compatible_host_and_the_callers_wins(
    local_server: LocalServer,
) -> None:
    script_chat(local_server, steps=1)
    chat = chat_model(local_server)
    chat.prompt("Hi", prompt_cache="off", prompt_cache_ttl="24h").text()
    chat.prompt("Hi", prompt_cache_ttl="5m", prompt_cache_retention="24h").text()
    groq = OpenAICompatibleModel(
        "llama", endpoint=ENDPOINTS["groq"], api_key="k", base_url=local_server.url
    )
    groq.prompt("Hi", prompt_cache_ttl="1h").text()
    found = [body.get("prompt_cache_retention") for body in sent(local_server)]
    assert found == [None, "24h", None]


def test_explicit_is_auto_on_anthropic_and_a_day_is_refused(local_server: LocalServer) -> None:
    script_anthropic(local_server, steps=1)
    claude = anthropic_model(local_server)
    claude.prompt("Hi", system="Be brief.", tools=[add], prompt_cache="explicit").text()
    assert len(marks(sent(local_server)[0])) == 3
    with pytest.raises(ValueError, match="'5m' or '1h'"):
        claude.prompt("Hi", prompt_cache_ttl="24h")


@pytest.mark.parametrize("count", [1, 2, 5])
def test_with_last_keeps_the_json_spliced(count: int) -> None:
    items = [
        {"role": "user", "content": [{"type": "text", "text": f"é {n}"}]} for n in range(count)
    ]
    listed = WireList(items, [dump_json(item) for item in items])
    marked = listed.with_last({**items[-1], "cache_control": MARK})
    assert marked.json_text() == dump_json(list(marked))
    assert marked[:-1] == items[:-1]
    assert "cache_control" not in items[-1]  # the kept item is untouched
    assert WireList(items, None).with_last(items[0]).json_text() is None
