"""The `Log`: writing each step of a conversation as it completes, and reading back."""

from __future__ import annotations

import json
import logging
import os
import secrets
import sqlite3
import threading
import time
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentloop import prices
from agentloop.conversation import Conversation
from agentloop.log.records import LoggedConversation, LoggedResponse
from agentloop.log.schema import LogError, default_path, migrate
from agentloop.messages import Message
from agentloop.response import ChainResponse, Response
from agentloop.usage import Usage

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from agentloop.model import AsyncModel, Model


def new_id() -> str:
    """A ULID-style id: 26 characters that sort by creation time."""
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    return "".join(alphabet[(value >> shift) & 31] for shift in range(125, -1, -5))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(slots=True)
class _Tracked:
    """What of one live conversation is already stored."""

    conversation: weakref.ref[Conversation]
    id: str
    exists: bool = False
    #: The message objects stored, by position: an identity check finds what changed.
    messages: list[Message] = field(default_factory=list)
    responses: int = 0


class Log:
    """A conversation log in one SQLite file (see the module documentation)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        if str(self.path) != ":memory:":
            # Conversations are private: keep the folder to the user.
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=10.0
            )
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            migrate(self._db)
        except sqlite3.Error as exc:
            raise LogError(
                f"Cannot open the log {self.path}: {exc} (set AGENTLOOP_HOME to use another folder)"
            ) from exc
        self._lock = threading.RLock()
        self._tracked: dict[int, _Tracked] = {}

    # -- writing ---------------------------------------------------------------

    def attach(self, conversation: Conversation) -> None:
        """Store ``conversation`` after every step from here on (and now, if it has any)."""
        if self.record not in conversation.on_update:
            conversation.on_update.append(self.record)
        if conversation.responses:
            self.record(conversation)  # the history it already has

    def detach(self, conversation: Conversation) -> None:
        if self.record in conversation.on_update:
            conversation.on_update.remove(self.record)

    def record(self, item: Conversation | Response | ChainResponse) -> str:
        """Store what is new in a conversation (or a response's); returns the conversation id."""
        conversation = item if isinstance(item, Conversation) else item.conversation
        with self._lock:
            tracked = self._track(conversation)
            self._write(conversation, tracked)
            return tracked.id

    def conversation_id(self, conversation: Conversation) -> str:
        """The id ``conversation`` is (or will be) stored under."""
        with self._lock:
            return self._track(conversation).id

    def _track(self, conversation: Conversation, conversation_id: str | None = None) -> _Tracked:
        key = id(conversation)
        tracked = self._tracked.get(key)
        if tracked is None or tracked.conversation() is not conversation:
            tracked = _Tracked(weakref.ref(conversation), conversation_id or new_id())
            self._tracked[key] = tracked
            weakref.finalize(conversation, self._tracked.pop, key, None)
        return tracked

    def _write(self, conversation: Conversation, tracked: _Tracked) -> None:
        messages = list(conversation.messages)
        stored = tracked.messages
        changed = [i for i, m in enumerate(messages) if i >= len(stored) or stored[i] is not m]
        new_responses = conversation.responses[tracked.responses :]
        if not changed and not new_responses and len(messages) == len(stored):
            return
        model = conversation.model.model_id if conversation.model is not None else None
        now = _now()
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if tracked.exists:
                db.execute(
                    "UPDATE conversations SET model = coalesce(?, model), updated_utc = ?, "
                    "name = coalesce(name, ?) WHERE id = ?",
                    (model, now, _name(messages), tracked.id),
                )
            else:
                db.execute(
                    "INSERT INTO conversations (id, name, model, created_utc, updated_utc) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (tracked.id, _name(messages), model, now, now),
                )
            if len(messages) < len(stored):
                self._delete_messages(tracked.id, len(messages))
            for seq in changed:
                self._write_message(tracked.id, seq, messages[seq])
            for response in new_responses:
                self._write_response(tracked.id, response, messages, now)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        tracked.exists = True
        tracked.messages = messages
        tracked.responses = len(conversation.responses)

    def _delete_messages(self, conversation_id: str, from_seq: int) -> None:
        for table, column in (
            ("tool_calls", "message_seq"),
            ("tool_results", "message_seq"),
            ("messages", "seq"),
        ):
            self._db.execute(
                f"DELETE FROM {table} WHERE conversation_id = ? AND {column} >= ?",
                (conversation_id, from_seq),
            )

    def _write_message(self, conversation_id: str, seq: int, message: Message) -> None:
        db = self._db
        key = (conversation_id, seq)
        db.execute("DELETE FROM tool_calls WHERE conversation_id = ? AND message_seq = ?", key)
        db.execute("DELETE FROM tool_results WHERE conversation_id = ? AND message_seq = ?", key)
        db.execute(
            "INSERT OR REPLACE INTO messages (conversation_id, seq, role, content_json) "
            "VALUES (?, ?, ?, ?)",
            (*key, message.role, _json(message.to_dict())),
        )
        db.executemany(
            "INSERT INTO tool_calls VALUES (?, ?, ?, ?, ?)",
            [(*key, c.tool_call_id, c.name, c.arguments_json()) for c in message.tool_calls],
        )
        db.executemany(
            "INSERT INTO tool_results VALUES (?, ?, ?, ?, ?, ?)",
            [
                (*key, r.tool_call_id, r.name, r.output, int(r.is_error))
                for r in message.tool_results
            ],
        )

    def _write_response(
        self, conversation_id: str, response: Response, messages: list[Message], now: str
    ) -> None:
        # Not response.message: that would wait for the run to end, and a run
        # reports each step while it is still going.
        reply = response.reply_so_far
        if reply is None:
            return
        message, usage = reply.message, reply.usage
        options = {**response.conversation.options, **response.prompt.options}
        # A fallback member's answer is stored, and priced, as that member's.
        model = reply.answered_by or response.model
        cost = _cost(usage, model, reply.model)
        usage_dict = usage.to_dict() if cost is None else {**usage.to_dict(), "cost": cost}
        self._db.execute(
            "INSERT INTO responses (id, conversation_id, model, resolved_model, prompt, system, "
            "options_json, text, message_json, finish_reason, input_tokens, output_tokens, "
            "usage_json, datetime_utc, cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                new_id(),
                conversation_id,
                model,
                reply.model,
                _prompt_before(message, messages),
                messages[0].text if messages and messages[0].role == "system" else None,
                _json(options),
                message.text,
                _json(message.to_dict()),
                reply.finish_reason,
                usage.input_tokens,
                usage.output_tokens,
                _json(usage_dict),
                now,
                cost,
            ),
        )

    # -- reading ---------------------------------------------------------------

    def conversations(self, limit: int | None = 10) -> list[LoggedConversation]:
        """The most recently active conversations first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, name, model, created_utc, updated_utc FROM conversations "
                "ORDER BY updated_utc DESC, rowid DESC LIMIT ?",
                (-1 if limit is None else limit,),
            ).fetchall()
            return [self._load(row) for row in rows]

    def latest(self) -> LoggedConversation | None:
        """The most recently active conversation, if any."""
        found = self.conversations(limit=1)
        return found[0] if found else None

    def get(self, conversation_id: str) -> LoggedConversation:
        """The conversation with this id, or with this unique id prefix."""
        with self._lock:
            prefix = conversation_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            rows = self._db.execute(
                "SELECT id, name, model, created_utc, updated_utc FROM conversations "
                "WHERE id = ? OR id LIKE ? ESCAPE '\\' ORDER BY id = ? DESC LIMIT 2",
                (conversation_id, prefix + "%", conversation_id),
            ).fetchall()
            if not rows:
                raise LogError(
                    f"No logged conversation {conversation_id!r}: `agentloop logs` lists them"
                )
            if len(rows) > 1 and rows[0][0] != conversation_id:
                raise LogError(
                    f"More than one conversation starts with {conversation_id!r}: "
                    "give more of the id"
                )
            return self._load(rows[0])

    def load(
        self,
        conversation_id: str,
        *,
        model: Model | AsyncModel | str | None = None,
        **settings: Any,
    ) -> Conversation:
        """A conversation to carry on, bound to ``model`` (default: the one it last used).

        ``settings`` go to ``model.conversation()`` (tools, hooks, chain_limit...).
        Once attached, its new steps are stored under the same id.
        """
        from agentloop.registry import get_model

        logged = self.get(conversation_id)
        if model is None or isinstance(model, str):
            name = model or logged.model
            if name is None:
                raise LogError(f"Conversation {logged.id} has no model on record: pass model=")
            model = get_model(name)
        conversation: Conversation = model.conversation(messages=logged.messages, **settings)
        with self._lock:
            tracked = self._track(conversation, logged.id)
            tracked.exists = True
            tracked.messages = list(conversation.messages)
        return conversation

    def _load(self, row: tuple[Any, ...]) -> LoggedConversation:
        logged = LoggedConversation(*row)
        messages = self._db.execute(
            "SELECT content_json FROM messages WHERE conversation_id = ? ORDER BY seq",
            (logged.id,),
        )
        logged.messages = [Message.from_dict(json.loads(m)) for (m,) in messages]
        responses = self._db.execute(
            "SELECT id, conversation_id, model, resolved_model, prompt, system, options_json, "
            "text, message_json, finish_reason, usage_json, datetime_utc, cost FROM responses "
            "WHERE conversation_id = ? ORDER BY datetime_utc, rowid",
            (logged.id,),
        )
        logged.responses = [_response(row) for row in responses]
        return logged

    # -- life cycle ------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Log:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Log {str(self.path)!r}>"


def _response(row: tuple[Any, ...]) -> LoggedResponse:
    (rid, cid, model, resolved, prompt, system, options, text, message, finish, *rest) = row
    usage_json, when, cost = rest
    usage = Usage.from_dict(json.loads(usage_json))
    if cost is not None:  # NULL: unknown, or logged before the log kept costs
        usage.cost = float(cost)
    return LoggedResponse(
        rid,
        cid,
        model,
        resolved,
        prompt,
        system,
        json.loads(options),
        text,
        Message.from_dict(json.loads(message)),
        finish,
        usage,
        when,
    )


def _cost(usage: Usage, model_id: str, served_by: str | None) -> float | None:
    """What a call cost in USD, None when unknown: the provider's own figure, else priced
    now (the table loads on the first priced call). Pricing never fails a log write."""
    if usage.cost is not None:
        return usage.cost
    try:
        return prices.cost(usage, model_id, served_by)
    except Exception:  # a broken or newer price table: the step is logged, its cost unknown
        logger.debug("Could not price a call of %s for the log", model_id, exc_info=True)
        return None


def _json(value: Any) -> str:
    # Options may hold values JSON cannot (a pydantic model, a path): keep their text.
    return json.dumps(value, ensure_ascii=False, default=str)


def _name(messages: list[Message]) -> str | None:
    """A conversation's name: the start of its first user message."""
    for message in messages:
        if message.role == "user" and message.text:
            return " ".join(message.text.split())[:200]
    return None


def _prompt_before(message: Message, messages: list[Message]) -> str | None:
    """The user text ``message`` answered, when a user message came right before it."""
    for index in range(len(messages) - 1, 0, -1):
        if messages[index] is message:
            previous = messages[index - 1]
            return previous.text if previous.role == "user" else None
    return None
