"""Where the conversation log lives, and its schema: versioned, migrated forward."""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from agentloop.errors import AgentloopError

#: One entry per schema version: the statements that bring version ``i`` to ``i + 1``.
#: Append new entries; never edit a released one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            name TEXT,
            model TEXT,
            created_utc TEXT NOT NULL,
            updated_utc TEXT NOT NULL
        )""",
        "CREATE INDEX conversations_by_update ON conversations (updated_utc)",
        """CREATE TABLE messages (
            conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            role TEXT NOT NULL,
            content_json TEXT NOT NULL,
            PRIMARY KEY (conversation_id, seq)
        )""",
        """CREATE TABLE responses (
            id TEXT PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            resolved_model TEXT,
            prompt TEXT,
            system TEXT,
            options_json TEXT NOT NULL,
            text TEXT NOT NULL,
            message_json TEXT NOT NULL,
            finish_reason TEXT,
            input_tokens INTEGER,
            output_tokens INTEGER,
            usage_json TEXT NOT NULL,
            datetime_utc TEXT NOT NULL
        )""",
        "CREATE INDEX responses_by_conversation ON responses (conversation_id)",
        """CREATE TABLE tool_calls (
            conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            message_seq INTEGER NOT NULL,
            tool_call_id TEXT NOT NULL,
            name TEXT NOT NULL,
            arguments_json TEXT NOT NULL
        )""",
        "CREATE INDEX tool_calls_by_message ON tool_calls (conversation_id, message_seq)",
        """CREATE TABLE tool_results (
            conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            message_seq INTEGER NOT NULL,
            tool_call_id TEXT NOT NULL,
            name TEXT NOT NULL,
            output TEXT NOT NULL,
            is_error INTEGER NOT NULL
        )""",
        "CREATE INDEX tool_results_by_message ON tool_results (conversation_id, message_seq)",
    ),
    # 2: what each model call cost in USD, NULL when unknown (and on rows logged before).
    ("ALTER TABLE responses ADD COLUMN cost REAL",),
)


class LogError(AgentloopError):
    """The log cannot be opened, or holds no such conversation. The message says what to do."""


def data_dir() -> Path:
    """Where agentloop keeps its data: ``$AGENTLOOP_HOME``, else the platform's user data folder."""
    home = os.environ.get("AGENTLOOP_HOME")
    if home:
        return Path(home).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(Path.home() / "Library" / "Application Support")
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "agentloop"


def default_path() -> Path:
    """The log used when none is named: ``logs.db`` in `data_dir`."""
    return data_dir() / "logs.db"


def migrate(db: sqlite3.Connection, migrations: Sequence[Sequence[str]] = MIGRATIONS) -> int:
    """Bring the schema up to the newest version, one transaction per version."""
    known = len(migrations)
    for target in range(_version(db) + 1, known + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            if _version(db) < target:
                for statement in migrations[target - 1]:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {target}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    version = _version(db)
    if version > known:
        raise LogError(
            f"This log was written by a newer agentloop (schema version {version}; this one "
            f"knows up to {known}): upgrade agentloop, or set AGENTLOOP_HOME to use another log"
        )
    return version


def _version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])
