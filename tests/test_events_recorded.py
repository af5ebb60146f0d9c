"""Real recorded streams of the four wire formats: every tool call in a streamed reply was
shown as it began, with the id and name the finished call has, and its argument fragments
joined read as its arguments."""

from __future__ import annotations

import json
from collections.abc import Callable

import cassettes
import pytest
import report

from agentloop.errors import ProviderError
from agentloop.providers.anthropic.stream import AnthropicStreamDecoder
from agentloop.providers.base import Delta
from agentloop.providers.gemini.stream import GeminiStreamDecoder, json_array_events
from agentloop.providers.openai_chat.stream import ChatStreamDecoder
from agentloop.providers.openai_responses.stream import ResponsesStreamDecoder
from agentloop.providers.sse import ServerSentEvent, iter_events
from agentloop.providers.stream_decoder import StreamDecoderBase


def gemini_decoder() -> StreamDecoderBase:
    return GeminiStreamDecoder(lambda status, text: ProviderError(text, provider="gemini"))


DECODERS: dict[str, tuple[Callable[[str], bool], Callable[[], StreamDecoderBase]]] = {
    "openai-chat": (
        lambda uri: uri.endswith("/chat/completions"),
        lambda: ChatStreamDecoder("openai"),
    ),
    "anthropic": (lambda uri: uri.endswith("/v1/messages"), AnthropicStreamDecoder),
    "openai-responses": (lambda uri: uri.endswith("/responses"), ResponsesStreamDecoder),
    "gemini": (lambda uri: ":streamGenerateContent" in uri, gemini_decoder),
}


def is_stream(it: cassettes.Interaction) -> bool:
    if ":streamGenerateContent" in it.uri:
        return True
    try:
        return it.request_json().get("stream") is True
    except ValueError:
        return False


def recorded_streams(matches: Callable[[str], bool]) -> list[cassettes.Interaction]:
    return [
        it
        for it in cassettes.all_interactions()
        if matches(it.uri.split("?")[0]) and it.status == 200 and is_stream(it)
    ]


def events_of(body: bytes) -> list[ServerSentEvent]:
    """A stream's events: server-sent, or Gemini's JSON array (without ``alt=sse``)."""
    array = json_array_events(body) if body.lstrip().startswith(b"[") else None
    return array if array is not None else list(iter_events([body]))


@pytest.mark.parametrize("wire", DECODERS)
def test_recorded_streams_show_each_call_as_it_ends(wire: str) -> None:
    matches, make = DECODERS[wire]
    streams = recorded_streams(matches)
    if not streams:
        pytest.skip("no recorded streams")
    calls_seen = 0
    report.count(f"{wire} recorded streams' tool calls shown as they came", len(streams))
    for it in streams:
        decoder = make()
        deltas: list[Delta] = []
        for event in events_of(it.response_body):
            deltas.extend(decoder.feed(event))
        reply = decoder.finish()
        started = {d.tool_call_id: d.text for d in deltas if d.kind == "tool_call"}
        fragments: dict[str, str] = {}
        for delta in deltas:
            if delta.kind == "arguments":
                assert delta.tool_call_id in started, it.id  # announced first
                fragments[delta.tool_call_id] = fragments.get(delta.tool_call_id, "") + delta.text
        calls = reply.message.tool_calls
        assert {c.tool_call_id: c.name for c in calls} == started, it.id
        for call in calls:
            text = fragments.get(call.tool_call_id, "")
            assert (json.loads(text) if text.strip() else {}) == call.arguments, it.id
        calls_seen += len(calls)
    assert calls_seen, f"no recorded {wire} stream made a tool call"
