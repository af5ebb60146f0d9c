"""Endpoints as data: the OpenAI-compatible hosts, their quirks, and providers added by
installed packages (the ``agentloop.providers`` entry points).

Every request goes to the local server on 127.0.0.1: a host's own base URL is checked as
the URL its model would use, never reached.
"""

from __future__ import annotations

import pickle
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_server import LocalServer
from openai_chat_wire import SSE, as_stream, completion

import agentloop
from agentloop import registry
from agentloop.cli.models import providers
from agentloop.errors import MissingKeyError, OptionError
from agentloop.providers.endpoints import ENDPOINTS, HOSTS, OPENAI, Endpoint, Quirks
from agentloop.providers.openai_chat import OpenAICompatibleModel
from agentloop.registry import ProviderLoadError, UnknownModelError

ROOT = Path(__file__).parents[1]
HOSTED = [host for host in HOSTS if host.requires_key]
LOCAL = [host for host in HOSTS if not host.requires_key]


@pytest.fixture(autouse=True)
def registry_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test registers into its own copy of the registry, and reads entry points anew."""
    monkeypatch.setattr(registry, "_PROVIDERS", dict(registry._PROVIDERS))
    monkeypatch.setattr(registry, "_ALIASES", dict(registry._ALIASES))
    monkeypatch.setattr(registry, "_entry_points_loaded", False)


@pytest.fixture(autouse=True)
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for endpoint in ENDPOINTS.values():
        for variable in (*endpoint.key_env, endpoint.base_url_env):
            if variable:
                monkeypatch.delenv(variable, raising=False)


def answer(server: LocalServer, text: str = "hi", *, stream: bool = False) -> None:
    body = completion(text)
    if stream:
        server.reply(as_stream(body), headers=SSE)
    else:
        server.reply(body)


# -- the hosts ------------------------------------------------------------------------------


@pytest.mark.parametrize("host", HOSTED, ids=lambda h: h.name)
def test_a_host_sends_its_key_variable_as_a_bearer_token_to_chat_completions(
    host: Endpoint, local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    (variable,) = host.key_env
    monkeypatch.setenv(variable, f"key-of-{host.name}")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-never-sent-elsewhere")
    answer(local_server)
    model = agentloop.get_model(f"{host.name}/some-org/model-1", base_url=f"{local_server.url}/v1")
    assert model.prompt("hello").text() == "hi"
    sent = local_server.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.headers["authorization"] == f"Bearer key-of-{host.name}"
    assert sent.json()["model"] == "some-org/model-1"
    assert model.model_id == f"{host.name}/some-org/model-1"


@pytest.mark.parametrize("host", HOSTS, ids=lambda h: h.name)
def test_without_base_url_a_host_model_posts_to_the_hosts_documented_url(host: Endpoint) -> None:
    model = agentloop.get_model(f"{host.name}/m", api_key="k")
    assert isinstance(model, OpenAICompatibleModel)
    assert model.base_url == host.base_url
    assert model.url() == f"{host.base_url}/chat/completions"


@pytest.mark.parametrize("host", HOSTED, ids=lambda h: h.name)
def test_a_missing_key_names_the_hosts_variable_before_any_request(
    host: Endpoint, local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-never-sent-elsewhere")
    model = agentloop.get_model(f"{host.name}/m", base_url=f"{local_server.url}/v1")
    with pytest.raises(MissingKeyError, match=host.key_env[0]):
        model.prompt("hello")
    assert local_server.requests == []


def test_api_key_argument_wins_over_the_variable(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "from-env")
    answer(local_server)
    groq = agentloop.get_model(
        "groq/llama-3.3-70b-versatile", api_key="given", base_url=f"{local_server.url}/v1"
    )
    groq.prompt("hello")
    assert local_server.requests[0].headers["authorization"] == "Bearer given"


@pytest.mark.parametrize("host", LOCAL, ids=lambda h: h.name)
def test_a_local_server_runs_without_a_key_at_its_base_url_variable(
    host: Endpoint, local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert host.base_url_env is not None
    monkeypatch.setenv(host.base_url_env, f"{local_server.url}/v1")
    answer(local_server, stream=True)
    model = agentloop.get_model(f"{host.name}/qwen3")
    assert "".join(model.prompt("hello", stream=True)) == "hi"
    sent = local_server.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert "authorization" not in sent.headers
    for variable in host.key_env:  # a server started with a key gets it
        monkeypatch.setenv(variable, "local-key")
        answer(local_server)
        agentloop.get_model(f"{host.name}/qwen3").prompt("hello")
        assert local_server.requests[-1].headers["authorization"] == "Bearer local-key"


def test_a_host_model_pickles_for_another_process() -> None:
    model = agentloop.get_model("groq/llama-3.3-70b-versatile", api_key="k")
    copied = pickle.loads(pickle.dumps(model.with_transports()))
    assert copied.endpoint == model.endpoint
    assert copied.url() == "https://api.groq.com/openai/v1/chat/completions"


# -- quirks ---------------------------------------------------------------------------------


def _tool(text: str) -> str:
    """Echo the text."""
    return text


def test_mistral_streams_without_stream_options(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "m")
    answer(local_server, stream=True)
    mistral = agentloop.get_model("mistral/mistral-small-latest", base_url=local_server.url)
    assert "".join(mistral.prompt("hello", stream=True)) == "hi"
    assert "stream_options" not in local_server.requests[0].json()
    # Unless asked for by name: a caller's own field is sent as given.
    answer(local_server, stream=True)
    asked = {"stream_options": {"include_usage": True}}
    "".join(mistral.prompt("hello", stream=True, extra_body=asked))
    assert local_server.requests[1].json()["stream_options"] == {"include_usage": True}


def test_hosts_that_refuse_strict_tools_get_them_non_strict(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer(local_server)
    answer(local_server)
    for name in ("xai/grok-4", "groq/llama-3.3-70b-versatile"):
        model = agentloop.get_model(name, api_key="k", base_url=local_server.url)
        model.prompt("hello", tools=[_tool], strict_tools="auto")
    xai, groq = (request.json()["tools"][0]["function"] for request in local_server.requests)
    assert "strict" not in xai
    assert groq["strict"] is True


def test_strict_tools_asked_of_a_host_without_them_is_refused_naming_it(
    local_server: LocalServer,
) -> None:
    model = agentloop.get_model("xai/grok-4", api_key="k", base_url=local_server.url)
    with pytest.raises(agentloop.InvalidOptionError, match="xAI has no strict tools") as info:
        model.prompt("hello", tools=[_tool], strict_tools=True)
    assert (info.value.option, info.value.provider) == ("strict_tools", "xAI")
    assert local_server.requests == []


def test_a_host_without_reasoning_effort_refuses_it_naming_the_host(
    local_server: LocalServer,
) -> None:
    quiet = Endpoint(
        "quiet",
        "openai_chat",
        local_server.url,
        "/chat/completions",
        quirks=Quirks(reasoning_effort=False),
        requires_key=False,
        title="Quiet Host",
    )
    agentloop.register_endpoint(quiet)
    with pytest.raises(OptionError, match="Quiet Host has no way to send it; leave it out"):
        agentloop.get_model("quiet/m").prompt("hello", reasoning_effort="low")
    assert local_server.requests == []


def test_openai_itself_keeps_max_completion_tokens_and_hosts_max_tokens(
    local_server: LocalServer,
) -> None:
    answer(local_server)
    answer(local_server)
    for name in ("openai/gpt-4.1-mini", "together/meta-llama/Llama-3.3-70B-Instruct-Turbo"):
        model = agentloop.get_model(name, api_key="k", base_url=local_server.url)
        model.prompt("hello", max_tokens=7)
    openai, together = (request.json() for request in local_server.requests)
    assert openai["max_completion_tokens"] == 7
    assert together["max_tokens"] == 7
    assert OPENAI.quirks.max_tokens_field == "max_completion_tokens"


def test_an_endpoints_default_options_and_headers_go_under_the_callers(
    local_server: LocalServer,
) -> None:
    agentloop.register_endpoint(
        Endpoint(
            "acme",
            "openai_chat",
            f"{local_server.url}/v2",
            "/chat/completions",
            auth="x-api-key",
            key_env=("ACME_KEY",),
            options={"temperature": 0.1, "top_p": 0.5},
            headers={"x-acme-client": "agentloop"},
        )
    )
    answer(local_server)
    acme = agentloop.get_model("acme/a1", api_key="secret", options={"top_p": 0.9})
    acme.prompt("hello")
    sent = local_server.requests[0]
    assert sent.path == "/v2/chat/completions"
    assert (sent.headers["x-api-key"], sent.headers["x-acme-client"]) == ("secret", "agentloop")
    assert "authorization" not in sent.headers
    assert (sent.json()["temperature"], sent.json()["top_p"]) == (0.1, 0.9)


def test_an_endpoint_names_a_known_wire_format() -> None:
    with pytest.raises(ValueError, match="wire must be one of"):
        Endpoint("x", "smoke_signals", "http://h", "/")


# -- providers of installed packages ----------------------------------------------------------


def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry_points: str, code: str) -> None:
    """A distribution ``acme-models 1.0`` on sys.path: its module and its dist-info, as pip
    would leave them (importlib.metadata reads the dist-info; no pip run needed)."""
    (tmp_path / "acme_models.py").write_text(code)
    info = tmp_path / "acme_models-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-models\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[agentloop.providers]\n{entry_points}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "acme_models", raising=False)


@pytest.fixture
def unload_acme() -> Iterator[None]:
    yield
    sys.modules.pop("acme_models", None)


ACME = """
import agentloop
from agentloop.providers.endpoints import Endpoint

LOADED = []

def create(name, **kwargs):
    return agentloop.FunctionModel(lambda request: f"acme {name}", model_id=f"acme/{name}")

HOST = Endpoint("acmehost", "openai_chat", "http://127.0.0.1:9/v1", "/chat/completions",
                key_env=("ACME_API_KEY",))
NOT_A_FACTORY = 42
"""


@pytest.mark.usefixtures("unload_acme")
def test_an_installed_package_adds_models_through_its_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, "acme = acme_models:create", ACME)
    assert "acme_models" not in sys.modules
    model = agentloop.get_model("acme/rocket")
    assert model.prompt("hi").text() == "acme rocket"
    # Read once, the first time a name was not found among the built-ins.
    assert registry._entry_points_loaded


@pytest.mark.usefixtures("unload_acme")
def test_an_entry_point_may_be_an_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(tmp_path, monkeypatch, "acmehost = acme_models:HOST", ACME)
    model = agentloop.get_model("acmehost/m", api_key="k")
    assert isinstance(model, OpenAICompatibleModel)
    assert model.url() == "http://127.0.0.1:9/v1/chat/completions"
    listed = {info.name: info for info in providers()}
    assert listed["acmehost"].keys == {"ACME_API_KEY": False}


@pytest.mark.usefixtures("unload_acme")
def test_built_ins_are_found_without_reading_entry_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, "openai = acme_models:create", ACME)
    agentloop.get_model("groq/m", api_key="k")
    assert not registry._entry_points_loaded
    with pytest.raises(UnknownModelError):
        agentloop.get_model("nobody/m")
    assert registry._entry_points_loaded
    # An entry point never replaces a built-in.
    assert type(agentloop.get_model("openai/gpt-4.1-mini", api_key="k")).__name__ == (
        "OpenAIChatModel"
    )


@pytest.mark.usefixtures("unload_acme")
@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("acme_missing:create", "ModuleNotFoundError: No module named 'acme_missing'"),
        ("acme_models:nothing_here", "AttributeError"),
        ("acme_models:NOT_A_FACTORY", "is a int: it must be a factory"),
    ],
)
def test_a_broken_entry_point_is_a_clear_error_naming_the_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, says: str
) -> None:
    install(tmp_path, monkeypatch, f"acme = {value}", ACME)
    with pytest.raises(ProviderLoadError) as caught:
        agentloop.get_model("acme/rocket")
    message = str(caught.value)
    assert "entry point 'acme'" in message
    assert "acme-models 1.0" in message
    assert says in message
    # No chained traceback from inside the package or importlib.
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__
    # `agentloop models` lists it with the reason rather than failing.
    listed = {info.name: info for info in providers()}
    assert "acme-models 1.0" in listed["acme"].note


# -- listing and docs ---------------------------------------------------------------------------


def test_agentloop_models_lists_every_host_with_its_key_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "g")
    listed = {info.name: info for info in providers()}
    for host in HOSTS:
        assert f"{host.name}/<model>" in listed[host.name].names
        assert listed[host.name].needs_key is host.requires_key
    assert listed["groq"].keys == {"GROQ_API_KEY": True}
    assert listed["cerebras"].keys == {"CEREBRAS_API_KEY": False}
    assert listed["anthropic"].keys == {"ANTHROPIC_API_KEY": False}


def hosts_table() -> str:
    """The hosts table of docs/providers.md, as the entries make it."""
    head = "| host | names | key | base URL | base URL variable | quirks |"
    rows = [head, "| --- " * 6 + "|"]
    for host in (ENDPOINTS["ollama"], *HOSTS):
        key = " or ".join(f"`{v}`" for v in host.key_env) or "none"
        if not host.requires_key and host.key_env:
            key += " (optional)"
        variable = f"`{host.base_url_env}`" if host.base_url_env else "none"
        cells = [host.display_name, f"`{host.name}/<model>`", key, f"`{host.base_url}`", variable]
        rows.append("| " + " | ".join([*cells, quirks_cell(host.quirks)]) + " |")
    return "\n".join(rows)


def quirks_cell(quirks: Quirks) -> str:
    said = [
        "tools sent non-strict" if not quirks.strict_tools else "",
        "no `stream_options`" if not quirks.stream_options else "",
        "no `reasoning_effort`" if not quirks.reasoning_effort else "",
    ]
    return "; ".join(s for s in said if s) or "none known"


def test_the_docs_table_of_hosts_is_the_entries() -> None:
    text = (ROOT / "docs" / "providers.md").read_text()
    found = re.search(r"<!-- hosts table: .*? -->\n(.*?)\n\n", text, re.S)
    assert found is not None, "docs/providers.md lost its hosts table marker"
    assert found.group(1) == hosts_table(), "paste this table into docs/providers.md:\n" + (
        hosts_table()
    )


def test_a_subclass_written_before_endpoints_keeps_its_class_constants(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from echo_provider import Echo

    monkeypatch.delenv("ECHO_API_KEY", raising=False)
    assert Echo.endpoint.name == "echo"
    assert Echo.endpoint.key_env == ("ECHO_API_KEY",)
    assert Echo.endpoint.wire == "custom"
    with pytest.raises(MissingKeyError, match="ECHO_API_KEY"):
        Echo("m", base_url="http://127.0.0.1:9").api_key()
