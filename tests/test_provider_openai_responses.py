"""OpenAI Responses provider against every recorded exchange, over a real local HTTP server.

Each recorded reply is served with its recorded status, content type and body, and
must parse to what the body says (text, tool calls, reasoning items, usage), both
as recorded and in the other mode (a JSON reply re-sent as the event stream the
API would send for it; a recorded stream's final response re-sent as JSON). The
request we send for the recorded conversation must match the recorded request
where the recording came from a plain client: the input items, instructions,
tools, stream flag and options.
"""

from __future__ import annotations

import json
from typing import Any

import cassettes
import pytest
import report
from local_server import LocalServer
from responses_events import SSE_HEADERS, completed_response, event_stream, facts, streamed_text

import agentloop
from agentloop.providers.base import Delta, Reply, Request
from agentloop.providers.openai_responses import OpenAIResponsesModel, create, decode_messages
from agentloop.tools import Tool

PROVIDER = "openai-responses"


def recorded() -> list[cassettes.Interaction]:
    cassettes.require()
    return [it for it in cassettes.all_interactions() if it.uri.endswith("/v1/responses")]


def is_stream(it: cassettes.Interaction) -> bool:
    headers = {key.lower(): values for key, values in it.response_headers.items()}
    return any("text/event-stream" in value for value in headers.get("content-type", []))


def model_for(server: LocalServer, it: cassettes.Interaction) -> OpenAIResponsesModel:
    name = it.request_json()["model"]
    return create(name, base_url=f"{server.url}/v1", api_key="sk-test", retry_backoff=0)


def request_for(it: cassettes.Interaction) -> Request:
    """The neutral request for a recorded body, with the options the recording used."""
    body = it.request_json()
    tools = [
        Tool(t["name"], t.get("description") or "", t["parameters"], fn=lambda **_: "")
        for t in body.get("tools", [])
    ]
    # store is given either way: the recording's items are compared as they were sent.
    # The recordings ask for no cache: prompt_cache="auto" would add a prompt_cache_key.
    options: dict[str, Any] = {"store": body.get("store", True), "prompt_cache": "off"}
    for key in ("tool_choice", "temperature"):
        if key in body:
            options[key] = body[key]
    if not 0 <= options.get("temperature", 0) <= 2:
        # Recorded to provoke the API's 400: agentloop refuses it before sending, so it goes
        # the way of a provider field, unchecked.
        options["extra_body"] = {"temperature": options.pop("temperature")}
    if body.get("reasoning"):
        options["reasoning_effort"] = body["reasoning"]["effort"]
    if any(t.get("strict") for t in body.get("tools", [])):
        options["strict_tools"] = "auto"
    messages = decode_messages(body["input"], body.get("instructions"))
    return Request(messages, tools, options)


def serve(server: LocalServer, it: cassettes.Interaction, *, streamed: bool) -> None:
    """Queue the recorded reply, converted to the other mode when needed."""
    if it.status != 200 or streamed == is_stream(it):
        content_type = "text/event-stream" if is_stream(it) else "application/json"
        server.reply(it.response_body, status=it.status, headers={"content-type": content_type})
    elif streamed:
        server.reply(event_stream(it.response_json()), headers=SSE_HEADERS)
    else:
        server.reply(completed_response(it.response_body))


def call(model: OpenAIResponsesModel, request: Request, *, streamed: bool) -> tuple[Reply, str]:
    """The reply and, when streamed, the text the deltas carried."""
    if not streamed:
        return model.complete(request), ""
    events = list(model.stream(request))
    final = events[-1]
    assert isinstance(final, Reply)
    text = "".join(e.text for e in events if isinstance(e, Delta) and e.kind == "text")
    return final, text


def recorded_reply(it: cassettes.Interaction) -> dict[str, Any]:
    return completed_response(it.response_body) if is_stream(it) else it.response_json()


def check_reply(it: cassettes.Interaction, reply: Reply, streamed_text_: str | None) -> None:
    expected = facts(recorded_reply(it))
    message = reply.message
    assert message.role == "assistant", it.id
    assert message.text == expected["text"], it.id
    calls = [(c.name, c.tool_call_id, c.arguments) for c in message.tool_calls]
    assert calls == expected["calls"], it.id
    thinking = [p for p in message.parts if isinstance(p, agentloop.Thinking)]
    got = [(p.extra[PROVIDER]["id"], p.signature) for p in thinking]
    assert got == expected["reasoning"], it.id
    assert all(p.provider == PROVIDER for p in thinking), it.id
    usage = reply.usage
    assert (
        usage.input_tokens,
        usage.output_tokens,
        usage.cached_input_tokens,
        usage.reasoning_tokens,
    ) == expected["usage"], it.id
    assert reply.model == expected["model"], it.id
    assert reply.finish_reason == ("tool_calls" if calls else "stop"), it.id
    if streamed_text_ is not None:
        assert streamed_text_ == expected["text"], it.id


def check_error(it: cassettes.Interaction, error: agentloop.ProviderError) -> None:
    recorded_error = it.response_json()["error"]
    assert isinstance(error, agentloop.BadRequestError), it.id
    assert error.status == it.status
    assert error.provider == PROVIDER
    assert error.error_type == recorded_error["type"]
    assert recorded_error["message"] in error.message


def replay(server: LocalServer, it: cassettes.Interaction, *, streamed: bool) -> None:
    serve(server, it, streamed=streamed)
    sent_before = len(server.requests)
    model = model_for(server, it)
    if it.status != 200:
        with pytest.raises(agentloop.ProviderError) as info:
            call(model, request_for(it), streamed=streamed)
        check_error(it, info.value)
        assert len(server.requests) == sent_before + 1, f"{it.id}: a 400 is never retried"
        return
    reply, text = call(model, request_for(it), streamed=streamed)
    check_reply(it, reply, text if streamed else None)


@pytest.mark.parametrize("streamed", [False, True], ids=["json", "event-stream"])
def test_every_recorded_exchange_replays(local_server: LocalServer, streamed: bool) -> None:
    exchanges = recorded()
    replayed = 0
    for it in exchanges:
        replay(local_server, it, streamed=streamed)
        replayed += 1
    mode = "streamed" if streamed else "not streamed"
    report.count(f"{PROVIDER} exchanges replayed ({mode})", replayed)
    assert replayed == len(exchanges) > 0


def test_recorded_streams_yield_their_text_deltas_in_order(local_server: LocalServer) -> None:
    streams = [it for it in recorded() if is_stream(it)]
    for it in streams:
        local_server.reply(it.response_body, headers=SSE_HEADERS)
        events = list(model_for(local_server, it).stream(request_for(it)))
        chunks = [e.text for e in events if isinstance(e, Delta) and e.kind in ("text", "thinking")]
        assert chunks == streamed_text(it.response_body), it.id
    assert streams


def sent_matches_recorded(sent: dict[str, Any], body: dict[str, Any], label: str) -> None:
    assert sent["model"] == body["model"], label
    assert sent["input"] == body["input"], label
    assert sent.get("instructions") == (body.get("instructions") or None), label
    assert sent.get("stream", False) == body.get("stream", False), label
    for key in ("tool_choice", "temperature", "reasoning"):
        assert sent.get(key) == body.get(key), f"{label}: {key}"

    def tool(t: dict[str, Any]) -> tuple[Any, ...]:
        return (t["type"], t["name"], t.get("description") or None, t["parameters"], t["strict"])

    assert [tool(t) for t in sent.get("tools", [])] == [tool(t) for t in body.get("tools", [])]


def test_requests_for_the_recorded_conversations_match_the_recordings(
    local_server: LocalServer,
) -> None:
    exchanges = recorded()
    for it in exchanges:
        serve(local_server, it, streamed=is_stream(it))
        model = model_for(local_server, it)
        try:
            call(model, request_for(it), streamed=it.request_json().get("stream", False))
        except agentloop.BadRequestError:
            assert it.status == 400
        sent = local_server.requests[-1]
        assert sent.path == "/v1/responses"
        assert sent.headers["authorization"] == "Bearer sk-test"
        sent_matches_recorded(sent.json(), it.request_json(), it.id)
    report.count(f"{PROVIDER} recorded requests checked", len(exchanges))
    assert exchanges


def test_a_recorded_reasoning_reply_is_sent_back_encrypted_in_the_next_request(
    local_server: LocalServer,
) -> None:
    first, follow_up = (
        it for it in recorded() if it.file == "openai/responses_tool_call_and_result_reasoning.yaml"
    )
    serve(local_server, first, streamed=False)
    model = model_for(local_server, first)
    reply = model.complete(request_for(first))
    call_ = reply.message.tool_calls[0]
    result = agentloop.Message(
        "tool", [agentloop.ToolResult(call_.name, "Sunny, 22C in Paris", call_.tool_call_id)]
    )
    history = [*request_for(first).messages, reply.message, result]
    body = model.encode(Request(history, request_for(first).tools), stream=False).body
    sent_items = [{k: v for k, v in i.items() if k != "status"} for i in body["input"]]
    recorded_items = [
        {k: v for k, v in i.items() if k not in ("id", "status")}
        if i.get("type") != "reasoning"
        else i
        for i in follow_up.request_json()["input"]
    ]
    # Stateless (store false): the reasoning item travels whole, the call without its id.
    assert body["store"] is False
    assert body["include"] == ["reasoning.encrypted_content"]
    assert sent_items == recorded_items
    assert json.dumps(body).count("gAAAAABpe8H1") == 1
