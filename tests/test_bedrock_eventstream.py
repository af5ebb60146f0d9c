"""The AWS event-stream framing of ConverseStream, and a Bedrock stream's faults.

The parser is fed recorded frames in every split, corrupted frames (a typed error, never
wrong text), and frames with header types Bedrock does not send today; the model meets an
exception event, a stream cut short and a malformed event over the local server.
"""

from __future__ import annotations

import json
import struct
import zlib

import bedrock_wire
import cassettes
import pytest
from bedrock_wire import EVENT_STREAM, reply
from local_server import LocalServer

import agentloop
from agentloop import Message, Request
from agentloop.errors import ResponseFormatError, StreamIncomplete
from agentloop.providers.bedrock.eventstream import EventStreamParser, encode_frame


def recorded_stream() -> bytes:
    (interaction,) = (
        it for it in cassettes.more("bedrock") if it.file == "bedrock/converse_stream_text.yaml"
    )
    return interaction.response_body


def parse(*chunks: bytes) -> list[tuple[str, str]]:
    parser = EventStreamParser("bedrock")
    return [(e.event, e.data) for chunk in chunks for e in parser.feed(chunk)]


def test_recorded_frames_read_the_same_in_any_split() -> None:
    body = recorded_stream()
    whole = parse(body)
    independent = [(kind, data) for kind, data in bedrock_wire.aws_events(body)]
    assert [(kind, json.loads(data)) for kind, data in whole] == independent
    assert len(whole) == 33
    for size in (1, 2, 7, 64):
        pieces = [body[i : i + size] for i in range(0, len(body), size)]
        assert parse(*pieces) == whole, size


@pytest.mark.parametrize(
    ("where", "problem"),
    [(2, "prelude checksum"), (9, "prelude checksum"), (60, "message checksum"), (-1, "message")],
)
def test_a_corrupted_byte_is_a_format_error(where: int, problem: str) -> None:
    frame = bytearray(encode_frame("contentBlockDelta", b'{"delta":{"text":"Hi"}}'))
    frame[where] ^= 0x20
    with pytest.raises(ResponseFormatError, match=problem) as info:
        parse(bytes(frame))
    assert info.value.provider == "bedrock"
    assert str(info.value).startswith("bedrock")


def test_an_impossible_length_is_refused_before_it_is_buffered() -> None:
    prelude = struct.pack(">II", 1 << 30, 10)
    with pytest.raises(ResponseFormatError, match="announces 1073741824 bytes"):
        parse(prelude + struct.pack(">I", zlib.crc32(prelude)))
    short = struct.pack(">II", 20, 10)  # headers longer than the frame leaves them
    with pytest.raises(ResponseFormatError, match="announces 20 bytes"):
        parse(short + struct.pack(">I", zlib.crc32(short)) + bytes(8))


def test_header_types_bedrock_does_not_send_today_are_skipped() -> None:
    extra = (
        b"\x04flag\x00"  # bool true, no value
        + b"\x04when\x08"
        + struct.pack(">q", 1700000000000)  # timestamp
        + b"\x03raw\x06"
        + struct.pack(">H", 3)
        + b"abc"  # bytes
    )
    frame = bytearray(encode_frame("messageStop", b'{"stopReason":"end_turn"}'))
    (headers_length,) = struct.unpack_from(">I", frame, 4)
    body = bytes(frame[12 : 12 + headers_length]) + extra + bytes(frame[12 + headers_length : -4])
    total = 12 + len(body) + 4
    prelude = struct.pack(">II", total, headers_length + len(extra))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    rebuilt = prelude + body
    rebuilt += struct.pack(">I", zlib.crc32(rebuilt))
    assert parse(rebuilt) == [("messageStop", '{"stopReason":"end_turn"}')]
    bad = bytearray(rebuilt)
    bad[12 + headers_length + 5] = 42  # "flag" of an unknown type
    bad[-4:] = struct.pack(">I", zlib.crc32(bytes(bad[:-4])))
    with pytest.raises(ResponseFormatError, match="unknown value type 42"):
        parse(bytes(bad))


def stream(server: LocalServer, body: bytes, **options: object) -> list[object]:
    server.reply(body, headers=EVENT_STREAM, **options)
    model = bedrock_wire.model(server, api_key=bedrock_wire.BEARER)
    return list(model.stream(Request([Message.user("Hi")])))


def test_an_exception_event_mid_stream_is_its_typed_error(local_server: LocalServer) -> None:
    start = encode_frame("messageStart", b'{"role":"assistant"}')
    hello = encode_frame("contentBlockDelta", b'{"contentBlockIndex":0,"delta":{"text":"Hi"}}')
    throttled = encode_frame(
        "throttlingException", b'{"message":"Too many tokens, please wait."}', "exception"
    )
    cut = start + hello
    with pytest.raises(agentloop.RateLimitError, match="Too many tokens") as info:
        stream(local_server, cut + throttled)
    assert info.value.error_type == "throttlingException"
    assert len(local_server.requests) == 1


def test_a_stream_cut_short_keeps_its_text(local_server: LocalServer) -> None:
    frames = b"".join(
        encode_frame(kind, json.dumps(data).encode())
        for kind, data in bedrock_wire.events(reply([{"text": "Hello there"}]))
        if kind not in ("messageStop", "metadata")
    )
    with pytest.raises(StreamIncomplete, match="messageStop and metadata") as info:
        stream(local_server, frames)
    assert info.value.partial_text == "Hello there"


def test_a_stream_broken_mid_frame_is_incomplete(local_server: LocalServer) -> None:
    frames = bedrock_wire.frames(reply([{"text": "Hello there"}]))
    with pytest.raises(StreamIncomplete):
        stream(local_server, frames, truncate_at=len(frames) - 30, promise_more=True)


def test_a_malformed_event_names_its_field(local_server: LocalServer) -> None:
    start = encode_frame("messageStart", b'{"role":"assistant"}')
    bad = encode_frame("contentBlockDelta", b'{"contentBlockIndex":0,"delta":{"text":5}}')
    with pytest.raises(ResponseFormatError) as info:
        stream(local_server, start + bad)
    assert str(info.value) == (
        "bedrock: reply field contentBlockDelta.delta.text should be a string, got an integer (5)"
    )


def test_an_error_before_the_stream_is_the_error_bedrock_names(local_server: LocalServer) -> None:
    body = {"message": "Malformed input request: #: extraneous key [bogus] is not permitted"}
    headers = {"x-amzn-errortype": "ValidationException:http://internal.amazon.com/coral/"}
    local_server.reply(body, status=400, headers=headers)
    model = bedrock_wire.model(local_server, api_key=bedrock_wire.BEARER)
    with pytest.raises(agentloop.BadRequestError, match="extraneous key") as info:
        list(model.stream(Request([Message.user("Hi")])))
    assert info.value.error_type == "ValidationException"
    local_server.reply(
        {"message": "Rate exceeded"}, 429, {"x-amzn-errortype": "ThrottlingException"}
    )
    local_server.reply(reply([{"text": "Done"}]))
    assert model.prompt("Hi").text() == "Done"  # a 429 is retried
