"""Malformed replies: mutated recorded (and scripted) bodies let only typed errors escape.

Each example takes a real reply, breaks it (keys deleted, values of the wrong type,
JSON cut short, events dropped, shuffled or cut), and runs it through the same
steps as the transport: JSON parsing and ``decode`` for a reply body, httpx-sse and
the stream decoder for an event stream. The only acceptable outcomes are a reply or
an agentloop ProviderError naming the provider; never KeyError, TypeError,
IndexError, AttributeError.
"""

from __future__ import annotations

import copy
import json
import random
import re
from functools import cache
from typing import Any

import cassettes
import httpx
from hostile import assert_shown_text_encodes, inject, inject_event, typed_or_sendable
from httpx_sse import EventSource
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from responses_events import (
    completed_response,
    event_stream,
    function_call,
    message,
    reasoning,
    reply,
)

import agentloop
from agentloop.providers.base import Reply
from agentloop.providers.openai_responses import OpenAIResponsesModel, create
from agentloop.providers.wire_json import load_reply

PROVIDER = "openai-responses"
MODEL: OpenAIResponsesModel = create("gpt-5-mini", api_key="sk-test")
ODD_VALUES = [None, 0, -1, 2.5, True, "", "x", [], {}, [{}], {"type": "message"}, "{"]
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@cache
def replies() -> tuple[dict[str, Any], ...]:
    """Reply objects: scripted ones always, recorded ones when the cassettes are there."""
    scripted = [
        reply(message("Hello"), function_call("add", {"a": 1}, "c1")),
        reply(reasoning("Because.", "enc"), message("Done")),
    ]
    recorded = []
    for it in cassettes.all_interactions():
        if it.uri.endswith("/v1/responses") and it.status == 200:
            stream = it.response_body.startswith(b"event:")
            recorded.append(completed_response(it.response_body) if stream else it.response_json())
    return tuple(scripted + recorded)


@cache
def streams() -> tuple[str, ...]:
    recorded = [
        it.response_body.decode()
        for it in cassettes.all_interactions()
        if it.uri.endswith("/v1/responses") and it.response_body.startswith(b"event:")
    ]
    return tuple(recorded + [event_stream(r) for r in replies()])


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON tree (dict keys and list indices)."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(paths(value, (*prefix, index)))
    return found


@st.composite
def mutated_tree(draw: st.DrawFn, tree: Any) -> Any:
    tree = copy.deepcopy(tree)
    for _ in range(draw(st.integers(1, 3))):
        places = paths(tree)
        if not places:
            return copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
        *parent_path, last = draw(st.sampled_from(places))
        parent = tree
        for step in parent_path:
            parent = parent[step]
        if draw(st.booleans()):
            del parent[last]
        else:
            # A copy: a later mutation must not change the shared ODD_VALUES.
            parent[last] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
    return tree


@st.composite
def broken_body(draw: st.DrawFn) -> bytes:
    original = draw(st.sampled_from(replies()))
    if draw(st.integers(0, 4)) == 0:
        text = json.dumps(original)
        return text[: draw(st.integers(0, len(text) - 1))].encode()
    return json.dumps(draw(mutated_tree(original))).encode()


@st.composite
def broken_stream(draw: st.DrawFn) -> bytes:
    events = [block for block in draw(st.sampled_from(streams())).split("\n\n") if block]
    how = draw(st.sampled_from(["shuffle", "drop", "mutate", "cut"]))
    if how == "shuffle":
        events = draw(st.permutations(events))
    elif how == "drop":
        events.pop(draw(st.integers(0, len(events) - 1)))
    elif how == "mutate":
        index = draw(st.integers(0, len(events) - 1))
        kind, _, data = events[index].partition("\ndata: ")
        changed = json.dumps(draw(mutated_tree(json.loads(data))))
        events[index] = f"{kind}\ndata: {changed}"
    text = "\n\n".join(events) + "\n\n"
    if how == "cut":
        text = text[: draw(st.integers(0, len(text) - 1))]
    return text.encode()


def check_escape(error: BaseException) -> None:
    assert isinstance(error, agentloop.ProviderError), f"{type(error).__name__}: {error}"
    assert error.provider == PROVIDER
    if isinstance(error, agentloop.ResponseFormatError):
        assert re.search(r"field|event|output|reply", str(error)), str(error)


def decode_body(payload: bytes) -> Reply:
    return MODEL.decode(load_reply(payload, provider=PROVIDER))  # as the transport reads it


def decode_stream(payload: bytes) -> Reply:
    response = httpx.Response(200, content=payload, headers={"content-type": "text/event-stream"})
    decoder = MODEL.stream_decoder()
    for event in EventSource(response).iter_sse():
        assert_shown_text_encodes(decoder.feed(event))
    return decoder.finish()


@FUZZ
@given(broken_body())
def test_a_mutated_reply_body_raises_only_typed_errors(payload: bytes) -> None:
    try:
        reply_ = decode_body(payload)
    except Exception as exc:  # the point is to see what escapes
        check_escape(exc)
    else:
        assert reply_.message.role == "assistant"


@FUZZ
@given(broken_stream())
def test_a_mutated_event_stream_raises_only_typed_errors(payload: bytes) -> None:
    try:
        reply_ = decode_stream(payload)
    except Exception as exc:  # the point is to see what escapes
        check_escape(exc)
    else:
        assert reply_.message.role == "assistant"


@FUZZ
@given(st.sampled_from(replies()), st.randoms(use_true_random=False))
def test_hostile_values_in_a_reply_body_are_typed_or_sendable(
    body: dict[str, Any], rng: random.Random
) -> None:
    payload = inject(body, rng).encode("utf-8", "backslashreplace")
    typed_or_sendable(lambda: decode_body(payload), PROVIDER)


@FUZZ
@given(st.sampled_from(streams()), st.randoms(use_true_random=False))
def test_hostile_values_in_an_event_stream_are_typed_or_sendable(
    stream: str, rng: random.Random
) -> None:
    events = [block.partition("\ndata: ") for block in stream.split("\n\n") if block]
    datas = inject_event([data for _, _, data in events], rng)
    hostile = "".join(
        f"{kind}\ndata: {data}\n\n" for (kind, _, _), data in zip(events, datas, strict=True)
    )
    typed_or_sendable(lambda: decode_stream(hostile.encode()), PROVIDER)


def test_the_unmutated_replies_and_streams_decode() -> None:
    for body in replies():
        assert decode_body(json.dumps(body).encode()).message.role == "assistant"
    for stream in streams():
        assert decode_stream(stream.encode()).message.role == "assistant"
