"""A Chat Completions server for the N-step chain benchmark (run in its own process).

The first user message says how many steps the chain takes (``steps:N``): the
server answers with a call to ``bump`` until the history holds N tool results,
then with text. Serves on 127.0.0.1 and prints its port.

    python benchmarks/chain_server.py
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def reply(body: dict[str, Any]) -> dict[str, Any]:
    messages = body["messages"]
    steps = int(str(messages[0]["content"]).partition("steps:")[2] or 1)
    done = sum(1 for m in messages if m["role"] == "tool")
    message: dict[str, Any] = {"role": "assistant", "content": None}
    if done < steps:
        arguments = json.dumps({"n": done})
        message["tool_calls"] = [
            {
                "id": f"call_{done}",
                "type": "function",
                "function": {"name": "bump", "arguments": arguments},
            }
        ]
        finish = "tool_calls"
    else:
        message["content"] = f"Done after {done} steps."
        finish = "stop"
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4.1-mini-2025-04-14",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14},
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real providers do
    disable_nagle_algorithm = True  # else delayed ACKs add 40 ms to every call

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
        data = json.dumps(reply(body)).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
