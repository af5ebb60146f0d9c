"""SQLite: tables, describe and query; read-only enforced by SQLite, not by reading the SQL."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agentloop import FunctionModel, Request, ToolCall, ToolError
from toolboxes import SQLite


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "shop.db"
    connection = sqlite3.connect(path)
    connection.executescript(
        """
        CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL DEFAULT 0,
                               picture BLOB);
        CREATE INDEX by_name ON products (name);
        CREATE VIEW cheap AS SELECT name FROM products WHERE price < 5;
        """
    )
    connection.executemany(
        "INSERT INTO products (name, price, picture) VALUES (?, ?, ?)",
        [(f"item {n}", n, b"\x89PNG" if n == 1 else None) for n in range(1, 251)],
    )
    connection.commit()
    connection.close()
    return path


@pytest.fixture
def database(template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(template, tmp_path / "shop.db"))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_tables_lists_tables_and_views_with_their_sql(database: Path) -> None:
    tables = SQLite(database).tables()
    assert [(t["name"], t["type"]) for t in tables] == [("cheap", "view"), ("products", "table")]
    assert tables[1]["sql"].startswith("CREATE TABLE products")


def test_describe_gives_the_columns(database: Path) -> None:
    columns = SQLite(database).describe("products")
    assert columns[0] == {"name": "id", "type": "INTEGER", "not_null": False, "default": None,
                          "pk": 1}  # fmt: skip
    assert columns[1]["not_null"] is True
    assert columns[2]["default"] == "0"
    with pytest.raises(ToolError, match="no table or view named 'nope'"):
        SQLite(database).describe("nope")


def test_query_returns_columns_and_rows_up_to_the_limit(database: Path) -> None:
    result = SQLite(database, max_rows=3).query("SELECT id, name, picture FROM products")
    assert result == {
        "columns": ["id", "name", "picture"],
        "rows": [
            [1, "item 1", "<4 bytes of binary data>"],
            [2, "item 2", None],
            [3, "item 3", None],
        ],
        "note": "Only the first 3 rows are shown.",
    }


def test_query_takes_parameters(database: Path) -> None:
    result = SQLite(database).query("SELECT name FROM products WHERE id = ? OR name = ?", [7, "x"])
    assert result == {"columns": ["name"], "rows": [["item 7"]]}


def test_query_errors_reach_the_model_as_tool_errors(database: Path) -> None:
    db = SQLite(database)
    with pytest.raises(ToolError, match="SQLite error: no such table: nope"):
        db.query("SELECT * FROM nope")
    with pytest.raises(ToolError, match="one statement at a time"):
        db.query("SELECT 1; SELECT 2")


def test_long_queries_are_stopped_at_the_time_limit(database: Path) -> None:
    endless = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
    )
    with pytest.raises(ToolError, match=r"took longer than 0\.2 s"):
        SQLite(database, time_limit=0.2).query(endless)


# The hostile corpus: writes of every kind against a read-only database.
WRITES = [
    "INSERT INTO products (name) VALUES ('pwned')",
    "UPDATE products SET name = 'pwned'",
    "DELETE FROM products",
    "DROP TABLE products",
    "DROP VIEW cheap",
    "CREATE TABLE pwned (x)",
    "CREATE INDEX pwned ON products(name)",
    "ALTER TABLE products ADD COLUMN pwned TEXT",
    "ALTER TABLE products RENAME TO pwned",
    "REPLACE INTO products (id, name) VALUES (1, 'pwned')",
    "INSERT INTO products (name) SELECT name FROM products",
    "CREATE TRIGGER pwned AFTER INSERT ON products BEGIN SELECT 1; END",
    "PRAGMA user_version = 7",
    "PRAGMA journal_mode = WAL",
    "VACUUM",
    "REINDEX",
    "ATTACH DATABASE '{outside}/attached.db' AS other",
    "VACUUM INTO '{outside}/copy.db'",
    "WITH x AS (SELECT 1) INSERT INTO products (name) SELECT 'pwned' FROM x",
    "INSERT INTO products (name) VALUES ('a') RETURNING id",
]


@pytest.mark.parametrize("sql", WRITES)
def test_writes_against_a_read_only_database_are_refused(
    database: Path, tmp_path: Path, sql: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    before = digest(database)
    db = SQLite(database)
    statement = sql.replace("{outside}", str(outside))
    with pytest.raises(ToolError, match="SQLite error"):
        db.query(statement)
    assert digest(database) == before
    assert os.listdir(outside) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside", "shop.db"]


def test_read_only_refusals_say_the_database_is_read_only(database: Path) -> None:
    with pytest.raises(ToolError, match="This database is read-only"):
        SQLite(database).query("DELETE FROM products")


def test_attaching_other_files_is_refused_even_when_writable(
    database: Path, tmp_path: Path
) -> None:
    db = SQLite(database, writable=True)
    with pytest.raises(ToolError, match="attaching or writing other database files"):
        db.query(f"ATTACH DATABASE '{tmp_path / 'x.db'}' AS x")
    with pytest.raises(ToolError, match="attaching or writing other database files"):
        db.query(f"VACUUM INTO '{tmp_path / 'copy.db'}'")
    assert not (tmp_path / "x.db").exists()
    assert not (tmp_path / "copy.db").exists()


def test_writable_databases_accept_and_commit_writes(database: Path) -> None:
    db = SQLite(database, writable=True)
    db.query("DELETE FROM products WHERE id > ?", [2])
    assert SQLite(database).query("SELECT count(*) FROM products")["rows"] == [[2]]


def test_a_missing_database_is_an_error_at_construction(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="No SQLite database"):
        SQLite(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()


def test_sqlite_in_a_chain_and_closed_with_the_conversation(database: Path) -> None:
    def play(request: Request) -> Any:
        last = request.messages[-1]
        if last.role == "tool":
            return last.tool_results[0].output
        return ToolCall("SQLite_query", {"sql": "SELECT count(*) AS n FROM products"}, "c1")

    db = SQLite(database)
    conversation = FunctionModel(play).conversation(tools=[db])
    assert conversation.chain("how many?").text() == '{"columns":["n"],"rows":[[250]]}'
    conversation.close()
    assert db._connection is None
