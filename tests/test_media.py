"""Images and files load from a path, URL, bytes or data URL, and know their MIME type."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
import respx

from agentloop import Attachment, File, Image, MediaError, MediaNotFoundError
from agentloop.media import decode_base64, guess_media_type, sniff_media_type

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 8
PDF = b"%PDF-1.7\n"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (b"GIF89a....", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wav"),
        (PDF, "application/pdf"),
        (b"ID3\x03\x00", "audio/mpeg"),
        (b"\x00\x00\x00\x20ftypisom", "video/mp4"),
        (b"plain words", None),
    ],
)
def test_magic_bytes_identify_common_formats(data: bytes, expected: str | None) -> None:
    assert sniff_media_type(data) == expected


def test_magic_bytes_win_over_a_misleading_extension(tmp_path: Path) -> None:
    path = tmp_path / "actually-a-png.jpg"
    path.write_bytes(PNG)
    assert Image(path).media_type == "image/png"


def test_extension_is_used_when_bytes_say_nothing(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    part = File(path)
    assert part.media_type == "text/plain"
    assert part.filename == "notes.txt"
    assert part.data == b"hello"


def test_missing_path_fails_at_once_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "bird.jpg"
    with pytest.raises(MediaNotFoundError, match=r"bird\.jpg") as info:
        Image(missing)
    assert isinstance(info.value, FileNotFoundError)


def test_a_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(MediaNotFoundError, match="is not a file"):
        File(tmp_path)


def test_url_is_kept_as_a_url_with_type_from_extension() -> None:
    image = Image("https://example.com/birds/pelican.webp")
    assert image.url == "https://example.com/birds/pelican.webp"
    assert image.data is None
    assert image.media_type == "image/webp"


def test_data_url_is_decoded() -> None:
    encoded = base64.b64encode(PNG).decode()
    image = Image(f"data:image/png;base64,{encoded}")
    assert image.data == PNG
    assert image.url is None
    assert image.data_url() == f"data:image/png;base64,{encoded}"


def test_percent_encoded_data_url() -> None:
    assert File("data:text/plain,hello%20world").data == b"hello world"


def test_malformed_data_url_is_a_media_error() -> None:
    with pytest.raises(MediaError, match="data URL"):
        Image("data:image/png;base64")
    with pytest.raises(MediaError, match="Invalid"):
        Image("data:image/png;base64,@@@@")


def test_base64url_is_accepted() -> None:
    raw = bytes(range(250, 256)) * 3
    assert decode_base64(base64.urlsafe_b64encode(raw).decode().rstrip("=")) == raw


def test_wrong_source_type_is_a_clear_error() -> None:
    with pytest.raises(MediaError, match="not int"):
        Image(42)  # type: ignore[arg-type]


def test_file_keeps_the_given_filename(tmp_path: Path) -> None:
    path = tmp_path / "r.pdf"
    path.write_bytes(PDF)
    part = File(path, filename="Q4_Report.pdf")
    assert part.filename == "Q4_Report.pdf"
    assert part.media_type == "application/pdf"


def test_guess_media_type_reads_url_paths_not_queries() -> None:
    assert guess_media_type("https://x.org/a/doc.pdf?version=2") == "application/pdf"


@respx.mock
def test_url_media_downloads_once_when_read() -> None:
    route = respx.get("https://example.com/doc").mock(
        return_value=httpx.Response(200, content=PDF, headers={"content-type": "application/pdf"})
    )
    part = File("https://example.com/doc")
    assert part.media_type is None
    assert part.read() == PDF
    assert part.read() == PDF
    assert route.call_count == 1
    assert part.media_type == "application/pdf"


@respx.mock
def test_failed_download_is_a_media_error() -> None:
    respx.get("https://example.com/gone.png").mock(return_value=httpx.Response(404))
    with pytest.raises(MediaError, match="HTTP 404"):
        Image("https://example.com/gone.png").read()


@respx.mock
async def test_async_read_downloads() -> None:
    respx.get("https://example.com/a.png").mock(return_value=httpx.Response(200, content=PNG))
    image = Image("https://example.com/a.png")
    assert await image.aread() == PNG


def test_attachment_becomes_image_or_file(tmp_path: Path) -> None:
    (tmp_path / "b.jpg").write_bytes(JPEG)
    (tmp_path / "d.pdf").write_bytes(PDF)
    assert isinstance(Attachment(path=tmp_path / "b.jpg").to_part(), Image)
    assert isinstance(Attachment(path=tmp_path / "d.pdf").to_part(), File)
    assert isinstance(Attachment(url="https://x.org/p.png").to_part(), Image)
    assert isinstance(Attachment(content=PDF).to_part(), File)
    forced = Attachment(content=b"raw", type="image/png").to_part()
    assert isinstance(forced, Image)
    assert forced.media_type == "image/png"


def test_attachment_needs_exactly_one_source() -> None:
    with pytest.raises(MediaError, match="exactly one"):
        Attachment()
    with pytest.raises(MediaError, match="exactly one"):
        Attachment(url="https://x.org/a.png", content=b"x")


def test_media_round_trips_through_dict() -> None:
    for part in (
        Image(PNG, detail="low"),
        Image("https://x.org/a.png"),
        File(PDF, "a.pdf", extra={"anthropic": {"cache_control": {"type": "ephemeral"}}}),
    ):
        rebuilt = type(part).from_dict(part.to_dict())
        assert rebuilt == part
