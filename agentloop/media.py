"""Images and files: loading from a path, URL, bytes or ``data:`` URL, and MIME sniffing.

A media part holds either the bytes themselves or a URL. Paths are read when
the part is made, so a missing file fails at once, naming the path. URLs are
kept as URLs (most providers fetch them themselves). A codec never downloads:
each says which URL-only parts it must inline (``media_to_fetch``), and
`HTTPModel` fetches those through its transport before encoding
(``providers/media_fetch.py``); the bytes are cached on the part. ``read()`` and
``aread()`` here are the same fetch for a caller's own code, over httpx.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import os
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import unquote, urlparse

from agentloop.downloads import MAX_DOWNLOAD_BYTES, download, download_async, shown_url
from agentloop.errors import MediaError, MediaNotFoundError, SerializationError

if TYPE_CHECKING:
    import httpx

#: Schemes that name a remote resource rather than a local path.
URL_SCHEMES = ("http://", "https://", "gs://")

__all__ = ["MAX_DOWNLOAD_BYTES", "Attachment", "File", "Image", "Media"]


_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    # (magic bytes, offset, MIME type)
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"%PDF-", 0, "application/pdf"),
    (b"ID3", 0, "audio/mpeg"),
    (b"\xff\xfb", 0, "audio/mpeg"),
    (b"\xff\xf3", 0, "audio/mpeg"),
    (b"OggS", 0, "audio/ogg"),
    (b"fLaC", 0, "audio/flac"),
    (b"\x1aE\xdf\xa3", 0, "video/webm"),
    (b"BM", 0, "image/bmp"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
    (b"PK\x03\x04", 0, "application/zip"),
)


def sniff_media_type(data: bytes) -> str | None:
    """The MIME type announced by ``data``'s magic bytes, or None."""
    head = data[:32]
    if head[:4] == b"RIFF" and len(head) >= 12:
        kind = head[8:12]
        return {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}.get(kind)
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1"):
            return "image/heic"
        if brand.startswith(b"M4A"):
            return "audio/mp4"
        if brand.startswith(b"qt"):
            return "video/quicktime"
        return "video/mp4"
    for magic, offset, media_type in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return media_type
    return None


def guess_media_type(name: str) -> str | None:
    """The MIME type suggested by a file name or URL path's extension."""
    path = urlparse(name).path if name.startswith(URL_SCHEMES) else name
    guessed, _ = mimetypes.guess_type(PurePosixPath(unquote(path)).name, strict=False)
    if guessed is None and path.lower().endswith(".webp"):
        return "image/webp"
    return guessed


def read_path(path: Path, what: str) -> bytes:
    """The bytes of the file at ``path``; a missing one raises MediaNotFoundError naming it."""
    if not path.is_file():
        state = "is not a file" if path.exists() else "does not exist"
        raise MediaNotFoundError(f"{what} path {str(path)!r} {state}")
    return path.read_bytes()


def parse_data_url(url: str) -> tuple[bytes, str | None]:
    """Split a ``data:`` URL into its bytes and declared MIME type."""
    try:
        header, payload = url[5:].split(",", 1)
    except ValueError:
        raise MediaError(f"Malformed data URL (no comma): {url[:40]}...") from None
    params = header.split(";")
    media_type = params[0] or None
    if "base64" in params[1:]:
        return decode_base64(payload, what="data URL"), media_type
    return unquote(payload).encode("utf-8"), media_type


def decode_base64(text: str, *, what: str = "base64 data") -> bytes:
    """Decode standard or URL-safe base64, with or without padding."""
    cleaned = "".join(text.split())
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        if "-" in cleaned or "_" in cleaned:
            return base64.urlsafe_b64decode(cleaned)
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MediaError(f"Invalid {what}: {exc}") from None


def encode_base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


Source = str | bytes | os.PathLike[str]


class Media:
    """Shared behaviour of [`Image`][agentloop.Image] and [`File`][agentloop.File].

    Exactly one of ``data`` (the bytes) and ``url`` is set, except after a URL
    has been downloaded, when both are, and for a reference to a file stored by a
    provider (an OpenAI ``file_id``), when neither is and ``extra`` holds the reference.
    """

    __slots__ = ("data", "extra", "filename", "media_type", "url")

    kind = "media"
    default_media_type = "application/octet-stream"

    def __init__(
        self,
        source: Source | None = None,
        *,
        media_type: str | None = None,
        filename: str | None = None,
        data: bytes | None = None,
        url: str | None = None,
        extra: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.data: bytes | None = data
        self.url: str | None = url
        self.media_type: str | None = media_type
        self.filename: str | None = filename
        #: Provider-specific fields, keyed by wire format, kept so that a
        #: conversation imported from one provider exports back unchanged.
        self.extra: dict[str, dict[str, Any]] = extra if extra is not None else {}
        if source is not None:
            self._load(source)
        if self.data is None and self.url is None and not self.extra:
            raise MediaError(f"{type(self).__name__} needs a path, URL, bytes or data URL")
        if self.media_type is None and self.data is not None:
            self.media_type = sniff_media_type(self.data)
        if self.media_type is None and self.filename:
            self.media_type = guess_media_type(self.filename)

    def _load(self, source: Source) -> None:
        if isinstance(source, bytes | bytearray | memoryview):
            self.data = bytes(source)
            return
        if isinstance(source, str) and source.startswith("data:"):
            self.data, declared = parse_data_url(source)
            self.media_type = self.media_type or declared
            return
        if isinstance(source, str) and source.startswith(URL_SCHEMES):
            self.url = source
            if self.media_type is None:
                self.media_type = guess_media_type(source)
            return
        if isinstance(source, str | os.PathLike):
            path = Path(source).expanduser()
            self.data = read_path(path, type(self).__name__)
            self.filename = self.filename or path.name
            self.media_type = (
                self.media_type or sniff_media_type(self.data) or guess_media_type(path.name)
            )
            return
        raise MediaError(
            f"{type(self).__name__} source must be a path, URL, bytes or data URL, "
            f"not {type(source).__name__}"
        )

    # -- reading -------------------------------------------------------------

    @property
    def mime_type(self) -> str:
        """The MIME type, falling back to a generic one when it is unknown."""
        return self.media_type or self.default_media_type

    def read(self, *, client: httpx.Client | None = None) -> bytes:
        """The bytes, downloading (once) when the part only holds a URL."""
        if self.data is None:
            self.keep_download(*download(self._url_to_fetch(), client))
        assert self.data is not None
        return self.data

    async def aread(self, *, client: httpx.AsyncClient | None = None) -> bytes:
        """Async twin of `read`."""
        if self.data is None:
            self.keep_download(*await download_async(self._url_to_fetch(), client))
        assert self.data is not None
        return self.data

    def _url_to_fetch(self) -> str:
        if self.url is None:
            raise MediaError(
                f"{type(self).__name__} is a reference to a file stored by a provider "
                f"({self.extra}); it has no bytes or URL to send anywhere else"
            )
        return self.url

    def keep_download(self, data: bytes, declared: str | None) -> None:
        """Cache fetched bytes on the part (``declared``: the reply's content type)."""
        self.data = data
        self.media_type = self.media_type or sniff_media_type(data) or declared

    def fetched_data(self) -> bytes:
        """The bytes for a codec that inlines them. Never downloads: a URL-only part a codec
        inlines is fetched before encoding (the codec's ``media_to_fetch`` names it), so
        reaching here without bytes means that step was skipped."""
        if self.data is None:
            raise MediaError(
                f"the {type(self).__name__} {shown_url(self.url or '')} has no bytes yet: a "
                "codec never downloads; fetch them first (read() or await aread()), as "
                "models and Conversation.to_*() do"
            )
        return self.data

    def base64(self) -> str:
        return encode_base64(self.read())

    def data_url(self) -> str:
        return f"data:{self.mime_type};base64,{self.base64()}"

    # -- comparison and serialization ----------------------------------------

    def _key(self) -> tuple[Any, ...]:
        return (type(self), self.data, self.url, self.media_type, self.filename, self.extra)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Media):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self), self.data, self.url, self.media_type, self.filename))

    def __repr__(self) -> str:
        where = f"url={self.url!r}" if self.data is None else f"{len(self.data)} bytes"
        return f"{type(self).__name__}({where}, media_type={self.media_type!r})"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind}
        if self.data is not None:
            out["data"] = encode_base64(self.data)
        if self.url is not None:
            out["url"] = self.url
        if self.media_type is not None:
            out["media_type"] = self.media_type
        if self.filename is not None:
            out["filename"] = self.filename
        if self.extra:
            out["extra"] = self.extra
        return out

    @classmethod
    def _fields_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(d, dict):
            raise SerializationError(
                f"{_part_name(cls.kind)} must be a dict, got {type(d).__name__}"
            )
        fields = {key: _optional_str(d, key, cls.kind) for key in _STRING_FIELDS}
        extra = d.get("extra") or {}
        if not isinstance(extra, dict) or not all(isinstance(v, dict) for v in extra.values()):
            raise SerializationError(f"{_part_name(cls.kind)}'s 'extra' must be a dict of dicts")
        encoded = fields.pop("data")
        try:
            data = decode_base64(encoded) if encoded is not None else None
        except MediaError as exc:
            raise SerializationError(f"{_part_name(cls.kind)}'s 'data': {exc}") from None
        return {**fields, "data": data, "extra": {k: dict(v) for k, v in extra.items()}}

    @classmethod
    def _from_fields(cls, fields: dict[str, Any]) -> Self:
        try:
            return cls(**fields)
        except MediaError as exc:  # neither bytes nor a URL: not what to_dict() writes
            raise SerializationError(f"{_part_name(cls.kind)}: {exc}") from None


class Image(Media):
    """An image: ``Image("cat.png")``, ``Image("https://...")``, ``Image(raw_bytes)``.

    ``detail`` is OpenAI's resolution hint (``"low"``, ``"high"``, ``"auto"``);
    other providers ignore it.
    """

    __slots__ = ("detail",)

    kind = "image"
    default_media_type = "image/jpeg"

    def __init__(
        self,
        source: Source | None = None,
        *,
        media_type: str | None = None,
        detail: str | None = None,
        filename: str | None = None,
        data: bytes | None = None,
        url: str | None = None,
        extra: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(
            source, media_type=media_type, filename=filename, data=data, url=url, extra=extra
        )
        self.detail = detail

    def _key(self) -> tuple[Any, ...]:
        return (*super()._key(), self.detail)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if self.detail is not None:
            out["detail"] = self.detail
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Image:
        fields = cls._fields_from_dict(d)
        return cls._from_fields({**fields, "detail": _optional_str(d, "detail", cls.kind)})


class File(Media):
    """A document or other file: ``File("report.pdf", filename="Q4_Report.pdf")``.

    ``filename`` is what the provider is told the file is called; it defaults
    to the name of the path it was read from.
    """

    __slots__ = ()

    kind = "file"

    def __init__(
        self,
        source: Source | None = None,
        filename: str | None = None,
        *,
        media_type: str | None = None,
        data: bytes | None = None,
        url: str | None = None,
        extra: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(
            source, media_type=media_type, filename=filename, data=data, url=url, extra=extra
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> File:
        return cls._from_fields(cls._fields_from_dict(d))


_STRING_FIELDS = ("data", "url", "media_type", "filename")


def _optional_str(d: dict[str, Any], key: str, kind: str) -> str | None:
    value = d.get(key)
    if value is not None and not isinstance(value, str):
        got = f"{type(value).__name__} {value!r:.40}"
        raise SerializationError(f"{_part_name(kind)}'s {key!r} must be a string, got {got}")
    return value


def _part_name(kind: str) -> str:
    return f"{'An' if kind[0] in 'aeiou' else 'A'} {kind} part"


def media_from(source: Media | Source, kind: type[Media]) -> Media:
    """Accept an existing part or anything its constructor takes."""
    if isinstance(source, Media):
        return source
    return kind(source)


class Attachment:
    """An attachment in the style of ``llm``: ``Attachment(path=...)``, ``url=`` or ``content=``.

    ``type`` is the MIME type; when omitted it is sniffed from the bytes (magic
    numbers first, then the file name's extension), or guessed from a URL's
    extension. Images become [`Image`][agentloop.Image] parts and everything else
    [`File`][agentloop.File] parts. A path is read when the attachment is made, so a
    missing file fails at once, naming the path; a URL is never downloaded here.
    """

    __slots__ = ("_part", "content", "path", "type", "url")

    def __init__(
        self,
        *,
        path: str | os.PathLike[str] | None = None,
        url: str | None = None,
        content: bytes | None = None,
        type: str | None = None,
    ) -> None:
        given = [x for x in (path, url, content) if x is not None]
        if len(given) != 1:
            raise MediaError("Attachment takes exactly one of path=, url= or content=")
        self.path = path
        self.url = url
        self.content = content
        self.type = type
        self._part = _as_image_if_image(self._load())

    def _load(self) -> File:
        if self.path is not None:
            if not isinstance(self.path, str | os.PathLike):
                raise MediaError(f"Attachment path= takes a path, not {_kind_of(self.path)}")
            if isinstance(self.path, str) and self.path.startswith((*URL_SCHEMES, "data:")):
                # attachments=["https://..."] arrives here: a bare string may be a URL.
                return File(self.path, media_type=self.type)
            path = Path(self.path).expanduser()
            data = read_path(path, "Attachment")
            return File(data=data, filename=path.name, media_type=self._media_type(data, path.name))
        if self.url is not None:
            if not isinstance(self.url, str) or not self.url.startswith((*URL_SCHEMES, "data:")):
                raise MediaError(
                    "Attachment url= takes an http(s)://, gs:// or data: URL, "
                    f"not {self.url!r:.60}; for a local file use path="
                )
            return File(self.url, media_type=self.type)
        if not isinstance(self.content, bytes | bytearray | memoryview):
            text = isinstance(self.content, str)
            hint = "; encode text first, content=text.encode()" if text else ""
            raise MediaError(f"Attachment content= takes bytes, not {_kind_of(self.content)}{hint}")
        data = bytes(self.content)
        if not data:
            raise MediaError("Attachment content= is empty")
        return File(data=data, media_type=self._media_type(data, None))

    def _media_type(self, data: bytes, name: str | None) -> str | None:
        return self.type or sniff_media_type(data) or (guess_media_type(name) if name else None)

    def to_part(self) -> Image | File:
        """The part this attachment adds to a message."""
        return self._part

    def __repr__(self) -> str:
        what = (
            f"path={self.path!r}"
            if self.path is not None
            else f"url={self.url!r}"
            if self.url
            else "content=..."
        )
        return f"Attachment({what})"


def _as_image_if_image(part: File) -> Image | File:
    if not part.mime_type.startswith("image/"):
        return part
    return Image(data=part.data, url=part.url, media_type=part.media_type, filename=part.filename)


def _kind_of(value: object) -> str:
    return f"{type(value).__name__} {value!r:.40}"
