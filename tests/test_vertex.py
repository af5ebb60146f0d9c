"""Vertex AI over local servers shaped like Vertex and Google's token endpoint.

Application Default Credentials are real google-auth credentials read from a file the test
writes (``GOOGLE_APPLICATION_CREDENTIALS``): an ``authorized_user`` file, or a service
account with an RSA key made here, whose token URI is a local server. So the whole path runs
(finding the credentials, the token request, the refresh when the token expires) and no
request leaves 127.0.0.1. Chains with tool calls run over it, streamed and not, blocking and
async.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from gemini_replies import SSE, call, reply, sse, text
from local_server import LocalServer, Recorded, Scripted
from paris_weather import achain, chain, weather

import agentloop
from agentloop.errors import InvalidOptionError, MissingKeyError
from agentloop.providers.gemini.vertex import VertexModel, vertex_host

MODEL = "gemini-2.5-flash"
PATH = f"/v1/projects/my-proj/locations/us-central1/publishers/google/models/{MODEL}"


class TokenEndpoint:
    """Google's OAuth token endpoint on 127.0.0.1: each request gets the next token."""

    def __init__(self, expires_in: int = 3600) -> None:
        self.expires_in = expires_in
        self.issued: list[str] = []
        self.server = LocalServer(self.answer)

    def answer(self, request: Recorded) -> Scripted:
        token = f"ya29.local-token-{len(self.issued) + 1}"
        self.issued.append(token)
        body = {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}
        return Scripted(200, json.dumps(body).encode(), {"content-type": "application/json"})

    @property
    def url(self) -> str:
        return f"{self.server.url}/token"

    def form(self, index: int = 0) -> dict[str, list[str]]:
        return parse_qs(self.server.requests[index].body.decode())


@pytest.fixture
def tokens() -> Iterator[TokenEndpoint]:
    endpoint = TokenEndpoint()
    endpoint.server.start()
    yield endpoint
    endpoint.server.stop()


@pytest.fixture(autouse=True)
def google_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No variable of the machine's; credentials always from a file, so google-auth never
    looks for gcloud's login or a metadata server."""
    for name in ("GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "absent.json"))


@functools.cache
def rsa_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def service_account(tmp_path: Path, token_uri: str, project: str = "sa-proj") -> dict[str, Any]:
    """A service-account key file with a key made here, whose token URI is ``token_uri``."""
    from cryptography.hazmat.primitives import serialization

    pem = rsa_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    info = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": "local-key-1",
        "private_key": pem.decode(),
        "client_email": f"agent@{project}.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    }
    (tmp_path / "sa.json").write_text(json.dumps(info))
    return info


def adc(tmp_path: Path, token_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Application Default Credentials from ``GOOGLE_APPLICATION_CREDENTIALS``; the project
    and location from their variables."""
    service_account(tmp_path, token_uri)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "sa.json"))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "my-proj")
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "us-central1")


def vertex(server: LocalServer, **kwargs: Any) -> agentloop.Model:
    return agentloop.get_model(f"vertex/{MODEL}", base_url=server.url, retry_backoff=0, **kwargs)


def script_chain(server: LocalServer, *, stream: bool) -> None:
    first = reply(call("weather", {"city": "Paris"}))
    second = reply(text("Sunny in Paris."))
    for body in (first, second):
        if stream:
            server.reply(sse(body), headers=SSE)
        else:
            server.reply(body)


def check_chain(server: LocalServer, token: str, *, stream: bool) -> None:
    verb = ":streamGenerateContent?alt=sse" if stream else ":generateContent"
    assert [r.path for r in server.requests] == [PATH + verb] * 2
    for sent in server.requests:
        assert sent.headers["authorization"] == f"Bearer {token}"
        assert "x-goog-api-key" not in {name.lower() for name in sent.headers}
    contents = server.requests[1].json()["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"]  # Vertex needs roles
    answer = contents[2]["parts"][0]["functionResponse"]
    assert answer["name"] == "weather"
    assert "sunny in Paris" in json.dumps(answer["response"])


# -- Application Default Credentials ---------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_a_chain_runs_on_application_default_credentials(
    local_server: LocalServer,
    tokens: TokenEndpoint,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stream: bool,
) -> None:
    adc(tmp_path, tokens.url, monkeypatch)
    script_chain(local_server, stream=stream)
    assert chain(vertex(local_server), stream=stream) == "Sunny in Paris."
    assert tokens.issued == ["ya29.local-token-1"]  # fetched once, then reused while valid
    assert tokens.form()["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    check_chain(local_server, "ya29.local-token-1", stream=stream)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_an_async_chain_runs_on_application_default_credentials(
    local_server: LocalServer,
    tokens: TokenEndpoint,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stream: bool,
) -> None:
    adc(tmp_path, tokens.url, monkeypatch)
    script_chain(local_server, stream=stream)
    model = agentloop.get_async_model(f"vertex/{MODEL}", base_url=local_server.url)
    assert await achain(model, stream=stream) == "Sunny in Paris."
    check_chain(local_server, "ya29.local-token-1", stream=stream)
    await model.aclose()


def test_an_expired_token_is_refreshed_before_the_next_request(
    local_server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A minute is inside google-auth's refresh margin: each token is stale at once.
    short = TokenEndpoint(expires_in=60)
    short.server.start()
    try:
        adc(tmp_path, short.url, monkeypatch)
        local_server.reply(reply(text("one"))).reply(reply(text("two")))
        model = vertex(local_server)
        assert model.prompt("1").text() == "one"
        assert model.prompt("2").text() == "two"
    finally:
        short.server.stop()
    assert short.issued == ["ya29.local-token-1", "ya29.local-token-2"]
    sent = [r.headers["authorization"] for r in local_server.requests]
    assert sent == ["Bearer ya29.local-token-1", "Bearer ya29.local-token-2"]


def test_a_service_account_key_signs_its_own_token_request(
    local_server: LocalServer,
    tokens: TokenEndpoint,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    info = service_account(tmp_path, tokens.url)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "sa.json"))
    local_server.reply(reply(text("hello")))
    model = vertex(local_server, project="sa-proj", location="europe-west4")
    assert model.prompt("hi").text() == "hello"
    form = tokens.form()
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    # The assertion is a JWT signed with the file's key: verify it with the public half.
    header, claims, signature = form["assertion"][0].split(".")
    rsa_key().public_key().verify(
        _unpadded(signature),
        f"{header}.{claims}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    payload = json.loads(_unpadded(claims))
    assert payload["iss"] == info["client_email"]
    assert "cloud-platform" in payload["scope"]
    (sent,) = local_server.requests
    assert sent.path.startswith("/v1/projects/sa-proj/locations/europe-west4/publishers/")
    assert sent.headers["authorization"] == "Bearer ya29.local-token-1"


def test_credentials_passed_in_are_used_and_refreshed_at_their_token_uri(
    local_server: LocalServer, tokens: TokenEndpoint, tmp_path: Path
) -> None:
    """``credentials=``: an ``authorized_user`` login (google-auth always sends those to
    Google's token URI when it reads the file, so the test points it here itself)."""
    import google.oauth2.credentials

    path = tmp_path / "user.json"
    info = {
        "type": "authorized_user",
        "client_id": "local-client.apps.googleusercontent.com",
        "client_secret": "local-client-secret",
        "refresh_token": "local-refresh-token",
    }
    path.write_text(json.dumps(info))
    login = google.oauth2.credentials.Credentials.from_authorized_user_file(str(path))
    local_server.reply(reply(text("hello")))
    model = vertex(local_server, project="p", credentials=login.with_token_uri(tokens.url))
    assert model.prompt("hi").text() == "hello"
    form = tokens.form()
    assert form["grant_type"] == ["refresh_token"]
    assert form["refresh_token"] == ["local-refresh-token"]
    assert local_server.requests[0].headers["authorization"] == "Bearer ya29.local-token-1"


def _unpadded(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def test_the_token_is_never_logged_and_is_masked_in_errors(
    local_server: LocalServer,
    tokens: TokenEndpoint,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    adc(tmp_path, tokens.url, monkeypatch)
    local_server.reply(reply(text("ok")))
    echo = {"error": {"code": 400, "message": "bad header Bearer ya29.local-token-1"}}
    local_server.reply(echo, status=400)
    model = vertex(local_server, max_retries=0)
    with caplog.at_level(logging.DEBUG, logger="agentloop"):
        model.prompt("hi").text()
        with pytest.raises(agentloop.BadRequestError) as info:
            model.prompt("again").text()
    assert "ya29.local-token-1" not in caplog.text
    assert "ya29.local-token-1" not in str(info.value)
    assert "[redacted]" in str(info.value)
    assert "ya29" not in repr(model.authenticator)


def test_credentials_that_cannot_be_found_are_a_clear_error_before_any_request(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "my-proj")
    with pytest.raises(MissingKeyError, match="gcloud auth application-default login"):
        vertex(local_server).prompt("hi").text()
    assert local_server.requests == []


def test_a_refused_token_request_is_an_authentication_error(
    local_server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refusing = LocalServer()
    refusing.reply({"error": "invalid_grant", "error_description": "Token expired"}, status=400)
    refusing.start()
    try:
        adc(tmp_path, f"{refusing.url}/token", monkeypatch)
        with pytest.raises(agentloop.AuthenticationError, match="invalid_grant"):
            vertex(local_server).prompt("hi").text()
    finally:
        refusing.stop()
    assert local_server.requests == []


def test_a_missing_project_names_the_variable(local_server: LocalServer) -> None:
    with pytest.raises(MissingKeyError, match="GOOGLE_CLOUD_PROJECT"):
        vertex(local_server).prompt("hi").text()


# -- express mode, places, counting ------------------------------------------------------------


def test_express_mode_sends_the_key_in_a_header_to_the_global_publisher_path(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "AQ.express-key-never-in-urls")
    script_chain(local_server, stream=False)
    model = vertex(local_server)
    assert model.conversation(tools=[weather]).chain("Weather?").text() == "Sunny in Paris."
    for sent in local_server.requests:
        assert sent.path == f"/v1/publishers/google/models/{MODEL}:generateContent"
        assert sent.headers["x-goog-api-key"] == "AQ.express-key-never-in-urls"
        assert "authorization" not in {name.lower() for name in sent.headers}


def test_a_project_in_the_environment_wins_over_a_key_in_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "AQ.express")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "env-proj")
    model = agentloop.get_model(f"vertex/{MODEL}")
    assert isinstance(model, VertexModel)
    assert not model.express
    assert model.url() == (
        "https://aiplatform.googleapis.com/v1/projects/env-proj/locations/global/"
        f"publishers/google/models/{MODEL}:generateContent"
    )


def test_a_location_has_its_own_host_and_global_the_shared_one() -> None:
    assert vertex_host("europe-west4") == "https://europe-west4-aiplatform.googleapis.com"
    assert vertex_host("global") == "https://aiplatform.googleapis.com"
    model = agentloop.get_model(f"vertex/{MODEL}", project="p", location="us-east5")
    assert model.url(stream=True) == (
        "https://us-east5-aiplatform.googleapis.com/v1/projects/p/locations/us-east5/"
        f"publishers/google/models/{MODEL}:streamGenerateContent?alt=sse"
    )


def test_an_api_key_and_a_project_together_are_refused() -> None:
    with pytest.raises(ValueError, match="exclude each other"):
        agentloop.get_model(f"vertex/{MODEL}", api_key="AQ.k", project="p")


def test_count_tokens_posts_the_request_fields_to_count_tokens(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "AQ.express-key")
    local_server.reply({"totalTokens": 31, "totalBillableCharacters": 90})
    count = vertex(local_server).count_tokens("How many tokens?", tools=[weather])
    assert (count.input_tokens, count.exact) == (31, True)
    (sent,) = local_server.requests
    assert sent.path == f"/v1/publishers/google/models/{MODEL}:countTokens"
    body = sent.json()
    assert set(body) == {"contents", "tools"}  # Vertex's own fields, no generateContentRequest
    assert body["contents"][0]["parts"][0]["text"] == "How many tokens?"


def test_explicit_context_caches_are_refused_naming_vertex(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "AQ.express-key")
    with pytest.raises(InvalidOptionError, match="vertex"):
        vertex(local_server).prompt("hi", prompt_cache="explicit").text()
    assert local_server.requests == []


def test_a_vertex_model_pickles_without_its_credentials(
    tokens: TokenEndpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pickle

    adc(tmp_path, tokens.url, monkeypatch)
    model = agentloop.get_model(f"vertex/{MODEL}")
    copy = pickle.loads(pickle.dumps(model))
    assert copy.url() == model.url()
    assert copy.authenticator is not None
    assert copy.authenticator.credentials is None


def test_a_refused_token_on_vertex_does_not_suggest_an_api_key(
    local_server: LocalServer,
    tokens: TokenEndpoint,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    adc(tmp_path, tokens.url, monkeypatch)
    refused = {"error": {"code": 401, "message": "Request had invalid authentication."}}
    local_server.reply(refused, status=401)
    with pytest.raises(agentloop.AuthenticationError) as info:
        vertex(local_server, max_retries=0).prompt("hi").text()
    assert "GOOGLE_API_KEY" not in str(info.value)
    assert info.value.status == 401


def test_agentloop_models_says_how_the_clouds_authenticate() -> None:
    from agentloop.cli.models import _key_status, providers

    found = {info.name: _key_status(info) for info in providers()}
    assert "Application Default Credentials" in found["vertex"]
    assert "GOOGLE_API_KEY" in found["vertex"]
    assert found["vertex-anthropic"] == "Application Default Credentials (the vertex extra)"
    assert "azure_ad_token_provider=" in found["azure"]
    assert "AZURE_OPENAI_API_KEY" in found["azure-responses"]
