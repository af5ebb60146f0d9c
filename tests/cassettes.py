"""Reading the recorded provider traffic in ../shared/cassettes (see its INDEX.md).

Tests that use it skip cleanly when the folder is absent. Set
``AGENTLOOP_CASSETTES`` to point elsewhere. ``../shared/cassettes-more`` (provider-side tools,
more hosts; ``AGENTLOOP_CASSETTES_MORE``) is read the same way with ``more()``.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

CASSETTES = Path(
    os.environ.get(
        "AGENTLOOP_CASSETTES", Path(__file__).resolve().parents[2] / "shared" / "cassettes"
    )
)

MORE = Path(os.environ.get("AGENTLOOP_CASSETTES_MORE", CASSETTES.parent / "cassettes-more"))


@dataclass
class Interaction:
    file: str
    index: int
    method: str
    uri: str
    status: int
    request_headers: dict[str, list[str]]
    response_headers: dict[str, list[str]]
    request_body: bytes
    response_body: bytes

    def request_json(self) -> Any:
        return json.loads(self.request_body)

    def response_json(self) -> Any:
        return json.loads(self.response_body)

    @property
    def id(self) -> str:
        return f"{self.file}#{self.index}"


def _body(side: dict[str, Any], is_response: bool) -> bytes:
    if "parsed_body" in side:
        return json.dumps(side["parsed_body"]).encode()
    if is_response and "content" in side and "body" not in side:
        return (side["content"] or "").encode()
    raw = side.get("body")
    raw = raw.get("string") if isinstance(raw, dict) else raw
    body = raw.encode() if isinstance(raw, str) else (raw or b"")
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    return body


def load(path: Path, root: Path = CASSETTES) -> list[Interaction]:
    data = yaml.load(path.read_bytes(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    rel = path.relative_to(root).as_posix()
    out = []
    for i, it in enumerate(data["interactions"]):
        req, resp = it["request"], it["response"]
        status = resp.get("status", {}).get("code", resp.get("status_code"))
        out.append(
            Interaction(
                rel,
                i,
                req["method"],
                req["uri"],
                int(status),
                req.get("headers") or {},
                resp.get("headers") or {},
                _body(req, False),
                _body(resp, True),
            )
        )
    return out


def available() -> bool:
    return CASSETTES.is_dir()


def require() -> None:
    if not available():
        pytest.skip(f"recorded cassettes not found at {CASSETTES}")


def all_interactions() -> Iterator[Interaction]:
    if not available():
        return
    for path in sorted(CASSETTES.rglob("*.yaml")):
        yield from load(path)


def more(folder: str) -> list[Interaction]:
    """Every interaction of ``cassettes-more/<folder>``; skips the test when it is absent."""
    if not (MORE / folder).is_dir():
        pytest.skip(f"recorded cassettes not found at {MORE / folder}")
    return [it for path in sorted((MORE / folder).glob("*.yaml")) for it in load(path, MORE)]
