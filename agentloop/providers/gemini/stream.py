"""Gemini's streamed replies: chunks to deltas, then one reply (pure, stateful).

Built on the wire kit's skeleton (`agentloop.providers.stream_decoder`): this module says
only what a chunk means. With ``alt=sse`` every ``data:`` event is a whole
``GenerateContentResponse`` holding the next piece of the output: text and thought parts
arrive in pieces, function calls whole. The decoder joins the pieces back into the parts a
non-streamed reply would have held and decodes them the same way, so a streamed
reply round-trips into the next request exactly like a plain one. Usage comes
from the last chunk that carried it (Gemini's counts are running totals), and so does a
candidate's grounding metadata (earlier chunks send it empty).

Without ``alt=sse`` Gemini streams one JSON array instead; `json_array_events`
reads that body as the same events.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from agentloop.errors import ProviderError
from agentloop.providers.base import Reply
from agentloop.providers.gemini.format import GEMINI
from agentloop.providers.gemini.reply import READ, decode_reply
from agentloop.providers.gemini.server_tools import metadata_of
from agentloop.providers.sse import ServerSentEvent
from agentloop.providers.stream_decoder import StreamDecoderBase, StreamPart
from agentloop.providers.wire_fields import Where, at
from agentloop.providers.wire_json import scrub

#: Builds the typed error for an error object sent inside the stream: (status, body).
ErrorFactory = Callable[[int, str], ProviderError]


class GeminiStreamDecoder(StreamDecoderBase):
    """Feed it the stream's events; `finish` gives the reply."""

    end_marker = "Gemini sent a finishReason"

    def __init__(self, on_error: ErrorFactory) -> None:
        super().__init__(GEMINI)
        self._on_error = on_error
        self._finish_reason: Any = None
        self._block_reason: Any = None
        self._usage: Any = None
        self._model: Any = None
        self._metadata: dict[str, Any] = {}
        self._last: StreamPart | None = None
        #: The ids made up for calls sent without one, in order: the reply gives them too.
        self._made_up: list[str] = []
        # Where the decoder is reading, written out only for an error message.
        self._path: Where = ""
        self._content_at = self._content_path

    def on_event(self, kind: str, data: dict[str, Any], path: Where) -> None:
        if "error" in data:
            raise self._error(data["error"], json.dumps(data, default=str))
        self._usage = data.get("usageMetadata", self._usage)
        self._model = data.get("modelVersion", self._model)
        self._path = path
        self._chunk(data)
        self.ended = self._finish_reason is not None or self._block_reason is not None

    def _content_path(self) -> str:
        return f"{at(self._path)}.candidates[0].content"

    def _chunk(self, chunk: dict[str, Any]) -> None:
        path = self._path
        candidates = chunk.get("candidates")
        if not candidates:
            feedback = chunk.get("promptFeedback")
            if isinstance(feedback, dict) and feedback.get("blockReason"):
                self._block_reason = feedback["blockReason"]
            return
        candidates = READ.list(candidates, path, "candidates")
        candidate = READ.object(candidates[0], lambda: f"{at(path)}.candidates", 0)
        self._finish_reason = candidate.get("finishReason", self._finish_reason)
        self._metadata.update(metadata_of(candidate))
        content = candidate.get("content")
        if content is None:
            return
        where = self._content_at
        parts = READ.list(READ.object(content, where).get("parts", []), where, "parts")
        for index, part in enumerate(parts):
            self._add(READ.object(part, lambda: f"{where()}.parts", index))

    def reply(self) -> Reply:
        response: dict[str, Any] = {"usageMetadata": self._usage, "modelVersion": self._model}
        if self._finish_reason is not None:
            parts = [_wire_part(part) for _, part in self.parts.by_key()]
            content = {"role": "model", "parts": parts}
            candidate = {"content": content, "finishReason": self._finish_reason}
            response["candidates"] = [{**candidate, **self._metadata}]
        else:
            response["promptFeedback"] = {"blockReason": self._block_reason}
        return decode_reply(response, made_up_ids=self._made_up)

    def _add(self, part: dict[str, Any]) -> None:
        text = part.get("text")
        if isinstance(text, str):
            text = scrub(text)  # shown as it arrives, so mended here
            last = self._last
            if last is not None and _continues(last, part):
                last.text += text
                if "thoughtSignature" in part:  # closing the text
                    last.fields["thoughtSignature"] = part["thoughtSignature"]
            else:
                fields = dict(part)
                del fields["text"]
                self._last = self.parts.start(len(self.parts), "text", fields)
                self._last.text = text
            if part.get("thought") is True:
                self.show_thinking(text)
            else:
                self.show_text(text)
        else:  # a call, media, or a text that is not one: the reply decoder reads it
            self._last = self.parts.start(len(self.parts), "part", part)
            self._show_call(self._last, part.get("functionCall"))

    def _show_call(self, part: StreamPart, call: Any) -> None:
        """A function call arrives whole: announced, its arguments shown in one fragment."""
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            return  # not a call, or one the reply decoder refuses
        call_id = call.get("id")
        if not isinstance(call_id, str):
            call_id = f"gemini_{uuid.uuid4().hex}"
            self._made_up.append(call_id)
        self.show_call(part, call_id, call["name"])
        self.add_arguments(part, json.dumps(call.get("args", {}), ensure_ascii=False))

    def _error(self, error: Any, data: str) -> ProviderError:
        code = error.get("code") if isinstance(error, dict) else None
        status = code if isinstance(code, int) and not isinstance(code, bool) else 500
        return self._on_error(status, data)


def _wire_part(part: StreamPart) -> dict[str, Any]:
    return {**part.fields, "text": part.text} if part.kind == "text" else part.fields


def _continues(previous: StreamPart, part: dict[str, Any]) -> bool:
    """Whether ``part`` is the next piece of the text in ``previous``: both plain text of
    the same kind, and ``previous`` not closed by a signature yet."""
    return (
        previous.kind == "text"
        and set(previous.fields) <= {"thought"}
        and set(part) - {"thought", "thoughtSignature"} == {"text"}
        and previous.fields.get("thought") == part.get("thought")
    )


def json_array_events(body: bytes) -> list[ServerSentEvent] | None:
    """The elements of a streamed JSON array (``[{...},\\r\\n{...}]``) as events.

    Reads up to the first element that does not parse: a body cut short keeps its
    complete elements, and the decoder then tells whether the reply had finished. An element
    too deep or holding too big a number is passed on as it is, for the decoder's loader to
    refuse with a typed error. None when the body is not JSON at all.
    """
    text = body.decode("utf-8", "replace")
    start = len(text) - len(text.lstrip())
    if not text[start:].startswith(("[", "{")):
        return None
    decoder = json.JSONDecoder()
    position = start + 1 if text[start] == "[" else start
    events: list[ServerSentEvent] = []
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text) or text[position] == "]":
            return events
        try:
            _, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            return events
        except (RecursionError, ValueError):  # too deep, too big a number: the loader says so
            return [*events, ServerSentEvent(data=text[position:])]
        events.append(ServerSentEvent(data=text[position:end]))
        position = end
