"""agentloop.log: the SQLite conversation log as a Python API."""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from local_server import LocalServer
from openai_chat_wire import completion, http_client

import agentloop
from agentloop import FunctionModel, Request, ToolCall
from agentloop.log import MIGRATIONS, Log, LogError, data_dir, default_path, migrate, new_id
from agentloop.providers.openai_chat import OpenAIChatModel


@pytest.fixture
def log(tmp_path: Path) -> Log:
    return Log(tmp_path / "logs.db")


def upper(text: str) -> str:
    "Convert text to upper case."
    return text.upper()


def test_each_step_is_stored_the_moment_it_completes(log: Log) -> None:
    seen_during_the_chain: list[list[str]] = []

    def peek(note: str) -> str:
        "Look at the log from another connection."
        with Log(log.path) as reader:
            latest = reader.latest()
            seen_during_the_chain.append([m.role for m in latest.messages] if latest else [])
        return note

    def script(request: Request) -> Any:
        step = sum(1 for m in request.messages if m.role == "tool")
        if step < 2:
            return ToolCall("peek", {"note": f"step {step}"}, "")
        raise RuntimeError("the provider went away")

    conversation = FunctionModel(script).conversation(tools=[peek])
    log.attach(conversation)
    with pytest.raises(RuntimeError):
        conversation.chain("Go")
    assert seen_during_the_chain == [
        ["user", "assistant"],
        ["user", "assistant", "tool", "assistant"],
    ]
    latest = log.latest()
    assert latest is not None
    assert [m.role for m in latest.messages] == ["user", "assistant", "tool", "assistant", "tool"]
    assert len(latest.responses) == 2


def test_responses_keep_prompt_model_text_tool_calls_and_usage(log: Log) -> None:
    conversation = agentloop.get_model("test").conversation(system="Be brief", tools=[upper])
    log.attach(conversation)
    conversation.chain("Shout", temperature=0.5)
    logged = log.latest()
    assert logged is not None
    first, second = logged.responses
    assert (first.prompt, first.system, first.model) == ("Shout", "Be brief", "test")
    assert first.options == {"temperature": 0.5}
    assert [c.name for c in first.tool_calls] == ["upper"]
    assert second.prompt is None  # a later step of the chain, not an answer to the user
    assert second.text == '{"upper": "HELLO"}'
    assert logged.usage().input_tokens == first.usage.input_tokens + second.usage.input_tokens
    assert logged.name == "Shout"


def test_tool_calls_and_results_are_tables_to_query(log: Log) -> None:
    conversation = agentloop.get_model("test").conversation(tools=[upper])
    log.attach(conversation)
    conversation.chain("Shout")
    with sqlite3.connect(log.path) as db:
        calls = db.execute("SELECT name, arguments_json FROM tool_calls").fetchall()
        results = db.execute("SELECT name, output, is_error FROM tool_results").fetchall()
    assert calls == [("upper", '{"text":"hello"}')]
    assert results == [("upper", "HELLO", 0)]


def test_recording_again_stores_nothing_twice(log: Log) -> None:
    conversation = agentloop.get_model("test").conversation()
    response = conversation.prompt("Hello")
    first = log.record(response)
    assert log.record(conversation) == first
    [logged] = log.conversations()
    assert (logged.id, len(logged.messages), len(logged.responses)) == (first, 2, 1)


def test_detach_stops_recording(log: Log) -> None:
    conversation = agentloop.get_model("test").conversation()
    log.attach(conversation)
    conversation.prompt("Stored")
    log.detach(conversation)
    conversation.prompt("Not stored")
    [logged] = log.conversations()
    assert [m.text for m in logged.messages if m.role == "user"] == ["Stored"]


def test_a_loaded_conversation_carries_on_under_the_same_id(log: Log) -> None:
    conversation = agentloop.get_model("test").conversation()
    log.attach(conversation)
    conversation.prompt("One")
    conversation_id = log.conversation_id(conversation)
    again = log.load(conversation_id)
    assert again.messages == conversation.messages
    log.attach(again)
    again.prompt("Two", system="A new system prompt")
    [logged] = log.conversations()
    assert logged.id == conversation_id
    assert [m.text for m in logged.messages] == [
        "A new system prompt",
        "One",
        "success (no tool calls)",
        "Two",
        "success (no tool calls)",
    ]
    assert len(logged.responses) == 2


async def test_async_conversations_are_logged_too(log: Log) -> None:
    conversation = agentloop.get_async_model("test").conversation()
    log.attach(conversation)
    await conversation.prompt("Hello")
    logged = log.latest()
    assert logged is not None
    assert [r.text for r in logged.responses] == ["success (no tool calls)"]


def test_api_keys_are_never_stored(log: Log, local_server: LocalServer) -> None:
    local_server.reply(completion("Hi"))
    model = OpenAIChatModel(
        "gpt-4o",
        api_key="sk-secret-never-stored",
        base_url=f"{local_server.url}/v1",
        http_client=http_client(),
    )
    conversation = model.conversation()
    log.attach(conversation)
    conversation.prompt("Hello")
    log.close()
    assert local_server.requests  # the key was used...
    assert b"sk-secret-never-stored" not in log.path.read_bytes()  # ...and not kept


def test_get_finds_an_id_by_its_start_and_refuses_unknown_or_ambiguous_ones(log: Log) -> None:
    ids = []
    for prompt in ["One", "Two"]:
        conversation = agentloop.get_model("test").conversation()
        ids.append(log.record(conversation.prompt(prompt)))
    assert log.get(ids[0][:22]).id == ids[0]
    with pytest.raises(LogError, match="No logged conversation 'nope'"):
        log.get("nope")
    common = next(i for i in range(26) if ids[0][i] != ids[1][i])
    with pytest.raises(LogError, match="More than one conversation"):
        log.get(ids[0][:common])
    with pytest.raises(LogError, match="No logged conversation"):
        log.get("%")  # LIKE wildcards are taken literally


def test_conversations_come_newest_first_and_respect_the_limit(log: Log) -> None:
    for prompt in ["First", "Second", "Third"]:
        log.record(agentloop.get_model("test").conversation().prompt(prompt))
    assert [c.name for c in log.conversations(limit=2)] == ["Third", "Second"]
    assert [c.name for c in log.conversations(limit=None)] == ["Third", "Second", "First"]


def test_migrations_bring_an_older_log_forward_and_keep_its_data(tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    with Log(path) as log:
        log.record(agentloop.get_model("test").conversation().prompt("Kept"))
    newer = [*MIGRATIONS, ("ALTER TABLE responses ADD COLUMN rating INTEGER",)]
    db = sqlite3.connect(path, isolation_level=None)
    assert migrate(db, newer) == len(MIGRATIONS) + 1
    assert migrate(db, newer) == len(MIGRATIONS) + 1  # nothing left to do
    assert db.execute("SELECT prompt, rating FROM responses").fetchall() == [("Kept", None)]
    db.close()


def test_a_fresh_log_starts_at_the_newest_schema(tmp_path: Path) -> None:
    with Log(tmp_path / "logs.db"):
        pass
    db = sqlite3.connect(tmp_path / "logs.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    db.close()


def test_a_log_from_a_newer_agentloop_is_refused(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "logs.db")
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(LogError, match="newer agentloop"):
        Log(tmp_path / "logs.db")


def test_ids_sort_by_creation_time() -> None:
    ids = []
    for _ in range(3):
        ids.append(new_id())
        time.sleep(0.002)
    assert ids == sorted(ids)
    assert len(set(ids)) == 3
    assert all(len(i) == 26 for i in ids)


def test_agentloop_home_decides_where_the_log_is(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AGENTLOOP_HOME", str(tmp_path))
    assert default_path() == tmp_path / "logs.db"


@pytest.mark.parametrize(
    ("platform", "variables", "expected"),
    [
        ("linux", {"XDG_DATA_HOME": "/data"}, "/data/agentloop"),
        ("linux", {}, "~/.local/share/agentloop"),
        ("darwin", {}, "~/Library/Application Support/agentloop"),
        ("win32", {"LOCALAPPDATA": "/appdata"}, "/appdata/agentloop"),
    ],
)
def test_without_agentloop_home_the_user_data_folder_is_used(
    monkeypatch: pytest.MonkeyPatch, platform: str, variables: dict[str, str], expected: str
) -> None:
    for name in ["AGENTLOOP_HOME", "XDG_DATA_HOME", "LOCALAPPDATA"]:
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "platform", platform)
    assert data_dir() == Path(expected).expanduser()


SONNET = "anthropic/claude-sonnet-4-5"


def priced_model(usage: agentloop.Usage, model_id: str = SONNET) -> FunctionModel:
    """Asks for ``upper`` once, then answers; each call reports ``usage``."""

    def script(request: Request) -> agentloop.Reply:
        if len(request.messages) == 1:
            call = ToolCall("upper", {"text": "hi"}, "call_1")
            return agentloop.Reply(agentloop.Message("assistant", [call]), usage, "tool_calls")
        return agentloop.Reply(agentloop.Message.assistant("HI"), usage, "stop")

    return FunctionModel(script, model_id=model_id)


def test_each_call_is_logged_with_its_cost_when_the_price_is_known(log: Log) -> None:
    conversation = priced_model(agentloop.Usage(1_000, 100)).conversation(tools=[upper])
    log.attach(conversation)
    conversation.chain("Shout")
    per_call = agentloop.prices.cost(agentloop.Usage(1_000, 100), SONNET)
    assert per_call is not None
    logged = log.latest()
    assert logged is not None
    assert [r.usage.cost for r in logged.responses] == [per_call, per_call]
    assert logged.usage().cost == pytest.approx(2 * per_call)
    assert logged.to_dict()["responses"][0]["usage"]["cost"] == per_call
    column = log._db.execute("SELECT cost FROM responses").fetchall()
    assert column == [(per_call,), (per_call,)]  # a column to sum in SQL


def test_an_unknown_cost_is_logged_as_unknown_never_as_zero(log: Log) -> None:
    log.record(agentloop.get_model("test").conversation().prompt("Hello"))
    logged = log.latest()
    assert logged is not None
    assert logged.responses[0].usage.cost is None
    assert logged.usage().cost is None
    assert "cost" not in logged.to_dict()["usage"]
    assert log._db.execute("SELECT cost FROM responses").fetchall() == [(None,)]


def test_a_cost_the_provider_reported_is_logged_as_it_is(log: Log) -> None:
    usage = agentloop.Usage(10, 5, cost=0.25)
    log.record(priced_model(usage, model_id="openai-compatible/local").prompt("Hi"))
    logged = log.latest()
    assert logged is not None
    assert logged.responses[0].usage.cost == 0.25


def test_a_price_that_cannot_be_worked_out_never_fails_the_log_write(
    log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> float:
        raise RuntimeError("a broken price table")

    monkeypatch.setattr(agentloop.prices, "cost", broken)
    conversation = priced_model(agentloop.Usage(1_000, 100)).conversation(tools=[upper])
    log.attach(conversation)
    conversation.chain("Shout")
    logged = log.latest()
    assert logged is not None
    assert [r.usage.cost for r in logged.responses] == [None, None]
    assert [r.usage.input_tokens for r in logged.responses] == [1_000, 1_000]


def test_a_log_from_before_costs_migrates_and_keeps_its_calls(tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    db = sqlite3.connect(path, isolation_level=None)
    assert migrate(db, MIGRATIONS[:1]) == 1  # the first schema, with no cost column
    db.execute(
        "INSERT INTO conversations VALUES ('01OLD', 'Old', ?, '2025-01-01', '2025-01-01')",
        (SONNET,),
    )
    db.execute(
        "INSERT INTO responses VALUES ('R1', '01OLD', ?, NULL, 'Old', NULL, '{}', 'Hi', ?, "
        "'stop', 1000, 100, ?, '2025-01-01')",
        (
            SONNET,
            '{"role": "assistant", "content": "Hi"}',
            '{"input_tokens": 1000, "output_tokens": 100}',
        ),
    )
    db.close()
    with Log(path) as log:
        old = log.get("01OLD")
        assert [r.text for r in old.responses] == ["Hi"]
        assert old.responses[0].usage.input_tokens == 1_000
        assert old.usage().cost is None  # logged before costs were: unknown
        conversation = priced_model(agentloop.Usage(1_000, 100)).conversation(tools=[upper])
        log.attach(conversation)
        conversation.chain("Shout")
        new = log.latest()
        assert new is not None
        assert new.usage().cost is not None
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 2
    db.close()
