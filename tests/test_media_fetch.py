"""Media a wire format cannot take by URL is fetched by the model, through its transport,
before the codec encodes: over real HTTP on 127.0.0.1, a media host beside a Gemini-shaped
provider (Gemini sends a URL of unknown type, and a tool result's, as inlineData)."""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
from collections.abc import Callable, Iterator

import anthropic_wire
import openai_chat_wire
import pytest
from gemini_replies import KEY, SSE, call, gemini, reply, sse, text
from local_server import LocalServer, Recorded, Scripted

from agentloop import (
    Attachment,
    File,
    Image,
    LLMClient,
    MediaFetchError,
    MediaTooLargeError,
    Message,
    ToolReturn,
)
from agentloop.downloads import MAX_REDIRECTS, shown_url
from agentloop.providers.gemini import GeminiModel
from agentloop.providers.openai_chat import OpenAIChatModel

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"%" * 64
#: How many turns of the ticker must pass while the media host holds its reply.
TICKS = 20


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def inline(data: bytes, mime: str) -> dict[str, object]:
    return {"inlineData": {"mimeType": mime, "data": b64(data)}}


def serving(body: bytes, content_type: str = "") -> Callable[[Recorded], Scripted]:
    headers = {"content-type": content_type} if content_type else {}
    return lambda _: Scripted(200, body, headers)


@pytest.fixture
def media_host() -> Iterator[LocalServer]:
    """A second local server standing for the host a media URL names."""
    server = LocalServer(serving(PNG, "image/png"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def user_parts(request: Recorded, index: int = 0) -> list[dict[str, object]]:
    parts: list[dict[str, object]] = request.json()["contents"][index]["parts"]
    return parts


async def chain_over(model: GeminiModel, message: Message, run: str) -> None:
    """A chain over ``message``, blocking or awaited."""
    if run == "sync":
        model.chain(messages=[message])
    else:
        await model.to_async().chain(messages=[message])


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- the async path never blocks its loop ----------------------------------------------


async def test_an_async_chain_fetches_a_slow_media_url_while_its_loop_keeps_running(
    local_server: LocalServer, media_host: LocalServer
) -> None:
    arrived, released = threading.Event(), threading.Event()
    served_after_ticks: list[bool] = []

    def slow(_: Recorded) -> Scripted:
        arrived.set()
        # Held until the ticker, on the chain's own loop, has turned TICKS times: it can only
        # turn if the fetch does not block the loop. (The timeout only keeps a broken fetch
        # from hanging the test; the assertion is on what released the reply.)
        served_after_ticks.append(released.wait(timeout=30))
        return Scripted(200, PNG, {"content-type": "image/png"})

    media_host.responder = slow
    local_server.reply(reply(text("A tiny picture.")))
    ticks_during_fetch = 0

    async def ticker() -> None:
        nonlocal ticks_during_fetch
        while not released.is_set():
            await asyncio.sleep(0)
            if arrived.is_set():
                ticks_during_fetch += 1
                if ticks_during_fetch >= TICKS:
                    released.set()

    model = gemini(local_server).to_async()
    ticking = asyncio.create_task(ticker())
    response = await model.chain(
        "What is this?", attachments=[Attachment(url=f"{media_host.url}/picture")]
    )
    released.set()  # ends the ticker, whatever happened
    await ticking

    assert served_after_ticks == [True]
    assert ticks_during_fetch >= TICKS
    assert response.text() == "A tiny picture."
    [sent] = local_server.requests
    assert inline(PNG, "image/png") in user_parts(sent)


async def test_several_media_urls_are_fetched_at_once(local_server: LocalServer) -> None:
    both_asked = threading.Barrier(2, timeout=30)
    hosts = []
    for body in (PNG, PDF):
        host = LocalServer(lambda _, body=body: (both_asked.wait(), Scripted(200, body))[1])
        host.start()
        hosts.append(host)
    local_server.reply(reply(text("Both seen.")))
    message = Message.user("Compare").add_image(f"{hosts[0].url}/a").add_file(f"{hosts[1].url}/b")
    try:
        # Each host answers only once the other has been asked: one after the other, the
        # barrier would break (BrokenBarrierError in the handler, no reply, a fetch error).
        response = await gemini(local_server).to_async().chain(messages=[message])
    finally:
        for host in hosts:
            host.stop()
    assert response.text() == "Both seen."
    parts = user_parts(local_server.requests[0])
    assert parts[1:] == [inline(PNG, "image/png"), inline(PDF, "application/pdf")]


# -- the bytes reach the provider, fetched once ------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_a_blocking_chain_fetches_through_its_transport_and_inlines_the_bytes(
    local_server: LocalServer, media_host: LocalServer, stream: bool
) -> None:
    media_host.responder = serving(PDF, "application/pdf; charset=binary")
    if stream:
        local_server.reply(sse(reply(text("A document."))), headers=SSE)
    else:
        local_server.reply(reply(text("A document.")))
    document = File(f"{media_host.url}/report")  # no extension: Gemini needs the bytes
    conversation = gemini(local_server).conversation(messages=[Message.user(file=document)])
    answer = conversation.chain("Summarize", stream=stream)
    assert answer.text() == "A document."
    assert user_parts(local_server.requests[-1])[0] == inline(PDF, "application/pdf")
    assert document.data == PDF
    assert document.media_type == "application/pdf"  # from the reply, parameters dropped


async def test_a_part_is_fetched_once_in_a_chain_and_a_url_once_per_request(
    local_server: LocalServer, media_host: LocalServer
) -> None:
    def shoot() -> ToolReturn:
        """Take a screenshot."""
        return ToolReturn("taken", attachments=[Image(f"{media_host.url}/shot.png")])

    local_server.reply(reply(call("shoot", {}))).reply(reply(text("Nice shot.")))
    same = f"{media_host.url}/same"
    message = Message.user("Look").add_image(same).add_file(Attachment(url=same).to_part())
    response = await gemini(local_server).to_async().chain(messages=[message], tools=[shoot])

    assert response.text() == "Nice shot."
    # The two parts of one URL: one download. The tool's image (a functionResponse takes no
    # URL): one more. The second model call carries all three again, fetching nothing.
    assert sorted(r.path for r in media_host.requests) == ["/same", "/shot.png"]
    first, second = local_server.requests
    assert user_parts(first)[1:] == [inline(PNG, "image/png")] * 2
    assert user_parts(second)[1:] == [inline(PNG, "image/png")] * 2
    [result] = user_parts(second, 2)
    assert result["functionResponse"]["parts"] == [inline(PNG, "image/png")]  # type: ignore[index]


def test_a_url_gemini_takes_is_passed_through_without_a_fetch(
    local_server: LocalServer, media_host: LocalServer
) -> None:
    local_server.reply(reply(text("ok")))
    gemini(local_server).chain(messages=[Message.user("x").add_image(f"{media_host.url}/a.png")])
    assert media_host.requests == []
    assert user_parts(local_server.requests[0])[1] == {
        "fileData": {"mimeType": "image/png", "fileUri": f"{media_host.url}/a.png"}
    }


def test_a_media_host_sees_no_key_and_no_header_of_the_model(
    local_server: LocalServer, media_host: LocalServer
) -> None:
    local_server.reply(reply(text("ok")))
    model = gemini(local_server, headers={"authorization": "Bearer secret-header"})
    model.chain(messages=[Message.user("x").add_image(f"{media_host.url}/picture")])
    [fetch] = media_host.requests
    assert fetch.method == "GET"
    sent = {name.lower(): value for name, value in fetch.headers.items()}
    assert "x-goog-api-key" not in sent
    assert "authorization" not in sent
    assert KEY not in str(sent)
    assert local_server.requests[0].headers["x-goog-api-key"] == KEY


@pytest.mark.parametrize("run", ["sync", "async"])
async def test_a_token_count_fetches_what_the_counted_request_inlines(
    local_server: LocalServer, media_host: LocalServer, run: str
) -> None:
    local_server.reply({"totalTokens": 300})
    model = gemini(local_server)
    history = [Message.user("x").add_image(f"{media_host.url}/picture")]
    if run == "sync":
        count = model.count_tokens(history)
    else:
        count = await model.to_async().count_tokens(history)
    assert count.input_tokens == 300
    body = local_server.requests[0].json()["generateContentRequest"]
    assert body["contents"][0]["parts"][1] == inline(PNG, "image/png")


def test_anthropic_is_sent_a_text_file_url_as_text_and_a_pdf_url_as_a_url(
    local_server: LocalServer, media_host: LocalServer
) -> None:
    media_host.responder = serving("Notes: ünïcode".encode(), "text/plain; charset=utf-8")
    local_server.reply(anthropic_wire.message_body([anthropic_wire.text("Read.")]))
    message = Message.user("Read").add_file(f"{media_host.url}/notes.txt")
    message.add_file(f"{media_host.url}/report.pdf")
    anthropic_wire.model(local_server).chain(messages=[message])
    assert [r.path for r in media_host.requests] == ["/notes.txt"]
    _, notes, report = local_server.requests[0].json()["messages"][0]["content"]
    assert notes["source"] == {"type": "text", "media_type": "text/plain", "data": "Notes: ünïcode"}
    assert report["source"] == {"type": "url", "url": f"{media_host.url}/report.pdf"}


async def test_chat_completions_is_sent_a_file_url_inline_and_an_image_url_as_a_url(
    local_server: LocalServer, media_host: LocalServer
) -> None:
    media_host.responder = serving(PDF, "application/pdf")
    local_server.reply(openai_chat_wire.completion("Read."))
    message = Message.user("Read").add_file(f"{media_host.url}/doc.pdf")
    message.add_image(f"{media_host.url}/cat.png")
    model = OpenAIChatModel("gpt-4o", api_key="sk-test", base_url=local_server.url)
    await model.to_async().chain(messages=[message])
    assert [r.path for r in media_host.requests] == ["/doc.pdf"]
    _, document, image = local_server.requests[0].json()["messages"][0]["content"]
    assert document["file"] == {
        "file_data": f"data:application/pdf;base64,{b64(PDF)}",
        "filename": "doc.pdf",
    }
    assert image["image_url"] == {"url": f"{media_host.url}/cat.png"}


# -- redirects -----------------------------------------------------------------------


def test_redirects_are_followed_within_the_limit(
    local_server: LocalServer, media_host: LocalServer
) -> None:
    def hop(request: Recorded) -> Scripted:
        if request.path == "/start":
            return Scripted(302, headers={"location": "/moved"})
        if request.path == "/moved":
            return Scripted(307, headers={"location": f"{media_host.url}/final"})
        return Scripted(200, PNG)

    media_host.responder = hop
    local_server.reply(reply(text("ok")))
    gemini(local_server).chain(messages=[Message.user("x").add_image(f"{media_host.url}/start")])
    assert [r.path for r in media_host.requests] == ["/start", "/moved", "/final"]
    assert user_parts(local_server.requests[0])[1] == inline(PNG, "image/png")


@pytest.mark.parametrize(
    ("location", "match"),
    [("/loop", f"more than {MAX_REDIRECTS} redirects"), ("file:///etc/passwd", "non-HTTP")],
)
async def test_a_redirect_past_the_limit_or_off_http_is_a_fetch_error(
    local_server: LocalServer, media_host: LocalServer, location: str, match: str
) -> None:
    media_host.responder = lambda _: Scripted(301, headers={"location": location})
    model = gemini(local_server).to_async()
    with pytest.raises(MediaFetchError, match=match):
        await model.chain(messages=[Message.user("x").add_image(f"{media_host.url}/loop")])
    assert len(media_host.requests) == (MAX_REDIRECTS + 1 if location == "/loop" else 1)
    assert local_server.requests == []


# -- failures are typed errors -------------------------------------------------------


@pytest.mark.parametrize("run", ["sync", "async"])
async def test_a_missing_media_url_is_a_fetch_error_naming_it_and_its_status(
    local_server: LocalServer, media_host: LocalServer, run: str
) -> None:
    media_host.responder = lambda _: Scripted(404, b"not here")
    url = f"{media_host.url}/gone?key={KEY}&size=big"
    message = Message.user("x").add_image(url)
    model = gemini(local_server)
    with pytest.raises(MediaFetchError) as info:
        await chain_over(model, message, run)
    error = info.value
    assert error.status == 404
    assert error.url == f"{media_host.url}/gone?key=***&size=***"
    assert str(error) == f"fetching {error.url} failed with HTTP 404"
    assert KEY not in str(error)
    assert local_server.requests == []  # the model was never asked


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "no-length"])
@pytest.mark.parametrize("run", ["sync", "async"])
async def test_media_past_the_cap_is_refused(
    local_server: LocalServer, media_host: LocalServer, announced: bool, run: str
) -> None:
    big = PNG + b"\x00" * 1000
    # Without content-length the body runs to the connection's close: read in chunks, and
    # refused as soon as it passes the cap.
    cut = None if announced else len(big)
    media_host.responder = lambda _: Scripted(200, big, truncate_at=cut)
    model = gemini(local_server)
    model.max_media_bytes = 500
    message = Message.user("x").add_image(f"{media_host.url}/huge")
    with pytest.raises(MediaTooLargeError, match="larger than 500 bytes") as info:
        await chain_over(model, message, run)
    assert info.value.limit == 500
    assert message.parts[1].data is None  # type: ignore[union-attr]
    assert local_server.requests == []


@pytest.mark.parametrize("run", ["sync", "async"])
async def test_an_unreachable_media_host_is_a_fetch_error(
    local_server: LocalServer, run: str
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/picture"
    model = gemini(local_server)
    message = Message.user("x").add_image(url)
    with pytest.raises(MediaFetchError, match=r"fetching http://127\.0\.0\.1:\d+/picture") as info:
        await chain_over(model, message, run)
    assert info.value.status is None
    assert local_server.requests == []


def test_shown_urls_hide_user_info_and_query_values() -> None:
    assert shown_url("https://u:p@h.example:8443/a/b.png?sig=abc&x") == (
        "https://h.example:8443/a/b.png?sig=***&x=***"
    )
    assert shown_url("http://[::1]:80/x") == "http://[::1]:80/x"


# -- the batch client ------------------------------------------------------------------


def test_a_batch_fetches_a_shared_attachment_once_through_its_pool(
    local_server: LocalServer, media_host: LocalServer
) -> None:
    local_server.reply(reply(text("seen")))
    picture = Image(f"{media_host.url}/picture")  # one part, in every prompt
    prompts = [Message.user(f"prompt {n}", image=picture) for n in range(4)]
    results = LLMClient(gemini(local_server)).process_prompts_sync(prompts)
    assert [r.completion for r in results] == ["seen"] * 4
    assert len(media_host.requests) == 1
    for request in local_server.requests:
        assert user_parts(request)[1] == inline(PNG, "image/png")


def test_a_batch_prompt_whose_media_cannot_be_fetched_fails_with_the_fetch_error(
    local_server: LocalServer, media_host: LocalServer
) -> None:
    media_host.responder = lambda _: Scripted(404)
    local_server.reply(reply(text("fine")))
    prompts = ["plain", Message.user("with a picture").add_image(f"{media_host.url}/gone")]
    plain, failed = LLMClient(gemini(local_server), max_attempts=3).process_prompts_sync(prompts)
    assert plain.completion == "fine"
    assert isinstance(failed.error, MediaFetchError)
    assert failed.error.status == 404
    assert len(media_host.requests) == 1  # a fetch error is not retried


# -- a caller's own read() -------------------------------------------------------------


async def test_read_and_aread_in_your_own_code_follow_the_same_rules(
    media_host: LocalServer,
) -> None:
    media_host.responder = serving(PDF, "application/pdf")
    document = File(f"{media_host.url}/doc")
    assert document.read() == document.read() == PDF
    assert len(media_host.requests) == 1
    assert document.media_type == "application/pdf"
    media_host.responder = lambda _: Scripted(404)
    with pytest.raises(MediaFetchError, match="HTTP 404") as info:
        await File(f"{media_host.url}/gone?token=abc").aread()
    assert info.value.status == 404
    assert info.value.url == f"{media_host.url}/gone?token=***"
