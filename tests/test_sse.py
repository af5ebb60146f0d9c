"""Server-sent events from byte chunks: the same events as httpx-sse, however the body is cut.

The transports hand over a body in whatever chunks the network made; `EventParser`
must give the same events for every cut (a CRLF split in two, a UTF-8 character split
in two) as httpx-sse's own decoders give for the whole text at once.
"""

from __future__ import annotations

import itertools

from httpx_sse._decoders import SSEDecoder, SSELineDecoder
from hypothesis import given, settings
from hypothesis import strategies as st

from agentloop.providers.sse import EventParser, iter_events

FIELD = st.sampled_from(["data", "event", "id", "retry", ":comment", "other", "data"])
VALUE = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12).map(
    lambda text: text.replace("\r", "").replace("\n", "")
)
NEWLINE = st.sampled_from(["\n", "\r\n", "\r"])
LINE = st.tuples(FIELD, st.sampled_from([": ", ":", ""]), VALUE, NEWLINE).map("".join)
BLANK = NEWLINE
BODY = st.lists(st.one_of(LINE, BLANK), max_size=30).map("".join)


def httpx_sse_events(text: str) -> list[tuple[str, str, str, int | None]]:
    lines = SSELineDecoder()
    decoder = SSEDecoder()
    found = []
    for line in [*lines.decode(text), *lines.flush()] if text else []:
        event = decoder.decode(line.rstrip("\n"))
        if event is not None:
            found.append((event.event, event.data, event.id, event.retry))
    return found


def ours(chunks: list[bytes]) -> list[tuple[str, str, str, int | None]]:
    return [(e.event, e.data, e.id, e.retry) for e in iter_events(chunks)]


def cut(data: bytes, points: list[int]) -> list[bytes]:
    edges = sorted({0, len(data), *(p % (len(data) + 1) for p in points)})
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@settings(max_examples=300, deadline=None)
@given(body=BODY, points=st.lists(st.integers(min_value=0), max_size=8))
def test_any_cut_of_a_body_gives_httpx_sses_events(body: str, points: list[int]) -> None:
    data = body.encode()
    assert ours(cut(data, points)) == httpx_sse_events(body)


def test_a_crlf_and_a_character_split_between_chunks() -> None:
    data = "data: caf\u00e9\r\n\r\ndata: two\r\n\r\n".encode()
    split_e_acute = data.index(b"\xa9")  # between the two bytes of the e-acute
    split_crlf = data.index(b"\r\n\r\n") + 1  # between a CR and its LF
    chunks = cut(data, [split_e_acute, split_crlf])
    assert [e.data for e in iter_events(chunks)] == ["caf\u00e9", "two"]


def test_an_event_not_closed_by_a_blank_line_is_dropped() -> None:
    parser = EventParser()
    assert [e.data for e in parser.feed(b"data: one\n\ndata: cut off")] == ["one"]


def test_multi_line_data_event_names_and_ids() -> None:
    body = b"event: delta\nid: 7\ndata: a\ndata: b\n\n: a comment\ndata: c\n\n"
    events = list(iter_events([body]))
    assert [(e.event, e.data, e.id) for e in events] == [
        ("delta", "a\nb", "7"),
        ("message", "c", "7"),  # the id carries over, the name does not
    ]
