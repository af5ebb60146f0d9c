"""Bad input gets a clear, typed error raised where the mistake is made.

Each section pins one kind of mistake: ``tools=`` given one tool (accepted) or
something that is no tool; ``from_dict`` given garbage; an attachment path that
does not exist; a ``gs://`` URL for a provider that cannot fetch it; a misspelt
option or model keyword.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import json_values

import agentloop
from agentloop import (
    AgentloopError,
    Attachment,
    ChainState,
    Conversation,
    ConversionError,
    File,
    FunctionModel,
    Image,
    MediaError,
    MediaNotFoundError,
    Message,
    PauseChain,
    Request,
    Response,
    SerializationError,
    TestModel,
    Tool,
    Toolbox,
    ToolCall,
    ToolDefinitionError,
    UnknownModelError,
)
from agentloop.conversation import AsyncConversation
from agentloop.errors import OptionError, UnknownOptionError
from agentloop.messages import part_from_dict
from agentloop.model import Prompting
from agentloop.providers import anthropic, gemini, openai_chat
from agentloop.providers.anthropic import AnthropicModel
from agentloop.providers.gemini import GeminiModel
from agentloop.providers.openai_chat import OpenAIChatModel
from agentloop.providers.openai_responses import OpenAIResponsesModel
from agentloop.providers.options import CALL_KEYWORDS, NEUTRAL_OPTIONS, check_option_names
from agentloop.tools import collect_tools, tool_sources

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
PDF = b"%PDF-1.4\n%%EOF\n"


def upper(text: str) -> str:
    "Convert text to upper case."
    return text.upper()


class Memory(Toolbox):
    "Remembers values."

    def get(self, key: str) -> str:
        "Get a value by key."
        return key


def counting_model() -> tuple[FunctionModel, list[Request]]:
    """A model that records every request it gets (none, when a call is refused first)."""
    seen: list[Request] = []

    def answer(request: Request) -> str:
        seen.append(request)
        return "ok"

    return FunctionModel(answer), seen


# -- 1. tools= ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "single",
    [upper, Tool.function(upper), Memory()],
    ids=["function", "Tool", "Toolbox"],
)
def test_a_single_tool_is_taken_as_a_list_of_one(single: Any) -> None:
    conversation = TestModel().conversation(tools=single)
    assert conversation.tool_sources == [single]
    assert isinstance(conversation.tool_sources, list)
    assert Conversation(tools=single).tool_sources == [single]
    assert list(collect_tools(single)) == list(collect_tools([single]))


def test_model_chain_and_prompt_take_a_single_tool() -> None:
    model = TestModel()
    chained = model.chain("Convert panda to upper case", tools=upper)
    assert [c.name for c in chained.tool_calls()] == ["upper"]
    assert len(chained.tool_results()) == 1
    response = model.prompt("Convert panda", tools=upper)
    assert response.tool_calls()[0].name == "upper"


async def _async_chain() -> str:
    response = await TestModel().to_async().chain("Convert panda", tools=upper)
    return response.tool_calls()[0].name


def test_the_async_model_takes_a_single_tool() -> None:
    import asyncio

    assert asyncio.run(_async_chain()) == "upper"


def test_a_list_or_tuple_of_tools_still_works() -> None:
    assert tool_sources((upper, Memory()))[0] is upper
    assert list(collect_tools([upper, Memory()])) == ["upper", "Memory_get"]


@pytest.mark.parametrize(
    ("tools", "named"),
    [
        (42, "42 (int)"),
        ("upper", "'upper' (str)"),
        ({"upper": upper}, "(dict)"),
        ([upper, 42], "item 1: 42 (int)"),
        ([None], "item 0: None (NoneType)"),
    ],
)
def test_something_that_is_not_a_tool_is_a_type_error_naming_tools(tools: Any, named: str) -> None:
    for make in (
        lambda: TestModel().conversation(tools=tools),
        lambda: Conversation(tools=tools),
        lambda: TestModel().chain("hi", tools=tools),
        lambda: TestModel().prompt("hi", tools=tools),
    ):
        with pytest.raises(ToolDefinitionError) as caught:
            make()
        assert isinstance(caught.value, TypeError)
        assert "tools=" in str(caught.value)
        assert named in str(caught.value)


def test_a_string_names_the_likely_fix() -> None:
    with pytest.raises(TypeError, match="pass the function itself"):
        Conversation(tools="upper")


def test_a_toolbox_class_alone_asks_for_an_instance() -> None:
    with pytest.raises(ToolDefinitionError, match=r"tools=.*Memory is a Toolbox class.*Memory\(\)"):
        Conversation(tools=Memory)


# -- 2. from_dict garbage -------------------------------------------------------------------


def call_upper_once(request: Request) -> Any:
    if request.messages[-1].role == "user":
        return [ToolCall("upper", {"text": "panda"}, "c1", extra={"openai": {"x": 1}})]
    return "PANDA"


def saved_response() -> dict[str, Any]:
    """A real ``Response.to_dict()``: history, a tool call and its result, an attachment."""
    model = FunctionModel(call_upper_once, model_id="test")  # "test" is a registered name
    conversation = model.conversation(system="Be brief", tools=[upper])
    conversation.prompt("Hello")
    chain = conversation.chain("Convert panda", attachments=[Image(PNG, detail="low")])
    return json.loads(json.dumps(chain.responses[0].to_dict()))


def ask_a_human(tool: Tool, call: ToolCall) -> bool:
    raise PauseChain("needs a human")


@agentloop.tool(requires_approval=True)
def transfer(amount: int) -> str:
    "Transfer money."
    return f"sent {amount}"


def saved_state() -> dict[str, Any]:
    conversation = TestModel().conversation(tools=[transfer], approve=ask_a_human)
    response = conversation.chain("pay")
    assert response.state is not None
    return json.loads(json.dumps(response.state.to_dict()))


def test_the_valid_payloads_round_trip() -> None:
    rebuilt = Response.from_dict(saved_response())
    assert rebuilt.prompt.prompt == "Convert panda"
    assert rebuilt.prompt.attachments
    assert [r.output for r in rebuilt.tool_results] == ["PANDA"]
    assert ChainState.from_dict(saved_state()).pending[0].name == "transfer"


GARBAGE = [None, "garbage", 42, 1.5, True, [], [1, 2]]


def with_change(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = saved_response()
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


RESPONSE_CHANGES = [
    (("message",), "not a message", "'message' must be a dict"),
    (("message",), None, "'message' must be a dict"),
    (("history",), {"role": "user"}, "'history' must be a list"),
    (("history", 0), "hi", "messages\\[0\\]: A message dict needs a 'role'"),
    (("usage",), "12 tokens", "'usage' must be a dict"),
    (("usage", "input_tokens"), "many", "'usage' must hold token counts"),
    (("usage", "details"), "x", "'usage' must hold token counts"),
    (("model",), 7, "'model' must be a string"),
    (("prompt",), "Again", "A prompt dict must be a dict"),
    (("prompt", "attachments"), "cat.png", "'attachments' must be a list"),
    (("prompt", "attachments"), [{"type": "text", "text": "x"}], "image or file parts"),
    (("prompt", "options"), ["temperature"], "'options' must be a dict"),
    (("conversation",), ["gpt"], "'conversation' must be a dict"),
    (("conversation", "chain_limit"), "five", "'chain_limit' must be an int"),
    (("conversation", "options"), "fast", "'options' must be a dict"),
    (("tool_results",), {"x": 1}, "'tool_results' must be a list"),
    (("tool_results",), [{"type": "text", "text": "x"}], "must be tool_result parts"),
    (("finish_reason",), 3, "'finish_reason' must be a string"),
    (("history", 1, "parts", 0, "text"), 5, "A text part's 'text' must be a string"),
    (("message", "parts", 0, "name"), None, "A tool_call part's 'name' must be a string"),
    (("tool_results", 0, "output"), [], "A tool_result part's 'output' must be a string"),
    (("message", "extra"), "x", "'extra' must be a dict"),
    (("message", "extra"), {"openai": 1}, "'extra' of 'openai' must be a dict"),
    (("prompt", "attachments", 0, "data"), "not base64!", "image part's 'data'"),
    (("prompt", "attachments", 0, "data"), 12, "image part's 'data' must be a string"),
    (("prompt", "attachments", 0, "detail"), 1, "image part's 'detail' must be a string"),
]


@pytest.mark.parametrize("garbage", GARBAGE)
def test_garbage_is_a_serialization_error_for_every_from_dict(garbage: Any) -> None:
    for from_dict in (
        Response.from_dict,
        ChainState.from_dict,
        Message.from_dict,
        Conversation.from_dict,
        part_from_dict,
        Image.from_dict,
        File.from_dict,
    ):
        with pytest.raises(SerializationError):
            from_dict(garbage)


@pytest.mark.parametrize(("path", "value", "message"), RESPONSE_CHANGES)
def test_a_wrong_shape_in_a_response_dict_names_the_field(
    path: tuple[Any, ...], value: Any, message: str
) -> None:
    with pytest.raises(SerializationError, match=message):
        Response.from_dict(with_change(path, value))


def test_a_missing_field_is_named() -> None:
    data = saved_response()
    del data["history"]
    with pytest.raises(SerializationError, match="missing 'history'"):
        Response.from_dict(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.update(paused="x"), "'paused' must be a list"),
        (lambda s: s.update(paused=[5]), "A paused entry must be a dict"),
        (lambda s: s["paused"][0].pop("stage"), "needs a 'call' and a 'stage'"),
        (lambda s: s["paused"][0].update(stage="later"), "'stage' must be 'before_call'"),
        (lambda s: s["paused"][0].update(call={"type": "text", "text": "x"}), "tool_call"),
        (lambda s: s["paused"][0]["call"].update(arguments="x"), "'arguments' must be a dict"),
        (lambda s: s.update(conversation=["x"]), "'conversation' must be a dict"),
        (lambda s: s.update(done="x"), "'done' must be a list"),
        (lambda s: s.pop("conversation"), "missing 'conversation'"),
    ],
)
def test_a_wrong_shape_in_a_chain_state_names_the_field(change: Any, message: str) -> None:
    state = saved_state()
    change(state)
    with pytest.raises(SerializationError, match=message):
        ChainState.from_dict(state)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"messages": [], "model": 5}, "'model' must be a string"),
        ({"messages": [], "chain_limit": "5"}, "'chain_limit' must be an int"),
        ({"messages": [], "options": "x"}, "'options' must be a dict"),
        ({"messages": [{"role": "user", "parts": [5]}]}, r"messages\[0\]: A part must be a dict"),
        ({"messages": [{"role": ["user"]}]}, "role must be one of"),
        (
            {"messages": [{"role": "user", "parts": [{"type": ["text"]}]}]},
            "Unknown part type",
        ),
        (
            {"messages": [{"role": "user", "parts": [{"type": "image"}]}]},
            "needs a path, URL, bytes",
        ),
        (
            {"messages": [{"role": "user", "parts": [{"type": "file", "url": 3}]}]},
            "A file part's 'url' must be a string",
        ),
    ],
)
def test_a_wrong_shape_in_a_conversation_dict_names_the_field(
    payload: dict[str, Any], message: str
) -> None:
    with pytest.raises(SerializationError, match=message):
        Conversation.from_dict(payload)


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside a JSON value where another value could go."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return found
    for key, item in items:
        found.append((*prefix, key))
        found.extend(paths_of(item, (*prefix, key)))
    return found


RESPONSE = saved_response()
STATE = saved_state()


def mutated(original: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(original)
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(paths_of(RESPONSE)),
    json_values.filter(lambda v: not isinstance(v, str)) | st.sampled_from(["", "x", "tool"]),
)
def test_any_field_of_a_response_dict_replaced_by_any_json_fails_cleanly(
    path: tuple[Any, ...], value: Any
) -> None:
    # Either it still reads, or the error is a SerializationError; a model name that
    # is now some other string may also be an unknown model.
    with contextlib.suppress(SerializationError, UnknownModelError):
        Response.from_dict(mutated(RESPONSE, path, value))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(paths_of(STATE)), json_values)
def test_any_field_of_a_chain_state_replaced_by_any_json_fails_cleanly(
    path: tuple[Any, ...], value: Any
) -> None:
    with contextlib.suppress(SerializationError):
        ChainState.from_dict(mutated(STATE, path, value))


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_any_json_at_all_fails_cleanly(value: Any) -> None:
    for from_dict in (Response.from_dict, ChainState.from_dict, Conversation.from_dict):
        with contextlib.suppress(SerializationError):
            from_dict(value)


# -- 3. attachments ---------------------------------------------------------------------------


def test_a_missing_attachment_path_fails_when_the_attachment_is_made(tmp_path: Path) -> None:
    missing = tmp_path / "missing.png"
    with pytest.raises(MediaNotFoundError, match=r"missing\.png"):
        Attachment(path=missing)
    with pytest.raises(MediaNotFoundError, match="does not exist"):
        Attachment(path="missing.png")


def test_an_attachment_path_is_sniffed_by_its_bytes(tmp_path: Path) -> None:
    (tmp_path / "photo.bin").write_bytes(PNG)
    (tmp_path / "report.pdf").write_bytes(PDF)
    (tmp_path / "notes.txt").write_bytes(b"plain words")
    image = Attachment(path=tmp_path / "photo.bin").to_part()
    assert isinstance(image, Image)
    assert image.media_type == "image/png"
    assert image.filename == "photo.bin"
    pdf = Attachment(path=str(tmp_path / "report.pdf")).to_part()
    assert isinstance(pdf, File)
    assert pdf.media_type == "application/pdf"
    text = Attachment(path=tmp_path / "notes.txt").to_part()
    assert isinstance(text, File)
    assert text.media_type == "text/plain"
    forced = Attachment(path=tmp_path / "report.pdf", type="image/png").to_part()
    assert isinstance(forced, Image)


def test_url_and_content_attachments_keep_working() -> None:
    by_url = Attachment(url="https://example.com/cat.png").to_part()
    assert isinstance(by_url, Image)
    assert by_url.url == "https://example.com/cat.png"
    assert by_url.data is None  # never downloaded when made
    assert isinstance(Attachment(url="https://example.com/doc.pdf").to_part(), File)
    assert isinstance(Attachment(url="gs://bucket/cat.png").to_part(), Image)
    assert isinstance(Attachment(url="data:image/png;base64,iVBORw0KGgo=").to_part(), Image)
    assert isinstance(Attachment(content=PNG).to_part(), Image)
    assert isinstance(Attachment(content=PDF).to_part(), File)
    # a bare string in attachments=[...] may be a URL
    assert isinstance(Attachment(path="https://example.com/cat.png").to_part(), Image)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "cat.png"}, "url= takes an http"),
        ({"url": ""}, "url= takes an http"),
        ({"content": "some text"}, r"content= takes bytes.*text.encode\(\)"),
        ({"content": b""}, "content= is empty"),
        ({"path": 5}, "path= takes a path"),
    ],
)
def test_a_wrong_attachment_argument_is_refused_when_made(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(MediaError, match=message):
        Attachment(**kwargs)


# -- 4. gs:// URLs ----------------------------------------------------------------------------


def gs_conversation(part: Image | File) -> Conversation:
    return Conversation([Message("user", [part])])


@pytest.mark.parametrize(
    "part",
    [Image("gs://bucket/cat.png"), File(url="gs://bucket/doc.pdf"), File(url="gs://b/notes.txt")],
    ids=["image", "pdf", "text"],
)
def test_anthropic_refuses_a_gs_url_as_openai_does(part: Image | File) -> None:
    conversation = gs_conversation(part)
    with pytest.raises(ConversionError, match="cannot fetch gs://") as caught:
        conversation.to_anthropic()
    assert caught.value.provider == "anthropic"
    assert "pass the bytes or an https URL" in str(caught.value)
    with pytest.raises(ConversionError, match="cannot fetch gs://"):
        anthropic.encode_messages(conversation.messages)
    if isinstance(part, Image):
        with pytest.raises(ConversionError, match="pass the bytes or an https URL"):
            openai_chat.encode_messages(conversation.messages)


def test_a_gs_url_with_its_bytes_goes_as_base64_and_gemini_keeps_file_data() -> None:
    downloaded = Image(url="gs://bucket/cat.png", data=PNG, media_type="image/png")
    _, [wire] = anthropic.encode_messages([Message("user", [downloaded])])
    assert wire["content"][0]["source"]["type"] == "base64"
    _, [content] = gemini.encode_messages(gs_conversation(Image("gs://bucket/cat.png")).messages)
    assert content["parts"][0]["fileData"]["fileUri"] == "gs://bucket/cat.png"


def test_https_urls_still_go_to_anthropic_by_url() -> None:
    _, [wire] = anthropic.encode_messages([Message("user", [Image("https://x.org/cat.png")])])
    assert wire["content"][0]["source"] == {"type": "url", "url": "https://x.org/cat.png"}


# -- 5. options -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("tempreature", "temperature"),
        ("max_token", "max_tokens"),
        ("maxTokens", "max_tokens"),
        ("top-p", "top_p"),
        ("reasoning_efort", "reasoning_effort"),
        ("sytem", "system"),
        ("chain_limt", "chain_limit"),
        ("topK", "top_k"),
        ("extra_bdy", "extra_body"),
    ],
)
def test_a_misspelt_prompt_option_is_refused_before_any_request(name: str, suggestion: str) -> None:
    model, seen = counting_model()
    with pytest.raises(UnknownOptionError) as caught:
        model.prompt("hi", **{name: 0.2})
    error = caught.value
    assert isinstance(error, TypeError)
    assert isinstance(error, AgentloopError)
    assert (error.option, error.suggestion) == (name, suggestion)
    assert f"Unknown option {name!r}; did you mean {suggestion!r}?" in str(error)
    assert "extra_body" in str(error)
    assert seen == []


def test_every_entry_point_checks_option_names() -> None:
    model, seen = counting_model()
    conversation = model.conversation()
    calls = [
        lambda: model.chain("hi", tempreature=1),
        lambda: conversation.prompt("hi", tempreature=1),
        lambda: conversation.chain("hi", tempreature=1),
        lambda: model.to_async().prompt("hi", tempreature=1),
        lambda: model.to_async().chain("hi", tempreature=1),
        lambda: model.conversation(options={"tempreature": 1}).prompt("hi"),
        lambda: TestModel().prompt("hi", tempreature=1),
    ]
    for call in calls:
        with pytest.raises(UnknownOptionError, match="did you mean 'temperature'"):
            call()
    assert seen == []


def test_resume_checks_option_names() -> None:
    conversation = FunctionModel(
        lambda r: (
            ToolCall("transfer", {"amount": 1}, "t1") if r.messages[-1].role == "user" else "done"
        )
    ).conversation(tools=[transfer], approve=ask_a_human)
    state = conversation.chain("pay").state
    assert state is not None
    with pytest.raises(UnknownOptionError, match="'tempreature'"):
        conversation.resume(state, {"t1": True}, tempreature=1)


def test_a_reply_checks_option_names() -> None:
    response = TestModel().prompt("hi")
    with pytest.raises(UnknownOptionError):
        response.reply("more", max_tokes=5)


def test_neutral_options_and_unrelated_extras_still_pass() -> None:
    model, seen = counting_model()
    model.prompt("hi", temperature=0.2, top_k=40, service_tier="flex", custom_flag=1)
    assert seen[0].options == {
        "temperature": 0.2,
        "top_k": 40,
        "service_tier": "flex",
        "custom_flag": 1,
    }


MODELS = [
    OpenAIChatModel("gpt-4.1-mini", api_key="k"),
    OpenAIResponsesModel("gpt-4.1-mini", api_key="k"),
    AnthropicModel("claude-sonnet-4-5", api_key="k"),
    GeminiModel("gemini-2.5-flash", api_key="k"),
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.provider)
def test_extra_body_is_written_into_the_body_as_is(model: Any) -> None:
    options = {"temperature": 0.5, "service_tier": "auto", "extra_body": {"top_k": 3, "x": 1}}
    body = model.encode(Request([Message.user("hi")], options=options), stream=False).body
    assert body["top_k"] == 3
    assert body["x"] == 1
    assert body["service_tier"] == "auto"
    assert "extra_body" not in body


def test_extra_body_must_be_a_dict() -> None:
    with pytest.raises(OptionError, match="extra_body= takes a dict"):
        TestModel().prompt("hi", extra_body=["top_k"])


def test_the_call_keywords_list_matches_the_signatures() -> None:
    # A keyword of prompt()/chain()/resume() missing from CALL_KEYWORDS would let its
    # typos through as extras.
    methods = [
        Conversation.prompt,
        Conversation.chain,
        Conversation.resume,
        AsyncConversation.chain,
        Prompting.prompt,
        Prompting.chain,
    ]
    keywords = {
        p.name
        for method in methods
        for p in inspect.signature(method).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    assert keywords <= CALL_KEYWORDS | NEUTRAL_OPTIONS


def test_check_option_names_takes_the_known_names_to_compare_with() -> None:
    check_option_names({"sytem": 1}, known=())  # no call keywords: an extra
    with pytest.raises(UnknownOptionError):
        check_option_names({"sytem": 1})


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("gpt-4.1-mini", {"tempreature": 1}, r"did you mean options=\{'temperature': ...\}"),
        ("gpt-4.1-mini", {"temperature": 1}, r"default options go in options=\{'temperature'"),
        ("gpt-4.1-mini", {"api_kye": "k"}, "did you mean 'api_key'"),
        ("openai-responses/gpt-4.1", {"base_ulr": "x"}, "did you mean 'base_url'"),
        ("claude-sonnet-4-5", {"max_retry": 3}, "did you mean 'max_retries'"),
        ("gemini-2.5-flash", {"timout": 3}, "did you mean 'timeout'"),
        ("ollama/qwen3", {"zzz": 1}, "it takes api_key, "),
        ("test", {"txt": "hi"}, "did you mean 'text'"),
        ("gpt-4.1-mini", {"options": {"tempreature": 1}}, "did you mean 'temperature'"),
    ],
)
def test_a_misspelt_get_model_keyword_is_a_did_you_mean_error(
    name: str, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(UnknownOptionError, match=message) as caught:
        agentloop.get_model(name, **kwargs)
    assert isinstance(caught.value, TypeError)
    assert next(iter(kwargs)) in str(caught.value) or "tempreature" in str(caught.value)


def test_get_model_keywords_that_exist_still_work() -> None:
    model = agentloop.get_model(
        "gpt-4.1-mini", api_key="k", timeout=5, options={"temperature": 0.1, "top_k": 2}
    )
    assert model.options == {"temperature": 0.1, "top_k": 2}  # type: ignore[attr-defined]
    assert agentloop.get_model("test", text="hi").prompt("x").text() == "hi"
    compatible = agentloop.get_model("openai-compatible/m", base_url="http://127.0.0.1:1/v1")
    assert compatible.model_id == "openai-compatible/m"
