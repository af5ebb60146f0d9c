"""The results file: one JSON line per prompt as it finishes, read back to resume.

Each line is a [`to_record`][agentloop.batch.BatchResult.to_record] keyed by a
stable hash of what was asked (`prompt_key`: the messages, the models, the
system prompt, the tools, the schema and the options), not by its position,
so a rerun with the same file recognises the prompts already answered even if
the list was reordered or extended, and asks only for the others. Lines are
flushed one by one; a line cut short by a crash is ignored on reading.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from agentloop.messages import Message
from agentloop.providers.wire_cache import made_once


def fingerprint(settings: dict[str, Any]) -> str:
    """A hash of the settings every prompt of a batch shares."""
    return _sha256(settings)


def prompt_key(messages: Sequence[Message], settings_fingerprint: str) -> str:
    """The stable key of one prompt: its messages plus the batch's settings."""
    return _sha256({"messages": [m.to_dict() for m in messages], "settings": settings_fingerprint})


def _sha256(value: Any) -> str:
    return hashlib.sha256(_key_json(value).encode("utf-8")).hexdigest()


# ``json.dumps`` with these options, its encoder made once rather than at every call (a
# batch hashes each prompt): the same text.
_key_json = made_once(
    json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=repr)
)


def read_done(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The successful records in ``path`` by key (none if the file does not exist yet).

    Failed prompts are not "done": a rerun asks them again. Malformed lines (a
    crash mid-write) are skipped.
    """
    done: dict[str, dict[str, Any]] = {}
    file = Path(path)
    if not file.exists():
        return done
    with file.open("r", encoding="utf-8") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("key") and record.get("error") is None:
                done[str(record["key"])] = record
    return done


#: One line of a results file: compact, UTF-8 as it is, anything else written as its repr
#: (the encoder made once: a batch writes a line per prompt).
_record_json = made_once(json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=repr))


class RecordWriter:
    """Appends records to a JSONL file, one flushed line each."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ends_cleanly = _ends_with_newline(self.path)
        self._file: IO[str] = self.path.open("a", encoding="utf-8")
        if not ends_cleanly:  # a crash left half a line: start ours on a fresh one
            self._file.write("\n")

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(_record_json(record) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ends_with_newline(path: Path) -> bool:
    """True for a missing or empty file, or one whose last byte ends a line."""
    if not path.exists():
        return True
    with path.open("rb") as file:
        size = file.seek(0, os.SEEK_END)
        if not size:
            return True
        file.seek(size - 1)
        return file.read(1) == b"\n"
