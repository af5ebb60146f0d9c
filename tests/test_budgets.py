"""Budgets: ``max_cost`` and ``max_total_tokens`` stop a chain before the call that would pass
them, raising `BudgetExceeded` with every response so far."""

from __future__ import annotations

import math
from typing import Any

import pytest
from anthropic_wire import message_body, model, text, tool_use
from local_server import LocalServer

from agentloop import (
    BudgetExceeded,
    Conversation,
    File,
    FunctionModel,
    Message,
    Reply,
    Request,
    SerializationError,
    ToolCall,
    UnknownPriceError,
    Usage,
    prices,
    tokens,
)

SONNET = "anthropic/claude-sonnet-4-5"


def looping(usage: Usage, calls: list[Request], *, answer_after: int = 100) -> FunctionModel:
    """A model that asks for the ``add`` tool each time until ``answer_after`` calls."""

    def fn(request: Request) -> Reply:
        calls.append(request)
        if len(calls) >= answer_after:
            return Reply(Message.assistant("done"), usage, "stop")
        call = ToolCall("add", {"a": 1, "b": 2}, f"call_{len(calls)}")
        return Reply(Message("assistant", [call]), usage, "tool_calls")

    return FunctionModel(fn, model_id=SONNET)


ran: list[int] = []


def add(a: int, b: int) -> int:
    "Add two numbers."
    ran.append(a + b)
    return a + b


def estimate(request: Request) -> int:
    return tokens.input_tokens(request, "anthropic") + tokens.output_tokens(request.options)


def test_the_token_budget_stops_before_the_call_that_would_pass_it() -> None:
    calls: list[Request] = []
    with pytest.raises(BudgetExceeded) as caught:
        looping(Usage(1_000, 100), calls).chain(
            "go", tools=[add], max_tokens=1_000, max_total_tokens=3_000
        ).text()
    # Two calls spent 2,200; a third (its input plus 1,000 output reserved) would pass 3,000.
    assert len(calls) == 2
    error = caught.value
    assert error.limit == "max_total_tokens"
    assert error.spent == 2_200
    assert error.estimate is not None
    assert error.estimate > 1_000
    assert len(error.responses) == 2
    assert "max_total_tokens=3000" in str(error)


def test_the_cost_budget_stops_before_the_call_that_would_pass_it() -> None:
    calls: list[Request] = []
    per_call = prices.cost(Usage(1_000, 100), SONNET)
    assert per_call is not None
    # The next call's estimate is at least its 100 output tokens reserved: $0.0015 at $15/M.
    limit = per_call * 2 + 0.001
    with pytest.raises(BudgetExceeded) as caught:
        looping(Usage(1_000, 100), calls).chain(
            "go", tools=[add], max_tokens=100, max_cost=limit
        ).text()
    assert len(calls) == 2
    assert caught.value.limit == "max_cost"
    assert caught.value.spent == pytest.approx(2 * per_call)
    assert [r.usage().cost for r in caught.value.responses] == pytest.approx([per_call] * 2)


def test_a_budget_large_enough_changes_nothing() -> None:
    calls: list[Request] = []
    chain = looping(Usage(1_000, 100), calls, answer_after=3).chain(
        "go", tools=[add], max_cost=10.0, max_total_tokens=100_000
    )
    assert chain.text() == "done"
    assert len(calls) == 3


def test_a_call_that_spends_past_its_estimate_stops_the_chain_before_its_tools_run() -> None:
    calls: list[Request] = []
    ran.clear()
    with pytest.raises(BudgetExceeded) as caught:
        looping(Usage(50_000, 100), calls).chain("go", tools=[add], max_total_tokens=10_000).text()
    assert len(calls) == 1
    assert ran == []  # the reply's tool call was not run
    assert caught.value.estimate is None  # found after the call
    assert caught.value.spent == 50_100


def test_the_estimate_is_what_the_request_carries_plus_the_output_reserved() -> None:
    calls: list[Request] = []
    first = Request([Message.user("go")], options={"max_tokens": 64})
    budget = estimate(first)
    looping(Usage(10, 5), calls, answer_after=1).chain("go", max_tokens=64, max_total_tokens=budget)
    assert len(calls) == 1  # exactly the estimate fits
    calls.clear()
    with pytest.raises(BudgetExceeded):
        looping(Usage(10, 5), calls).chain("go", max_tokens=64, max_total_tokens=budget - 1).text()
    assert calls == []


def test_the_estimate_charges_media_by_the_model_s_own_rules() -> None:
    # Budgets ask the model how its provider charges a PDF page, never a provider name.
    pages = b"".join(b"1 0 obj << /Type /Page >> endobj\n" for _ in range(2))
    document = File(b"%PDF-1.7\n" + pages + b"%%EOF", "report.pdf")
    calls: list[Request] = []
    plain = looping(Usage(10, 5), calls, answer_after=1)
    dear = looping(Usage(10, 5), calls, answer_after=1)
    dear.token_rules = tokens.TokenRules(pdf_page=50_000)  # a provider's own, published rule
    message = Message.user("Summarize").add(document)
    plain.prompt(messages=[message], max_total_tokens=20_000)
    assert len(calls) == 1
    with pytest.raises(BudgetExceeded) as caught:
        dear.prompt(messages=[message], max_total_tokens=20_000).text()
    assert len(calls) == 1
    assert caught.value.estimate is not None
    assert caught.value.estimate > 100_000


def test_the_conversation_keeps_the_pending_calls_and_a_larger_budget_carries_on() -> None:
    calls: list[Request] = []
    conversation = looping(Usage(1_000, 100), calls, answer_after=3).conversation(
        tools=[add], max_total_tokens=1_500
    )
    with pytest.raises(BudgetExceeded):
        conversation.chain("go").text()
    assert len(calls) == 1
    assert conversation.chain(max_total_tokens=50_000).text() == "done"
    assert len(calls) == 3


def test_the_conversation_sets_the_default_and_a_call_overrides_it() -> None:
    calls: list[Request] = []
    conversation = looping(Usage(1_000, 100), calls).conversation(
        tools=[add], max_total_tokens=1_500
    )
    assert conversation.spend_limit.max_total_tokens == 1_500
    with pytest.raises(BudgetExceeded) as caught:
        conversation.chain("go", max_total_tokens=2_500).text()
    assert caught.value.maximum == 2_500
    assert len(calls) == 2


def test_limits_are_kept_by_to_dict_and_from_dict() -> None:
    model = looping(Usage(1, 1), [])
    conversation = model.conversation(max_cost=0.5, max_total_tokens=1_000)
    data = conversation.to_dict()
    assert data["max_cost"] == 0.5
    assert data["max_total_tokens"] == 1_000
    again = Conversation.from_dict(data, model=model)
    assert again.spend_limit == conversation.spend_limit
    with pytest.raises(SerializationError, match="max_cost"):
        Conversation.from_dict({**data, "max_cost": -1}, model=model)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_cost": 0}, "max_cost must be a positive number"),
        ({"max_cost": -1.5}, "max_cost must be a positive number"),
        ({"max_cost": math.nan}, "max_cost must be a positive number"),
        ({"max_cost": "1"}, "max_cost must be a positive number"),
        ({"max_cost": True}, "max_cost must be a positive number"),
        ({"max_total_tokens": 0}, "max_total_tokens must be a positive int"),
        ({"max_total_tokens": 1.5}, "max_total_tokens must be a positive int"),
    ],
)
def test_invalid_limits_fail_at_the_call(kwargs: dict[str, Any], message: str) -> None:
    calls: list[Request] = []
    model = looping(Usage(1, 1), calls)
    with pytest.raises(ValueError, match=message):
        model.chain("go", **kwargs)
    with pytest.raises(ValueError, match=message):
        model.conversation(**kwargs)
    with pytest.raises(ValueError, match=message):
        model.prompt("go", **kwargs)
    assert calls == []


def test_a_cost_limit_on_a_model_without_a_price_fails_before_any_call() -> None:
    calls: list[Request] = []
    unpriced = FunctionModel(lambda r: calls.append(r) or "ok", model_id="function")
    with pytest.raises(UnknownPriceError, match="'function'"):
        unpriced.chain("go", max_cost=1.0).text()
    assert calls == []
    # A token budget needs no price.
    assert unpriced.chain("go", max_total_tokens=10_000).text() == "ok"


def test_a_reply_without_usage_counts_as_its_estimate() -> None:
    calls: list[Request] = []
    with pytest.raises(BudgetExceeded) as caught:
        looping(Usage(), calls).chain("go", tools=[add], max_total_tokens=1_000).text()
    assert caught.value.spent > 0


async def test_the_async_chain_stops_the_same_way() -> None:
    calls: list[Request] = []
    amodel = looping(Usage(1_000, 100), calls).to_async()
    with pytest.raises(BudgetExceeded) as caught:
        await amodel.chain("go", tools=[add], max_tokens=1_000, max_total_tokens=3_000)
    assert len(calls) == 2
    assert len(caught.value.responses) == 2


def test_over_the_wire_the_budget_stops_before_the_second_request(
    local_server: LocalServer,
) -> None:
    usage = {"input_tokens": 900, "output_tokens": 50}
    call = [tool_use("toolu_1", "add", {"a": 1, "b": 2})]
    local_server.reply(message_body(call, "tool_use", usage))
    local_server.reply(message_body([text("3")], "end_turn", usage))
    claude = model(local_server, "claude-sonnet-4-5")
    first_cost = prices.cost(Usage(900, 50), SONNET)
    assert first_cost is not None
    with pytest.raises(BudgetExceeded) as caught:
        claude.chain("1+2?", tools=[add], max_cost=first_cost * 1.5, max_tokens=100).text()
    assert len(local_server.requests) == 1
    assert caught.value.spent == pytest.approx(first_cost)
    assert caught.value.responses[0].usage().cost == pytest.approx(first_cost)
