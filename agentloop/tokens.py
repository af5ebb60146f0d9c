"""Token estimates: what one request will cost before it is sent (rate limits, budgets).

A token budget must be charged before the provider says what a call cost, so
each request is estimated from what it carries: the text of every message
(split the way byte-pair tokenizers pre-split text), the tool definitions on
offer (name, description and JSON schema), tool calls and their results, the
structured-output schema, and media (an image by its pixel size, a PDF by its
pages, audio and video by their length). The output is reserved at ``max_tokens``
when set. The estimate is then replaced by the usage the provider reports (see
`agentloop.batch.limits`).

How a provider charges media is its own published rule: a `TokenRules`, which each codec
package gives its models (``model.token_rules``); the budgets, the batch's rate limiter and
`agentloop.token_count` ask the model for it. The defaults here are neutral ones, for a
model that says nothing (a `TestModel`, a custom model).

Pure functions only: nothing here downloads a URL or reads a file.
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agentloop.media import File, Image, Media
from agentloop.messages import Message, ProviderPart, Text, Thinking, ToolCall, ToolResult
from agentloop.providers.base import Request

#: Output reserved for a call that sets no ``max_tokens``.
DEFAULT_OUTPUT_TOKENS = 512
#: Role markers and separators around each message (3-4 in the published counts).
MESSAGE_OVERHEAD = 4
#: The tokens that prime the assistant's answer.
REPLY_OVERHEAD = 3
#: Wrapping of one tool definition (type, function, name and parameters keys).
TOOL_OVERHEAD = 8

#: Assumed size of an image whose pixels we cannot see (a URL, an unknown format).
UNKNOWN_IMAGE_SIZE = (1024, 1024)
#: Assumed pages of a PDF we cannot see.
UNKNOWN_PDF_PAGES = 5
#: Bitrates used to turn a file's size into seconds when its header does not say.
AUDIO_BYTES_PER_SECOND = 16_000  # 128 kbit/s
VIDEO_BYTES_PER_SECOND = 250_000  # 2 Mbit/s
#: A file whose bytes we cannot see (a URL or a provider's file id).
UNKNOWN_FILE_TOKENS = 1000

#: The neutral image rule: a vision encoder's square patches of this side, one token each,
#: the image first fitted within `PATCH_FIT` pixels on its long side.
PATCH_SIDE = 28
PATCH_FIT = 1568


def patch_image_tokens(width: int, height: int, _detail: str | None = None) -> int:
    """Tokens of an image under the neutral rule (one per patch, whatever the detail)."""
    scale = min(1.0, PATCH_FIT / max(width, height, 1))
    return max(1, math.ceil(width * scale / PATCH_SIDE) * math.ceil(height * scale / PATCH_SIDE))


@dataclass(frozen=True, slots=True)
class TokenRules:
    """How one wire format's provider charges what a request carries, for the estimates.

    Each codec package gives its own (``providers/<format>/tokens.py``); the defaults are
    neutral, close to what the published rules have in common.
    """

    #: The wire format whose provider parts are sent back whole (their JSON is counted);
    #: another format's are read as their text rendering. None: every one as its rendering.
    wire_format: str | None = None
    #: Tokens of a ``width`` x ``height`` image, given its ``detail`` hint (or None).
    image: Callable[[int, int, str | None], int] = patch_image_tokens
    #: Tokens per PDF page (its text plus the page's image, for most providers).
    pdf_page: int = 2000
    #: Tokens per second of audio and of video.
    audio_per_second: int = 32
    video_per_second: int = 263


#: The rules of a model that gives none.
DEFAULT_RULES = TokenRules()

# The pre-split of byte-pair tokenizers: letter runs, digit runs, punctuation
# runs, whitespace. A space before a word merges into the word's token.
_PIECES = re.compile(r"[^\W\d_]+|\d+|\s+|[^\w\s]+|_+")


def text_tokens(text: str) -> int:
    """Tokens of ``text``, as byte-pair tokenizers split it.

    Common words are one token each (long or rare ones one per six letters),
    digits come in groups of three, punctuation runs in pairs, and every
    character outside ASCII (CJK, emoji) is about one token.
    """
    count = 0
    for piece in _PIECES.findall(text):
        first = piece[0]
        if first.isspace():
            count += 0 if piece == " " else 1
        elif first.isdigit():
            count += math.ceil(len(piece) / 3)
        elif first.isalpha():
            wide = sum(1 for c in piece if not c.isascii())
            narrow = len(piece) - wide
            count += wide + (math.ceil(narrow / 6) if narrow else 0)
        else:
            count += math.ceil(len(piece) / 2)
    return count


def json_tokens(value: Any) -> int:
    """Tokens of ``value`` as the JSON text a provider receives."""
    return text_tokens(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str))


def request_tokens(request: Request, rules: TokenRules = DEFAULT_RULES) -> int:
    """The whole estimate for one call: input as sent, plus the output reserved."""
    return input_tokens(request, rules) + output_tokens(request.options)


def input_tokens(request: Request, rules: TokenRules = DEFAULT_RULES) -> int:
    """The input: messages, tool definitions and the structured-output schema."""
    total = messages_tokens(request.messages, rules) + REPLY_OVERHEAD
    total += sum(tool_definition_tokens(t.name, t.description, t.parameters) for t in request.tools)
    if request.schema is not None:
        total += json_tokens(request.schema) + TOOL_OVERHEAD
    return total


def output_tokens(options: dict[str, Any]) -> int:
    """The output reserved: ``max_tokens`` (plus any thinking budget), else a default."""
    reserved = options.get("max_tokens")
    base = reserved if isinstance(reserved, int) and reserved > 0 else DEFAULT_OUTPUT_TOKENS
    thinking = options.get("thinking_budget")
    return base + (thinking if isinstance(thinking, int) and thinking > 0 else 0)


def tool_definition_tokens(name: str, description: str, parameters: dict[str, Any]) -> int:
    return text_tokens(name) + text_tokens(description) + json_tokens(parameters) + TOOL_OVERHEAD


def messages_tokens(messages: Sequence[Message], rules: TokenRules = DEFAULT_RULES) -> int:
    return sum(message_tokens(m, rules) for m in messages)


def message_tokens(message: Message, rules: TokenRules = DEFAULT_RULES) -> int:
    total = MESSAGE_OVERHEAD
    for part in message.parts:
        if isinstance(part, Text | Thinking):
            total += text_tokens(part.text)
        elif isinstance(part, ProviderPart):
            # Sent back whole to its own provider; its rendering is what the others read.
            total += text_tokens(
                json.dumps(part.payload) if part.provider == rules.wire_format else part.text
            )
        elif isinstance(part, ToolCall):
            total += text_tokens(part.name) + text_tokens(part.arguments_json()) + 4
        elif isinstance(part, ToolResult):
            total += text_tokens(part.output) + 4
            total += sum(media_tokens(a, rules) for a in part.attachments)
        else:
            total += media_tokens(part, rules)
    return total


def media_tokens(media: Media, rules: TokenRules = DEFAULT_RULES) -> int:
    """An image by its pixels, a PDF by its pages, audio and video by their length."""
    if isinstance(media, Image) or media.mime_type.startswith("image/"):
        size = image_size(media.data) if media.data is not None else None
        detail = media.detail if isinstance(media, Image) else None
        return rules.image(*(size or UNKNOWN_IMAGE_SIZE), detail)
    assert isinstance(media, File)
    return file_tokens(media, rules)


def file_tokens(file: File, rules: TokenRules = DEFAULT_RULES) -> int:
    mime = file.mime_type
    data = file.data
    if mime == "application/pdf":
        pages = pdf_pages(data) if data is not None else UNKNOWN_PDF_PAGES
        return max(1, pages) * rules.pdf_page
    if data is None:
        return UNKNOWN_FILE_TOKENS
    if mime.startswith("audio/"):
        seconds = wav_seconds(data) or len(data) / AUDIO_BYTES_PER_SECOND
        return math.ceil(seconds * rules.audio_per_second)
    if mime.startswith("video/"):
        return math.ceil(len(data) / VIDEO_BYTES_PER_SECOND * rules.video_per_second)
    if _is_text(mime):
        return text_tokens(data.decode("utf-8", "replace"))
    return math.ceil(len(data) / 4)  # opaque bytes: the provider sees them as text at best


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) read from a PNG, GIF, JPEG or WebP header, or None."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
            width, height = struct.unpack(">II", data[16:24])
            return int(width), int(height)
        if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
            width, height = struct.unpack("<HH", data[6:10])
            return int(width), int(height)
        if data[:3] == b"\xff\xd8\xff":
            return _jpeg_size(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp_size(data)
    except struct.error:
        return None
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    # Walk the segments to a start-of-frame marker (C0-CF, except C4, C8 and CC).
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        if marker == 0xFF:  # fill byte
            index += 1
            continue
        length = struct.unpack(">H", data[index + 2 : index + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return int(width), int(height)
        index += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return int(width & 0x3FFF), int(height & 0x3FFF)
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None


def pdf_pages(data: bytes) -> int:
    """Pages of a PDF, counted from its page objects (0 if none are found)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))


def wav_seconds(data: bytes) -> float | None:
    """The duration of a WAV file from its header, or None for other formats."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE" or len(data) < 44:
        return None
    byte_rate = int.from_bytes(data[28:32], "little")
    return (len(data) - 44) / byte_rate if byte_rate else None


_TEXT_TYPES = ("application/json", "application/xml", "application/x-yaml", "application/csv")


def _is_text(mime: str) -> bool:
    return mime.startswith("text/") or mime in _TEXT_TYPES or mime.endswith("+json")
