"""SQLite: let the model explore and query one database, read-only unless you say otherwise.

Read-only is enforced by SQLite itself: the file is opened with
``mode=ro``, so every write fails inside the engine whatever the SQL looks
like. Two statements could still reach *other* files, ``ATTACH`` and
``VACUUM INTO``, and both are blocked by allowing no attached database at
all. Transaction statements (``BEGIN``, ``SAVEPOINT``...) are refused by the
engine's authorizer on a read-only database, and no call ever leaves a
transaction open, so the application's own writers are never locked out.

A query runs under a time limit and returns at most ``max_rows`` rows. Its
memory is bounded as it is read: SQLite refuses any value larger than
``max_value_bytes`` (``SQLITE_LIMIT_LENGTH``), rows are fetched one at a time
and cut at once, and reading stops after ``max_result_bytes``.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any, Literal

import agentloop
from agentloop import ToolError

__all__ = ["SQLite"]

logger = logging.getLogger("toolboxes.sqlite")

#: How often (in SQLite virtual machine steps) the time limit is checked.
_PROGRESS_STEPS = 1000
#: What the authorizer refuses on a read-only database: a transaction left open holds
#: a lock on the file until the connection closes.
_TRANSACTION_ACTIONS = frozenset({sqlite3.SQLITE_TRANSACTION, sqlite3.SQLITE_SAVEPOINT})
_INT64 = range(-(2**63), 2**63)
_TRANSACTIONS_REFUSED = (
    "Transaction statements (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE) are refused on "
    "this read-only database: each query runs on its own and sees the latest data."
)


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
        max_value_bytes: int = 1_000_000,
        max_result_bytes: int = 10_000_000,
        time_limit: float = 10.0,
        instance_name: str | None = None,
    ) -> None:
        """The database file must exist. It is opened read-only unless ``writable=True``
        (which lets queries change it, but never create or attach other files).
        ``max_value_bytes`` is the largest value a query may read or build (larger ones
        are an error the model reads); ``max_result_bytes`` stops reading a result early."""
        super().__init__(instance_name=instance_name)
        self.path = Path(path).resolve()
        if not self.path.is_file():
            raise FileNotFoundError(f"No SQLite database at {str(path)!r}")
        self.writable = writable
        self.max_rows = max_rows
        self.max_cell_chars = max_cell_chars
        self.max_value_bytes = max_value_bytes
        self.max_result_bytes = max_result_bytes
        self.time_limit = time_limit
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # one connection, shared by the threads tools run on
        self._transaction_refused = False
        self._settling = False  # our own ROLLBACK passes the authorizer

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
        columns, rows, note = self._run(sql, tuple(parameters or ()), limit=self.max_rows)
        result: dict[str, Any] = {"columns": columns, "rows": rows}
        if note:
            result["note"] = note
        return result

    # -- the connection ---------------------------------------------------------------

    def _run(
        self, sql: str, parameters: tuple[Any, ...], limit: int | None = None
    ) -> tuple[list[str], list[list[Any]], str]:
        """Columns, rows (at most ``limit``) and a note when reading stopped early.

        Whatever happens, no transaction is left open: a writable database
        commits the call's changes, anything else is rolled back.
        """
        _check_text("The SQL", sql)
        _check_parameters(parameters)
        with self._lock:
            connection = self._connect()
            deadline = time.monotonic() + self.time_limit
            connection.set_progress_handler(lambda: time.monotonic() > deadline, _PROGRESS_STEPS)
            self._transaction_refused = False
            try:
                result = self._execute(connection, sql, parameters, limit)
                if self.writable and connection.in_transaction:
                    connection.commit()
                return result
            except sqlite3.Error as exc:
                raise ToolError(self._explain(exc, deadline)) from None
            except (OverflowError, ValueError) as exc:  # what sqlite3 raises for odd values
                raise ToolError(f"SQLite cannot take this query or its parameters: {exc}") from None
            finally:
                self._settle(connection)

    def _execute(
        self,
        connection: sqlite3.Connection,
        sql: str,
        parameters: tuple[Any, ...],
        limit: int | None,
    ) -> tuple[list[str], list[list[Any]], str]:
        cursor = connection.execute(sql, parameters)
        try:
            columns = [d[0] for d in cursor.description or ()]
            rows, note = self._fetch(cursor, limit)
        finally:
            cursor.close()  # ends the statement, releasing its read lock
        return columns, rows, note

    def _fetch(self, cursor: sqlite3.Cursor, limit: int | None) -> tuple[list[list[Any]], str]:
        """Rows one at a time, each cut as it arrives, so at most one whole row is held."""
        rows: list[list[Any]] = []
        read = 0
        while (row := cursor.fetchone()) is not None:
            if limit is not None and len(rows) >= limit:
                return rows, f"Only the first {limit} rows are shown."
            if read > self.max_result_bytes:
                return rows, (
                    f"Only the first {len(rows)} rows are shown: they hold over "
                    f"{self.max_result_bytes} bytes. Select fewer or shorter columns."
                )
            read += sum(len(v) for v in row if isinstance(v, str | bytes))
            rows.append([self._cell(v) for v in row])
        return rows, ""

    def _settle(self, connection: sqlite3.Connection) -> None:
        """Roll back a transaction still open, so no lock outlives the call."""
        if not connection.in_transaction:
            return
        self._settling = True
        try:
            connection.rollback()
        except sqlite3.Error:
            # Closing ends the transaction for certain; the next call reconnects.
            logger.warning("could not roll back %s; closing the connection", self.path.name)
            connection.close()
            self._connection = None
        finally:
            self._settling = False

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            mode = "rw" if self.writable else "ro"
            uri = f"file:{urllib.parse.quote(str(self.path))}?mode={mode}"
            # Read-only runs in autocommit mode: sqlite3 opens no transaction of its own.
            isolation: Literal["DEFERRED"] | None = "DEFERRED" if self.writable else None
            connection = sqlite3.connect(
                uri, uri=True, check_same_thread=False, isolation_level=isolation
            )
            # ATTACH and VACUUM INTO would open or create files other than this one.
            connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
            # No value larger than this is built or read: the memory one cell can take.
            connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, self.max_value_bytes)
            if not self.writable:
                connection.set_authorizer(self._authorize)
            self._connection = connection
        return self._connection

    def _authorize(self, action: int, *_: str | None) -> int:
        if action in _TRANSACTION_ACTIONS and not self._settling:
            self._transaction_refused = True
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    def _explain(self, exc: sqlite3.Error, deadline: float) -> str:
        message = str(exc)
        if self._transaction_refused:
            return _TRANSACTIONS_REFUSED
        if isinstance(exc, sqlite3.OperationalError) and time.monotonic() > deadline:
            return f"The query took longer than {self.time_limit} s and was stopped"
        if "readonly" in message.replace("-", "").replace(" ", ""):
            return f"SQLite error: {message}. This database is read-only: only read queries work."
        if "too many attached databases" in message:
            return "SQLite error: attaching or writing other database files is not allowed"
        if "too big" in message:
            return (
                f"SQLite error: {message}. A value is larger than {self.max_value_bytes} "
                "bytes, the most a query may read or build here; leave that column or row "
                "out of the query."
            )
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


def _check_parameters(parameters: tuple[Any, ...]) -> None:
    for number, value in enumerate(parameters, start=1):
        if isinstance(value, int) and not isinstance(value, bool) and value not in _INT64:
            raise ToolError(
                f"Parameter {number} is too large an integer for SQLite, whose integers are "
                "64-bit (-9223372036854775808 to 9223372036854775807); pass it as text"
            )
        if isinstance(value, str):
            _check_text(f"Parameter {number}", value)


def _check_text(what: str, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ToolError(
            f"{what} is not valid text: it holds a lone surrogate at character {exc.start}"
        ) from None
