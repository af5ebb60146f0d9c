"""SQLite: let the model explore and query one database, read-only unless you say otherwise.

Read-only is enforced by SQLite itself: the file is opened with
``mode=ro``, so every write fails inside the engine whatever the SQL looks
like. Two statements could still reach *other* files, ``ATTACH`` and
``VACUUM INTO``, and both are blocked by allowing no attached database at
all. A query runs under a time limit and returns at most ``max_rows`` rows.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import agentloop
from agentloop import ToolError

__all__ = ["SQLite"]

#: How often (in SQLite virtual machine steps) the time limit is checked.
_PROGRESS_STEPS = 1000


class SQLite(agentloop.Toolbox):
    """Explore and query a SQLite database: list its tables, describe a table's columns,
    and run SQL queries (SQLite dialect)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        writable: bool = False,
        max_rows: int = 100,
        max_cell_chars: int = 2000,
        time_limit: float = 10.0,
        instance_name: str | None = None,
    ) -> None:
        """The database file must exist. It is opened read-only unless ``writable=True``
        (which lets queries change it, but never create or attach other files)."""
        super().__init__(instance_name=instance_name)
        self.path = Path(path).resolve()
        if not self.path.is_file():
            raise FileNotFoundError(f"No SQLite database at {str(path)!r}")
        self.writable = writable
        self.max_rows = max_rows
        self.max_cell_chars = max_cell_chars
        self.time_limit = time_limit
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # one connection, shared by the threads tools run on

    def tables(self) -> list[dict[str, str]]:
        """List the tables and views in the database, with the SQL that created each."""
        rows = self._run(
            "SELECT name, type, sql FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name",
            (),
        )[1]
        return [{"name": r[0], "type": r[1], "sql": r[2] or ""} for r in rows]

    def describe(self, table: str) -> list[dict[str, Any]]:
        """Describe a table's columns: name, type, whether it may be NULL, default value,
        and its position in the primary key (0 if not part of it).

        Args:
            table: The table or view name, as listed by tables.
        """
        rows = self._run("SELECT * FROM pragma_table_info(?)", (table,))[1]
        if not rows:
            raise ToolError(f"There is no table or view named {table!r}; list them with tables")
        return [
            {"name": r[1], "type": r[2], "not_null": bool(r[3]), "default": r[4], "pk": r[5]}
            for r in rows
        ]

    def query(
        self, sql: str, parameters: list[str | int | float | None] | None = None
    ) -> dict[str, Any]:
        """Run one SQL statement and return its rows as JSON (columns, rows). Only the first
        rows are returned; use LIMIT, WHERE and aggregates to get what you need.

        Args:
            sql: One SQL statement in SQLite's dialect; use ? for parameters.
            parameters: Values for the ? placeholders, in order.
        """
        columns, rows, more = self._run(sql, tuple(parameters or ()), limit=self.max_rows)
        result: dict[str, Any] = {"columns": columns, "rows": rows}
        if more:
            result["note"] = f"Only the first {self.max_rows} rows are shown."
        return result

    # -- the connection ---------------------------------------------------------------

    def _run(
        self, sql: str, parameters: tuple[Any, ...], limit: int | None = None
    ) -> tuple[list[str], list[list[Any]], bool]:
        """Columns, rows (at most ``limit``) and whether more rows were left unread."""
        with self._lock:
            connection = self._connect()
            deadline = time.monotonic() + self.time_limit
            connection.set_progress_handler(lambda: time.monotonic() > deadline, _PROGRESS_STEPS)
            try:
                cursor = connection.execute(sql, parameters)
                fetched = cursor.fetchall() if limit is None else cursor.fetchmany(limit + 1)
                columns = [d[0] for d in cursor.description or ()]
                cursor.close()
                if self.writable and connection.in_transaction:
                    connection.commit()
            except sqlite3.Error as exc:
                if connection.in_transaction:
                    connection.rollback()
                raise ToolError(self._explain(exc, deadline)) from None
        more = limit is not None and len(fetched) > limit
        rows = [[self._cell(v) for v in row] for row in fetched[:limit]]
        return columns, rows, more

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            mode = "rw" if self.writable else "ro"
            uri = f"file:{urllib.parse.quote(str(self.path))}?mode={mode}"
            connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
            # ATTACH and VACUUM INTO would open or create files other than this one.
            connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
            self._connection = connection
        return self._connection

    def _explain(self, exc: sqlite3.Error, deadline: float) -> str:
        message = str(exc)
        if isinstance(exc, sqlite3.OperationalError) and time.monotonic() > deadline:
            return f"The query took longer than {self.time_limit} s and was stopped"
        if "readonly" in message.replace("-", "").replace(" ", ""):
            return f"SQLite error: {message}. This database is read-only: only read queries work."
        if "too many attached databases" in message:
            return "SQLite error: attaching or writing other database files is not allowed"
        return f"SQLite error: {message}"

    def _cell(self, value: Any) -> Any:
        if isinstance(value, bytes):
            return f"<{len(value)} bytes of binary data>"
        if isinstance(value, str) and len(value) > self.max_cell_chars:
            return value[: self.max_cell_chars] + "..."
        return value

    async def close(self) -> None:
        """Close the database connection (it reopens if a tool is used again)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
