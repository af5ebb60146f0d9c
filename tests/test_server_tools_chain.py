"""Chains with provider-side tools against local servers shaped like Anthropic, the Responses
API and Gemini, streamed and not.

A reply holding a server tool's call and result plus text ends the chain (nothing runs
locally) and its text is the response's; a reply holding those and a local tool call runs the
local tool, and the next request carries the server tool's blocks, items or parts back
exactly as they came. A Responses output item of a type agentloop does not know rides along
the same way.
"""

from __future__ import annotations

from typing import Any

import pytest
from anthropic_wire import SSE, message_body, model, sse_body, text, tool_use
from gemini_replies import SSE as GEMINI_SSE
from gemini_replies import call, gemini, reply, sse
from gemini_replies import text as gemini_text
from local_server import LocalServer
from responses_events import SSE_HEADERS, event_stream, function_call, message
from responses_events import reply as responses_reply

from agentloop import CodeExecution, ProviderPart, WebSearch
from agentloop.providers.openai_responses import create

RAN: list[str] = []


def upper(text: str) -> str:
    "Upper-case a text."
    RAN.append(text)
    return text.upper()


@pytest.fixture(autouse=True)
def forget_runs() -> None:
    RAN.clear()


def provider_parts(response: Any) -> list[ProviderPart]:
    return [p for p in response.message.parts if isinstance(p, ProviderPart)]


# -- Anthropic ------------------------------------------------------------------------

SEARCH_CALL = {
    "type": "server_tool_use",
    "id": "srvtoolu_01",
    "name": "web_search",
    "input": {"query": "weather Paris"},
}
SEARCH_RESULT = {
    "type": "web_search_tool_result",
    "tool_use_id": "srvtoolu_01",
    "content": [
        {
            "type": "web_search_result",
            "url": "https://weather.example/paris",
            "title": "Paris weather",
            "encrypted_content": "EqgfCioIARgBIiQ3",
            "page_age": None,
        }
    ],
}


def anthropic_script(server: LocalServer, *replies: tuple[list[Any], str], stream: bool) -> None:
    for content, stop in replies:
        if stream:
            server.reply(sse_body(content, stop), headers=SSE)
        else:
            server.reply(message_body(content, stop))


@pytest.mark.parametrize("stream", [False, True], ids=["json", "event-stream"])
def test_anthropic_a_searched_answer_ends_the_chain(
    local_server: LocalServer, stream: bool
) -> None:
    anthropic_script(
        local_server,
        ([SEARCH_CALL, SEARCH_RESULT, text("Sunny in Paris.")], "end_turn"),
        stream=stream,
    )

    chain = model(local_server).chain("Weather?", tools=[upper, WebSearch()], stream=stream)
    chunks = list(chain) if stream else []

    assert chain.text() == "Sunny in Paris."
    assert "".join(chunks) == ("Sunny in Paris." if stream else "")
    assert len(local_server.requests) == 1
    assert RAN == []
    sent = local_server.requests[0].json()
    assert [t["name"] for t in sent["tools"]] == ["upper", "web_search"]
    assert [p.payload for p in provider_parts(chain.responses[0])] == [SEARCH_CALL, SEARCH_RESULT]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "event-stream"])
def test_anthropic_local_calls_beside_server_tool_blocks_run_and_the_blocks_go_back(
    local_server: LocalServer, stream: bool
) -> None:
    first = [
        SEARCH_CALL,
        SEARCH_RESULT,
        text("Found it."),
        tool_use("toolu_1", "upper", {"text": "paris"}),
    ]
    anthropic_script(
        local_server, (first, "tool_use"), ([text("PARIS is sunny.")], "end_turn"), stream=stream
    )

    chain = model(local_server).chain("Weather?", tools=[upper, CodeExecution()], stream=stream)
    if stream:
        list(chain)

    assert chain.text() == "PARIS is sunny."
    assert chain.responses[0].text() == "Found it."
    assert RAN == ["paris"]
    assert all(
        r.headers["anthropic-beta"] == "code-execution-2025-08-25" for r in local_server.requests
    )
    second = local_server.requests[1].json()
    assert second["messages"][1]["content"] == first
    assert second["messages"][2]["content"][0]["tool_use_id"] == "toolu_1"


# -- OpenAI Responses ------------------------------------------------------------------

WEB_SEARCH_CALL = {
    "type": "web_search_call",
    "id": "ws_1",
    "status": "completed",
    "action": {"type": "search", "query": "weather Paris"},
}
#: An output item of a type agentloop has never heard of.
UNKNOWN_ITEM = {
    "type": "future_tool_call",
    "id": "ft_1",
    "status": "completed",
    "payload": {"nested": [1, 2.5, None, "é"], "z": True, "a": "first key last"},
}


def responses_script(server: LocalServer, *bodies: dict[str, Any], stream: bool) -> None:
    for body in bodies:
        if stream:
            server.reply(event_stream(body), headers=SSE_HEADERS)
        else:
            server.reply(body)


def responses_model(server: LocalServer) -> Any:
    return create("gpt-4.1-mini", api_key="sk-test", base_url=f"{server.url}/v1", retry_backoff=0)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "event-stream"])
def test_responses_a_searched_answer_ends_the_chain(
    local_server: LocalServer, stream: bool
) -> None:
    responses_script(
        local_server, responses_reply(WEB_SEARCH_CALL, message("Sunny in Paris.")), stream=stream
    )

    chain = responses_model(local_server).chain("Weather?", tools=[WebSearch()], stream=stream)
    if stream:
        list(chain)

    assert chain.text() == "Sunny in Paris."
    assert len(local_server.requests) == 1
    assert local_server.requests[0].json()["tools"] == [{"type": "web_search"}]
    assert [p.payload for p in provider_parts(chain.responses[0])] == [WEB_SEARCH_CALL]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "event-stream"])
def test_responses_server_and_unknown_items_go_back_exactly_beside_a_local_call(
    local_server: LocalServer, stream: bool
) -> None:
    local_call = function_call("upper", {"text": "paris"}, "call_1")
    responses_script(
        local_server,
        responses_reply(WEB_SEARCH_CALL, UNKNOWN_ITEM, local_call),
        responses_reply(message("PARIS is sunny.", "msg_2")),
        stream=stream,
    )

    chain = responses_model(local_server).chain(
        "Weather?", tools=[upper, WebSearch()], stream=stream
    )
    if stream:
        list(chain)

    assert chain.text() == "PARIS is sunny."
    assert RAN == ["paris"]
    (kept,) = [p for p in provider_parts(chain.responses[0]) if p.kind == "future_tool_call"]
    assert kept.payload == UNKNOWN_ITEM
    second = local_server.requests[1]
    items = second.json()["input"]
    assert items[1] == WEB_SEARCH_CALL
    assert items[2] == UNKNOWN_ITEM
    assert list(items[2]["payload"]) == ["nested", "z", "a"]  # key order as received
    assert items[4]["type"] == "function_call_output"


# -- Gemini -------------------------------------------------------------------------------

CODE = {
    "executableCode": {"language": "PYTHON", "code": "print(6 * 7)"},
    "thoughtSignature": "CiQBcsjafA==",
}
RESULT = {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "42\n"}}


def gemini_script(server: LocalServer, *parts_list: list[Any], stream: bool) -> None:
    for parts in parts_list:
        body = reply(*parts)
        server.reply(sse(body), headers=GEMINI_SSE) if stream else server.reply(body)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "event-stream"])
def test_gemini_a_computed_answer_ends_the_chain(local_server: LocalServer, stream: bool) -> None:
    gemini_script(local_server, [CODE, RESULT, gemini_text("It is 42.")], stream=stream)

    chain = gemini(local_server).chain("6 * 7?", tools=[CodeExecution()], stream=stream)
    if stream:
        list(chain)

    assert chain.text() == "It is 42."
    assert len(local_server.requests) == 1
    assert local_server.requests[0].json()["tools"] == [{"codeExecution": {}}]
    assert [p.payload for p in provider_parts(chain.responses[0])] == [CODE, RESULT]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "event-stream"])
def test_gemini_code_parts_go_back_beside_a_local_call(
    local_server: LocalServer, stream: bool
) -> None:
    gemini_script(
        local_server,
        [CODE, RESULT, call("upper", {"text": "paris"}, thoughtSignature="CiQB")],
        [gemini_text("PARIS.")],
        stream=stream,
    )

    chain = gemini(local_server).chain(
        "Go", tools=[upper, CodeExecution(), WebSearch()], stream=stream
    )
    if stream:
        list(chain)

    assert chain.text() == "PARIS."
    assert RAN == ["paris"]
    first, second = (r.json() for r in local_server.requests)
    assert first["tools"][1:] == [{"codeExecution": {}}, {"googleSearch": {}}]
    assert second["contents"][1]["parts"][:2] == [CODE, RESULT]
