"""Provider-side tools replayed from ../shared/cassettes-more (see its INDEX.md).

Every recorded reply of Anthropic, OpenAI Responses and Gemini that used a server tool (web
search, code execution, web fetch, file search, image generation, URL context, grounding)
decodes, streamed recordings through the stream decoders, and:

- what the provider sent goes back to it unchanged: the reply's message re-encodes to the
  recorded blocks, items or parts (after the replay suites' own canonicalisation);
- each recorded follow-up request that carries this content back decodes and re-encodes equal;
- the message survives ``to_dict``/``from_dict`` and encodes for every other format, where
  results are rendered as text and calls left out (`agentloop.portable.portable`).

The tests skip when the folder is absent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import cassettes
import pytest
import report
from anthropic_wire import parse_sse
from test_convert_gemini import canonical_request
from test_provider_anthropic import canonical

from agentloop import Message, ProviderPart, Reply, Text
from agentloop.providers.anthropic import messages as anthropic
from agentloop.providers.anthropic.format import ANTHROPIC
from agentloop.providers.anthropic.reply import decode_reply as anthropic_reply
from agentloop.providers.anthropic.stream import AnthropicStreamDecoder
from agentloop.providers.cohere import messages as cohere
from agentloop.providers.cohere.format import COHERE
from agentloop.providers.gemini import messages as gemini
from agentloop.providers.gemini.format import GEMINI
from agentloop.providers.gemini.reply import decode_reply as gemini_reply
from agentloop.providers.gemini.stream import GeminiStreamDecoder
from agentloop.providers.openai_chat import messages as openai_chat
from agentloop.providers.openai_chat.messages import OPENAI
from agentloop.providers.openai_responses import messages as responses
from agentloop.providers.openai_responses.fields import OPENAI_RESPONSES
from agentloop.providers.openai_responses.reply import decode_reply as responses_reply
from agentloop.providers.openai_responses.request import split_instructions
from agentloop.providers.openai_responses.stream import ResponsesStreamDecoder

Body = dict[str, Any]

ENCODERS: dict[str, Callable[[list[Message]], Any]] = {
    OPENAI: openai_chat.encode_messages,
    OPENAI_RESPONSES: responses.encode_messages,
    ANTHROPIC: anthropic.encode_messages,
    GEMINI: gemini.encode_messages,
    COHERE: cohere.encode_messages,
}


def streamed(it: cassettes.Interaction) -> bool:
    return it.response_body.lstrip().startswith((b"event:", b"data:"))


def feed(decoder: Any, it: cassettes.Interaction) -> Reply:
    for event in parse_sse(it.response_body.decode()):
        list(decoder.feed(event))
    reply = decoder.finish()
    assert isinstance(reply, Reply)
    return reply


def check_everywhere(message: Message, where: str) -> None:
    """Persisted and restored unchanged; sendable to each format, by the one rule."""
    assert Message.from_dict(json.loads(json.dumps(message.to_dict()))) == message, where
    native = [p for p in message.parts if isinstance(p, ProviderPart)]
    for provider, encode in ENCODERS.items():
        history = [Message.user("Go"), message, Message.user("And then?")]
        sent = json.dumps(encode(history), ensure_ascii=False)
        for part in native:
            if part.provider != provider and part.text:
                assert json.dumps(part.text, ensure_ascii=False)[1:-1] in sent, (where, provider)


# -- Anthropic -------------------------------------------------------------------------


def anthropic_content_from_sse(body: str) -> list[Body]:
    """The content blocks an event stream describes (a plain reading of the events)."""
    blocks: dict[int, Body] = {}
    for event in parse_sse(body):
        data = json.loads(event.data)
        if data["type"] == "content_block_start":
            blocks[data["index"]] = {**data["content_block"], "partial": ""}
        elif data["type"] == "content_block_delta":
            block, delta = blocks[data["index"]], data["delta"]
            kind = delta["type"]
            if kind in ("text_delta", "thinking_delta"):
                key = kind.removesuffix("_delta")
                block[key] += delta[key]
            elif kind == "signature_delta":
                block["signature"] = delta["signature"]
            elif kind == "citations_delta":
                block["citations"] = [*(block.get("citations") or []), delta["citation"]]
            else:
                block["partial"] += delta["partial_json"]
    for block in blocks.values():
        partial = block.pop("partial")
        if block["type"] in ("tool_use", "server_tool_use"):
            block["input"] = json.loads(partial or "{}")
    return [blocks[i] for i in sorted(blocks)]


def test_anthropic_server_tool_replies_decode_and_go_back_unchanged() -> None:
    checked = 0
    for it in cassettes.more("anthropic"):
        if streamed(it):
            reply = feed(AnthropicStreamDecoder(), it)
            content = anthropic_content_from_sse(it.response_body.decode())
        else:
            reply = anthropic_reply(it.response_json())
            content = it.response_json()["content"]
        message = reply.message
        texts = [b for b in content if b["type"] == "text"]
        assert message.text == "".join(b["text"] for b in texts), it.id
        cited = [c for b in texts for c in (b.get("citations") or [])]
        assert [c.url for c in message.citations] == [c.get("url") for c in cited], it.id
        kinds = [p.kind for p in message.parts if isinstance(p, ProviderPart)]
        assert kinds == [b["type"] for b in content if anthropic.is_server_block(b["type"])]
        assert kinds, it.id
        _, wire = anthropic.encode_messages([Message.user("Go"), message])
        sent = canonical({"messages": wire})["messages"][1]["content"]
        assert sent == canonical({"messages": [{"content": content}]})["messages"][0]["content"]
        check_everywhere(message, it.id)
        checked += 1
    report.count("anthropic server-tool replies replayed", checked)
    assert checked == 7


# -- OpenAI Responses ------------------------------------------------------------------


def responses_output(it: cassettes.Interaction) -> list[Body]:
    """The reply's output items: the body's, or the stream's ``output_item.done`` items."""
    if not streamed(it):
        return list(it.response_json()["output"])
    done = [json.loads(e.data) for e in parse_sse(it.response_body.decode())]
    items = {d["output_index"]: d["item"] for d in done if d["type"] == "response.output_item.done"}
    return [items[i] for i in sorted(items)]


def responses_exchanges() -> list[cassettes.Interaction]:
    return [it for it in cassettes.more("openai") if it.uri.endswith("/v1/responses")]


def test_responses_server_tool_replies_decode_and_go_back_unchanged() -> None:
    checked = 0
    for it in responses_exchanges():
        stream = streamed(it)
        reply = (
            feed(ResponsesStreamDecoder(), it) if stream else responses_reply(it.response_json())
        )
        output = responses_output(it)
        message = reply.message
        texts = [c for i in output if i["type"] == "message" for c in i["content"]]
        assert message.text == "".join(c["text"] for c in texts), it.id
        notes = [a for c in texts for a in c.get("annotations", [])]
        assert len(message.citations) == len(notes), it.id
        assert responses.encode_messages([message]) == output, it.id
        check_everywhere(message, it.id)
        checked += 1
    report.count("openai-responses server-tool replies replayed", checked)
    assert checked == 8


def test_responses_follow_ups_carrying_server_tool_items_re_encode_equal() -> None:
    checked = 0
    for it in responses_exchanges():
        body = it.request_json()
        if isinstance(body["input"], str):
            continue
        history = responses.decode_messages(body["input"], body.get("instructions"))
        instructions, rest = split_instructions(history)
        assert instructions == body.get("instructions"), it.id
        assert responses.encode_messages(rest) == body["input"], it.id
        checked += any(isinstance(p, ProviderPart) for m in history for p in m.parts)
    assert checked == 2  # the code interpreter's and the streamed web search's follow-ups


# -- Gemini ----------------------------------------------------------------------------


def gemini_candidates(it: cassettes.Interaction) -> list[Body]:
    if not streamed(it):
        return list(it.response_json()["candidates"])
    chunks = [json.loads(e.data) for e in parse_sse(it.response_body.decode())]
    return [c for chunk in chunks for c in chunk.get("candidates", [])]


def stream_error(status: int, body: str) -> Exception:
    raise AssertionError(f"a recorded stream holds an error: {body}")


def test_gemini_server_tool_replies_decode_and_go_back_unchanged() -> None:
    checked = 0
    for it in cassettes.more("gemini"):
        if streamed(it):
            reply = feed(GeminiStreamDecoder(stream_error), it)
        else:
            reply = gemini_reply(it.response_json())
        candidates = gemini_candidates(it)
        parts = [p for c in candidates for p in c.get("content", {}).get("parts", [])]
        message = reply.message
        assert message.text == "".join(p.get("text", "") for p in parts if not p.get("thought"))
        grounded = [c for c in candidates if c.get("groundingMetadata")]
        assert bool(message.citations) == bool(grounded), it.id
        _, contents = gemini.encode_messages([message])
        sent = [p for p in contents[0]["parts"] if not set(p) & {"text", "thought"}]
        assert sent == [p for p in parts if gemini.server_part_kind(p)], it.id
        if not streamed(it):
            expected = canonical_request(None, [candidates[0]["content"]])
            assert canonical_request(None, contents) == expected, it.id
        check_everywhere(message, it.id)
        checked += 1
    report.count("gemini server-tool replies replayed", checked)
    assert checked == 8


def test_gemini_follow_ups_carrying_code_execution_re_encode_equal() -> None:
    checked = 0
    for it in cassettes.more("gemini"):
        body = it.request_json()
        system, contents = body.get("systemInstruction"), body["contents"]
        history = gemini.decode_messages(system, contents)
        exported = gemini.encode_messages(history)
        assert canonical_request(*exported) == canonical_request(system, contents), it.id
        checked += any(isinstance(p, ProviderPart) for m in history for p in m.parts)
    assert checked == 1


# -- the rule, without recordings ------------------------------------------------------


def test_a_provider_part_goes_back_to_its_own_format_and_renders_or_drops_elsewhere() -> None:
    call = ProviderPart(ANTHROPIC, "server_tool_use", {"type": "server_tool_use", "id": "s"})
    result_payload = {"type": "web_search_tool_result", "tool_use_id": "s", "content": []}
    result = ProviderPart(ANTHROPIC, "web_search_tool_result", result_payload, "[found] x")
    message = Message("assistant", [call, result, Text("Answer")])
    _, wire = anthropic.encode_messages([Message.user("q"), message])
    assert wire[1]["content"][:2] == [call.payload, result_payload]
    _, contents = gemini.encode_messages([Message.user("q"), message])
    assert contents[1]["parts"] == [{"text": "[found] x"}, {"text": "Answer"}]
    chat = openai_chat.encode_messages([Message.user("q"), message])
    assert chat[1]["content"] == "[found] xAnswer" or "[found] x" in json.dumps(chat[1])
    assert Message.from_dict(message.to_dict()) == message


def test_stored_citations_and_provider_parts_are_checked_on_load() -> None:
    bad = {"role": "assistant", "parts": [{"type": "provider", "provider": "x", "kind": "k"}]}
    with pytest.raises(Exception, match="payload"):
        Message.from_dict(bad)
    text = {"type": "text", "text": "t", "citations": [{"url": 5}]}
    with pytest.raises(Exception, match="url"):
        Message.from_dict({"role": "assistant", "parts": [text]})
