"""Gemini's streamed replies: chunks to deltas, then one reply (pure, stateful).

With ``alt=sse`` every ``data:`` event is a whole ``GenerateContentResponse``
holding the next piece of the output: text and thought parts arrive in pieces,
function calls whole. The decoder joins the pieces back into the parts a
non-streamed reply would have held and decodes them the same way, so a streamed
reply round-trips into the next request exactly like a plain one. Usage comes
from the last chunk that carried it (Gemini's counts are running totals), and so does a
candidate's grounding metadata (earlier chunks send it empty).

Without ``alt=sse`` Gemini streams one JSON array instead; `json_array_events`
reads that body as the same events.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from agentloop.errors import ProviderError, StreamIncomplete
from agentloop.messages import GEMINI
from agentloop.providers.base import Delta, Reply
from agentloop.providers.gemini.reply import READ, decode_reply
from agentloop.providers.gemini.server_tools import metadata_of
from agentloop.providers.sse import ServerSentEvent
from agentloop.providers.wire_json import load_reply, scrub

#: Builds the typed error for an error object sent inside the stream: (status, body).
ErrorFactory = Callable[[int, str], ProviderError]


class GeminiStreamDecoder:
    """Feed it the stream's events; `finish` gives the reply."""

    def __init__(self, on_error: ErrorFactory) -> None:
        self.partial_text = ""
        self._on_error = on_error
        self._parts: list[dict[str, Any]] = []
        self._finish_reason: Any = None
        self._block_reason: Any = None
        self._usage: Any = None
        self._model: Any = None
        self._metadata: dict[str, Any] = {}
        self._chunks = 0

    def feed(self, event: ServerSentEvent) -> list[Delta]:
        if not event.data.strip():
            return []
        data = load_reply(event.data, provider=GEMINI, what="a stream chunk")
        path = f"chunks[{self._chunks}]"
        self._chunks += 1
        chunk = READ.object(data, path)
        if "error" in chunk:
            raise self._error(chunk["error"], event.data)
        self._usage = chunk.get("usageMetadata", self._usage)
        self._model = chunk.get("modelVersion", self._model)
        candidates = chunk.get("candidates")
        if not candidates:
            feedback = chunk.get("promptFeedback")
            if isinstance(feedback, dict) and feedback.get("blockReason"):
                self._block_reason = feedback["blockReason"]
            return []
        candidates = READ.list(candidates, f"{path}.candidates")
        candidate = READ.object(candidates[0], f"{path}.candidates[0]")
        self._finish_reason = candidate.get("finishReason", self._finish_reason)
        self._metadata.update(metadata_of(candidate))
        content = candidate.get("content")
        if content is None:
            return []
        path += ".candidates[0].content"
        parts = READ.list(READ.object(content, path).get("parts", []), f"{path}.parts")
        return [d for i, p in enumerate(parts) if (d := self._add(p, f"{path}.parts[{i}]"))]

    def finish(self) -> Reply:
        if self._finish_reason is None and self._block_reason is None:
            raise StreamIncomplete(
                "the stream ended before Gemini sent a finishReason",
                provider=GEMINI,
                partial_text=self.partial_text,
            )
        response: dict[str, Any] = {"usageMetadata": self._usage, "modelVersion": self._model}
        if self._finish_reason is not None:
            content = {"role": "model", "parts": self._parts}
            candidate = {"content": content, "finishReason": self._finish_reason}
            response["candidates"] = [{**candidate, **self._metadata}]
        else:
            response["promptFeedback"] = {"blockReason": self._block_reason}
        return decode_reply(response)

    def _add(self, raw: Any, path: str) -> Delta | None:
        part = READ.object(raw, path)
        if isinstance(part.get("text"), str):  # shown as it arrives, so mended here
            part = {**part, "text": scrub(part["text"])}
        if self._parts and _continues(self._parts[-1], part):
            last = self._parts[-1]
            self._parts[-1] = {**last, **part, "text": last["text"] + part["text"]}
        else:
            self._parts.append(dict(part))
        text = part.get("text")
        if not isinstance(text, str) or not text:
            return None
        if part.get("thought") is True:
            return Delta(text, "thinking")
        self.partial_text += text
        return Delta(text)

    def _error(self, error: Any, data: str) -> ProviderError:
        code = error.get("code") if isinstance(error, dict) else None
        status = code if isinstance(code, int) and not isinstance(code, bool) else 500
        return self._on_error(status, data)


def _continues(previous: dict[str, Any], part: dict[str, Any]) -> bool:
    """Whether ``part`` is the next piece of the text in ``previous``: both plain text of
    the same kind, and ``previous`` not closed by a signature yet."""
    return (
        set(previous) - {"thought"} == {"text"}
        and set(part) - {"thought", "thoughtSignature"} == {"text"}
        and isinstance(previous["text"], str)
        and isinstance(part["text"], str)
        and previous.get("thought") == part.get("thought")
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
