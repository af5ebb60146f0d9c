"""Claude on Vertex AI over a local server shaped like Vertex's ``rawPredict``, with
Application Default Credentials from a service-account file whose token URI is local
(`test_vertex`'s token endpoint). Chains with tool calls, streamed and not, blocking and
async."""

from __future__ import annotations

from pathlib import Path

import anthropic_wire
import pytest
from local_server import LocalServer
from paris_weather import achain, chain
from test_vertex import TokenEndpoint, adc, google_env, tokens  # noqa: F401 (fixtures)

import agentloop
from agentloop.errors import MissingKeyError

MODEL = "claude-sonnet-4-5@20250929"
PATH = f"/v1/projects/my-proj/locations/us-central1/publishers/anthropic/models/{MODEL}"


def script_chain(server: LocalServer, *, stream: bool) -> None:
    call = [anthropic_wire.tool_use("toolu_1", "weather", {"city": "Paris"})]
    answer = [anthropic_wire.text("Sunny in Paris.")]
    for content, stop in ((call, "tool_use"), (answer, "end_turn")):
        if stream:
            server.reply(anthropic_wire.sse_body(content, stop), headers=anthropic_wire.SSE)
        else:
            server.reply(anthropic_wire.message_body(content, stop))


def check_chain(server: LocalServer, *, stream: bool) -> None:
    verb = ":streamRawPredict" if stream else ":rawPredict"
    assert [r.path for r in server.requests] == [PATH + verb] * 2
    for sent in server.requests:
        assert sent.headers["authorization"] == "Bearer ya29.local-token-1"
        headers = {name.lower() for name in sent.headers}
        assert "x-api-key" not in headers
        assert "anthropic-version" not in headers  # named in the body on Vertex
        body = sent.json()
        assert body["anthropic_version"] == "vertex-2023-10-16"
        assert "model" not in body  # in the URL
        assert body["stream"] is stream
    messages = server.requests[1].json()["messages"]
    assert messages[1]["content"][0]["type"] == "tool_use"
    result = messages[2]["content"][0]
    assert (result["type"], result["tool_use_id"]) == ("tool_result", "toolu_1")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_a_claude_chain_on_vertex(
    local_server: LocalServer,
    tokens: TokenEndpoint,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stream: bool,
) -> None:
    adc(tmp_path, tokens.url, monkeypatch)
    script_chain(local_server, stream=stream)
    model = agentloop.get_model(f"vertex-anthropic/{MODEL}", base_url=local_server.url)
    assert chain(model, stream=stream) == "Sunny in Paris."
    check_chain(local_server, stream=stream)
    assert model.batch_api() is None


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_an_async_claude_chain_on_vertex(
    local_server: LocalServer,
    tokens: TokenEndpoint,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stream: bool,
) -> None:
    adc(tmp_path, tokens.url, monkeypatch)
    script_chain(local_server, stream=stream)
    model = agentloop.get_async_model(f"vertex-anthropic/{MODEL}", base_url=local_server.url)
    assert await achain(model, stream=stream) == "Sunny in Paris."
    check_chain(local_server, stream=stream)
    await model.aclose()


def test_claude_on_vertex_counts_tokens_at_count_tokens(
    local_server: LocalServer,
    tokens: TokenEndpoint,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    adc(tmp_path, tokens.url, monkeypatch)
    local_server.reply({"input_tokens": 12})
    model = agentloop.get_model(f"vertex-anthropic/{MODEL}", base_url=local_server.url)
    count = model.count_tokens("How many?")
    assert (count.input_tokens, count.exact) == (12, True)
    (sent,) = local_server.requests
    assert sent.path == (
        "/v1/projects/my-proj/locations/us-central1/publishers/anthropic/models/"
        "count-tokens:rawPredict"
    )
    assert sent.json()["model"] == MODEL
    assert sent.json()["anthropic_version"] == "vertex-2023-10-16"


def test_claude_on_vertex_has_no_express_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "AQ.express")
    with pytest.raises(ValueError, match="no express mode"):
        agentloop.get_model(f"vertex-anthropic/{MODEL}", api_key="AQ.k")
    model = agentloop.get_model(f"vertex-anthropic/{MODEL}")  # the variable is not used
    with pytest.raises(MissingKeyError, match="GOOGLE_CLOUD_PROJECT"):
        model.url()
