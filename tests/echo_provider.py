"""A minimal provider for transport tests: JSON in, JSON out, one SSE event per chunk."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from local_server import LocalServer

from agentloop import Message, Reply, Request, StreamIncomplete, Text
from agentloop.providers.base import Delta
from agentloop.providers.http import HTTPCall, HTTPModel
from agentloop.providers.sse import ServerSentEvent


class EchoDecoder:
    def __init__(self) -> None:
        self.partial_text = ""
        self.done = False

    def feed(self, event: ServerSentEvent) -> Iterable[Delta]:
        if event.data == "[DONE]":
            self.done = True
            return []
        chunk = json.loads(event.data)["text"]
        self.partial_text += chunk
        return [Delta(chunk)]

    def finish(self) -> Reply:
        if not self.done:
            raise StreamIncomplete("no [DONE]", provider="echo", partial_text=self.partial_text)
        return Reply(Message("assistant", [Text(self.partial_text)]))


class Echo(HTTPModel):
    provider = "echo"
    key_env = ("ECHO_API_KEY",)

    def encode(self, request: Request, *, stream: bool) -> HTTPCall:
        key = self.api_key()
        return HTTPCall(
            f"{self.base_url}/v1/echo",
            {"prompt": request.last_user_text, "stream": stream},
            {"authorization": f"Bearer {key}"},
        )

    def decode(self, body: Any) -> Reply:
        return Reply(Message("assistant", [Text(body["text"])]))

    def stream_decoder(self) -> EchoDecoder:
        return EchoDecoder()


def echo(server: LocalServer, **kwargs: Any) -> Echo:
    return Echo("m", base_url=server.url, api_key="sk-test", retry_backoff=0, **kwargs)


def sse(*chunks: str, done: bool = True) -> str:
    events = [f"data: {json.dumps({'text': c})}\n\n" for c in chunks]
    return "".join(events) + ("data: [DONE]\n\n" if done else "")
