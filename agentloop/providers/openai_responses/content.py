"""Content parts of Responses message items: ``input_text``, ``input_image``, ``input_file``.

Used for user and system content, assistant ``output_text``, and list-form tool outputs.
"""

from __future__ import annotations

from typing import Any

from agentloop.errors import MediaError
from agentloop.media import File, Image, guess_media_type
from agentloop.messages import Part, Text
from agentloop.providers.openai_responses.fields import (
    ITEM,
    READ,
    as_extra,
    cannot_carry,
    invalid,
    merge_kept,
    optional_string,
    own_fields,
    require_string,
    unread_fields,
)
from agentloop.providers.openai_responses.server_tools import citations
from agentloop.providers.wire_fields import MISSING

TEXT_TYPES = ("input_text", "output_text", "refusal")
# Responses input_file takes documents, text and spreadsheets; audio and video are refused.
UNSUPPORTED_FILE_TYPES = ("audio/", "video/")
HTTP_SCHEMES = ("http://", "https://")


def text_fields(part: Text) -> dict[str, Any]:
    return {key: value for key, value in own_fields(part.extra).items() if key != ITEM}


def encode_content_part(part: Part, role: str) -> dict[str, Any]:
    if isinstance(part, Text):
        fields = text_fields(part)
        kind = fields.pop("type", "output_text" if role == "assistant" else "input_text")
        return merge_kept(
            {"type": kind, "refusal" if kind == "refusal" else "text": part.text}, fields
        )
    if isinstance(part, Image):
        return encode_image(part)
    if isinstance(part, File):
        return encode_file(part)
    raise cannot_carry(part, f"{role} content")


def encode_image(image: Image) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "input_image"}
    if image.url is not None:
        item["image_url"] = http_url(image.url, "image")
    elif image.data is not None:
        item["image_url"] = image.data_url()
    if image.detail is not None:
        item["detail"] = image.detail
    return merge_kept(item, own_fields(image.extra))


def encode_file(file: File) -> dict[str, Any]:
    if file.mime_type.startswith(UNSUPPORTED_FILE_TYPES):
        raise invalid(
            f"the Responses API cannot take a {file.mime_type} File part "
            "(input_file takes documents, text and spreadsheets)"
        )
    item: dict[str, Any] = {"type": "input_file"}
    if file.url is not None:
        item["file_url"] = http_url(file.url, "file")
    elif file.data is not None:
        item["file_data"] = file.data_url()
    if file.filename is not None:
        item["filename"] = file.filename
    return merge_kept(item, own_fields(file.extra))


def http_url(url: str, what: str) -> str:
    if not url.startswith(HTTP_SCHEMES):
        raise invalid(f"the Responses API fetches only http(s) {what} URLs, not {url!r}")
    return url


def decode_content_part(part: Any, role: str, where: str) -> Part:
    part = READ.object(part, where)
    kind = require_string(part, "type", where)
    if kind in TEXT_TYPES:
        key = "refusal" if kind == "refusal" else "text"
        fields = unread_fields(part, ("type", key))
        if kind != ("output_text" if role == "assistant" else "input_text"):
            fields["type"] = kind
        text = require_string(part, key, where)
        return Text(text, as_extra(fields), citations(text, part.get("annotations")))
    if role == "assistant":
        READ.never(kind, "'output_text' or 'refusal' (in assistant content)", where, "type")
    if kind == "input_image":
        return decode_image(part, where)
    if kind == "input_file":
        return decode_file(part, where)
    raise READ.fail(f"{where}.type", "'input_text', 'input_image' or 'input_file'", kind)


def decode_image(part: dict[str, Any], where: str) -> Image:
    fields = unread_fields(part, ("type", "image_url", "detail"))
    url = optional_string(part, "image_url", where)
    detail = optional_string(part, "detail", where)
    if url is None and "file_id" not in fields:
        READ.never(MISSING, "a string (or a file_id beside it)", where, "image_url")
    try:
        if url is None or url.startswith("data:"):
            return Image(url, detail=detail, extra=as_extra(fields))
        return Image(
            url=url, media_type=guess_media_type(url), detail=detail, extra=as_extra(fields)
        )
    except MediaError as exc:
        raise READ.refuse(f"{where}.image_url", str(exc)) from None


def decode_file(part: dict[str, Any], where: str) -> File:
    fields = unread_fields(part, ("type", "file_data", "file_url", "filename"))
    data = optional_string(part, "file_data", where)
    url = optional_string(part, "file_url", where)
    filename = optional_string(part, "filename", where)
    if data is not None and not data.startswith("data:"):
        READ.never(data, "a data: URL (data:<type>;base64,...)", where, "file_data")
    if data is not None and url is not None:
        raise READ.refuse(where, "it has both file_data and file_url; give one")
    if data is None and url is None and "file_id" not in fields:
        raise READ.refuse(where, "it needs a file_data, file_url or file_id")
    try:
        if url is not None:
            media_type = guess_media_type(url)
            return File(url=url, filename=filename, media_type=media_type, extra=as_extra(fields))
        return File(data, filename, extra=as_extra(fields))
    except MediaError as exc:
        raise READ.refuse(f"{where}.file_data", str(exc)) from None


def decode_output_list(output: list[Any], where: str) -> tuple[str, list[Image | File]]:
    """The text and attachments of a list output; several texts are joined with newlines."""
    texts: list[str] = []
    media: list[Image | File] = []
    for index, entry in enumerate(output):
        part = decode_content_part(entry, "tool", f"{where}[{index}]")
        if isinstance(part, Text):
            if part.extra:
                READ.never(entry, "a plain input_text part (in a tool output)", where, index)
            texts.append(part.text)
        elif isinstance(part, Image | File):
            media.append(part)
    return "\n".join(texts), media
