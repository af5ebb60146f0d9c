"""Hostile and broken Bedrock replies: typed errors or a reply that can be sent again.

Hostile values (deep nesting, huge integers, NaN, lone surrogates) are put into the recorded
Converse bodies and into single events of the recorded ConverseStream frames (framed again,
checksums right); streams are mutated (events dropped, shuffled, garbled). Whatever comes of
it is a typed `ProviderError` naming bedrock, or a reply whose message encodes in every
format. Over the local server: a field of the wrong type is named in the one wording, and a
streamed tool call whose arguments do not read becomes an error result the chain goes on from.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import bedrock_wire
import cassettes
import pytest
from bedrock_wire import EVENT_STREAM, reply
from hostile import (
    assert_sendable,
    assert_shown_text_encodes,
    inject,
    strict_json,
    typed_or_sendable,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from local_server import LocalServer

import agentloop
from agentloop import ProviderError, ResponseFormatError, ToolResult
from agentloop.providers.bedrock.eventstream import EventStreamParser, encode_frame
from agentloop.providers.bedrock.reply import decode_reply
from agentloop.providers.bedrock.stream import BedrockStreamDecoder
from agentloop.providers.wire_json import load_reply


def _recorded() -> list[cassettes.Interaction]:
    try:
        return [it for it in cassettes.more("bedrock") if it.status == 200]
    except pytest.skip.Exception:
        return []


RECORDED = _recorded()
JSON_BODIES = [it.response_body.decode() for it in RECORDED if not it.uri.endswith("-stream")]
STREAMS = [
    list(bedrock_wire.aws_events(it.response_body)) for it in RECORDED if it.uri.endswith("-stream")
]
pytestmark = pytest.mark.skipif(not RECORDED, reason="recorded cassettes not found")


def decode_stream(events: list[tuple[str, str]]) -> Callable[[], agentloop.Reply]:
    """Frame the events again and read them as the model does: parser, then decoder."""

    def decode() -> agentloop.Reply:
        body = b"".join(
            encode_frame(kind, data.encode("utf-8", "backslashreplace")) for kind, data in events
        )
        parser, decoder = EventStreamParser("bedrock"), BedrockStreamDecoder()
        for event in parser.feed(body):
            assert_shown_text_encodes(decoder.feed(event))
        return decoder.finish()

    return decode


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.sampled_from(JSON_BODIES or [""]), seed=st.integers(0, 2**32))
def test_hostile_values_in_reply_bodies_are_typed_or_sendable(body: str, seed: int) -> None:
    text = inject(json.loads(body), random.Random(seed))
    typed_or_sendable(lambda: decode_reply(load_reply(text, provider="bedrock")), "bedrock")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, 5), seed=st.integers(0, 2**32))
def test_hostile_values_in_stream_events_are_typed_or_sendable(index: int, seed: int) -> None:
    rng = random.Random(seed)
    events = STREAMS[index % len(STREAMS)]
    at = rng.randrange(len(events))
    datas = [json.dumps(data) for _, data in events]
    datas[at] = inject(events[at][1], rng)
    typed_or_sendable(
        decode_stream([(k, d) for (k, _), d in zip(events, datas, strict=True)]), "bedrock"
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(0, 5),
    seed=st.integers(0, 2**32),
    operation=st.sampled_from(["drop", "shuffle", "swap", "garble", "rename"]),
)
def test_mutated_streams_raise_only_typed_errors(index: int, seed: int, operation: str) -> None:
    rng = random.Random(seed)
    events = [(kind, json.dumps(data)) for kind, data in STREAMS[index % len(STREAMS)]]
    at = rng.randrange(len(events))
    if operation == "drop":
        del events[at]
    elif operation == "shuffle":
        rng.shuffle(events)
    elif operation == "swap":
        other = rng.randrange(len(events))
        events[at], events[other] = events[other], events[at]
    elif operation == "garble":
        kind, data = events[at]
        events[at] = (kind, data[: rng.randrange(len(data))])
    else:
        events[at] = (rng.choice(["contentBlockStart", "messageStop", "novelEvent"]), events[at][1])
    failure: ProviderError | None = None
    try:
        decode_stream(events)()
    except ProviderError as error:
        failure = error
    assert failure is None or failure.provider == "bedrock"


WRONG_TYPES = [
    (
        '{"output": {"message": {"content": "hi"}}}',
        "output.message.content should be a list, got a string ('hi')",
    ),
    (
        '{"output": {"message": {"content": []}}, "stopReason": 1}',
        "stopReason should be a string, got an integer (1)",
    ),
    (
        '{"output": {"message": {"content": []}}, "usage": {"inputTokens": "9"}}',
        "usage.inputTokens should be a token count, got a string ('9')",
    ),
    ('{"output": []}', "output should be an object, got a list"),
]


@pytest.mark.parametrize(("body", "wording"), WRONG_TYPES)
def test_a_field_of_the_wrong_type_is_named_in_one_wording(
    local_server: LocalServer, body: str, wording: str
) -> None:
    local_server.reply(body, headers={"content-type": "application/json"})
    model = bedrock_wire.model(local_server, api_key=bedrock_wire.BEARER, max_retries=0)
    with pytest.raises(ResponseFormatError) as info:
        model.prompt("hi").text()
    assert str(info.value) == f"bedrock: reply field {wording}"


def weather(city: str) -> str:
    "The weather in a city."
    return f"Sunny in {city}"


@pytest.mark.parametrize("arguments", ['{"city": NaN}', '{"city": "Par', '{"city": ' + "[" * 600])
def test_streamed_arguments_that_do_not_read_become_an_error_result(
    local_server: LocalServer, arguments: str
) -> None:
    first = [
        encode_frame("messageStart", b'{"role":"assistant"}'),
        encode_frame(
            "contentBlockStart",
            b'{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"t1","name":"weather"}}}',
        ),
        encode_frame(
            "contentBlockDelta",
            json.dumps(
                {"contentBlockIndex": 0, "delta": {"toolUse": {"input": arguments}}}
            ).encode(),
        ),
        encode_frame("contentBlockStop", b'{"contentBlockIndex":0}'),
        encode_frame("messageStop", b'{"stopReason":"tool_use"}'),
        encode_frame("metadata", b'{"usage":{"inputTokens":5,"outputTokens":2,"totalTokens":7}}'),
    ]
    local_server.reply(b"".join(first), headers=EVENT_STREAM)
    local_server.reply(bedrock_wire.frames(reply([{"text": "Sorry."}])), headers=EVENT_STREAM)
    model = bedrock_wire.model(local_server, api_key=bedrock_wire.BEARER)
    conversation = model.conversation(tools=[weather])
    response = conversation.chain("Weather?", stream=True)
    list(response)
    assert response.text() == "Sorry."
    results = [p for m in conversation.messages for p in m.parts if isinstance(p, ToolResult)]
    assert len(results) == 1
    assert results[0].is_error
    sent = strict_json(local_server.requests[1].body)
    assert sent["messages"][2]["content"][0]["toolResult"]["status"] == "error"
    assert_sendable(conversation.messages)


def test_every_recorded_body_and_stream_is_read(  # the fuzz above has material to work on
) -> None:
    assert len(JSON_BODIES) == 9
    assert len(STREAMS) == 6
    decoded: Any = [decode_stream([(k, json.dumps(d)) for k, d in events])() for events in STREAMS]
    assert all(r.message.parts for r in decoded)
