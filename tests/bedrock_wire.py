"""Bedrock Converse as the service shapes it, for the provider tests.

`BedrockService` answers on the local server as Bedrock does: ``/model/{id}/converse`` with a
JSON body, ``/converse-stream`` with AWS event-stream frames, and every request authenticated
first, by a bearer key or by a SigV4 signature that botocore itself recomputes from the
request as received (a wrong one is a 403 ``InvalidSignatureException``, as AWS answers).
`aws_events` reads frames independently of the codec (the reader in the cassettes' INDEX.md).
"""

from __future__ import annotations

import binascii
import json
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from local_server import LocalServer, Recorded, Scripted

from agentloop.providers.bedrock import BedrockModel
from agentloop.providers.bedrock.eventstream import CONTENT_TYPE, encode_frame

REGION = "us-east-1"
ACCESS_KEY = "AKIDEXAMPLE0000TEST"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789"
BEARER = "ABSKQmVkcm9ja0FQSUtleS1leGFtcGxl"
MODEL = "anthropic.claude-3-5-sonnet-20241022-v2:0"
EVENT_STREAM = {"content-type": CONTENT_TYPE}
_PATH = re.compile(r"^/model/([^/]+)/(converse|converse-stream)$")

Body = dict[str, Any]


def model(server: LocalServer, name: str = MODEL, **kwargs: Any) -> BedrockModel:
    """A model on the local server signing with SigV4 (unless ``api_key=`` is given)."""
    kwargs.setdefault("aws_access_key_id", ACCESS_KEY)
    kwargs.setdefault("aws_secret_access_key", SECRET_KEY)
    kwargs.setdefault("aws_session_token", SESSION_TOKEN)
    return BedrockModel(name, region=REGION, base_url=server.url, retry_backoff=0, **kwargs)


def signature_holds(request: Recorded, base_url: str, secret_key: str = SECRET_KEY) -> bool:
    """Whether the request's SigV4 signature is what botocore computes for it, as received."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    headers = {k.lower(): v for k, v in request.headers.items()}
    found = re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/bedrock/aws4_request, "
        r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})",
        headers.get("authorization", ""),
    )
    if found is None:
        return False
    key_id, _day, region, signed, signature = found.groups()
    names = signed.split(";")
    if not {"host", "x-amz-date"} <= set(names):
        return False
    aws = AWSRequest(request.method, base_url + request.path, {n: headers[n] for n in names})
    aws.data = request.body
    aws.context["timestamp"] = headers["x-amz-date"]
    credentials = Credentials(key_id, secret_key, headers.get("x-amz-security-token"))
    auth = SigV4Auth(credentials, "bedrock", region)
    string_to_sign = auth.string_to_sign(aws, auth.canonical_request(aws))
    return bool(auth.signature(string_to_sign, aws) == signature)


@dataclass
class BedrockService:
    """Answers each request with the next reply (a Converse response body), as Bedrock would."""

    base_url: str
    replies: list[Body] = field(default_factory=list)
    #: The Bedrock API key expected; None: a SigV4 signature is.
    bearer: str | None = None
    refused: list[str] = field(default_factory=list)

    def respond(self, request: Recorded) -> Scripted:
        path = _PATH.match(request.path)
        if request.method != "POST" or path is None:
            return self._error(404, "UnknownOperationException", "no such operation")
        headers = {k.lower(): v for k, v in request.headers.items()}
        if self.bearer is not None:
            if headers.get("authorization") != f"Bearer {self.bearer}":
                return self._error(403, "UnrecognizedClientException", "invalid API key")
        elif not signature_holds(request, self.base_url):
            return self._error(403, "InvalidSignatureException", "signature does not match")
        if not self.replies:
            return self._error(500, "InternalServerException", "no reply scripted")
        reply = self.replies.pop(0)
        if path.group(2) == "converse-stream":
            return Scripted(200, frames(reply), dict(EVENT_STREAM))
        return Scripted(200, json.dumps(reply).encode(), {"content-type": "application/json"})

    def _error(self, status: int, kind: str, message: str) -> Scripted:
        self.refused.append(kind)
        headers = {"content-type": "application/json", "x-amzn-errortype": f"{kind}:http://x/"}
        return Scripted(status, json.dumps({"message": message}).encode(), headers)


def reply(content: list[Body], stop: str = "end_turn", tokens: tuple[int, int] = (10, 5)) -> Body:
    usage = {"inputTokens": tokens[0], "outputTokens": tokens[1], "totalTokens": sum(tokens)}
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": usage,
        "metrics": {"latencyMs": 12},
    }


def tool_use(call_id: str, name: str, arguments: Body) -> Body:
    return {"toolUse": {"toolUseId": call_id, "name": name, "input": arguments}}


def frames(body: Body) -> bytes:
    """A Converse reply as the frames ConverseStream sends for it (text and tool input in
    pieces, reasoning with its signature last)."""
    return b"".join(encode_frame(kind, json.dumps(data).encode()) for kind, data in events(body))


def events(body: Body) -> Iterator[tuple[str, Body]]:
    yield "messageStart", {"role": "assistant"}
    for index, block in enumerate(body["output"]["message"]["content"]):
        at: Body = {"contentBlockIndex": index}
        if "toolUse" in block:
            use = block["toolUse"]
            start = {"toolUseId": use["toolUseId"], "name": use["name"]}
            yield "contentBlockStart", {**at, "start": {"toolUse": start}}
            text = json.dumps(use["input"])
            for piece in (text[: len(text) // 2], text[len(text) // 2 :]):
                yield "contentBlockDelta", {**at, "delta": {"toolUse": {"input": piece}}}
        elif "reasoningContent" in block:
            reasoning = block["reasoningContent"]["reasoningText"]
            for word in _pieces(reasoning["text"]):
                yield "contentBlockDelta", {**at, "delta": {"reasoningContent": {"text": word}}}
            signed = {"signature": reasoning["signature"]}
            yield "contentBlockDelta", {**at, "delta": {"reasoningContent": signed}}
        else:
            for word in _pieces(block["text"]):
                yield "contentBlockDelta", {**at, "delta": {"text": word}}
        yield "contentBlockStop", at
    yield "messageStop", {"stopReason": body["stopReason"]}
    yield "metadata", {"usage": body["usage"], "metrics": body.get("metrics", {})}


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def aws_events(body: bytes) -> Iterator[tuple[str, Body]]:
    """The events of an event-stream body, read as INDEX.md describes (not the codec's)."""
    offset = 0
    while offset < len(body):
        total, headers_length, prelude_crc = struct.unpack(">III", body[offset : offset + 12])
        assert binascii.crc32(body[offset : offset + 8]) == prelude_crc
        raw, i, headers = body[offset + 12 : offset + 12 + headers_length], 0, {}
        while i < len(raw):
            n = raw[i]
            name = raw[i + 1 : i + 1 + n].decode()
            i += 1 + n
            assert raw[i] == 7
            (length,) = struct.unpack(">H", raw[i + 1 : i + 3])
            headers[name] = raw[i + 3 : i + 3 + length].decode()
            i += 3 + length
        payload = body[offset + 12 + headers_length : offset + total - 4]
        (crc,) = struct.unpack(">I", body[offset + total - 4 : offset + total])
        assert binascii.crc32(body[offset : offset + total - 4]) == crc
        yield headers[":event-type"], json.loads(payload)
        offset += total


def expected_from_stream(body: bytes) -> Body:
    """The reply body a ConverseStream describes (a plain reading of the documented events)."""
    blocks: dict[int, Body] = {}
    reply: Body = {}
    for kind, data in aws_events(body):
        index = data.get("contentBlockIndex")
        if kind == "contentBlockStart" and "toolUse" in data["start"]:
            blocks[index] = {"toolUse": {**data["start"]["toolUse"], "input": ""}}
        elif kind == "contentBlockDelta":
            delta = data["delta"]
            if "text" in delta:
                block = blocks.setdefault(index, {"text": ""})
                block["text"] += delta["text"]
            elif "toolUse" in delta:
                blocks[index]["toolUse"]["input"] += delta["toolUse"]["input"]
            elif "reasoningContent" in delta:
                empty = {"reasoningContent": {"reasoningText": {"text": ""}}}
                text = blocks.setdefault(index, empty)["reasoningContent"]["reasoningText"]
                for key, value in delta["reasoningContent"].items():
                    text[key] = text.get(key, "") + value
        elif kind == "messageStop":
            reply["stopReason"] = data["stopReason"]
        elif kind == "metadata":
            reply["usage"] = data["usage"]
    for block in blocks.values():
        if "toolUse" in block:
            block["toolUse"]["input"] = json.loads(block["toolUse"]["input"] or "{}")
    content = [blocks[i] for i in sorted(blocks)]
    return {**reply, "output": {"message": {"role": "assistant", "content": content}}}
