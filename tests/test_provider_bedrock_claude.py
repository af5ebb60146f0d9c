"""Claude on Bedrock through the Anthropic Messages format (InvokeModel), over a local server.

The server answers as Bedrock's InvokeModel does: ``/model/{id}/invoke`` with the Messages
API reply, ``/invoke-with-response-stream`` with event-stream frames whose ``chunk`` events
carry each Anthropic event as base64 JSON; every request's SigV4 signature is recomputed by
botocore. The tests read what the chain sent: Bedrock's ``anthropic_version``, no ``model``
or ``stream`` in the body, thinking with its signature and the tool result going back.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import bedrock_wire
import pytest
from anthropic_wire import message_body, parse_sse, sse_body, text, thinking, tool_use, usage
from local_server import LocalServer, Recorded, Scripted
from weather_chain import run_chain

import agentloop
from agentloop import Image, Message, Request
from agentloop.providers.bedrock.claude import BedrockClaudeModel
from agentloop.providers.bedrock.eventstream import encode_frame

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
FIRST = [
    thinking("The weather tool.", "EqQBCkYIBxgC=="),
    text("Let me check."),
    tool_use("toolu_1", "get_weather", {"city": "Paris"}),
]
FINAL = [text("It is sunny in Paris.")]
_PATH = re.compile(r"^/model/([^/]+)/(invoke|invoke-with-response-stream)$")


def chunks(sse: str) -> bytes:
    """The Anthropic event stream as InvokeModel sends it: one chunk frame per event."""
    frames = []
    for event in parse_sse(sse):
        encoded = base64.b64encode(event.data.encode()).decode()
        frames.append(encode_frame("chunk", json.dumps({"bytes": encoded}).encode()))
    return b"".join(frames)


class InvokeService:
    def __init__(self, server: LocalServer, *replies: tuple[list[dict[str, Any]], str]) -> None:
        self.base_url = server.url
        self.replies = list(replies)
        self.refused: list[str] = []
        server.responder = self.respond

    def respond(self, request: Recorded) -> Scripted:
        path = _PATH.match(request.path)
        if path is None or not bedrock_wire.signature_holds(request, self.base_url):
            self.refused.append(request.path)
            return Scripted(403, b'{"message":"no"}', {"x-amzn-errortype": "AccessDenied"})
        content, stop = self.replies.pop(0)
        if path.group(2) == "invoke":
            body = json.dumps(message_body(content, stop, usage(100, 10))).encode()
            return Scripted(200, body, {"content-type": "application/json"})
        return Scripted(
            200, chunks(sse_body(content, stop, usage(100, 10))), bedrock_wire.EVENT_STREAM
        )


def claude(server: LocalServer) -> BedrockClaudeModel:
    model = agentloop.get_model(
        f"bedrock/{MODEL}",
        wire="anthropic",
        region=bedrock_wire.REGION,
        base_url=server.url,
        aws_access_key_id=bedrock_wire.ACCESS_KEY,
        aws_secret_access_key=bedrock_wire.SECRET_KEY,
    )
    assert isinstance(model, BedrockClaudeModel)
    return model


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "invoke-with-response-stream"])
def test_a_tool_chain_runs_over_invoke_model(
    local_server: LocalServer, stream: bool, use_async: bool
) -> None:
    service = InvokeService(local_server, (FIRST, "tool_use"), (FINAL, "end_turn"))
    response, shown = run_chain(claude(local_server), stream=stream, use_async=use_async)
    assert service.refused == []
    assert response.text() == "It is sunny in Paris."
    if stream:
        assert "".join(shown) == "Let me check.It is sunny in Paris."
    first, second = (r.json() for r in local_server.requests)
    operation = "invoke-with-response-stream" if stream else "invoke"
    assert local_server.requests[0].path == f"/model/{MODEL.replace(':', '%3A')}/{operation}"
    assert first["anthropic_version"] == "bedrock-2023-05-31"
    assert "model" not in first
    assert "stream" not in first
    assert first["tools"][0]["name"] == "get_weather"
    assert second["messages"][1] == {"role": "assistant", "content": FIRST}
    assert second["messages"][2]["content"][0]["tool_use_id"] == "toolu_1"
    assert response.usage().output_tokens == 20


def test_an_image_url_goes_as_its_bytes(local_server: LocalServer) -> None:
    image = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4ef0000000049454e44ae426082"
    )
    local_server.reply(image, headers={"content-type": "image/png"})
    model = claude(local_server)
    request = Request([Message.user("See").add(Image(f"{local_server.url}/cat.png"))])
    (fetched,) = model.media_to_fetch(request)
    fetched.read()
    body = model.encode(request, stream=False).body
    source = body["messages"][0]["content"][1]["source"]
    assert source == {
        "type": "base64",
        "media_type": "image/png",
        "data": base64.b64encode(image).decode(),
    }


def test_an_exception_frame_is_its_typed_error(local_server: LocalServer) -> None:
    throttled = encode_frame("throttlingException", b'{"message":"Slow down"}', "exception")
    local_server.reply(throttled, headers=bedrock_wire.EVENT_STREAM)
    model = claude(local_server)
    with pytest.raises(agentloop.RateLimitError, match="Slow down"):
        list(model.stream(Request([Message.user("Hi")])))
    assert model.count_call(Request([Message.user("Hi")])) is None
    assert model.batch_api() is None
    with pytest.raises(agentloop.InvalidOptionError, match="wire="):
        agentloop.get_model(f"bedrock/{MODEL}", wire="invoke", region="us-east-1")
