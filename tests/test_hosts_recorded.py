"""The OpenAI-compatible hosts and Azure OpenAI against their recorded traffic (cassettes-more).

Every recorded Chat Completions exchange of Azure OpenAI, Mistral, Groq, DeepSeek, xAI and
OpenRouter is served back over a local HTTP server to the model a user would pick for that
host (``get_model("groq/...")``, ``get_model("azure/<deployment>")``), with the oracle of the
four built-in formats' replays (`test_provider_openai_chat`): text, tool calls, thinking and
usage equal what the recorded body says, streamed and not, blocking and async; an error is
the right typed error; and the request sent for the recorded conversation carries the
recorded messages, tools and options to the recorded path. Azure's Responses recording is
replayed through the Responses codec the same way.

Cohere v2 (``cohere/``) is a wire format of its own (``/v2/chat``: ``message.content`` as
typed blocks, ``tool_plan``, named ``content-delta``/``tool-call-*`` events): no built-in
codec speaks it, so its recordings are not replayed (`test_cohere_is_not_a_compatible_host`).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import cassettes
import pytest
import report
from local_server import LocalServer
from openai_chat_wire import content_type
from responses_events import SSE_HEADERS, event_stream, facts
from test_provider_openai_chat import (
    Expected,
    assert_deltas_say,
    assert_reply_says,
    expected_from_json,
    expected_from_sse,
    request_from_recording,
    tool_specs,
    without_nulls,
)

import agentloop
from agentloop import Delta, Reply
from agentloop.providers import endpoints
from agentloop.providers.endpoints import ENDPOINTS
from agentloop.providers.http import HTTPModel
from agentloop.providers.openai_responses import decode_messages as responses_messages
from agentloop.providers.openai_responses.azure import AzureResponsesModel

HOSTS = ("azure", "mistral", "groq", "deepseek", "xai", "openrouter")
#: What a recorded error status means.
ERRORS = {404: agentloop.ModelNotFoundError}
KEY = "recorded-host-key"


def chat_exchanges() -> list[cassettes.Interaction]:
    return [
        it
        for host in HOSTS
        for it in cassettes.more(host)
        if it.uri.endswith("/chat/completions") or "/chat/completions?" in it.uri
    ]


def host_of(it: cassettes.Interaction) -> str:
    return it.file.split("/")[0]


def model_for(it: cassettes.Interaction, server: LocalServer) -> HTTPModel:
    """The model a user would pick for the recorded host, pointed at the local server."""
    uri = urlsplit(it.uri)
    host = host_of(it)
    if host == "azure":
        (version,) = parse_qs(uri.query)["api-version"]
        deployment = uri.path.split("/deployments/")[1].split("/")[0]
        return agentloop.get_model(
            f"azure/{deployment}",
            base_url=server.url,
            api_key=KEY,
            api_version=version,
            max_retries=0,
        )
    prefix = uri.path.removesuffix("/chat/completions")
    name = it.request_json()["model"]
    return agentloop.get_model(
        f"{host}/{name}", base_url=server.url + prefix, api_key=KEY, max_retries=0
    )


def expected_of(it: cassettes.Interaction) -> Expected:
    if "text/event-stream" in content_type(it):
        expected = expected_from_sse(it.response_body)
        usage = groq_usage(it.response_body)
        if usage is not None:
            expected.usage = usage
        return expected
    return expected_from_json(it.response_json())


def groq_usage(body: bytes) -> dict[str, Any] | None:
    """Groq streams its usage in ``x_groq.usage`` of the last chunk, not ``usage``."""
    found = None
    for line in body.decode().splitlines():
        if line.startswith("data: {"):
            chunk = json.loads(line[6:])
            found = (chunk.get("x_groq") or {}).get("usage") or found
    return found


def meaning(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`without_nulls`, and an empty ``content: []`` beside tool calls (as pydantic-ai sends
    Mistral's) read as no content, as a null is."""
    return without_nulls([{k: v for k, v in m.items() if v != []} for m in messages])


def assert_sent_as_recorded(model: HTTPModel, sent: dict[str, Any], recorded: dict[str, Any]):
    if getattr(model, "api_version", None) is not None:
        # Azure's deployment form: the deployment is in the path (some clients repeat it).
        assert "model" not in sent
    else:
        assert sent["model"] == recorded["model"]
    assert meaning(sent["messages"]) == meaning(recorded["messages"])
    assert sent["stream"] == bool(recorded.get("stream"))
    include_usage = recorded.get("stream") and model.endpoint.quirks.stream_options
    assert sent.get("stream_options") == ({"include_usage": True} if include_usage else None)
    if model.endpoint.quirks.strict_tools:
        assert tool_specs(sent) == tool_specs(recorded)
    else:  # the host's quirk: its tools go non-strict whatever the recorded client sent
        assert tool_specs(sent) == [(*spec[:3], False) for spec in tool_specs(recorded)]
    # Mistral's "any" is its older name for "required", which it takes as well.
    choice = recorded.get("tool_choice")
    assert sent.get("tool_choice") == ("required" if choice == "any" else choice)
    for key in ("temperature", "top_p", "n", "parallel_tool_calls"):
        assert sent.get(key) == recorded.get(key), key
    assert sent.get("reasoning_effort") == recorded.get("reasoning_effort")


def replay(server: LocalServer, it: cassettes.Interaction) -> None:
    request = request_from_recording(it.request_json())
    model = model_for(it, server)
    server.reply(it.response_body, status=it.status, headers={"content-type": content_type(it)})
    if it.status >= 400:
        with pytest.raises(ERRORS[it.status]) as info:
            model.complete(request)
        assert info.value.status == it.status
        assert info.value.provider == model.provider
    elif request.stream:
        *deltas, reply = list(model.stream(request))
        assert isinstance(reply, Reply)
        expected = expected_of(it)
        assert_reply_says(reply, expected)
        assert_deltas_say([d for d in deltas if isinstance(d, Delta)], expected)
    else:
        assert_reply_says(model.complete(request), expected_of(it))
    sent = server.requests[-1]
    recorded = urlsplit(it.uri)
    assert sent.path == recorded.path + (f"?{recorded.query}" if recorded.query else "")
    auth = "api-key" if host_of(it) == "azure" else "authorization"
    assert sent.headers[auth] == (KEY if auth == "api-key" else f"Bearer {KEY}")
    assert_sent_as_recorded(model, sent.json(), it.request_json())


def test_every_recorded_host_exchange_replays_over_http(local_server: LocalServer) -> None:
    selected = chat_exchanges()
    for it in selected:
        try:
            replay(local_server, it)
        except AssertionError as exc:
            raise AssertionError(f"{it.id}: {exc}") from exc
    report.count("compatible hosts and azure chat exchanges replayed", len(selected))
    assert {host_of(it) for it in selected} == set(HOSTS)


async def test_every_recorded_host_reply_decodes_the_same_over_async(
    local_server: LocalServer,
) -> None:
    selected = [it for it in chat_exchanges() if it.status == 200]
    for it in selected:
        request = request_from_recording(it.request_json())
        model = model_for(it, local_server)
        local_server.reply(it.response_body, headers={"content-type": content_type(it)})
        if request.stream:
            reply = [event async for event in model.astream(request)][-1]
        else:
            reply = await model.acomplete(request)
        assert isinstance(reply, Reply)
        try:
            assert_reply_says(reply, expected_of(it))
        except AssertionError as exc:
            raise AssertionError(f"{it.id}: {exc}") from exc
    report.count("compatible hosts and azure chat exchanges replayed async", len(selected))
    assert selected


def test_azures_content_filter_fields_are_read_past_and_its_finish_reason_kept(
    local_server: LocalServer,
) -> None:
    (it,) = [it for it in cassettes.more("azure") if it.file == "azure/chat_text.yaml"]
    body = it.response_json()
    assert "prompt_filter_results" in body
    assert "content_filter_results" in body["choices"][0]
    body["choices"][0]["finish_reason"] = "content_filter"
    local_server.reply(body)
    reply = model_for(it, local_server).complete(request_from_recording(it.request_json()))
    assert reply.finish_reason == "content_filter"
    assert reply.message.text == body["choices"][0]["message"]["content"]


# -- Azure's Responses recording --------------------------------------------------------


def test_azures_recorded_responses_exchange_replays_through_the_responses_codec(
    local_server: LocalServer,
) -> None:
    (it,) = [it for it in cassettes.more("azure") if it.uri.endswith("/responses")]
    recorded = it.request_json()
    body = it.response_json()
    assert "content_filters" in body  # Azure's own field, read past
    for streamed in (False, True):
        local_server.reply(it.response_body, headers={"content-type": "application/json"})
        model = AzureResponsesModel(
            recorded["model"], base_url=local_server.url, api_key=KEY, max_retries=0
        )
        request = agentloop.Request(
            responses_messages(recorded["input"], recorded.get("instructions")),
            options={"prompt_cache": "off", "store": recorded.get("store", True)},
        )
        if streamed:
            local_server.script.clear()
            local_server.reply(event_stream(body), headers=SSE_HEADERS)
            reply = list(model.stream(request))[-1]
        else:
            reply = model.complete(request)
        assert isinstance(reply, Reply)
        expected = facts(body)
        assert reply.message.text == expected["text"]
        usage = reply.usage
        assert (
            usage.input_tokens,
            usage.output_tokens,
            usage.cached_input_tokens,
            usage.reasoning_tokens,
        ) == expected["usage"]
        sent = local_server.requests[-1]
        assert sent.path == urlsplit(it.uri).path == "/openai/v1/responses"
        assert sent.headers["api-key"] == KEY
        assert sent.json()["model"] == recorded["model"]
        assert sent.json()["input"] == recorded["input"]
    report.count("azure responses exchanges replayed", 2)


# -- Cohere v2 ----------------------------------------------------------------------------


def test_cohere_is_not_a_compatible_host() -> None:
    """Cohere v2 is its own wire format, not an OpenAI-compatible host: its recordings are
    kept out of the replays above on purpose, as no Chat Completions decoder reads its
    shapes. Its own codec (`agentloop/providers/cohere/`) replays them instead
    (tests/test_provider_cohere.py)."""
    recorded = cassettes.more("cohere")
    assert all(urlsplit(it.uri).path == "/v2/chat" for it in recorded)
    replies = [it.response_json() for it in recorded if "json" in content_type(it)]
    assert replies
    assert all("choices" not in body and "message" in body for body in replies)
    contents = [body["message"]["content"] for body in replies if "content" in body["message"]]
    assert contents
    assert all(isinstance(c, list) for c in contents)
    streams = [it.response_body.decode() for it in recorded if "event-stream" in content_type(it)]
    assert streams
    assert all("event: content-delta" in s or "tool-call" in s for s in streams)
    assert ENDPOINTS["cohere"].wire == "cohere"
    assert all(host.name != "cohere" for host in endpoints.HOSTS)
