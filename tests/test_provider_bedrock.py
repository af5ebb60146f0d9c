"""Bedrock Converse over HTTP: every recorded exchange replayed against a local server.

Each recorded request (``cassettes-more/bedrock``) is rebuilt as a neutral Request
(messages, tools, options), sent through BedrockModel to a local server that answers with
the recorded status, content type and body (ConverseStream's binary event-stream frames as
recorded). The same oracle as the other formats:

- the body we send equals the recorded one (real clients wrote those);
- the reply parses into what the recorded body says (text, tool calls, reasoning, usage),
  streamed or not, blocking and async, the streamed frames read by an independent reader;
- a reply goes back in the follow-up exactly as the recording client sent it;
- a recorded error becomes the matching typed error, without retries.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote, urlsplit

import as_recorded
import bedrock_wire
import cassettes
import pytest
import report
from local_server import LocalServer

import agentloop
from agentloop import Reply, Request, Thinking, ToolCall
from agentloop.providers.bedrock import BedrockModel, decode_messages
from agentloop.tools import Tool

Body = dict[str, Any]

STOP_REASONS = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length"}


def recorded() -> list[cassettes.Interaction]:
    return cassettes.more("bedrock")


def unused(**kwargs: Any) -> None:
    raise AssertionError("replayed tools never run")


# -- rebuilding the recorded request ---------------------------------------------------


def model_id(interaction: cassettes.Interaction) -> str:
    return unquote(urlsplit(interaction.uri).path.split("/")[2])


def streamed(interaction: cassettes.Interaction) -> bool:
    return interaction.uri.endswith("/converse-stream")


def request_from(body: Body, stream: bool = False) -> Request:
    messages = decode_messages(body.get("system"), body["messages"])
    specs = [t["toolSpec"] for t in body.get("toolConfig", {}).get("tools", []) if "toolSpec" in t]
    tools = [
        Tool(spec["name"], spec.get("description", ""), spec["inputSchema"]["json"], unused)
        for spec in specs
    ]
    return Request(messages, tools, options_from(body), stream=stream)


def options_from(body: Body) -> dict[str, Any]:
    """The options a caller passes to get this body (the inverse of the mapping)."""
    names = {"maxTokens": "max_tokens", "temperature": "temperature", "topP": "top_p"}
    inference = body.get("inferenceConfig", {})
    options = {names[key]: value for key, value in inference.items() if key in names}
    if "stopSequences" in inference:
        options["stop"] = inference["stopSequences"]
    thinking = body.get("additionalModelRequestFields", {}).get("thinking")
    if thinking is not None:
        options["thinking_budget"] = thinking["budget_tokens"]
    config = body.get("toolConfig", {})
    if any("systemTool" in tool for tool in config.get("tools", [])):
        options["toolConfig"] = config  # a model's own tool, given as the body's field
    elif "toolChoice" in config:
        choice = config["toolChoice"]
        neutral = {"auto": "auto", "any": "required"}
        options["tool_choice"] = next(
            (neutral[key] for key in choice if key in neutral), choice.get("tool", {}).get("name")
        )
    return options


def canonical(body: Body) -> Body:
    """The recording clients send an empty system list and inferenceConfig; so do we not."""
    return {k: v for k, v in body.items() if v not in ([], {})}


# -- what the recorded reply says ------------------------------------------------------


def check_reply(reply: Reply, expected: Body, where: str) -> None:
    content = expected["output"]["message"]["content"]
    assert reply.message.role == "assistant", where
    assert reply.message.text == "".join(b["text"] for b in content if "text" in b), where
    calls = [(c.tool_call_id, c.name, c.arguments) for c in reply.message.tool_calls]
    uses = [b["toolUse"] for b in content if "toolUse" in b]
    client = [u for u in uses if u.get("type", "tool_use") == "tool_use"]
    assert calls == [(u["toolUseId"], u["name"], u["input"]) for u in client], where
    thoughts = [(p.text, p.signature) for p in reply.message.parts if isinstance(p, Thinking)]
    reasoning = [b["reasoningContent"]["reasoningText"] for b in content if "reasoningContent" in b]
    assert thoughts == [(r["text"], r.get("signature")) for r in reasoning], where
    counts = expected["usage"]
    cached = counts.get("cacheReadInputTokens")
    written = counts.get("cacheWriteInputTokens") or 0
    assert reply.usage.input_tokens == counts["inputTokens"] + (cached or 0) + written, where
    assert reply.usage.output_tokens == counts["outputTokens"], where
    assert reply.usage.cached_input_tokens == cached, where
    assert reply.usage.total_tokens == counts["totalTokens"], where
    assert reply.finish_reason == STOP_REASONS[expected["stopReason"]], where


def expected_body(interaction: cassettes.Interaction) -> Body:
    if streamed(interaction):
        return bedrock_wire.expected_from_stream(interaction.response_body)
    expected: Body = interaction.response_json()
    return expected


# -- replay ----------------------------------------------------------------------------


def serve(server: LocalServer, interaction: cassettes.Interaction) -> None:
    kind = "application/vnd.amazon.eventstream" if streamed(interaction) else "application/json"
    server.reply(
        interaction.response_body, status=interaction.status, headers={"content-type": kind}
    )


def model(server: LocalServer, interaction: cassettes.Interaction, **kwargs: Any) -> BedrockModel:
    return BedrockModel(
        model_id(interaction),
        region="us-east-1",
        base_url=server.url,
        api_key=bedrock_wire.BEARER,
        retry_backoff=0,
        **kwargs,
    )


def replay(server: LocalServer, interaction: cassettes.Interaction) -> None:
    body = interaction.request_json()
    request = request_from(body, streamed(interaction))
    serve(server, interaction)
    bedrock = model(server, interaction, max_retries=2)
    where = interaction.id
    if interaction.status >= 400:
        with pytest.raises(agentloop.ModelNotFoundError) as info:
            as_recorded.call(bedrock, request)
        assert interaction.response_json()["message"] in info.value.message, where
        assert info.value.status == interaction.status, where
    else:
        reply, deltas = as_recorded.call(bedrock, request)
        if request.stream:
            as_recorded.check_deltas(reply, deltas, where)
        check_reply(reply, expected_body(interaction), where)
    sent = server.requests[-1]
    assert len(server.requests) == 1, f"{where}: retried"
    assert sent.path == urlsplit(interaction.uri).path, where
    assert sent.headers["authorization"] == f"Bearer {bedrock_wire.BEARER}", where
    assert canonical(sent.json()) == canonical(body), where
    bedrock.close()


def test_every_recorded_exchange_replays_over_http(local_server: LocalServer) -> None:
    selected = recorded()
    for interaction in selected:
        local_server.requests.clear()
        replay(local_server, interaction)
    report.count("bedrock exchanges replayed", len(selected))
    assert len(selected) == 16
    assert sum(streamed(it) for it in selected) == 6


#: Files whose second request carries the first reply back (as the recording client sent it;
#: crewAI's parallel-tools file drops the reply's text, so it is not among them).
FOLLOW_UPS = [
    "bedrock/converse_tool_call_and_result.yaml",
    "bedrock/converse_reasoning.yaml",
    "bedrock/converse_server_tool_nova_code_interpreter.yaml",
    "bedrock/converse_stream_tool_call_then_stream_text.yaml",
    "bedrock/converse_stream_parallel_tools_and_results.yaml",
]


@pytest.mark.parametrize("file", FOLLOW_UPS)
def test_a_decoded_reply_goes_back_exactly_as_the_recorded_follow_up_sent_it(
    local_server: LocalServer, file: str
) -> None:
    first, second = (it for it in recorded() if it.file == file)
    serve(local_server, first)
    bedrock = model(local_server, first)
    reply, _ = as_recorded.call(bedrock, request_from(first.request_json(), streamed(first)))
    follow_up = second.request_json()
    history = decode_messages(follow_up.get("system"), follow_up["messages"])
    rebuilt = request_from({**follow_up, "messages": []})
    rebuilt.messages = as_recorded.with_reply(history, reply)
    assert canonical(bedrock.encode(rebuilt, stream=False).body) == canonical(follow_up)


def test_a_recorded_server_tool_turn_keeps_the_service_blocks_and_the_client_call(
    local_server: LocalServer,
) -> None:
    (first, _) = (
        it
        for it in recorded()
        if it.file.endswith("converse_server_tool_nova_code_interpreter.yaml")
    )
    serve(local_server, first)
    reply, _ = as_recorded.call(model(local_server, first), request_from(first.request_json()))
    kinds = [type(p).__name__ for p in reply.message.parts]
    assert kinds == ["ProviderPart", "ProviderPart", "ToolCall"]
    assert reply.message.parts[1].text == json.dumps(  # type: ignore[union-attr]
        {"exitCode": 0, "isError": False, "stdErr": "", "stdOut": "7006652"}
    )
    (call,) = reply.message.tool_calls
    assert isinstance(call, ToolCall)
    assert call.arguments == {"result": 7006652.0}


async def test_every_recorded_reply_parses_the_same_through_the_async_client(
    local_server: LocalServer,
) -> None:
    selected = [it for it in recorded() if it.status == 200]
    for interaction in selected:
        serve(local_server, interaction)
        request = request_from(interaction.request_json(), streamed(interaction))
        bedrock = model(local_server, interaction)
        reply, _ = await as_recorded.acall(bedrock, request)
        check_reply(reply, expected_body(interaction), interaction.id)
        await bedrock.aclose()
    report.count("bedrock exchanges replayed async", len(selected))
    assert len(selected) == 15
