"""The neutral provider-side tools: ``tools=[WebSearch(), CodeExecution()]``.

What ``tools=`` does with them (kept apart from the local tools, sent with every request,
never run), how each codec maps them to its native tool, the typed error naming the provider
and the option where it has none, and the recorded requests of ../shared/cassettes-more
(INDEX.md) whose ``tools`` field the encodings must reproduce.
"""

from __future__ import annotations

import json
from typing import Any

import cassettes
import pytest

import agentloop
from agentloop import (
    CodeExecution,
    DuplicateToolError,
    FunctionModel,
    LLMClient,
    Message,
    Request,
    ToolDefinitionError,
    UnsupportedServerToolError,
    UserLocation,
    WebSearch,
)
from agentloop.cli.errors import UsageError
from agentloop.cli.tools_option import resolve_tools
from agentloop.providers.anthropic import AnthropicModel
from agentloop.providers.gemini import GeminiModel
from agentloop.providers.http_call import wire_request
from agentloop.providers.openai_chat import create as create_chat
from agentloop.providers.openai_responses import OpenAIResponsesModel
from agentloop.tools import collect_server_tools, collect_tools

LONDON = {"city": "London", "region": "England", "country": "GB", "timezone": "Europe/London"}


def upper(text: str) -> str:
    "Upper-case a text."
    return text.upper()


# -- the neutral tools ----------------------------------------------------------------


def test_a_web_search_keeps_its_options_as_plain_immutable_data() -> None:
    search = WebSearch(max_uses=3, allowed_domains=["python.org"], user_location=LONDON)

    assert search.allowed_domains == ("python.org",)
    assert search.user_location == UserLocation("London", "England", "GB", "Europe/London")
    assert search.given() == {
        "max_uses": 3,
        "allowed_domains": ("python.org",),
        "user_location": search.user_location,
    }
    assert WebSearch() == WebSearch()
    assert CodeExecution() == CodeExecution()
    assert WebSearch().given() == {}
    assert CodeExecution().given() == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_uses": 0}, "max_uses must be a whole number"),
        ({"max_uses": True}, "max_uses must be a whole number"),
        ({"max_uses": "3"}, "max_uses must be a whole number"),
        ({"allowed_domains": "python.org"}, r"takes a list of domains.*\(str\)"),
        ({"blocked_domains": []}, "not an empty list"),
        ({"allowed_domains": ["ok.org", ""]}, "must list domain names"),
        ({"allowed_domains": ["a.org"], "blocked_domains": ["b.org"]}, "not both"),
        ({"user_location": "London"}, "takes a UserLocation or a dict"),
        ({"user_location": {"town": "London"}}, "no field 'town'"),
        ({"user_location": {"city": 5}}, "city must be a non-empty string"),
    ],
)
def test_a_web_search_given_a_bad_option_says_which_when_it_is_made(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ToolDefinitionError, match=message):
        WebSearch(**kwargs)


def test_tools_takes_them_beside_local_tools_and_keeps_them_apart() -> None:
    search, run = WebSearch(), CodeExecution()
    sources = [upper, search, run]

    assert list(collect_tools(sources)) == ["upper"]
    assert collect_server_tools(sources) == (search, run)
    assert collect_server_tools(search) == (search,)  # a single one, as for any tool
    with pytest.raises(DuplicateToolError, match="WebSearch twice"):
        collect_server_tools([WebSearch(), WebSearch(max_uses=2)])


def test_every_request_of_a_chain_carries_them_and_nothing_runs_them() -> None:
    seen: list[Request] = []

    def play(request: Request) -> Any:
        seen.append(request)
        if request.messages[-1].role == "tool":
            return "Done."
        return agentloop.ToolCall("upper", {"text": "x"}, "c1")

    model = FunctionModel(play)
    model.chain("Go", tools=[upper, WebSearch(max_uses=1)]).text()
    model.prompt("Once", tools=CodeExecution()).text()
    conversation = model.conversation(tools=[WebSearch()])
    conversation.prompt("Hi").text()
    conversation.fork(conversation.messages).prompt("Again").text()

    assert [list(r.server_tools) for r in seen] == [
        [WebSearch(max_uses=1)],
        [WebSearch(max_uses=1)],
        [CodeExecution()],
        [WebSearch()],
        [WebSearch()],
    ]
    assert [t.name for t in seen[0].tools] == ["upper"]


def test_the_batch_client_sends_them_with_every_prompt() -> None:
    seen: list[Request] = []

    def play(request: Request) -> str:
        seen.append(request)
        return "ok"

    client = LLMClient(FunctionModel(play))
    results = client.process_prompts_sync(["a", "b"], tools=[WebSearch()])

    assert [r.completion for r in results] == ["ok", "ok"]
    assert [list(r.server_tools) for r in seen] == [[WebSearch()], [WebSearch()]]


def test_the_command_line_names_them_with_t() -> None:
    tools = resolve_tools(["WebSearch", "codeexecution", "agentloop:WebSearch"], [], [])

    assert tools == [WebSearch(), CodeExecution(), WebSearch()]
    with pytest.raises(UsageError, match="WebSearch, CodeExecution"):
        resolve_tools(["NoSuchTool"], [], [])


# -- each provider's native tool --------------------------------------------------------


def anthropic() -> AnthropicModel:
    return AnthropicModel(
        "claude-sonnet-4-5", api_key="sk-ant-test", options={"prompt_cache": "off"}
    )


def responses() -> OpenAIResponsesModel:
    return OpenAIResponsesModel("gpt-5", api_key="sk-test", options={"prompt_cache": "off"})


def gemini() -> GeminiModel:
    return GeminiModel("gemini-2.5-flash", api_key="AIza-test")


def body(model: Any, *tools: Any, stream: bool = False) -> dict[str, Any]:
    request = Request([Message.user("Go")], server_tools=tools)
    return model.encode(request, stream=stream).body  # type: ignore[no-any-return]


def test_anthropic_takes_every_option_and_code_execution_with_its_beta_flag() -> None:
    search = WebSearch(max_uses=2, blocked_domains=["example.com"], user_location=LONDON)
    model = AnthropicModel(
        "claude-sonnet-4-5",
        api_key="sk-ant-test",
        headers={"Anthropic-Beta": "files-api-2025-04-14"},
        options={"prompt_cache": "off"},
    )
    request = Request([Message.user("Go")], server_tools=[search, CodeExecution()])
    call = model.encode(request, stream=False)

    assert call.body["tools"] == [
        {
            "type": "web_search_20250305",
            "name": "web_search",
            "max_uses": 2,
            "blocked_domains": ["example.com"],
            "user_location": {"type": "approximate", **LONDON},
        },
        {"type": "code_execution_20250825", "name": "code_execution"},
    ]
    assert call.headers["Anthropic-Beta"] == "files-api-2025-04-14,code-execution-2025-08-25"
    plain = anthropic().encode(
        Request([Message.user("Go")], server_tools=[WebSearch()]), stream=False
    )
    assert not any(name.lower() == "anthropic-beta" for name in plain.headers)


def test_anthropic_puts_them_after_the_functions() -> None:
    offered = list(collect_tools([upper]).values())
    request = Request([Message.user("Go")], offered, server_tools=[WebSearch()])

    tools = anthropic().encode(request, stream=False).body["tools"]

    assert [t["name"] for t in tools] == ["upper", "web_search"]


def test_responses_maps_allowed_domains_to_filters_and_asks_for_the_code_outputs() -> None:
    search = WebSearch(allowed_domains=["python.org"], user_location={"country": "GB"})

    sent = body(responses(), search, CodeExecution())

    assert sent["tools"] == [
        {
            "type": "web_search",
            "filters": {"allowed_domains": ["python.org"]},
            "user_location": {"type": "approximate", "country": "GB"},
        },
        {"type": "code_interpreter", "container": {"type": "auto"}},
    ]
    assert sent["include"] == ["reasoning.encrypted_content", "code_interpreter_call.outputs"]


def test_gemini_maps_them_to_its_built_in_tools() -> None:
    assert body(gemini(), WebSearch(), CodeExecution())["tools"] == [
        {"googleSearch": {}},
        {"codeExecution": {}},
    ]


@pytest.mark.parametrize(
    ("make", "tool", "provider", "option"),
    [
        (responses, WebSearch(max_uses=3), "openai-responses", "max_uses"),
        (responses, WebSearch(blocked_domains=["x.com"]), "openai-responses", "blocked_domains"),
        (gemini, WebSearch(max_uses=3), "gemini", "max_uses"),
        (gemini, WebSearch(allowed_domains=["x.com"]), "gemini", "allowed_domains"),
        (gemini, WebSearch(blocked_domains=["x.com"]), "gemini", "blocked_domains"),
        (gemini, WebSearch(user_location=LONDON), "gemini", "user_location"),
    ],
)
def test_an_option_a_provider_cannot_honour_is_refused_naming_both(
    make: Any, tool: WebSearch, provider: str, option: str
) -> None:
    with pytest.raises(UnsupportedServerToolError, match=rf"{provider}.*{option}") as info:
        body(make(), tool)
    assert (info.value.provider, info.value.tool, info.value.option) == (
        provider,
        "WebSearch",
        option,
    )


@pytest.mark.parametrize("tool", [WebSearch(), CodeExecution()], ids=repr)
def test_chat_completions_refuses_them_pointing_to_the_responses_api(tool: Any) -> None:
    model = create_chat("gpt-4.1-mini", api_key="sk-test")

    with pytest.raises(UnsupportedServerToolError, match="openai-responses/") as info:
        body(model, tool)
    assert info.value.provider == "openai"
    assert info.value.option is None


def test_the_error_comes_before_anything_is_sent(local_server: Any) -> None:
    model = GeminiModel("gemini-2.5-flash", api_key="AIza-test", base_url=local_server.url)

    with pytest.raises(UnsupportedServerToolError, match="gemini"):
        model.chain("Go", tools=[WebSearch(max_uses=1)]).text()
    assert local_server.requests == []


# -- the recorded requests ----------------------------------------------------------------


def recorded_tools(folder: str, file: str) -> tuple[cassettes.Interaction, list[Any]]:
    matches = [it for it in cassettes.more(folder) if it.file.endswith(file)]
    if not matches:
        pytest.skip(f"{folder}/{file} is not there")
    return matches[0], matches[0].request_json()["tools"]


def without_nulls(value: Any) -> Any:
    """What a body means: an SDK that writes ``null`` for an option unset says nothing."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def test_anthropic_web_search_matches_the_recorded_wire_bytes() -> None:
    it, _ = recorded_tools("anthropic", "server_tool_web_search_stream.yaml")
    start = it.request_body.index(b'"tools":')
    recorded = it.request_body[start : it.request_body.index(b"]", start) + 1]

    call = anthropic().encode(
        Request([Message.user("Go")], server_tools=[WebSearch()]), stream=True
    )

    assert recorded in wire_request(call).body


def test_anthropic_web_search_means_what_the_other_recording_sent() -> None:
    _, tools = recorded_tools("anthropic", "server_tool_web_search.yaml")

    assert body(anthropic(), WebSearch())["tools"] == without_nulls(tools)


def test_anthropic_code_execution_is_the_recorded_tool_in_its_widely_served_version() -> None:
    # The recording used code_execution_20260120, which only the newest models serve;
    # code_execution_20250825 (with its beta flag) runs on every model that has the tool.
    _, (recorded,) = recorded_tools("anthropic", "server_tool_code_execution_bash.yaml")

    (sent,) = body(anthropic(), CodeExecution())["tools"]

    assert sent["name"] == recorded["name"] == "code_execution"
    assert {**sent, "type": recorded["type"]} == recorded


@pytest.mark.parametrize(
    ("file", "tool"),
    [
        ("responses_server_tool_code_interpreter.yaml", CodeExecution()),
        ("responses_server_tool_web_search_stream.yaml", WebSearch()),
    ],
)
def test_responses_tools_mean_what_the_recordings_sent(file: str, tool: Any) -> None:
    it, tools = recorded_tools("openai", file)
    # "medium" is the API's default search_context_size, which the recording's SDK spelled out.
    meant = [
        {k: v for k, v in t.items() if (k, v) != ("search_context_size", "medium")} for t in tools
    ]

    sent = body(responses(), tool)

    assert sent["tools"] == meant
    assert sent.get("include", []) == [
        i for i in it.request_json()["include"] if i != "web_search_call.action.sources"
    ]


@pytest.mark.parametrize(
    ("file", "tool"),
    [
        ("server_tool_code_execution.yaml", CodeExecution()),
        ("server_tool_google_search_gzip.yaml", WebSearch()),
    ],
)
def test_gemini_tools_are_what_the_recordings_sent(file: str, tool: Any) -> None:
    it, tools = recorded_tools("gemini", file)

    call = gemini().encode(Request([Message.user("Go")], server_tools=[tool]), stream=False)

    assert call.body["tools"] == tools
    wire = json.loads(wire_request(call).body)
    assert json.dumps(wire["tools"]) == json.dumps(json.loads(it.request_body)["tools"])


def test_an_anthropic_token_count_sends_them_and_their_beta_flag(local_server: Any) -> None:
    local_server.reply({"input_tokens": 42})
    model = AnthropicModel("claude-sonnet-4-5", api_key="sk-ant-test", base_url=local_server.url)

    count = model.count_tokens("Go", tools=[upper, CodeExecution()])
    model.count_tokens("Go", tools=[upper])

    assert count.input_tokens == 42
    with_tool, without = local_server.requests
    assert [t["name"] for t in with_tool.json()["tools"]] == ["upper", "code_execution"]
    assert with_tool.headers["anthropic-beta"] == "code-execution-2025-08-25"
    assert with_tool.headers["x-api-key"] == "sk-ant-test"
    assert "anthropic-beta" not in without.headers
