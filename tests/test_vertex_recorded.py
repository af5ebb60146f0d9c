"""Vertex AI against its recorded traffic (cassettes-more/vertex), over a local HTTP server.

Each recording is served back to a `VertexModel` for the recorded project, location and API
version (or express mode, for the recording without a project), with the Gemini replays'
oracle (`test_provider_gemini`): text, thinking, calls, signatures, usage and model equal
what the recorded body says, streamed and not, blocking and async; the recorded 400 is a
`BadRequestError`; and the request we send is the recorded one (contents, system
instruction, tools, settings) at the recorded path.

Three recordings (the google-cloud-aiplatform SDK's) asked for ``$alt=json;enum-encoding=int``,
so their enums are integers (``finishReason: 1``) on both sides: agentloop never asks for
that, so their replies are replayed with their enums written as names, the form every
client that does not ask for integers receives; the conversion is `enums_as_names`.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import cassettes
import pytest
import report
from local_server import LocalServer
from test_convert_gemini import canonical_request
from test_provider_gemini import (
    check_reply,
    content_type,
    recorded_options,
    said,
    schema_shape,
    settings,
    without_placeholders,
)

import agentloop
from agentloop.providers.base import Delta, Reply
from agentloop.providers.gemini import decode_messages, encode_messages
from agentloop.providers.gemini.vertex import VertexModel
from agentloop.server_tools import WebSearch

_PATH = re.compile(
    r"^/(?P<version>v1\w*)/(?:projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/)?"
    r"publishers/google/models/(?P<model>[^/:]+):(?P<method>\w+)$"
)
TOKEN = "ya29.recorded-replay-token"
KEY = "AQ.express-mode-key-never-shown"
#: google.rpc enum values the aiplatform SDK's integer encoding sends.
FINISH_REASONS = {1: "STOP", 2: "MAX_TOKENS", 3: "SAFETY"}
MODALITIES = {1: "TEXT", 2: "IMAGE", 3: "VIDEO", 4: "AUDIO", 5: "DOCUMENT"}
TYPES = {1: "STRING", 2: "NUMBER", 3: "INTEGER", 4: "BOOLEAN", 5: "ARRAY", 6: "OBJECT"}


def exchanges() -> list[cassettes.Interaction]:
    return cassettes.more("vertex")


def parts_of(it: cassettes.Interaction) -> dict[str, str | None]:
    match = _PATH.match(urlsplit(it.uri).path)
    assert match, it.uri
    return match.groupdict()


def is_stream(it: cassettes.Interaction) -> bool:
    return parts_of(it)["method"] == "streamGenerateContent"


def enum_int(it: cassettes.Interaction) -> bool:
    return "enum-encoding" in urlsplit(it.uri).query


def model_for(server: LocalServer, it: cassettes.Interaction, **kwargs: Any) -> VertexModel:
    """The model a user would make for the recorded call, pointed at the local server."""
    import google.oauth2.credentials

    where = parts_of(it)
    kwargs.setdefault("max_retries", 0)
    common = {"base_url": server.url, "api_version": where["version"], **kwargs}
    if where["project"] is None:
        return VertexModel(str(where["model"]), api_key=KEY, **common)
    # A token that google-auth holds valid: nothing to refresh in a replay.
    credentials = google.oauth2.credentials.Credentials(token=TOKEN)
    return VertexModel(
        str(where["model"]),
        project=where["project"],
        location=where["location"],
        credentials=credentials,
        **common,
    )


def enums_as_names(value: Any, key: str = "") -> Any:
    """A body of the integer enum encoding, its enums written as names."""
    if isinstance(value, dict):
        return {k: enums_as_names(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [enums_as_names(v, key) for v in value]
    names = {"finishReason": FINISH_REASONS, "modality": MODALITIES, "type": TYPES}.get(key)
    return names.get(value, value) if names and isinstance(value, int) else value


def reply_body(it: cassettes.Interaction) -> bytes:
    return (
        json.dumps(enums_as_names(it.response_json())).encode()
        if enum_int(it)
        else (it.response_body)
    )


def request_body(it: cassettes.Interaction) -> dict[str, Any]:
    body = it.request_json()
    return enums_as_names(body) if enum_int(it) else body


def serve(server: LocalServer, it: cassettes.Interaction) -> None:
    server.reply(reply_body(it), status=it.status, headers={"content-type": content_type(it)})


def chunks(it: cassettes.Interaction) -> list[dict[str, Any]]:
    body = reply_body(it).decode()
    if is_stream(it):
        return [json.loads(line[5:]) for line in body.splitlines() if line.startswith("data:")]
    return [json.loads(body)]


def request_of(it: cassettes.Interaction) -> agentloop.Request:
    body = request_body(it)
    if enum_int(it):  # the recorded 400 asked for temperature 1000: sent unchecked, as a field
        config = dict(body.get("generationConfig", {}))
        if config.get("temperature", 0) > 2:
            request = recorded_request_of(body, it)
            generation = {"temperature": config["temperature"]}
            return agentloop.Request(request.messages, options={"generationConfig": generation})
    return recorded_request_of(body, it)


def recorded_request_of(body: dict[str, Any], it: cassettes.Interaction) -> agentloop.Request:
    """The neutral request for a recorded body: its messages, its function declarations as
    tools, ``googleSearch`` as the neutral `WebSearch`, its settings as options."""
    tools = [
        agentloop.Tool(d["name"], d.get("description") or "", schema, lambda **kw: "")
        for group in body.get("tools", [])
        for d in group.get("functionDeclarations", [])
        for schema in [d.get("parameters", d.get("parametersJsonSchema"))]
    ]
    searches = [WebSearch() for group in body.get("tools", []) if "googleSearch" in group]
    messages = decode_messages(body.get("systemInstruction"), body["contents"])
    options = recorded_options({k: v for k, v in body.items() if k != "tools"})
    return agentloop.Request(messages, tools, options, stream=is_stream(it), server_tools=searches)


def check_sent(server: LocalServer, it: cassettes.Interaction, model: VertexModel) -> None:
    sent = server.requests[-1]
    recorded = urlsplit(it.uri)
    assert urlsplit(sent.path).path == recorded.path, it.id
    if is_stream(it):
        assert sent.path.endswith("?alt=sse")
    if model.express:
        assert sent.headers["x-goog-api-key"] == KEY
        assert "authorization" not in {k.lower() for k in sent.headers}
    else:
        assert sent.headers["authorization"] == f"Bearer {TOKEN}"
        assert "x-goog-api-key" not in {k.lower() for k in sent.headers}
    ours, body = sent.json(), request_body(it)
    assert canonical_request(
        ours.get("systemInstruction"), without_placeholders(ours["contents"])
    ) == canonical_request(body.get("systemInstruction"), body["contents"]), it.id
    assert sorted(tuple(g) for g in ours.get("tools", [])) == sorted(
        tuple(g) for g in body.get("tools", [])
    )
    declared = [d for g in body.get("tools", []) for d in g.get("functionDeclarations", [])]
    sent_tools = [d for g in ours.get("tools", []) for d in g.get("functionDeclarations", [])]
    assert [d["name"] for d in sent_tools] == [d["name"] for d in declared]
    assert [schema_shape(d["parameters"]) for d in sent_tools] == [
        schema_shape(d.get("parameters", d.get("parametersJsonSchema"))) for d in declared
    ]
    assert settings(ours) == settings(body), it.id


def replay(server: LocalServer, it: cassettes.Interaction) -> None:
    serve(server, it)
    model = model_for(server, it)
    request = request_of(it)
    if it.status != 200:
        with pytest.raises(agentloop.BadRequestError) as info:
            model.complete(request)
        assert info.value.status == it.status
        assert info.value.error_type == "INVALID_ARGUMENT"
        assert info.value.provider == "vertex"
    elif is_stream(it):
        events = list(model.stream(request))
        reply = events[-1]
        assert isinstance(reply, Reply)
        deltas = [e for e in events if isinstance(e, Delta)]
        expected = said(chunks(it))
        assert "".join(d.text for d in deltas if d.kind == "text") == expected.text
        check_reply(reply, expected, it.id)
    else:
        check_reply(model.complete(request), said(chunks(it)), it.id)
    check_sent(server, it, model)


def test_every_recorded_vertex_exchange_replays_over_http(local_server: LocalServer) -> None:
    selected = exchanges()
    for it in selected:
        replay(local_server, it)
    report.count("vertex exchanges replayed", len(selected))
    assert {parts_of(it)["version"] for it in selected} == {"v1", "v1beta1"}
    assert any(parts_of(it)["project"] is None for it in selected)  # express mode


async def test_every_recorded_vertex_reply_decodes_the_same_over_async(
    local_server: LocalServer,
) -> None:
    selected = [it for it in exchanges() if it.status == 200]
    for it in selected:
        serve(local_server, it)
        model = model_for(local_server, it)
        if is_stream(it):
            reply = [e async for e in model.astream(request_of(it))][-1]
        else:
            reply = await model.acomplete(request_of(it))
        assert isinstance(reply, Reply)
        check_reply(reply, said(chunks(it)), it.id)
        check_sent(local_server, it, model)
    report.count("vertex exchanges replayed (async)", len(selected))
    assert selected


def test_a_decoded_vertex_reply_goes_back_as_the_recorded_client_sent_it(
    local_server: LocalServer,
) -> None:
    """The follow-up of the recorded tool call: the decoded reply, sent back, is the model
    content the recorded client sent (signature and call id in place)."""
    first, second = [
        it for it in exchanges() if it.file == "vertex/tool_call_and_result_with_google_search.yaml"
    ]
    serve(local_server, first)
    reply = model_for(local_server, first).complete(request_of(first))
    _, contents = encode_messages([reply.message])
    recorded = second.request_json()["contents"][1]
    # google-genai sent the signature as base64url; Vertex answered it in standard base64.
    for part in recorded["parts"]:
        signature = part["thoughtSignature"]
        part["thoughtSignature"] = signature.replace("-", "+").replace("_", "/")
    assert canonical_request(None, contents) == canonical_request(None, [recorded])
