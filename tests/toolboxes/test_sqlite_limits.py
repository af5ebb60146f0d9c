"""SQLite under load: no transaction outlives a call, memory is bounded as rows are read,
and odd parameters are errors the model reads."""

from __future__ import annotations

import shutil
import sqlite3
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentloop import FunctionModel, Request, ToolCall, ToolError
from toolboxes import SQLite

ROWS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30) "


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT)")
    connection.execute("INSERT INTO products (name) VALUES ('tea'), ('cake')")
    connection.commit()
    connection.close()
    return path


def writer_can_commit(path: Path) -> bool:
    """Whether the application, on its own connection, can write right now."""
    connection = sqlite3.connect(path, timeout=0)
    try:
        connection.execute("INSERT INTO products (name) VALUES ('from the app')")
        connection.commit()
    except sqlite3.OperationalError as error:
        locked = "locked" in str(error)
    else:
        return True
    finally:
        connection.close()
    assert locked
    return False


@pytest.mark.parametrize(
    "opening",
    ["BEGIN", "BEGIN IMMEDIATE", "BEGIN EXCLUSIVE", "BEGIN DEFERRED TRANSACTION", "SAVEPOINT s"],
)
def test_read_only_refuses_transactions_and_leaves_none_open(database: Path, opening: str) -> None:
    db = SQLite(database)
    with pytest.raises(ToolError, match=r"Transaction statements .* are refused"):
        db.query(opening)
    assert db.query("SELECT count(*) FROM products")["rows"] == [[2]]
    assert db._connection is not None
    assert not db._connection.in_transaction
    assert writer_can_commit(database)
    for closing in ["COMMIT", "END", "ROLLBACK", "RELEASE s"]:
        with pytest.raises(ToolError, match="are refused"):
            db.query(closing)
    assert db.query("SELECT count(*) FROM products")["rows"] == [[3]]  # sees the app's row


def test_a_writable_database_commits_even_a_transaction_the_model_opened(database: Path) -> None:
    db = SQLite(database, writable=True)
    db.query("BEGIN")
    assert db._connection is not None
    assert not db._connection.in_transaction
    db.query("SAVEPOINT s")
    db.query("INSERT INTO products (name) VALUES ('pie')")
    assert writer_can_commit(database)
    assert SQLite(database).query("SELECT count(*) FROM products")["rows"] == [[4]]


def test_a_failed_statement_leaves_no_transaction_open(database: Path) -> None:
    db = SQLite(database, writable=True)
    with pytest.raises(ToolError, match="UNIQUE constraint failed"):
        db.query("INSERT INTO products (id, name) VALUES (1, 'again')")
    assert db._connection is not None
    assert not db._connection.in_transaction
    assert writer_can_commit(database)


def peak_bytes(call: Callable[[], Any]) -> tuple[int, Any]:
    tracemalloc.start()
    try:
        try:
            result = call()
        except ToolError as error:
            result = error
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def test_a_huge_value_is_refused_without_being_held(database: Path) -> None:
    peak, result = peak_bytes(
        lambda: SQLite(database).query(ROWS + "SELECT zeroblob(20000000) FROM n")
    )
    assert peak < 5_000_000, peak
    assert isinstance(result, ToolError)
    assert "larger than 1000000 bytes" in str(result)


def test_rows_are_read_one_at_a_time(database: Path) -> None:
    # 30 rows of 900 kB each: held together they would take 27 MB.
    peak, result = peak_bytes(
        lambda: SQLite(database).query(ROWS + "SELECT zeroblob(900000) FROM n")
    )
    assert peak < 8_000_000, peak
    assert result["rows"][0] == ["<900000 bytes of binary data>"]
    assert len(result["rows"]) == 12
    assert "hold over 10000000 bytes" in result["note"]


def test_stored_values_larger_than_the_limit_are_an_error_the_model_reads(
    database: Path, tmp_path: Path
) -> None:
    big = Path(shutil.copy(database, tmp_path / "big.db"))
    connection = sqlite3.connect(big)
    connection.execute("CREATE TABLE docs (body TEXT, picture BLOB)")
    connection.execute("INSERT INTO docs VALUES (?, ?)", ["x" * 3_000_000, b"\x00" * 3_000_000])
    connection.commit()
    connection.close()
    db = SQLite(big)
    assert db.query("SELECT length(picture) FROM docs")["rows"] == [[3_000_000]]
    with pytest.raises(ToolError, match="leave that column or row out"):
        db.query("SELECT body FROM docs")
    roomy = SQLite(big, max_value_bytes=5_000_000, max_cell_chars=5)
    assert roomy.query("SELECT body FROM docs")["rows"] == [["xxxxx..."]]


@pytest.mark.parametrize(
    ("sql", "parameters", "message"),
    [
        ("SELECT ?", [2**70], "Parameter 1 is too large an integer for SQLite"),
        ("SELECT ?, ?", [1, -(2**63) - 1], "Parameter 2 is too large an integer"),
        ("SELECT ?", ["lone \ud800 surrogate"], "Parameter 1 is not valid text"),
        ("SELECT 'lone \udfff surrogate'", [], "The SQL is not valid text"),
    ],
)
def test_values_sqlite_cannot_take_are_errors(
    database: Path, sql: str, parameters: list[Any], message: str
) -> None:
    with pytest.raises(ToolError, match=message):
        SQLite(database).query(sql, parameters)


def test_the_largest_64_bit_integers_still_work(database: Path) -> None:
    result = SQLite(database).query("SELECT ?, ?", [2**63 - 1, -(2**63)])
    assert result["rows"] == [[2**63 - 1, -(2**63)]]


def test_a_huge_integer_from_the_model_is_an_error_result(database: Path) -> None:
    def play(request: Request) -> Any:
        last = request.messages[-1]
        if last.role == "tool":
            return last.tool_results[0].output
        return ToolCall("SQLite_query", {"sql": "SELECT ?", "parameters": [2**70]}, "c1")

    conversation = FunctionModel(play).conversation(tools=[SQLite(database)], tool_errors="raise")
    assert "too large an integer" in conversation.chain("go").text()
