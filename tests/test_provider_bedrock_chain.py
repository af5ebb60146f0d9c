"""Bedrock end to end: tool chains, SigV4 and bearer auth, against a local server shaped as Bedrock.

The server (`bedrock_wire.BedrockService`) answers as the service does: the Converse paths,
JSON or AWS event-stream frames, and every request authenticated first: a SigV4 signature is
recomputed by botocore from the request as received (so the signature must cover the exact
bytes sent, through httpx and through aiohttp), or a bearer key compared.
"""

from __future__ import annotations

import logging
from typing import Any

import bedrock_wire
import pytest
from bedrock_wire import (
    ACCESS_KEY,
    BEARER,
    MODEL,
    REGION,
    SECRET_KEY,
    SESSION_TOKEN,
    BedrockService,
    reply,
    signature_holds,
    tool_use,
)
from local_server import LocalServer, Recorded
from weather_chain import run_chain

import agentloop
from agentloop import Message, Request
from agentloop.errors import MissingKeyError
from agentloop.providers.bedrock import BedrockModel

REASONING = {"reasoningContent": {"reasoningText": {"text": "Call the tool.", "signature": "c2ln"}}}
FIRST = [
    REASONING,
    {"text": "Let me check."},
    tool_use("tooluse_1", "get_weather", {"city": "Paris"}),
]
FINAL = [{"text": "It is sunny in Paris."}]


def service(
    server: LocalServer, *replies: dict[str, Any], bearer: str | None = None
) -> BedrockService:
    bedrock = BedrockService(server.url, list(replies), bearer)
    server.responder = bedrock.respond
    return bedrock


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("stream", [False, True], ids=["converse", "converse-stream"])
def test_a_tool_chain_runs_signed_with_sigv4(
    local_server: LocalServer, stream: bool, use_async: bool
) -> None:
    bedrock = service(
        local_server, reply(FIRST, "tool_use", (100, 10)), reply(FINAL, tokens=(200, 20))
    )
    model = agentloop.get_model(
        f"bedrock/{MODEL}",
        region=REGION,
        base_url=local_server.url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=SESSION_TOKEN,
    )
    response, chunks = run_chain(model, stream=stream, use_async=use_async)
    assert bedrock.refused == []
    assert response.text() == "It is sunny in Paris."
    if stream:
        assert "".join(chunks) == "Let me check.It is sunny in Paris."
    suffix = "converse-stream" if stream else "converse"
    first, second = local_server.requests
    assert first.path == f"/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/{suffix}"
    assert first.headers["x-amz-security-token"] == SESSION_TOKEN
    assert first.json()["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"
    question, assistant, results = second.json()["messages"]
    assert question == {"role": "user", "content": [{"text": "Weather in Paris?"}]}
    assert assistant == {"role": "assistant", "content": FIRST}  # reasoning signed, intact
    assert results == {
        "role": "user",
        "content": [
            {"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "Sunny, 22C in Paris"}]}}
        ],
    }
    total = response.usage()
    assert (total.input_tokens, total.output_tokens) == (300, 30)
    model.close()


def test_the_verifier_refuses_a_request_changed_after_signing(local_server: LocalServer) -> None:
    service(local_server, reply(FINAL))
    model = bedrock_wire.model(local_server)
    model.prompt("Hi")
    (sent,) = local_server.requests
    assert signature_holds(sent, local_server.url)
    changed = Recorded(sent.method, sent.path, sent.headers, sent.body + b" ")
    assert not signature_holds(changed, local_server.url)
    assert not signature_holds(sent, local_server.url, secret_key="another-secret-key-000")


@pytest.mark.parametrize("stream", [False, True])
def test_a_bedrock_api_key_from_the_environment_goes_as_a_bearer_token(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch, stream: bool
) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", BEARER)
    monkeypatch.setenv("AWS_REGION", REGION)
    bedrock = service(local_server, reply(FINAL), bearer=BEARER)
    model = agentloop.get_model(f"bedrock/us.{MODEL}", base_url=local_server.url)
    response = model.prompt("Weather?", stream=stream)
    assert response.text() == "It is sunny in Paris."
    assert bedrock.refused == []
    (sent,) = local_server.requests
    assert "x-amz-date" not in sent.headers  # no signature beside the key


def test_credentials_from_the_standard_aws_variables_sign(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_REGION", raising=False)
    bedrock = service(local_server, reply(FINAL))
    model = BedrockModel(MODEL, base_url=local_server.url)
    assert model.prompt("Hi").text() == "It is sunny in Paris."
    assert bedrock.refused == []
    assert "x-amz-security-token" not in local_server.requests[0].headers


def test_a_wrong_secret_is_an_authentication_error_that_shows_no_credential(
    local_server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    bedrock = service(local_server, reply(FINAL))
    wrong = "wrongSecretKeyValue0123456789abcdefghijkl"
    model = bedrock_wire.model(local_server, aws_secret_access_key=wrong)
    with (
        caplog.at_level(logging.DEBUG, logger="agentloop"),
        pytest.raises(agentloop.AuthenticationError) as info,
    ):
        model.prompt("Hi")
    assert bedrock.refused == ["InvalidSignatureException"]
    assert info.value.error_type == "InvalidSignatureException"
    assert info.value.status == 403
    assert "AWS_BEARER_TOKEN_BEDROCK" in str(info.value)
    assert len(local_server.requests) == 1  # not retried
    shown = str(info.value) + repr(info.value) + caplog.text + repr(model) + repr(vars(model))
    for secret in (wrong, SESSION_TOKEN):
        assert secret not in shown
    assert "Signature=" not in caplog.text


def test_missing_credentials_and_region_are_errors_naming_what_to_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_BEARER_TOKEN_BEDROCK",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    # no files to read, and no instance metadata to ask: nothing beyond this machine
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(MissingKeyError, match="AWS_REGION"):
        agentloop.get_model(f"bedrock/{MODEL}")
    model = agentloop.get_model(f"bedrock/{MODEL}", region="eu-west-1")
    assert model.url() == (
        "https://bedrock-runtime.eu-west-1.amazonaws.com/model/"
        "anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse"
    )
    with pytest.raises(MissingKeyError) as info:
        model.prompt("Hi")
    assert "AWS_BEARER_TOKEN_BEDROCK" in str(info.value)
    assert "AWS_ACCESS_KEY_ID" in str(info.value)
    with pytest.raises(MissingKeyError, match="nobody"):
        agentloop.get_model(f"bedrock/{MODEL}", region="eu-west-1", aws_profile="nobody").prompt(
            "Hi"
        )


def test_a_model_given_by_an_inference_profile_arn_is_one_path_segment() -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-v1:0"
    model = BedrockModel(arn, region=REGION, api_key=BEARER)
    assert model.url(stream=True) == (
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aus-east-1"
        "%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-v1%3A0/converse-stream"
    )
    body = model.encode(Request([Message.system("Be brief."), Message.user("Hi")]), stream=True)
    assert body.body == {
        "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
        "system": [{"text": "Be brief."}],
    }


def test_a_bedrock_call_is_priced_from_the_aws_table(local_server: LocalServer) -> None:
    from genai_prices import Usage as PriceUsage
    from genai_prices import calc_price

    service(local_server, reply(FINAL, tokens=(1000, 100)), bearer=BEARER)
    model = bedrock_wire.model(local_server, "us.amazon.nova-micro-v1:0", api_key=BEARER)
    usage = model.prompt("Hi").usage()
    expected = calc_price(
        PriceUsage(input_tokens=1000, output_tokens=100),
        "amazon.nova-micro-v1:0",
        provider_id="aws",
    )
    assert usage.cost == pytest.approx(float(expected.total_price))


def test_a_signing_model_pickles_for_another_process(local_server: LocalServer) -> None:
    import pickle

    bedrock = service(local_server, reply(FINAL), reply(FINAL))
    model = bedrock_wire.model(local_server)
    model.prompt("Hi")  # its credentials found, its lock made
    copied = pickle.loads(pickle.dumps(model.with_transports()))
    assert copied.prompt("Hi").text() == "It is sunny in Paris."
    assert bedrock.refused == []
