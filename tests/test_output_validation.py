"""Validated structured output: ``output_validator=`` and ``output_retries=``.

A rejected final answer (not JSON, not the schema, or refused by the validator) goes back to
the model with the reason, within a retry budget; the budget spent is an
`OutputRetriesExceeded` carrying every attempt. Offline models first, sync and async,
streamed and not; then over local HTTP on two wire formats.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from anthropic_wire import SSE as ANTHROPIC_SSE
from anthropic_wire import message_body, sse_body, text
from anthropic_wire import model as anthropic_model
from local_server import LocalServer
from openai_chat_wire import SSE, as_stream, completion, http_client, tool_call
from pydantic import BaseModel, field_validator

from agentloop import (
    FunctionModel,
    InvalidOptionError,
    Message,
    OutputRetriesExceeded,
    Request,
    RunContext,
    StructuredOutputError,
    ToolCall,
    ToolError,
)
from agentloop.providers.openai_chat import OpenAIChatModel
from agentloop.structured import retry_message


class City(BaseModel):
    name: str
    population: int


NOT_JSON = "Paris, of course"
NEGATIVE = '{"name": "Paris", "population": -1}'
GOOD = '{"name": "Paris", "population": 2102650}'


def positive(city: City) -> None:
    if city.population < 0:
        raise ToolError("population must be positive")


def scripted(*answers: str) -> tuple[FunctionModel, list[Request]]:
    """A model giving ``answers`` in turn (a streaming one, so streams are real), and the
    requests it got."""
    seen: list[Request] = []
    queue = iter(answers)

    def play(request: Request) -> Iterator[str]:
        seen.append(request)
        yield next(queue)

    return FunctionModel(play), seen


def run(
    model: FunctionModel, *, use_async: bool, stream: bool, chain: bool = False, **kwargs: Any
) -> tuple[Any, list[str]]:
    """Prompt (or chain) ``model`` sync or async, streamed or not: (response, chunks)."""
    if not use_async:
        call = model.chain if chain else model.prompt
        response = call("Biggest French city?", stream=stream, **kwargs)
        return response, list(response) if stream else []

    async def go() -> tuple[Any, list[str]]:
        amodel = model.to_async()
        call = amodel.chain if chain else amodel.prompt
        response = call("Biggest French city?", stream=stream, **kwargs)
        if stream:
            return response, [c async for c in response]
        return await response, []

    return asyncio.run(go())


MODES = pytest.mark.parametrize(
    ("use_async", "stream"),
    [(False, False), (False, True), (True, False), (True, True)],
    ids=["sync", "sync-stream", "async", "async-stream"],
)


@MODES
def test_a_validator_that_rejects_twice_then_accepts(use_async: bool, stream: bool) -> None:
    model, seen = scripted(NEGATIVE, NEGATIVE, GOOD)
    response, chunks = run(
        model, use_async=use_async, stream=stream, schema=City, output_validator=positive
    )
    assert response.parsed() == City(name="Paris", population=2102650)
    assert len(seen) == 3
    # Each retry tells the model why, as a user message after its answer.
    for request in seen[1:]:
        answer, why = request.messages[-2:]
        assert (answer.role, answer.text) == ("assistant", NEGATIVE)
        assert why.role == "user"
        assert why.text.startswith("population must be positive")
    if stream:
        assert "".join(chunks) == NEGATIVE * 2 + GOOD  # every attempt streams as it comes


@MODES
def test_an_answer_that_is_not_json_is_retried(use_async: bool, stream: bool) -> None:
    model, seen = scripted(NOT_JSON, GOOD)
    response, _ = run(model, use_async=use_async, stream=stream, schema=City, output_retries=1)
    assert response.parsed().name == "Paris"
    why = seen[1].messages[-1]
    assert why.role == "user"
    assert why.text.startswith("Your answer is not valid JSON")


def test_an_answer_that_does_not_match_the_type_is_told_what_is_wrong() -> None:
    model, seen = scripted('{"name": "Paris"}', GOOD)
    model.prompt("x", schema=City, output_retries=1)
    why = seen[1].messages[-1].text
    assert why.startswith("Your answer does not match the schema:\n- population: Field required")
    assert "errors.pydantic.dev" not in why  # links mean nothing to a model


@MODES
def test_the_budget_spent_is_a_typed_error_carrying_every_attempt(
    use_async: bool, stream: bool
) -> None:
    model, seen = scripted(NOT_JSON, NEGATIVE, NEGATIVE)
    kwargs = {"schema": City, "output_validator": positive, "output_retries": 2}
    with pytest.raises(OutputRetriesExceeded) as info:
        run(model, use_async=use_async, stream=stream, chain=True, **kwargs)
    error = info.value
    assert len(seen) == 3
    assert [a.text for a in error.attempts] == [NOT_JSON, NEGATIVE, NEGATIVE]
    assert error.attempts[0].feedback.startswith("Your answer is not valid JSON")
    assert [a.feedback for a in error.attempts[1:]] == ["population must be positive"] * 2
    assert error.text == NEGATIVE
    assert error.max_retries == 2
    assert "rejected 3 times (output_retries=2)" in str(error)
    assert isinstance(error, StructuredOutputError)  # one except clause catches both
    assert [r.text() for r in error.responses] == [NOT_JSON, NEGATIVE, NEGATIVE]


def test_prompt_returns_the_accepted_answer_and_keeps_the_rejected_ones() -> None:
    model, _ = scripted(NEGATIVE, GOOD)
    conversation = model.conversation()
    response = conversation.prompt("x", schema=City, output_validator=positive)
    assert response.text() == GOOD
    assert conversation.responses[-1] is response
    rejected = conversation.responses[0]
    assert rejected.text() == NEGATIVE
    assert [m.role for m in rejected.messages()] == ["assistant", "user"]
    assert response.messages() == [response.message]
    assert [m.role for m in conversation.messages] == ["user", "assistant", "user", "assistant"]


def test_a_chain_lists_the_retry_messages_among_its_messages() -> None:
    def lookup(city: str) -> str:
        "Look a city up."
        return "2102650"

    answers = iter([ToolCall("lookup", {"city": "Paris"}, "c1"), NEGATIVE, GOOD])
    model = FunctionModel(lambda request: next(answers))
    response = model.chain("x", tools=[lookup], schema=City, output_validator=positive)
    assert response.parsed().population == 2102650
    roles = [m.role for m in response.messages()]
    assert roles == ["assistant", "tool", "assistant", "user", "assistant"]


def test_an_async_validator_works_from_sync_code_too() -> None:
    async def check(city: City) -> None:
        await asyncio.sleep(0)
        positive(city)

    for use_async in (False, True):
        model, seen = scripted(NEGATIVE, GOOD)
        response, _ = run(
            model, use_async=use_async, stream=False, schema=City, output_validator=check
        )
        assert response.parsed().population > 0
        assert len(seen) == 2


def test_a_pydantic_types_own_validators_reject_the_same_way() -> None:
    class Checked(BaseModel):
        name: str

        @field_validator("name")
        @classmethod
        def capitalised(cls, value: str) -> str:
            if not value[:1].isupper():
                raise ValueError("the name must start with a capital letter")
            return value

    model, seen = scripted('{"name": "paris"}', '{"name": "Paris"}')
    response = model.prompt("x", schema=Checked, output_retries=1)
    assert response.parsed().name == "Paris"
    assert "must start with a capital letter" in seen[1].messages[-1].text


def test_without_a_schema_the_validator_gets_the_text() -> None:
    got: list[Any] = []

    def short(answer: str) -> None:
        got.append(answer)
        if len(answer) > 10:
            raise ToolError("Answer in at most 10 characters.")

    model, _ = scripted("A rather long answer", "Paris")
    assert model.prompt("x", output_validator=short).text() == "Paris"
    assert got == ["A rather long answer", "Paris"]


def test_a_dict_schema_retries_what_is_not_json() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    model, _ = scripted("three", '{"n": 3}')
    assert model.prompt("n?", schema=schema, output_retries=1).parsed() == {"n": 3}


def test_a_validator_can_ask_for_the_run_context() -> None:
    def within(city: City, ctx: RunContext[int]) -> None:
        if city.population > ctx.deps:
            raise ToolError(f"at most {ctx.deps}")

    model, seen = scripted(GOOD, '{"name": "Paris", "population": 5}')
    response = model.prompt("x", schema=City, output_validator=within, deps=10)
    assert response.parsed().population == 5
    assert seen[1].messages[-1].text.startswith("at most 10")


def test_any_other_exception_from_a_validator_propagates_with_a_note() -> None:
    def broken(city: City) -> None:
        raise KeyError("oops")

    model, _ = scripted(GOOD)
    with pytest.raises(KeyError) as info:
        model.prompt("x", schema=City, output_validator=broken)
    assert "Raised by the output validator" in info.value.__notes__


def test_without_a_validator_or_retries_the_answer_is_left_to_parsed() -> None:
    model, seen = scripted(NOT_JSON)
    response = model.prompt("x", schema=City)
    assert len(seen) == 1  # one model call, as ever
    with pytest.raises(StructuredOutputError):
        response.parsed()


def test_the_conversation_sets_the_default_and_a_call_overrides_it() -> None:
    model, seen = scripted(NEGATIVE, GOOD, NEGATIVE)
    conversation = model.conversation(output_validator=positive, output_retries=1)
    assert conversation.prompt("a", schema=City).text() == GOOD
    assert conversation.prompt("b", schema=City, output_validator=None).text() == NEGATIVE
    assert len(seen) == 3


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"output_retries": -1}, "output_retries"),
        ({"output_retries": "2"}, "output_retries"),
        ({"output_retries": True}, "output_retries"),
        ({"output_validator": "positive"}, "output_validator"),
    ],
)
def test_wrong_values_are_refused_before_any_call(kwargs: dict[str, Any], option: str) -> None:
    model, seen = scripted(GOOD)
    with pytest.raises(InvalidOptionError) as info:
        model.prompt("x", schema=City, **kwargs)
    assert info.value.option == option
    assert not seen
    with pytest.raises(InvalidOptionError):
        model.conversation(**kwargs)


# -- over HTTP -------------------------------------------------------------------------------


def openai(server: LocalServer) -> OpenAIChatModel:
    return OpenAIChatModel(
        "gpt-4o",
        api_key="sk-test",
        base_url=f"{server.url}/v1",
        retry_backoff=0,
        http_client=http_client(),
    )


def openai_script(server: LocalServer, answers: list[str], *, stream: bool) -> None:
    for answer in answers:
        body = completion(answer)
        server.reply(as_stream(body), headers=SSE) if stream else server.reply(body)


def anthropic_script(server: LocalServer, answers: list[str], *, stream: bool) -> None:
    for answer in answers:
        if stream:
            server.reply(sse_body([text(answer)]), headers=ANTHROPIC_SSE)
        else:
            server.reply(message_body([text(answer)]))


def openai_feedback(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    answer, why = body["messages"][-2:]
    return {"role": answer["role"], "text": answer["content"]}, {
        "role": why["role"],
        "text": why["content"] if isinstance(why["content"], str) else why["content"][0]["text"],
    }


def anthropic_feedback(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    answer, why = body["messages"][-2:]
    return (
        {"role": answer["role"], "text": answer["content"][0]["text"]},
        {"role": why["role"], "text": why["content"][0]["text"]},
    )


FORMATS: dict[str, tuple[Callable[..., Any], Callable[..., None], Callable[..., Any]]] = {
    "openai_chat": (openai, openai_script, openai_feedback),
    "anthropic": (anthropic_model, anthropic_script, anthropic_feedback),
}


@pytest.mark.parametrize("wire", list(FORMATS))
@MODES
def test_over_http_a_rejected_answer_is_sent_back_with_the_reason(
    local_server: LocalServer, wire: str, use_async: bool, stream: bool
) -> None:
    make, script, feedback = FORMATS[wire]
    script(local_server, [NOT_JSON, NEGATIVE, GOOD], stream=stream)
    model = make(local_server)
    if use_async:

        async def go() -> Any:
            response = model.to_async().chain(
                "Biggest French city?", schema=City, output_validator=positive, stream=stream
            )
            if stream:
                _ = [c async for c in response]
                return response
            return await response

        response = asyncio.run(go())
    else:
        response = model.chain(
            "Biggest French city?", schema=City, output_validator=positive, stream=stream
        )
        _ = list(response) if stream else None
    assert response.parsed().population == 2102650
    bodies = [r.json() for r in local_server.requests]
    assert len(bodies) == 3
    answer, why = feedback(bodies[1])
    assert answer == {"role": "assistant", "text": NOT_JSON}
    assert why["role"] == "user"
    assert why["text"].startswith("Your answer is not valid JSON")
    answer, why = feedback(bodies[2])
    assert answer["text"] == NEGATIVE
    assert why["text"].startswith("population must be positive")


def test_over_http_the_budget_spent_carries_every_attempt(local_server: LocalServer) -> None:
    local_server.reply(completion(None, tool_calls=[tool_call("where", {}, "c1")]))
    openai_script(local_server, [NEGATIVE, NEGATIVE], stream=False)

    def where() -> str:
        "Where the user is."
        return "France"

    with pytest.raises(OutputRetriesExceeded) as info:
        openai(local_server).chain(
            "x", tools=[where], schema=City, output_validator=positive, output_retries=1
        )
    assert [a.text for a in info.value.attempts] == [NEGATIVE, NEGATIVE]
    assert len(info.value.responses) == 3  # the tool step, then both rejected answers
    assert len(local_server.requests) == 3


def test_the_retry_message_is_a_plain_user_message() -> None:
    error = StructuredOutputError("x", "y", feedback="Say it again.")
    message = retry_message(error)
    assert message == Message.user("Say it again.\n\nFix this and give your answer again.")
