"""Every provider at once, faked on the local server: any request gets a short, well-formed answer.

For examples written against real models (the docs): point the base-URL variables at a
:class:`LocalServer` built with ``LocalServer(responder=respond)``. Each request is answered
in its own wire format (OpenAI Chat Completions and Responses, Anthropic Messages, Gemini,
Bedrock Converse, Cohere v2 Chat),
streamed when it asks for a stream. A request with a structured-output schema gets JSON that
validates against it (made by the same code as ``TestModel``'s answers); any other gets
``ANSWER``. The fake never calls tools: a chain ends after its first model call. The token
counting endpoints (Anthropic, Gemini, Responses) answer `fake_count` of the body. OpenAI's
batch endpoints are `batch_servers.OpenAIFake`'s.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic_wire
import batch_servers
import bedrock_wire
import cohere_wire
import gemini_replies
import openai_chat_wire
import responses_events
from local_server import Recorded, Scripted

from agentloop.providers.offline import example_answer

ANSWER = "An answer from the local test server."
SSE = {"content-type": "text/event-stream"}
JSON = {"content-type": "application/json"}


def environment(url: str) -> dict[str, str]:
    """Environment variables that send every provider to ``url``, with dummy keys."""
    return {
        "OPENAI_BASE_URL": f"{url}/v1",
        "OPENAI_API_KEY": "sk-docs-test",
        "ANTHROPIC_BASE_URL": url,
        "ANTHROPIC_API_KEY": "sk-ant-docs-test",
        "GEMINI_BASE_URL": url,
        "GEMINI_API_KEY": "docs-test",
        "OLLAMA_HOST": url,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": url,
        "AWS_BEARER_TOKEN_BEDROCK": "bedrock-docs-test",
        "AWS_REGION": "us-east-1",
        "CO_API_URL": url,
        "CO_API_KEY": "co-docs-test",
    }


#: OpenAI's batch API for the docs' batch-API examples: a job ends at its first poll.
BATCHES = batch_servers.OpenAIFake()
BATCHES.states = ["validating", "completed"]


def respond(request: Recorded) -> Scripted:
    path = request.path.split("?", 1)[0]
    if path.startswith(("/v1/files", "/v1/batches")):
        return BATCHES.route(request)
    body: dict[str, Any] = request.json() if request.body else {}
    schema = requested_schema(body)
    text = example_answer(schema) if schema is not None else ANSWER
    stream = bool(body.get("stream")) or ":streamGenerateContent" in path
    counted = fake_count(request.body)
    if path.endswith("/v1/messages/count_tokens"):
        return _json({"input_tokens": counted})
    if path.endswith(":countTokens"):
        return _json({"totalTokens": counted, "promptTokensDetails": []})
    if path.endswith("/responses/input_tokens"):
        return _json({"object": "response.input_tokens", "input_tokens": counted})
    if path.endswith("/chat/completions"):
        reply = openai_chat_wire.completion(text)
        return _sse(openai_chat_wire.as_stream(reply)) if stream else _json(reply)
    if path.endswith("/responses"):
        response = responses_events.reply(responses_events.message(text))
        return _sse(responses_events.event_stream(response)) if stream else _json(response)
    if path.endswith("/v1/messages"):
        content = [anthropic_wire.text(text)]
        if stream:
            return _sse(anthropic_wire.sse_body(content))
        return _json(anthropic_wire.message_body(content))
    if path.startswith("/model/") and path.endswith(("/converse", "/converse-stream")):
        reply = bedrock_wire.reply([{"text": text}])
        if path.endswith("-stream"):
            return Scripted(200, bedrock_wire.frames(reply), bedrock_wire.EVENT_STREAM)
        return _json(reply)
    if path == "/v2/chat":
        answer = cohere_wire.reply(text)
        return _sse(cohere_wire.sse(answer)) if stream else _json(answer)
    if ":generateContent" in path or ":streamGenerateContent" in path:
        reply = gemini_replies.reply(gemini_replies.text(text))
        return _sse(gemini_replies.sse(reply)) if stream else _json(reply)
    error = {"error": {"message": f"The fake providers have no endpoint {path}"}}
    return Scripted(404, json.dumps(error).encode(), JSON)


def fake_count(body: bytes) -> int:
    """A token count the fakes' counting endpoints answer: a quarter of the body's bytes."""
    return max(1, len(body) // 4)


def requested_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The structured-output schema of a request, wherever its provider puts it."""
    for outer, inner in [
        ("response_format", "json_schema"),  # Chat Completions
        ("text", "format"),  # Responses
        ("output_config", "format"),  # Anthropic
    ]:
        found = (body.get(outer) or {}).get(inner) or {}
        if "schema" in found:
            return dict(found["schema"])
    cohere = body.get("response_format") or {}
    if cohere.get("type") == "json_object" and isinstance(cohere.get("json_schema"), dict):
        return dict(cohere["json_schema"])
    gemini = (body.get("generationConfig") or {}).get("responseJsonSchema")
    return dict(gemini) if gemini is not None else None


def _json(body: dict[str, Any]) -> Scripted:
    return Scripted(200, json.dumps(body).encode(), JSON)


def _sse(body: str) -> Scripted:
    return Scripted(200, body.encode(), SSE)
