"""Cohere v2 Chat over HTTP: every recorded exchange replayed against a local server.

Each recorded request (``cassettes-more/cohere``) is rebuilt as a neutral Request (messages,
tools, options), sent through CohereModel to a local server that answers with the recorded
status, content type and body. The same oracle as the other formats:

- the body we send equals the recorded one (real clients wrote those);
- the reply parses into what the recorded body says (text, tool plan, tool calls, usage,
  citations), streamed or not, blocking and async, the stream read by an independent reader;
- a reply goes back in the follow-up as the recording client sent it, with one documented
  difference: the recording client (pydantic-ai) dropped the reply's ``tool_plan``, which
  agentloop sends back, as Cohere's tool-use guide does.
"""

from __future__ import annotations

import json
from typing import Any

import cassettes
import cohere_wire
import report
from local_server import LocalServer

from agentloop import Citation, Reply, Request, Text, Thinking
from agentloop.providers.base import Delta
from agentloop.providers.cohere import CohereModel, decode_messages
from agentloop.tools import Tool

Body = dict[str, Any]

FINISH = {"COMPLETE": "stop", "TOOL_CALL": "tool_calls", "MAX_TOKENS": "length"}


def recorded() -> list[cassettes.Interaction]:
    return cassettes.more("cohere")


def unused(**kwargs: Any) -> None:
    raise AssertionError("replayed tools never run")


def streamed(interaction: cassettes.Interaction) -> bool:
    return bool(interaction.request_json().get("stream"))


def request_from(body: Body) -> Request:
    messages = decode_messages(body["messages"])
    tools = [
        Tool(f["name"], f.get("description", ""), f["parameters"], unused)
        for f in (t["function"] for t in body.get("tools", []))
    ]
    return Request(messages, tools, options_from(body), stream=bool(body.get("stream")))


def options_from(body: Body) -> dict[str, Any]:
    """The options a caller passes to get this body (the inverse of the mapping)."""
    names = {"max_tokens": "max_tokens", "temperature": "temperature", "p": "top_p"}
    options = {names[key]: value for key, value in body.items() if key in names}
    if "stop_sequences" in body:
        options["stop"] = body["stop_sequences"]
    choice = body.get("tool_choice")
    if choice is not None:
        options["tool_choice"] = choice.lower()
    return options


def check_reply(reply: Reply, expected: Body, where: str) -> None:
    message = expected["message"]
    content = message.get("content") or []
    assert reply.message.role == "assistant", where
    assert reply.message.text == "".join(b["text"] for b in content if b["type"] == "text"), where
    calls = [(c.tool_call_id, c.name, c.arguments) for c in reply.message.tool_calls]
    wire = [
        (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
        for c in message.get("tool_calls") or []
    ]
    assert calls == wire, where
    thoughts = [p.text for p in reply.message.parts if isinstance(p, Thinking)]
    assert thoughts == ([message["tool_plan"]] if message.get("tool_plan") else []), where
    usage = expected["usage"]
    assert reply.usage.input_tokens == usage["tokens"]["input_tokens"], where
    assert reply.usage.output_tokens == usage["tokens"]["output_tokens"], where
    assert reply.usage.cached_input_tokens == usage.get("cached_tokens"), where
    billed = usage["billed_units"]
    assert reply.usage.details["billed_input_tokens"] == billed["input_tokens"], where
    assert reply.usage.details["billed_output_tokens"] == billed["output_tokens"], where
    assert reply.finish_reason == FINISH[expected["finish_reason"]], where
    assert reply.model is None  # no Cohere reply names the served model


def expected_body(interaction: cassettes.Interaction) -> Body:
    if streamed(interaction):
        return cohere_wire.expected_from_stream(interaction.response_body)
    body: Body = interaction.response_json()
    return body


def serve(server: LocalServer, interaction: cassettes.Interaction) -> None:
    kind = "text/event-stream" if streamed(interaction) else "application/json"
    server.reply(
        interaction.response_body, status=interaction.status, headers={"content-type": kind}
    )


def model(server: LocalServer, interaction: cassettes.Interaction) -> CohereModel:
    name = interaction.request_json()["model"]
    return CohereModel(name, base_url=server.url, api_key=cohere_wire.KEY, retry_backoff=0)


def send(cohere: CohereModel, request: Request) -> tuple[Reply, list[Delta]]:
    if not request.stream:
        return cohere.complete(request), []
    events = list(cohere.stream(request))
    reply = events[-1]
    assert isinstance(reply, Reply)
    return reply, [e for e in events if isinstance(e, Delta)]


def check_deltas(reply: Reply, deltas: list[Delta], where: str) -> None:
    assert "".join(d.text for d in deltas if d.kind == "text") == reply.message.text, where
    thinking = "".join(p.text for p in reply.message.parts if isinstance(p, Thinking))
    assert "".join(d.text for d in deltas if d.kind == "thinking") == thinking, where
    announced = [(d.tool_call_id, d.text) for d in deltas if d.kind == "tool_call"]
    calls = reply.message.tool_calls
    assert announced == [(c.tool_call_id, c.name) for c in calls], where
    for call in calls:
        pieces = [
            d.text for d in deltas if d.kind == "arguments" and d.tool_call_id == call.tool_call_id
        ]
        assert json.loads("".join(pieces)) == call.arguments, where


def replay(server: LocalServer, interaction: cassettes.Interaction) -> None:
    body = interaction.request_json()
    request = request_from(body)
    serve(server, interaction)
    cohere = model(server, interaction)
    reply, deltas = send(cohere, request)
    where = interaction.id
    if request.stream:
        check_deltas(reply, deltas, where)
    check_reply(reply, expected_body(interaction), where)
    (sent,) = server.requests
    assert sent.path == "/v2/chat", where
    assert sent.headers["authorization"] == f"Bearer {cohere_wire.KEY}", where
    assert sent.json() == body, where
    cohere.close()


def test_every_recorded_exchange_replays_over_http(local_server: LocalServer) -> None:
    selected = recorded()
    for interaction in selected:
        local_server.requests.clear()
        replay(local_server, interaction)
    report.count("cohere exchanges replayed", len(selected))
    assert len(selected) == 4
    assert sum(streamed(it) for it in selected) == 2


def test_the_reply_goes_back_in_the_follow_up_with_its_tool_plan(
    local_server: LocalServer,
) -> None:
    first, second = (it for it in recorded() if it.file.endswith("tool_call_and_result.yaml"))
    serve(local_server, first)
    cohere = model(local_server, first)
    reply, _ = send(cohere, request_from(first.request_json()))
    follow_up = second.request_json()
    history = decode_messages(follow_up["messages"])
    assert [m.role for m in history] == ["user", "assistant", "tool"]
    assert history[2].parts[0].name == "get_weather"  # type: ignore[union-attr]
    history[1] = reply.message
    rebuilt = request_from({**follow_up, "messages": []})
    rebuilt.messages = history
    sent = cohere.encode(rebuilt, stream=False).body
    plan = first.response_json()["message"]["tool_plan"]
    expected = json.loads(json.dumps(follow_up))
    expected["messages"][1] = {"tool_plan": plan, **expected["messages"][1]}
    assert sent == expected


def test_citations_of_a_tool_output_are_read_and_kept(local_server: LocalServer) -> None:
    _, second = (it for it in recorded() if it.file.endswith("tool_call_and_result.yaml"))
    serve(local_server, second)
    reply, _ = send(model(local_server, second), request_from(second.request_json()))
    (text,) = reply.message.parts
    assert isinstance(text, Text)
    assert text.citations == [Citation(cited_text="Sunny, 22C in Paris")]
    wire = second.response_json()["message"]["citations"]
    assert reply.message.extra["cohere"]["citations"] == wire
    cohere = model(local_server, second)
    sent = cohere.encode(Request([reply.message]), stream=False).body
    assert sent["messages"] == [
        {"role": "assistant", "content": [{"type": "text", "text": text.text}], "citations": wire}
    ]


async def test_every_recorded_reply_parses_the_same_through_the_async_client(
    local_server: LocalServer,
) -> None:
    selected = recorded()
    for interaction in selected:
        serve(local_server, interaction)
        request = request_from(interaction.request_json())
        cohere = model(local_server, interaction)
        if request.stream:
            events = [event async for event in cohere.astream(request)]
            reply = events[-1]
            assert isinstance(reply, Reply), interaction.id
            check_deltas(reply, [e for e in events if isinstance(e, Delta)], interaction.id)
        else:
            reply = await cohere.acomplete(request)
        check_reply(reply, expected_body(interaction), interaction.id)
        await cohere.aclose()
    report.count("cohere exchanges replayed async", len(selected))
    assert len(selected) == 4


def test_the_independent_stream_reader_reads_what_the_service_sends() -> None:
    body = cohere_wire.reply(
        "Done.", plan="Plan it.", calls=[cohere_wire.call("c1", "f", {"x": 1})], finish="TOOL_CALL"
    )
    assert (
        cohere_wire.expected_from_stream(cohere_wire.sse(body).encode())["message"]
        == body["message"]
    )


def test_a_recorded_request_needs_no_field_agentloop_does_not_send() -> None:
    for interaction in recorded():
        body = interaction.request_json()
        request = request_from(body)
        sent = CohereModel(body["model"], api_key="k").encode(request, stream=body["stream"])
        assert set(sent.body) == set(body), interaction.id
        assert sent.url == "https://api.cohere.com/v2/chat"
