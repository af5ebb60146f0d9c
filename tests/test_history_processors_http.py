"""History processors over local HTTP: what reaches a provider-shaped server is the shaped
history, in a form the provider accepts (thinking and all), and a context-too-long answer
gets one tighter try."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import anthropic_wire
import gemini_replies
import pytest
import wire_rules
from local_server import LocalServer

from agentloop import ContextTooLongError, FitTokens, KeepRecent, TrimToolResults


def read(page: int) -> str:
    "Read a page."
    return f"page {page} " + "word " * 400


@pytest.fixture
def server() -> Iterator[LocalServer]:
    local = LocalServer()
    local.start()
    yield local
    local.stop()


def thinking_loop(server: LocalServer, steps: int, *, stream: bool = False) -> None:
    for step in range(steps):
        blocks = [anthropic_wire.tool_use(f"toolu_{step}", "read", {"page": step})]
        if step == 0:
            blocks.insert(0, anthropic_wire.thinking("I will read every page."))
        if stream:
            body = anthropic_wire.sse_body(blocks, "tool_use")
            server.reply(body, headers=anthropic_wire.SSE)
        else:
            server.reply(anthropic_wire.message_body(blocks, "tool_use"))
    final = [anthropic_wire.text("Done.")]
    if stream:
        server.reply(anthropic_wire.sse_body(final), headers=anthropic_wire.SSE)
    else:
        server.reply(anthropic_wire.message_body(final))


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_gets_the_shaped_loop_with_its_opening_thinking(
    server: LocalServer, stream: bool
) -> None:
    thinking_loop(server, 4, stream=stream)
    model = anthropic_wire.model(server)
    conversation = model.conversation(
        system="Read.",
        tools=[read],
        history_processors=[TrimToolResults(200), KeepRecent(1, steps=1)],
    )
    response = conversation.chain("Read the pages", stream=stream)
    assert ("".join(response) if stream else response.text()) == "Done."
    last = server.requests[-1].json()
    assert wire_rules.anthropic(last) == []
    assert last["system"][0]["text"] == "Read." if isinstance(last["system"], list) else True
    roles = [m["role"] for m in last["messages"]]
    assert roles == ["user", "assistant", "user", "assistant", "user"]
    assert last["messages"][1]["content"][0]["type"] == "thinking"
    # The first step's result was trimmed, the latest one sent whole.
    first_result = last["messages"][2]["content"][0]["content"]
    assert "left out to save context" in str(first_result)
    assert "word word" in str(last["messages"][4]["content"][0]["content"])
    assert len(conversation.messages) == 1 + 1 + 4 * 2 + 1  # the history keeps all of it
    model.close()


TOO_LONG = {
    "type": "error",
    "error": {"type": "invalid_request_error", "message": "prompt is too long: 9 > 8 maximum"},
}


def test_a_context_too_long_answer_gets_one_tighter_try(server: LocalServer) -> None:
    thinking_loop(server, 3)
    model = anthropic_wire.model(server)
    conversation = model.conversation(tools=[read], history_processors=[FitTokens(100_000)])
    conversation.chain("Read").text()
    server.reply(TOO_LONG, status=400)
    server.reply(anthropic_wire.message_body([anthropic_wire.text("Short now.")]))
    assert conversation.chain("Again").text() == "Short now."
    refused, accepted = server.requests[-2].json(), server.requests[-1].json()
    assert len(accepted["messages"]) < len(refused["messages"])
    assert wire_rules.anthropic(accepted) == []
    server.reply(TOO_LONG, status=400)
    server.reply(TOO_LONG, status=400)
    with pytest.raises(ContextTooLongError):
        conversation.chain("Once more").text()  # refused twice: the error surfaces
    model.close()


def test_gemini_over_async_http_gets_a_history_it_accepts(server: LocalServer) -> None:
    for page in range(3):
        server.reply(gemini_replies.reply(gemini_replies.call("read", {"page": page})))
    server.reply(gemini_replies.reply(gemini_replies.text("Done.")))

    async def main() -> None:
        model = gemini_replies.gemini(server).to_async()
        try:
            conversation = model.conversation(
                tools=[read], history_processors=[KeepRecent(1, steps=1), FitTokens(300)]
            )
            assert (await conversation.chain("Read")).text() == "Done."
        finally:
            await model.aclose()

    asyncio.run(main())
    last = server.requests[-1].json()
    assert wire_rules.gemini(last) == []
    assert [c["role"] for c in last["contents"]] == ["user", "model", "user", "model", "user"]
