"""Every neutral feature through all six codecs: the same outcome on each.

Rows are features (content parts, tool calls and results, thinking, each neutral option,
``tool_choice``, ``stop``, strict tools, structured output); columns are the six wire
formats' pure request encoders, called directly with one `Request` (no network; a file
given by URL is served by the local server, which some formats download to inline it).
A row expects one outcome everywhere: accepted, or the same error type. The only
exceptions are the documented ones, where a provider has no way to express the feature
(`EXCEPTIONS`); the error then names that provider.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from local_server import LocalServer
from openai_chat_wire import completion

import agentloop
from agentloop import (
    ConversionError,
    File,
    InvalidOptionError,
    Message,
    Request,
    Thinking,
    Tool,
    ToolCall,
    ToolResult,
)
from agentloop.media import Media
from agentloop.providers.anthropic.messages import media_to_fetch as anthropic_media
from agentloop.providers.anthropic.request import encode_request as anthropic_body
from agentloop.providers.bedrock.messages import media_to_fetch as bedrock_media
from agentloop.providers.bedrock.request import encode_request as bedrock_body
from agentloop.providers.cohere.request import encode_request as cohere_body
from agentloop.providers.endpoints import ENDPOINTS
from agentloop.providers.gemini.messages import media_to_fetch as gemini_media
from agentloop.providers.gemini.request import encode_body as gemini_body
from agentloop.providers.neutral_options import check_options
from agentloop.providers.openai_chat import OpenAICompatibleModel
from agentloop.providers.openai_chat.messages import media_to_fetch as chat_media
from agentloop.providers.openai_chat.request import encode_body as chat_body
from agentloop.providers.openai_responses.request import encode_body as responses_body


def get_weather(city: str) -> str:
    "The weather in a city."
    return city


def tally(counts: dict[str, int]) -> int:
    "Add up counts: a free-form dict, which no strict mode can express."
    return sum(counts.values())


WEATHER = Tool.function(get_weather)
TALLY = Tool.function(tally)
#: A 1x1 PNG and a minimal PDF.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4ef0000000049454e44ae426082"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CALL = ToolCall("get_weather", {"city": "Paris"}, "call_1")
RESULT = ToolResult("get_weather", "Sunny", "call_1")

Encoder = Callable[[Request], dict[str, Any]]
CODECS: dict[str, Encoder] = {
    "openai_chat": lambda r: chat_body(r, model="gpt-4o", stream=False, options=r.options),
    "openai_responses": lambda r: responses_body("gpt-4.1", r, r.options, stream=False),
    "anthropic": lambda r: anthropic_body("claude-sonnet-4-5", r, r.options, stream=False),
    "gemini": lambda r: gemini_body(r, r.options),
    "bedrock": lambda r: bedrock_body(r, r.options),
    "cohere": lambda r: cohere_body(r, r.options, model="command-a-03-2025", stream=False),
}
#: What each codec inlines of a URL, fetched first as its model does (a codec never downloads).
MEDIA_TO_FETCH: dict[str, Callable[[Sequence[Message]], list[Media]]] = {
    "openai_chat": chat_media,
    "openai_responses": lambda messages: [],
    "anthropic": anthropic_media,
    "gemini": gemini_media,
    "bedrock": bedrock_media,
    "cohere": lambda messages: [],
}
PROVIDERS = {
    "openai_chat": "OpenAI Chat Completions",
    "openai_responses": "OpenAI Responses",
    "anthropic": "Anthropic",
    "gemini": "Gemini",
    "bedrock": "Bedrock",
    "cohere": "Cohere",
}
OK = "accepted"


@dataclass(frozen=True)
class Feature:
    name: str
    messages: Callable[[LocalServer], list[Message]] = lambda _: [Message.user("Hi")]
    tools: tuple[Tool, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    schema: dict[str, Any] | None = None
    #: The outcome on every format: OK, or the error type raised.
    outcome: str | type[Exception] = OK
    #: Text the body must carry wherever the feature is accepted.
    carried: tuple[str, ...] = ()
    #: Text of which the body must carry one at least (a URL, or the bytes it names).
    carried_any: tuple[str, ...] = ()


def user_with(part: Any) -> Callable[[LocalServer], list[Message]]:
    return lambda _: [Message.user("Look").add(part)]


def image_by_url(server: LocalServer) -> list[Message]:
    server.reply(PNG, headers={"content-type": "image/png"})
    return [Message.user("Look").add(agentloop.Image(f"{server.url}/cat.png"))]


def file_by_url(server: LocalServer) -> list[Message]:
    server.reply(PDF, headers={"content-type": "application/pdf"})
    return [Message.user("Read").add(File(url=f"{server.url}/report.pdf"))]


def unjsonable_call(_: LocalServer) -> list[Message]:
    """A call made in code whose arguments hold a set: no format can send it."""
    call = ToolCall("get_weather", {"city": {"Paris", "Rome"}}, "call_1")
    return [Message.user("Weather?"), Message("assistant", [call]), Message.tool(RESULT)]


def with_call(*parts: Any) -> Callable[[LocalServer], list[Message]]:
    return lambda _: [
        Message.user("Weather?"),
        Message("assistant", [*parts, CALL]),
        Message.tool(RESULT),
    ]


FREE_FORM = {"type": "object", "additionalProperties": {"type": "integer"}}
CLOSED = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
SIGNED = Thinking("Let me look.", signature="sig", provider="anthropic")

FEATURES = [
    Feature("text", carried=("Hi",)),
    Feature("image by bytes", user_with(agentloop.Image(PNG)), carried=("iVBORw0KGgo",)),
    Feature("image by URL", image_by_url, carried_any=("/cat.png", "iVBORw0KGgo")),
    Feature("file by bytes", user_with(File(PDF, "report.pdf")), carried=("JVBERi0xLjQ",)),
    Feature("file by URL", file_by_url, carried_any=("JVBERi0xLjQ", "/report.pdf")),
    Feature("tool call and result", with_call(), (WEATHER,), carried=("call_1", "Sunny")),
    Feature(
        "tool call with arguments JSON cannot hold",
        unjsonable_call,
        (WEATHER,),
        outcome=ConversionError,
    ),
    Feature("thinking", with_call(SIGNED), (WEATHER,), carried=("Sunny",)),
    Feature("temperature", options={"temperature": 0.5}),
    Feature("temperature above 1", options={"temperature": 1.5}),
    Feature("temperature not a number", options={"temperature": "hot"}, outcome=InvalidOptionError),
    Feature("top_p", options={"top_p": 0.9}),
    Feature("top_p above 1", options={"top_p": 2}, outcome=InvalidOptionError),
    Feature("max_tokens", options={"max_tokens": 100}, carried=("100",)),
    Feature("max_tokens zero", options={"max_tokens": 0}, outcome=InvalidOptionError),
    Feature("max_tokens a bool", options={"max_tokens": True}, outcome=InvalidOptionError),
    Feature("seed", options={"seed": 7}),
    Feature("reasoning_effort", options={"reasoning_effort": "low"}, carried=("low",)),
    Feature(
        "reasoning_effort a number", options={"reasoning_effort": 5}, outcome=InvalidOptionError
    ),
    Feature("thinking_budget", options={"thinking_budget": 1024}, carried=("1024",)),
    Feature(
        "thinking_budget negative", options={"thinking_budget": -1}, outcome=InvalidOptionError
    ),
    Feature("parallel_tool_calls", tools=(WEATHER,), options={"parallel_tool_calls": False}),
    Feature(
        "parallel_tool_calls not a bool",
        options={"parallel_tool_calls": "no"},
        outcome=InvalidOptionError,
    ),
    Feature("tool_choice auto", tools=(WEATHER,), options={"tool_choice": "auto"}),
    Feature("tool_choice none", tools=(WEATHER,), options={"tool_choice": "none"}),
    Feature("tool_choice required", tools=(WEATHER,), options={"tool_choice": "required"}),
    Feature("tool_choice any", tools=(WEATHER,), options={"tool_choice": "any"}),
    Feature(
        "tool_choice a tool",
        tools=(WEATHER, TALLY),
        options={"tool_choice": "tally"},
        carried=('"tally"',),
    ),
    Feature(
        "tool_choice an unknown tool",
        tools=(WEATHER,),
        options={"tool_choice": "get_time"},
        outcome=InvalidOptionError,
    ),
    Feature(
        "tool_choice not a string",
        tools=(WEATHER,),
        options={"tool_choice": 5},
        outcome=InvalidOptionError,
    ),
    Feature("tool_choice auto without tools", options={"tool_choice": "auto"}),
    Feature(
        "tool_choice required without tools",
        options={"tool_choice": "required"},
        outcome=InvalidOptionError,
    ),
    Feature("stop a string", options={"stop": "END"}, carried=("END",)),
    Feature("stop a list", options={"stop": ["END", "STOP"]}, carried=("END", "STOP")),
    Feature("stop an empty list", options={"stop": []}),
    Feature("stop five", options={"stop": list("abcde")}),
    Feature("stop too many", options={"stop": list("abcdef")}, outcome=InvalidOptionError),
    Feature("stop whitespace", options={"stop": "\n"}),
    Feature("stop empty", options={"stop": ["END", ""]}, outcome=InvalidOptionError),
    Feature("stop not strings", options={"stop": 123}, outcome=InvalidOptionError),
    Feature("strict_tools auto", tools=(WEATHER, TALLY), options={"strict_tools": "auto"}),
    Feature("strict_tools True", tools=(WEATHER,), options={"strict_tools": True}),
    Feature(
        "strict_tools True, a schema with no strict form",
        tools=(TALLY,),
        options={"strict_tools": True},
        outcome=InvalidOptionError,
    ),
    Feature(
        "strict_tools misspelt",
        tools=(WEATHER,),
        options={"strict_tools": "yes"},
        outcome=InvalidOptionError,
    ),
    Feature("prompt_cache misspelt", options={"prompt_cache": "on"}, outcome=InvalidOptionError),
    Feature("structured output", schema=CLOSED, carried=('"city"',)),
    Feature("structured output, free-form keys", schema=FREE_FORM),
]

#: Where a provider has no way to express a feature: (feature, format) -> outcome. Each is
#: documented in docs/providers.md (Options) or docs/structured-output.md.
EXCEPTIONS: dict[tuple[str, str], str | type[Exception]] = {
    ("temperature above 1", "anthropic"): InvalidOptionError,  # Anthropic: 0 to 1
    ("seed", "openai_responses"): InvalidOptionError,
    ("seed", "anthropic"): InvalidOptionError,
    ("thinking_budget", "openai_chat"): InvalidOptionError,  # effort, not tokens
    ("thinking_budget", "openai_responses"): InvalidOptionError,
    ("parallel_tool_calls", "gemini"): InvalidOptionError,
    ("stop a string", "openai_responses"): InvalidOptionError,  # no stop sequences
    ("stop a list", "openai_responses"): InvalidOptionError,
    ("stop five", "openai_responses"): InvalidOptionError,
    ("stop five", "openai_chat"): InvalidOptionError,  # OpenAI: at most 4
    ("stop too many", "anthropic"): OK,  # no documented limit
    ("stop whitespace", "openai_responses"): InvalidOptionError,
    ("stop whitespace", "anthropic"): InvalidOptionError,  # Anthropic refuses it
    ("strict_tools True", "gemini"): InvalidOptionError,  # no strict tools
    ("structured output, free-form keys", "anthropic"): ConversionError,  # no non-strict mode
    # Bedrock Converse: temperature 0 to 1, no seed, effort or serial calls in its own fields,
    # no strict tools, no structured output of its own, no documented stop limit
    ("temperature above 1", "bedrock"): InvalidOptionError,
    ("seed", "bedrock"): InvalidOptionError,
    ("reasoning_effort", "bedrock"): InvalidOptionError,
    ("parallel_tool_calls", "bedrock"): InvalidOptionError,
    ("stop too many", "bedrock"): OK,
    ("strict_tools True", "bedrock"): InvalidOptionError,
    ("structured output", "bedrock"): ConversionError,
    ("structured output, free-form keys", "bedrock"): ConversionError,
    # Cohere v2 Chat: no files, no effort (a thinking budget instead), no serial calls
    ("file by bytes", "cohere"): ConversionError,
    ("file by URL", "cohere"): ConversionError,
    ("reasoning_effort", "cohere"): InvalidOptionError,
    ("parallel_tool_calls", "cohere"): InvalidOptionError,
}


def expected(feature: Feature, codec: str) -> str | type[Exception]:
    return EXCEPTIONS.get((feature.name, codec), feature.outcome)


def request_for(feature: Feature, server: LocalServer) -> Request:
    options = {"prompt_cache": "off", **feature.options}
    return Request(feature.messages(server), feature.tools, options, schema=feature.schema)


def outcome(codec: str, request: Request) -> tuple[str | type[Exception], Any]:
    for media in MEDIA_TO_FETCH[codec](request.messages):
        media.read()
    try:
        return OK, CODECS[codec](request)
    except Exception as exc:  # the outcome under test, whatever it is
        return type(exc), exc


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("feature", FEATURES, ids=lambda f: f.name)
def test_every_format_gives_a_feature_the_same_outcome(
    feature: Feature, codec: str, local_server: LocalServer
) -> None:
    got, detail = outcome(codec, request_for(feature, local_server))
    want = expected(feature, codec)
    assert got is want, f"{feature.name} on {codec}: {detail!r}"
    if got is OK:
        sent = json.dumps(detail)
        for text in feature.carried:
            assert text in sent, f"{feature.name} on {codec}: {text!r} not sent"
        if feature.carried_any:
            assert any(text in sent for text in feature.carried_any), f"{feature.name}: {sent}"
        return
    assert isinstance(detail, agentloop.AgentloopError)
    if (feature.name, codec) in EXCEPTIONS:  # the provider's own limit: it is named
        assert PROVIDERS[codec] in str(detail)
    if isinstance(detail, InvalidOptionError):
        assert detail.option in feature.options
        assert str(detail).startswith(f"Option {detail.option}=")
        # A provider's own limit names it; a value no format takes names none.
        assert detail.provider in (None, PROVIDERS[codec])
        if (feature.name, codec) in EXCEPTIONS:
            assert detail.provider == PROVIDERS[codec]


@pytest.mark.parametrize("codec", CODECS)
def test_arguments_json_cannot_hold_are_refused_alike_naming_the_call(
    codec: str, local_server: LocalServer
) -> None:
    feature = next(f for f in FEATURES if f.name == "tool call with arguments JSON cannot hold")
    _, error = outcome(codec, request_for(feature, local_server))
    assert isinstance(error, ConversionError)
    assert "the arguments of tool call 'get_weather'" in str(error)
    assert "are not JSON: Object of type set is not JSON serializable" in str(error)


def test_every_exception_is_a_feature_of_the_table() -> None:
    names = {feature.name for feature in FEATURES}
    assert {name for name, _ in EXCEPTIONS} <= names
    assert {codec for _, codec in EXCEPTIONS} <= set(CODECS)


def test_an_unknown_tool_name_is_refused_with_the_known_tools() -> None:
    request = Request([Message.user("Hi")], (WEATHER, TALLY), {"tool_choice": "get_time"})
    for codec, encode in CODECS.items():
        with pytest.raises(InvalidOptionError) as info:
            encode(request)
        assert str(info.value) == (
            "Option tool_choice='get_time': names no tool on offer; the tools are "
            "'get_weather', 'tally' (or give 'auto', 'required' or 'none')"
        ), codec


def test_a_tool_of_the_providers_own_tools_field_can_be_chosen() -> None:
    raw = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    checked = check_options({"tools": raw, "tool_choice": "lookup"})
    assert checked.tool_choice == "lookup"
    unnamed = check_options({"tools": [{"type": "web_search"}], "tool_choice": "required"})
    assert unnamed.tool_choice == "required"


def test_tool_choice_any_is_required_and_auto_without_tools_sends_nothing() -> None:
    assert check_options({"tool_choice": "any"}, tools=[WEATHER]).tool_choice == "required"
    assert check_options({"tool_choice": "auto"}).tool_choice is None
    assert check_options({"parallel_tool_calls": True}).parallel_tool_calls is None
    for codec, encode in CODECS.items():
        body = json.dumps(encode(Request([Message.user("Hi")], (), {"tool_choice": "none"})))
        assert "tool_choice" not in body, codec
        assert "toolConfig" not in body, codec


def test_a_strict_fallback_is_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    request = Request([Message.user("Hi")], (TALLY,), {"strict_tools": "auto"})
    with caplog.at_level(logging.DEBUG, logger="agentloop.providers.neutral_options"):
        for encode in CODECS.values():
            encode(request)
    logged = [r.getMessage() for r in caplog.records]
    for provider in ("OpenAI Chat Completions", "OpenAI Responses", "Anthropic"):
        assert any(f"the tool 'tally' goes to {provider} non-strict" in m for m in logged)
    assert "Gemini has no strict tools: sent as they are" in logged


def test_the_chain_refuses_a_bad_option_before_any_call() -> None:
    calls: list[Request] = []

    def answer(request: Request) -> str:
        calls.append(request)
        return "ok"

    model = agentloop.FunctionModel(answer)
    conversation = model.conversation(tools=[get_weather])
    with pytest.raises(InvalidOptionError, match="the tools are 'get_weather'"):
        conversation.chain("Hi", tool_choice="get_time")
    with pytest.raises(InvalidOptionError, match="Option stop=123"):
        model.prompt("Hi", stop=123)
    with pytest.raises(InvalidOptionError, match="Option schema=5"):
        model.prompt("Hi", schema=5)  # type: ignore[arg-type]
    assert calls == []
    assert conversation.chain("Hi", tool_choice="get_weather").text() == "ok"


def test_tool_names_wait_for_toolboxes_not_yet_prepared() -> None:
    later = check_options({"tool_choice": "Memory_get"}, tools_known=False)
    assert later.tool_choice == "Memory_get"
    with pytest.raises(InvalidOptionError, match="names no tool on offer"):
        check_options({"tool_choice": "Memory_get"}, tools=[WEATHER])


def test_a_host_narrows_chat_completions_and_is_the_one_named() -> None:
    six = Request([Message.user("Hi")], (), {"stop": list("abcdef")})
    local = OpenAICompatibleModel("llama", base_url="http://127.0.0.1:9/v1")
    assert local.encode(six, stream=False).body["stop"] == list("abcdef")  # OpenAI's 4 only
    xai = OpenAICompatibleModel("grok-4", endpoint=ENDPOINTS["xai"], api_key="k")
    strict = Request([Message.user("Hi")], (WEATHER,), {"strict_tools": True})
    with pytest.raises(InvalidOptionError) as info:
        xai.encode(strict, stream=False)
    assert info.value.provider == "xAI"


def test_the_chain_counts_the_tools_a_models_default_options_offer(
    local_server: LocalServer,
) -> None:
    lookup = {"type": "function", "function": {"name": "lookup", "parameters": {}}}
    model = OpenAICompatibleModel(
        "llama", base_url=f"{local_server.url}/v1", options={"tools": [lookup]}
    )
    local_server.reply(completion("Done"))
    assert model.prompt("Look it up", tool_choice="lookup").text() == "Done"
    sent = local_server.requests[0].json()
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "lookup"}}
    with pytest.raises(InvalidOptionError, match="the tools are 'lookup'"):
        model.prompt("Look it up", tool_choice="find")
    assert len(local_server.requests) == 1
