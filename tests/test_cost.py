"""Prices and cost: `Usage.cost` from the genai-prices table, summed over chains; unknown is None.

The expected figures come from genai-prices itself, given the counts the way its docs say
(input includes cache reads and writes): what is tested is that agentloop hands over the
right counts for the right model, and that what it does not know stays unknown.
"""

from __future__ import annotations

from typing import Any

import pytest
from anthropic_wire import message_body, model, text, tool_use
from genai_prices import Usage as PriceUsage
from genai_prices import calc_price
from local_server import LocalServer

from agentloop import (
    FunctionModel,
    Message,
    Reply,
    Request,
    Response,
    SerializationError,
    ToolCall,
    Usage,
    prices,
)
from agentloop.cli.session import usage_line

SONNET = "anthropic/claude-sonnet-4-5"


def oracle(model: str, provider: str, **counts: int) -> float:
    return float(calc_price(PriceUsage(**counts), model, provider_id=provider).total_price)


def answering(usage: Usage, served_by: str | None = None) -> FunctionModel:
    return FunctionModel(lambda request: Reply(Message.assistant("ok"), usage, "stop", served_by))


# -- Usage ---------------------------------------------------------------------------------


def test_costs_add_up_and_one_unknown_term_makes_the_sum_unknown() -> None:
    assert (Usage(1, 1, cost=0.25) + Usage(2, 2, cost=0.5)).cost == 0.75
    assert (Usage(1, 1, cost=0.25) + Usage(2, 2)).cost is None
    assert Usage.sum([Usage(1, 1, cost=0.25), Usage(1, 1, cost=0.25)]).cost == 0.5
    assert Usage.sum([]).cost == 0.0  # nothing spent: known to be zero


def test_cost_survives_to_dict_and_from_dict() -> None:
    usage = Usage(10, 5, cost=0.125)
    assert usage.to_dict()["cost"] == 0.125
    assert Usage.from_dict(usage.to_dict()) == usage
    assert "cost" not in Usage(10, 5).to_dict()
    assert Usage.from_dict(Usage(10, 5).to_dict()).cost is None


# -- prices ------------------------------------------------------------------------------------


def test_a_known_model_is_priced_as_the_table_prices_it() -> None:
    assert prices.cost(Usage(10_000, 1_000), SONNET) == pytest.approx(
        oracle("claude-sonnet-4-5", "anthropic", input_tokens=10_000, output_tokens=1_000)
    )
    assert prices.cost(Usage(10_000, 1_000), "gemini/gemini-2.5-flash") == pytest.approx(
        oracle("gemini-2.5-flash", "google", input_tokens=10_000, output_tokens=1_000)
    )


def test_a_batch_price_is_the_tables_batch_rate_else_half_the_standard_one() -> None:
    usage = Usage(10_000, 1_000, cached_input_tokens=4_000)
    for model_id, ref, provider in [
        (SONNET, "claude-sonnet-4-5", "anthropic"),
        ("openai/gpt-4.1", "gpt-4.1", "openai"),
        ("gemini/gemini-2.5-flash", "gemini-2.5-flash", "google"),
    ]:
        counts = {"input_tokens": 10_000, "output_tokens": 1_000, "cache_read_tokens": 4_000}
        batch = float(
            calc_price(
                PriceUsage(**counts),
                ref,
                provider_id=provider,
                price_context={"processing": "batch"},
            ).total_price
        )
        assert prices.cost(usage, model_id, batch=True) == pytest.approx(batch)
        assert batch < (prices.cost(usage, model_id) or 0)
    # Groq's table has no batch rate: its batch API bills half the standard one.
    standard = prices.cost(usage, "groq/llama-3.3-70b-versatile")
    assert standard is not None
    assert prices.cost(usage, "groq/llama-3.3-70b-versatile", batch=True) == pytest.approx(
        standard * prices.BATCH_DISCOUNT
    )


def test_cache_reads_and_writes_are_priced_at_their_own_rates() -> None:
    # As the Anthropic codec reports them: input includes both, writes kept in details.
    details = {
        "cache_creation_input_tokens": 3_000,
        "cache_creation.ephemeral_1h_input_tokens": 1_000,
    }
    usage = Usage(10_000, 1_000, cached_input_tokens=5_000, details=details)
    expected = oracle(
        "claude-sonnet-4-5",
        "anthropic",
        input_tokens=10_000,
        output_tokens=1_000,
        cache_read_tokens=5_000,
        cache_write_tokens=3_000,
        cache_write_1h_tokens=1_000,
    )
    cost = prices.cost(usage, SONNET)
    assert cost == pytest.approx(expected)
    assert cost != pytest.approx(prices.cost(Usage(10_000, 1_000), SONNET))


@pytest.mark.parametrize(
    "model_id",
    [
        "anthropic/claude-no-such-model",
        "no-such-provider/gpt-4o",
        "ollama/llama3.1",  # a local model: free, or priced by nobody's table
        "openai-compatible/gpt-4o",  # any server: the name says nothing of the price
        "test",
        "function",
    ],
)
def test_a_model_the_table_cannot_price_has_no_cost(model_id: str) -> None:
    assert prices.cost(Usage(100, 10), model_id) is None


def test_the_model_that_served_is_priced_before_the_one_asked() -> None:
    served = prices.cost(Usage(10_000, 1_000), "openai/gpt-4o", "gpt-4o-mini")
    assert served == pytest.approx(prices.cost(Usage(10_000, 1_000), "openai/gpt-4o-mini"))
    # An unknown served name falls back to the name asked.
    fallback = prices.cost(Usage(10_000, 1_000), "openai/gpt-4o", "gpt-4o-custom-snapshot-x")
    assert fallback == pytest.approx(prices.cost(Usage(10_000, 1_000), "openai/gpt-4o"))


def test_no_usage_reported_or_no_price_table_means_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert prices.cost(Usage(), SONNET) is None
    monkeypatch.setattr(prices, "_genai_prices", lambda: None)
    assert prices.cost(Usage(100, 10), SONNET) is None
    assert not prices.available()


# -- on responses --------------------------------------------------------------------------


def test_each_response_and_the_chain_carry_their_cost() -> None:
    def add(a: int, b: int) -> int:
        "Add."
        return a + b

    def fn(request: Request) -> Reply:
        if len(request.messages) == 1:
            return Reply(Message("assistant", [ToolCall("add", {"a": 1, "b": 2}, "c1")]),
                         Usage(1_000, 100), "tool_calls")  # fmt: skip
        return Reply(Message.assistant("3"), Usage(2_000, 10), "stop")

    chain = FunctionModel(fn, model_id=SONNET).chain("1+2?", tools=[add])
    costs = [r.usage().cost for r in chain.responses]
    assert costs == [
        pytest.approx(prices.cost(Usage(1_000, 100), SONNET)),
        pytest.approx(prices.cost(Usage(2_000, 10), SONNET)),
    ]
    assert chain.usage().cost == pytest.approx(sum(c for c in costs if c is not None))
    assert chain.responses[-1].to_dict()["usage"]["cost"] == costs[-1]


def test_a_model_without_a_price_gives_none_never_zero() -> None:
    response = answering(Usage(1_000, 100)).prompt("hi")
    assert response.usage().cost is None
    assert answering(Usage(1_000, 100)).chain("hi").usage().cost is None


def test_a_cost_the_provider_reported_is_kept() -> None:
    response = FunctionModel(
        lambda r: Reply(Message.assistant("ok"), Usage(10, 1, cost=0.5), "stop"), model_id=SONNET
    ).prompt("hi")
    assert response.usage().cost == 0.5


def test_the_cli_usage_line_shows_the_cost_only_when_known() -> None:
    assert usage_line(Usage(1200, 30, cost=0.0123)) == (
        "Token usage: 1,200 input, 30 output, cost $0.012300"
    )
    assert "cost" not in usage_line(Usage(1200, 30))


# -- over the wire: the Anthropic format against a local server --------------------------------


def anthropic_usage(**counts: Any) -> dict[str, Any]:
    return {"input_tokens": 0, "output_tokens": 0, **counts}


def test_an_anthropic_chain_is_priced_from_the_usage_on_the_wire(
    local_server: LocalServer,
) -> None:
    first = anthropic_usage(
        input_tokens=200,
        output_tokens=40,
        cache_creation_input_tokens=1_000,
        cache_read_input_tokens=0,
        cache_creation={"ephemeral_5m_input_tokens": 1_000, "ephemeral_1h_input_tokens": 0},
    )
    second = anthropic_usage(input_tokens=50, output_tokens=20, cache_read_input_tokens=1_200)
    call = [tool_use("toolu_1", "lookup", {"key": "a"})]
    local_server.reply(message_body(call, "tool_use", first))
    local_server.reply(message_body([text("done")], "end_turn", second))

    def lookup(key: str) -> str:
        "Look a key up."
        return key

    chain = model(local_server, "claude-sonnet-4-5").chain("go", tools=[lookup])
    expected = [
        oracle("claude-sonnet-4-5", "anthropic", input_tokens=1_200, output_tokens=40,
               cache_write_tokens=1_000),
        oracle("claude-sonnet-4-5", "anthropic", input_tokens=1_250, output_tokens=20,
               cache_read_tokens=1_200),
    ]  # fmt: skip
    assert [r.usage().cost for r in chain.responses] == pytest.approx(expected)
    assert chain.usage().cost == pytest.approx(sum(expected))


def test_a_response_read_back_from_its_dict_keeps_its_cost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")  # from_dict looks the model up
    data = answering(Usage(1_000, 100)).prompt("hi").to_dict()
    data["model"] = SONNET
    data["usage"]["cost"] = 0.25  # what was recorded then, not today's price
    assert Response.from_dict(data).usage().cost == 0.25
    bad = {**data, "usage": {**data["usage"], "cost": "cheap"}}
    with pytest.raises(SerializationError, match="usage"):
        Response.from_dict(bad)


# -- per-token rates: the table's own figures, fast ------------------------------------------


def table_models() -> list[tuple[str, str]]:
    """(provider, model) for every model of the providers agentloop names in the table."""
    from genai_prices.data_snapshot import get_snapshot

    wanted = {"openai", "anthropic", "google", "groq", "mistral", "deepseek", "x-ai", "cohere"}
    return [
        (provider.id, model.id)
        for provider in get_snapshot().providers
        if provider.id in wanted
        for model in provider.models
    ]


COUNTS = [
    {"input_tokens": 1_234, "output_tokens": 56},
    {"input_tokens": 50_000, "output_tokens": 4_000, "cache_read_tokens": 30_000},
    {"input_tokens": 9_000, "output_tokens": 10, "cache_write_tokens": 8_000},
    {"input_tokens": 250_000, "output_tokens": 900, "cache_read_tokens": 1},  # past a tier
    {"input_tokens": 3, "output_tokens": 0},
]


@pytest.mark.parametrize("batch", [False, True], ids=["standard", "batch"])
def test_per_token_rates_give_the_tables_own_figure_for_every_model(batch: bool) -> None:
    table = prices._genai_prices()
    checked = fast = 0
    for provider, name in table_models():
        rates = prices._rates(provider, (name,), batch)
        for counts in COUNTS:
            want = prices._table_cost(table, counts, provider, (name,), batch)
            price = rates.price(counts) if rates is not None else None
            if price is None:
                continue
            got = float(price) * prices.BATCH_DISCOUNT if rates.discounted else float(price)
            assert got == want, (provider, name, counts)
            checked += 1
        fast += rates is not None
    assert fast > 50  # most models are priced per token
    assert checked > 200


def test_a_tiered_price_is_priced_fast_below_its_tier_and_by_the_table_above() -> None:
    rates = prices._rates("anthropic", ("claude-sonnet-4-5",), False)
    assert rates is not None
    assert rates.most_input == 200_000
    assert rates.price({"input_tokens": 200_000, "output_tokens": 1}) is not None
    assert rates.price({"input_tokens": 200_001, "output_tokens": 1}) is None
    above = Usage(250_000, 1_000)
    assert prices.cost(above, SONNET) == oracle(
        "claude-sonnet-4-5", "anthropic", input_tokens=250_000, output_tokens=1_000
    )
