"""Token estimates: text as tokenizers split it; tool schemas, tool payloads and media counted."""

from __future__ import annotations

import struct
import zlib

import pytest

from agentloop import (
    File,
    Image,
    Message,
    ProviderPart,
    Request,
    TestModel,
    Tool,
    ToolCall,
    ToolResult,
    tokens,
)
from agentloop.providers.anthropic.tokens import TOKEN_RULES as ANTHROPIC
from agentloop.providers.gemini.tokens import TOKEN_RULES as GEMINI
from agentloop.providers.openai_chat.tokens import TOKEN_RULES as OPENAI


def png(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(header))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
    )


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00" * 10


def webp_lossless(width: int, height: int) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    payload = b"\x2f" + bits.to_bytes(4, "little")
    chunk = b"VP8L" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


@pytest.mark.parametrize(
    ("text", "actual"),
    [
        # Counts from OpenAI's cl100k tokenizer.
        ("Hello world", 2),
        ("The quick brown fox jumps over the lazy dog.", 10),
        ("Five fun facts about pelicans", 6),
        ('{"name": "Paris", "country": "France"}', 12),
    ],
)
def test_text_estimates_are_within_a_third_of_a_real_tokenizer(text: str, actual: int) -> None:
    assert abs(tokens.text_tokens(text) - actual) <= max(2, actual / 3)


def test_text_in_scripts_without_spaces_counts_about_a_token_a_character() -> None:
    assert tokens.text_tokens("東京は日本の首都です") >= 9
    assert tokens.text_tokens("12345678") == 3  # digits come in groups of three


def test_tool_definitions_are_counted_with_their_schema() -> None:
    def search(query: str, limit: int = 10, language: str = "en") -> str:
        "Search the web for pages about a query, in a given language."
        return ""

    plain = Request([Message.user("hi")])
    with_tool = Request([Message.user("hi")], tools=[Tool.function(search)])

    extra = tokens.input_tokens(with_tool) - tokens.input_tokens(plain)

    schema_tokens = tokens.json_tokens(Tool.function(search).parameters)
    assert extra >= schema_tokens + tokens.text_tokens("Search the web for pages")
    assert extra > 30


def test_tool_calls_and_results_are_counted_with_their_payloads() -> None:
    payload = {"rows": [{"id": i, "name": f"customer {i}"} for i in range(50)]}
    call = ToolCall("lookup", payload, "c1")
    result = ToolResult("lookup", "row " * 300, "c1")
    history = [Message.user("go"), Message.assistant(tool_calls=[call]), Message.tool(result)]

    counted = tokens.messages_tokens(history)

    assert counted >= tokens.json_tokens(payload) + 300
    assert tokens.message_tokens(Message.tool(result)) > tokens.message_tokens(Message.tool())


def test_the_structured_output_schema_is_counted() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}}
    plain = Request([Message.user("x")])
    shaped = Request([Message.user("x")], schema=schema)

    assert tokens.input_tokens(shaped) - tokens.input_tokens(plain) >= tokens.json_tokens(schema)


def test_the_output_is_reserved_at_max_tokens_else_a_default() -> None:
    assert tokens.output_tokens({"max_tokens": 2000}) == 2000
    assert tokens.output_tokens({}) == tokens.DEFAULT_OUTPUT_TOKENS
    assert tokens.output_tokens({"max_tokens": 1000, "thinking_budget": 4000}) == 5000


@pytest.mark.parametrize(
    ("make", "size"),
    [(png, (640, 480)), (jpeg, (1920, 1080)), (gif, (32, 16)), (webp_lossless, (300, 200))],
)
def test_image_sizes_are_read_from_their_headers(make: object, size: tuple[int, int]) -> None:
    assert callable(make)
    assert tokens.image_size(make(*size)) == size


def test_images_cost_what_each_provider_publishes_for_their_size() -> None:
    small, large = Image(png(512, 512)), Image(png(2048, 4096))

    assert tokens.media_tokens(small, OPENAI) == 85 + 170 * 1  # one 512 px tile
    assert tokens.media_tokens(large, OPENAI) == 85 + 170 * 2 * 3  # 768 px short side: 768x1536
    assert tokens.media_tokens(Image(png(2048, 4096), detail="low"), OPENAI) == 85
    assert tokens.media_tokens(small, ANTHROPIC) == round(512 * 512 / 750 + 0.5)
    assert tokens.media_tokens(Image(png(300, 300)), GEMINI) == 258
    assert tokens.media_tokens(large, GEMINI) == 258 * 3 * 6
    # Neutral, for a model that gives no rules: a token per 28 px patch, fitted in 1568 px.
    assert tokens.media_tokens(small) == 19 * 19
    assert tokens.media_tokens(large) == 28 * 56


def test_each_codec_model_gives_its_format_rules_and_others_the_neutral_ones() -> None:
    from agentloop.providers.anthropic import AnthropicModel
    from agentloop.providers.gemini import GeminiModel
    from agentloop.providers.openai_chat import OllamaModel, OpenAIChatModel
    from agentloop.providers.openai_responses import OpenAIResponsesModel
    from agentloop.providers.openai_responses.tokens import TOKEN_RULES as RESPONSES

    assert AnthropicModel.token_rules is ANTHROPIC
    assert GeminiModel.token_rules is GEMINI
    assert OpenAIChatModel.token_rules is OllamaModel.token_rules is OPENAI
    assert OpenAIResponsesModel.token_rules is RESPONSES
    assert RESPONSES.image is OPENAI.image
    assert RESPONSES.wire_format != OPENAI.wire_format
    assert TestModel().token_rules is tokens.DEFAULT_RULES


def test_a_provider_part_counts_whole_only_for_its_own_format() -> None:
    payload = {"type": "web_search_tool_result", "content": ["result " * 200]}
    part = ProviderPart(ANTHROPIC.wire_format or "", "web_search_tool_result", payload, "found")
    message = Message("assistant", [part])

    assert tokens.message_tokens(message, ANTHROPIC) > tokens.message_tokens(message, GEMINI)
    assert tokens.message_tokens(message, GEMINI) == tokens.message_tokens(message)


def test_an_image_known_only_by_url_is_priced_as_a_typical_image() -> None:
    image = Image("https://example.com/photo.jpg")

    size = tokens.UNKNOWN_IMAGE_SIZE
    assert tokens.media_tokens(image) == tokens.patch_image_tokens(*size)
    assert tokens.media_tokens(image, OPENAI) == OPENAI.image(*size, None)


def test_a_pdf_is_counted_by_its_pages() -> None:
    pages = b"".join(b"1 0 obj << /Type /Page /Parent 2 0 R >> endobj\n" for _ in range(3))
    pdf = b"%PDF-1.7\n2 0 obj << /Type /Pages /Count 3 >> endobj\n" + pages + b"%%EOF"

    assert tokens.pdf_pages(pdf) == 3
    assert tokens.media_tokens(File(pdf, "report.pdf")) == 3 * tokens.DEFAULT_RULES.pdf_page
    assert tokens.media_tokens(File(pdf, "report.pdf"), GEMINI) == 3 * 258


def test_audio_is_counted_by_its_length() -> None:
    rate = 16_000 * 2  # 16 kHz, 16-bit mono: 32,000 bytes a second
    header = (
        b"RIFF"
        + struct.pack("<I", 36 + rate * 3)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, 16_000, rate, 2, 16)
        + b"data"
        + struct.pack("<I", rate * 3)
    )
    wav = header + b"\x00" * (rate * 3)

    assert tokens.wav_seconds(wav) == pytest.approx(3.0)
    assert tokens.media_tokens(File(wav, "clip.wav")) == 3 * tokens.DEFAULT_RULES.audio_per_second


def test_a_text_file_is_counted_as_its_text() -> None:
    text = "name,city\n" + "".join(f"person {i},Paris\n" for i in range(100))
    csv = File(text.encode(), "people.csv", media_type="text/csv")

    assert tokens.media_tokens(csv) == tokens.text_tokens(text)


def test_a_request_estimate_adds_every_part() -> None:
    message = Message.user("Describe this").add_image(png(512, 512))
    request = Request([Message.system("Be brief"), message], options={"max_tokens": 100})

    estimate = tokens.request_tokens(request)

    assert estimate == (
        tokens.message_tokens(request.messages[0])
        + tokens.message_tokens(message)
        + tokens.REPLY_OVERHEAD
        + 100
    )
    assert estimate > 255 + 100  # the image's 255 tokens are in
