"""The stream-decoder skeleton on its own: what every format's decoder gets from it."""

from __future__ import annotations

from typing import Any

import pytest

from agentloop import Delta, Message, Reply, Text
from agentloop.errors import ResponseFormatError, StreamIncomplete
from agentloop.providers.sse import ServerSentEvent, iter_events
from agentloop.providers.stream_decoder import StreamDecoderBase, StreamParts
from agentloop.providers.wire_fields import Where


class Words(StreamDecoderBase):
    """A toy format: ``{"word"}`` chunks, then ``{"end": true}``; ``[DONE]`` also ends it."""

    end_marker = "the end chunk"
    ends_with_done = True

    def on_event(self, kind: str, data: dict[str, Any], path: Where) -> None:
        if data.get("end") is True:
            self.ended = True
            return
        word = self.read.string(data.get("word"), path, "word")
        self.parts.add_text("words", word)
        self.show_text(word)

    def reply(self) -> Reply:
        words = self.parts.get("words")
        return Reply(Message("assistant", [Text(words.text if words else "")]))


def decode(body: str) -> tuple[list[Delta], Words]:
    decoder = Words("toy")
    deltas = [d for event in iter_events([body.encode()]) for d in decoder.feed(event)]
    return deltas, decoder


def test_chunks_become_deltas_and_one_reply() -> None:
    deltas, decoder = decode(
        'data: {"word": "a"}\n\ndata: {"word": "b"}\n\n: ping\n\ndata: [DONE]\n\n'
    )
    assert deltas == [Delta("a"), Delta("b")]
    assert decoder.finish().message.text == "ab"


def test_a_stream_cut_short_keeps_what_was_shown() -> None:
    _, decoder = decode('data: {"word": "a"}\n\n')
    with pytest.raises(StreamIncomplete, match="the stream ended before the end chunk") as info:
        decoder.finish()
    assert (info.value.partial_text, info.value.provider) == ("a", "toy")


def test_a_wrong_chunk_is_named_by_its_place_in_the_one_wording() -> None:
    _, decoder = decode('data: {"word": "a"}\n\n')
    with pytest.raises(ResponseFormatError) as info:
        decoder.feed(ServerSentEvent(data='{"word": 7}'))
    assert (
        str(info.value) == "toy: reply field chunks[1].word should be a string, got an integer (7)"
    )
    with pytest.raises(
        ResponseFormatError, match=r"^toy: reply field chunks\[2\] should be an object"
    ):
        decoder.feed(ServerSentEvent(data="[1]"))
    with pytest.raises(ResponseFormatError, match=r"^toy: stream chunk 3 is not valid JSON"):
        decoder.feed(ServerSentEvent(data="{"))


def test_a_named_event_is_its_own_path() -> None:
    decoder = Words("toy")
    with pytest.raises(
        ResponseFormatError, match=r"reply field word_delta\.word should be a string"
    ):
        decoder.feed(ServerSentEvent("word_delta", '{"type": "word_delta", "word": null}'))


def test_the_parts_manager_keeps_parts_by_key() -> None:
    parts = StreamParts()
    parts.add_text(1, "b")
    parts.add_arguments(0, '{"x"')
    parts.add_arguments(0, ": 1}")
    parts.add_text(1, "c")
    assert [key for key, _ in parts.by_key()] == [0, 1]
    assert [part.kind for part in parts] == ["text", "tool_call"]  # in order of arrival
    assert (parts.get(0).arguments, parts.get(1).text) == ('{"x": 1}', "bc")  # type: ignore[union-attr]
    parts.start(1, "thinking")  # a key used again starts afresh
    assert parts.get(1).text == ""  # type: ignore[union-attr]
    assert len(parts) == 2
