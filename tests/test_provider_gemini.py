"""Gemini over HTTP, proven against every recorded generateContent exchange.

Each recorded reply is served by the local server with its recorded status and
content type; what the provider parses is compared with what the recorded body
says, read here independently of the provider's decoder. The recorded requests
are the oracle for the encoder.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import as_recorded
import cassettes
import pytest
import report
from gemini_replies import KEY, SSE, gemini, sse
from local_server import LocalServer
from test_convert_gemini import canonical_request

import agentloop
from agentloop import Message, Thinking, ToolCall
from agentloop.providers.base import Delta, Reply, Request
from agentloop.providers.gemini import GeminiModel, decode_messages, encode_messages
from agentloop.providers.gemini.request import PLACEHOLDER_SIGNATURE
from agentloop.tools import Tool

_MODEL = re.compile(r"/models/([^/:]+):")
#: The typed error each recorded failure must become.
ERRORS = {400: agentloop.AuthenticationError, 404: agentloop.ModelNotFoundError}


def recorded_exchanges() -> list[cassettes.Interaction]:
    return [
        i
        for i in cassettes.all_interactions()
        if i.method == "POST" and (":generateContent" in i.uri or ":streamGenerateContent" in i.uri)
    ]


def is_stream(interaction: cassettes.Interaction) -> bool:
    return ":streamGenerateContent" in interaction.uri


def content_type(interaction: cassettes.Interaction) -> str:
    for name, values in interaction.response_headers.items():
        if name.lower() == "content-type":
            return values[0] if isinstance(values, list) else str(values)
    return "application/json"


def model_for(server: LocalServer, interaction: cassettes.Interaction) -> GeminiModel:
    match = _MODEL.search(interaction.uri)
    assert match, interaction.uri
    return gemini(server, match.group(1), max_retries=2)


# -- what a recorded body says, read without the provider's code --------------------------


def recorded_chunks(interaction: cassettes.Interaction) -> list[dict[str, Any]]:
    body = interaction.response_body.decode()
    if "event-stream" in content_type(interaction):
        return [json.loads(line[5:]) for line in body.splitlines() if line.startswith("data:")]
    parsed = json.loads(body)
    return parsed if isinstance(parsed, list) else [parsed]


@dataclass
class Said:
    """What a recorded reply holds."""

    text: str = ""
    thinking: str = ""
    calls: list[tuple[str, dict[str, Any], str | None]] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    model: str | None = None


def said(chunks: list[dict[str, Any]]) -> Said:
    out = Said()
    for chunk in chunks:
        for candidate in chunk.get("candidates", [])[:1]:
            for part in candidate.get("content", {}).get("parts", []):
                if "text" in part and part.get("thought"):
                    out.thinking += part["text"]
                elif "text" in part:
                    out.text += part["text"]
                if "functionCall" in part:
                    fc = part["functionCall"]
                    out.calls.append((fc["name"], fc.get("args", {}), fc.get("id")))
                if "thoughtSignature" in part:
                    out.signatures.append(part["thoughtSignature"])
        out.usage = chunk.get("usageMetadata", out.usage)
        out.model = chunk.get("modelVersion", out.model)
    return out


def check_reply(reply: Reply, expected: Said, where: str) -> None:
    message = reply.message
    assert message.text == expected.text, where
    thinking = "".join(p.text for p in message.parts if isinstance(p, Thinking))
    assert thinking == expected.thinking, where
    calls = message.tool_calls
    assert [(c.name, c.arguments) for c in calls] == [(n, a) for n, a, _ in expected.calls], where
    for ours, (_, _, wire_id) in zip(calls, expected.calls, strict=True):
        assert ours.tool_call_id == wire_id if wire_id else ours.tool_call_id.startswith("gemini_")
    assert len({c.tool_call_id for c in calls}) == len(calls), where
    sent_back = encode_messages([message])[1]
    signatures = [
        p["thoughtSignature"] for c in sent_back for p in c["parts"] if "thoughtSignature" in p
    ]
    assert signatures == expected.signatures, where
    u = expected.usage
    assert reply.usage.input_tokens == u.get("promptTokenCount", 0), where
    thoughts = u.get("thoughtsTokenCount")
    assert reply.usage.output_tokens == u.get("candidatesTokenCount", 0) + (thoughts or 0), where
    assert reply.usage.reasoning_tokens == thoughts, where
    assert reply.usage.cached_input_tokens == u.get("cachedContentTokenCount"), where
    assert reply.model == expected.model, where


# -- the request a recording made, as a neutral Request -----------------------------------

_GENERATION = {"temperature": "temperature", "top_p": "topP", "max_tokens": "maxOutputTokens"}
_MODES = {"AUTO": "auto", "NONE": "none"}
_WIRE_ONLY = ("contents", "systemInstruction", "tools", "generationConfig", "toolConfig")


def recorded_tools(body: dict[str, Any]) -> list[Tool]:
    tools = []
    for group in body.get("tools", []):
        for d in group["functionDeclarations"]:
            schema = next(d[k] for k in ("parameters", "parameters_json_schema") if k in d)
            tools.append(Tool(d["name"], d.get("description") or "", schema, lambda **kw: ""))
    return tools


def recorded_options(body: dict[str, Any]) -> dict[str, Any]:
    """The neutral options (and verbatim extras) that should encode to the recorded body."""
    options = {k: v for k, v in body.items() if k not in _WIRE_ONLY}
    if "generationConfig" in body:
        generation = dict(body["generationConfig"])
        for neutral, wire in _GENERATION.items():
            if wire in generation:
                options[neutral] = generation.pop(wire)
        if "stopSequences" in generation:
            options["stop"] = generation.pop("stopSequences")
        options["generationConfig"] = generation
    calling = body.get("toolConfig", {}).get("functionCallingConfig")
    if calling is not None and calling.get("mode") in _MODES and len(calling) == 1:
        options["tool_choice"] = _MODES[calling["mode"]]
    elif calling is not None:
        options["toolConfig"] = body["toolConfig"]
    return options


def recorded_request(interaction: cassettes.Interaction) -> Request:
    body = interaction.request_json()
    messages = decode_messages(body.get("systemInstruction"), body["contents"])
    return Request(
        messages, recorded_tools(body), recorded_options(body), stream=is_stream(interaction)
    )


# -- replay ---------------------------------------------------------------------------


def replay(server: LocalServer, interaction: cassettes.Interaction) -> None:
    server.reply(
        interaction.response_body,
        status=interaction.status,
        headers={"content-type": content_type(interaction)},
    )
    model = model_for(server, interaction)
    request = recorded_request(interaction)
    if interaction.status != 200:
        with pytest.raises(agentloop.ProviderError) as info:
            model.complete(request) if not request.stream else list(model.stream(request))
        expected = ERRORS.get(interaction.status, agentloop.RateLimitError)
        assert type(info.value) is expected, interaction.id
        assert info.value.status == interaction.status
        return
    if request.stream:
        events = list(model.stream(request))
        deltas = [e for e in events if isinstance(e, Delta)]
        reply = events[-1]
        assert isinstance(reply, Reply)
        expected = said(recorded_chunks(interaction))
        assert "".join(d.text for d in deltas if d.kind == "text") == expected.text
        assert "".join(d.text for d in deltas if d.kind == "thinking") == expected.thinking
    else:
        reply = model.complete(request)
    check_reply(reply, said(recorded_chunks(interaction)), interaction.id)


def test_every_recorded_exchange_replays_over_http(local_server: LocalServer) -> None:
    cassettes.require()
    selected = recorded_exchanges()
    for interaction in selected:
        before = len(local_server.requests)
        replay(local_server, interaction)
        sent = local_server.requests[before:]
        retried = interaction.status == 429
        assert len(sent) == (3 if retried else 1), interaction.id
        assert all(r.headers["x-goog-api-key"] == KEY for r in sent)
        assert all(KEY not in r.path for r in sent)
        verb = ":streamGenerateContent?alt=sse" if is_stream(interaction) else ":generateContent"
        assert sent[0].path.endswith(verb), interaction.id
    report.count("gemini exchanges replayed", len(selected))
    assert len(selected) > 0


def test_every_recorded_non_streamed_reply_also_decodes_as_a_one_chunk_stream(
    local_server: LocalServer,
) -> None:
    cassettes.require()
    selected = [i for i in recorded_exchanges() if i.status == 200 and not is_stream(i)]
    for interaction in selected:
        local_server.reply(sse(interaction.response_json()), headers=SSE)
        events = list(model_for(local_server, interaction).stream(recorded_request(interaction)))
        reply = events[-1]
        assert isinstance(reply, Reply)
        check_reply(reply, said([interaction.response_json()]), interaction.id)
    report.count("gemini replies replayed as streams", len(selected))
    assert len(selected) > 0


async def test_recorded_exchanges_replay_through_the_async_client(
    local_server: LocalServer,
) -> None:
    cassettes.require()
    selected = [i for i in recorded_exchanges() if i.status == 200]
    for interaction in selected:
        local_server.reply(
            interaction.response_body, headers={"content-type": content_type(interaction)}
        )
        model = model_for(local_server, interaction)
        request = recorded_request(interaction)
        reply, _ = await as_recorded.acall(model, request)
        check_reply(reply, said(recorded_chunks(interaction)), interaction.id)
    report.count("gemini exchanges replayed (async)", len(selected))
    assert len(selected) > 0


def test_non_streamed_replies_round_trip_into_the_next_request_unchanged(
    local_server: LocalServer,
) -> None:
    """The decoded reply, sent back as history, is the recorded model content itself
    (thought signatures in place; calls that came without an id go back without one)."""
    cassettes.require()
    selected = [i for i in recorded_exchanges() if i.status == 200 and not is_stream(i)]
    for interaction in selected:
        local_server.reply(interaction.response_body, headers={"content-type": "application/json"})
        reply = model_for(local_server, interaction).complete(recorded_request(interaction))
        recorded = interaction.response_json()["candidates"][0]["content"]
        ((_, contents),) = [encode_messages([reply.message])]
        assert contents == [{"role": recorded["role"], "parts": recorded["parts"]}], interaction.id
    assert len(selected) > 0


# -- the encoder against the recorded requests ------------------------------------------


def without_placeholders(contents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def clean(part: dict[str, Any]) -> dict[str, Any]:
        if part.get("thoughtSignature") == PLACEHOLDER_SIGNATURE:
            return {k: v for k, v in part.items() if k != "thoughtSignature"}
        return part

    return [{**c, "parts": [clean(p) for p in c["parts"]]} for c in contents]


def unsigned_first_calls(contents: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Where Gemini 3 wants a signature that the recording did not send."""
    where = []
    for i, content in enumerate(contents):
        calls = [
            j for j, p in enumerate(content["parts"]) if "functionCall" in p or "function_call" in p
        ]
        if content.get("role") == "model" and calls:
            part = content["parts"][calls[0]]
            if "thoughtSignature" not in part and "thought_signature" not in part:
                where.append((i, calls[0]))
    return where


def schema_shape(schema: Any) -> Any:
    """A schema with what Gemini treats alike made equal: type names in any case, and
    ``additionalProperties: false`` (Gemini's subset has no such keyword)."""
    if isinstance(schema, dict):
        return {
            k: (v.lower() if k == "type" and isinstance(v, str) else schema_shape(v))
            for k, v in schema.items()
            if not (k == "additionalProperties" and v is False)
        }
    if isinstance(schema, list):
        return [schema_shape(v) for v in schema]
    return schema


def settings(body: dict[str, Any]) -> dict[str, Any]:
    """Everything in a body but the conversation and the tools."""
    return {k: v for k, v in body.items() if k not in ("contents", "systemInstruction", "tools")}


def test_encode_reproduces_every_recorded_request(local_server: LocalServer) -> None:
    cassettes.require()
    selected = recorded_exchanges()
    for interaction in selected:
        recorded = interaction.request_json()
        call = model_for(local_server, interaction).encode(
            recorded_request(interaction), stream=is_stream(interaction)
        )
        ours = call.body
        assert ("streamGenerateContent" in call.url) == is_stream(interaction)
        placeholders = [
            (i, j)
            for i, c in enumerate(ours["contents"])
            for j, p in enumerate(c["parts"])
            if p.get("thoughtSignature") == PLACEHOLDER_SIGNATURE
        ]
        assert placeholders == unsigned_first_calls(recorded["contents"]), interaction.id
        assert canonical_request(
            ours.get("systemInstruction"), without_placeholders(ours["contents"])
        ) == canonical_request(recorded.get("systemInstruction"), recorded["contents"])
        declared = [d for g in recorded.get("tools", []) for d in g["functionDeclarations"]]
        sent = [d for g in ours.get("tools", []) for d in g["functionDeclarations"]]
        assert [d["name"] for d in sent] == [d["name"] for d in declared]
        assert [d.get("description", "") for d in sent] == [
            d.get("description") or "" for d in declared
        ]
        assert [schema_shape(d["parameters"]) for d in sent] == [
            schema_shape(d.get("parameters", d.get("parameters_json_schema"))) for d in declared
        ]
        assert settings(ours) == settings(recorded), interaction.id
    report.count("gemini requests re-encoded", len(selected))
    assert len(selected) > 0


def test_a_call_from_another_provider_gets_the_documented_placeholder_signature() -> None:
    history = [
        Message.user("weather?"),
        Message.assistant(tool_calls=[ToolCall("get_weather", {"city": "Paris"}, "call_openai_1")]),
    ]
    body = GeminiModel("gemini-3-pro-preview", api_key="k").encode(Request(history), stream=False)
    (part,) = body.body["contents"][1]["parts"]
    assert part["thoughtSignature"] == "skip_thought_signature_validator"
