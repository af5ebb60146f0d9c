"""A provider's batch API as the batch client sees it: jobs, their states, each line's outcome.

Every provider that runs requests in bulk at a discount (OpenAI Batch, Anthropic Message
Batches, Gemini Batch Mode) gets the same four calls (`BatchAPI`): create a job from request
lines, read its state, cancel it, read each request's outcome. Each line carries the body
the codec encodes for a live call, spliced in as its bytes (`wire_request`), so a batch
request is byte for byte the live one. The provider packages implement it (their
``batch.py``); `BatchHTTP` is their shared way to talk to the job endpoints through the
model's transport, retry policy and typed errors.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

from agentloop.errors import (
    BatchCancelledError,
    BatchExpiredError,
    BatchFailedError,
    BatchJobError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    ResponseFormatError,
)
from agentloop.providers.http_call import HTTPCall, wire_request
from agentloop.providers.transport import (
    HTTPRequest,
    HTTPResponse,
    TransportError,
    TransportTimeout,
)
from agentloop.providers.wire_json import load_reply

if TYPE_CHECKING:
    from agentloop.providers.http import HTTPModel

logger = logging.getLogger("agentloop.providers.batch_wire")

#: A job's state, the same words for every provider (OpenAI's, which name the most).
JobState = Literal[
    "validating",
    "in_progress",
    "finalizing",
    "cancelling",
    "completed",
    "expired",
    "cancelled",
    "failed",
]
#: The states a job never leaves.
ENDED: frozenset[str] = frozenset({"completed", "expired", "cancelled", "failed"})
#: Every state by its name, for reading a provider's own words.
STATES: dict[str, JobState] = {s: s for s in get_args(JobState)}


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """How much one job may hold: requests, and bytes of the upload."""

    max_requests: int
    max_bytes: int


@dataclass(slots=True)
class JobStatus:
    """A job as the provider last described it."""

    id: str
    state: JobState
    #: Requests per outcome as the provider counts them ("completed", "failed"...).
    counts: dict[str, int] = field(default_factory=dict)
    #: Why a failed job failed, as the provider put it.
    message: str | None = None
    #: What the provider returned, for reading the outcomes (file ids, a results URL).
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def ended(self) -> bool:
        return self.state in ENDED


@dataclass(slots=True)
class LineOutcome:
    """One request's outcome: the reply body as a live call would get it, or its error."""

    body: Any = None
    error: ProviderError | None = None


class BatchAPI(Protocol):
    """What a provider's batch support implements (see the module's docstring)."""

    limits: BatchLimits

    def line(self, custom_id: str, call: HTTPCall) -> bytes:
        """One request of a job, as bytes: ``call``'s body spliced in unchanged."""
        ...

    async def create(self, lines: list[bytes]) -> JobStatus: ...

    async def retrieve(self, job_id: str) -> JobStatus: ...

    async def cancel(self, job_id: str) -> JobStatus: ...

    async def outcomes(self, status: JobStatus, custom_ids: list[str]) -> dict[str, LineOutcome]:
        """Each request's outcome, by custom id (those the provider has none for are absent)."""
        ...


def body_bytes(call: HTTPCall) -> bytes:
    """The exact bytes a live call sends as its body."""
    return wire_request(call).body


def json_bytes(value: Any) -> bytes:
    """A small JSON value (an id, a URL) as compact bytes, to splice beside a body."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class BatchHTTP:
    """The job endpoints' HTTP: the model's transport, headers, retry policy and errors."""

    def __init__(self, model: HTTPModel) -> None:
        self.model = model

    async def send(
        self,
        method: str,
        url: str,
        body: bytes = b"",
        content_type: str | None = "application/json",
        headers: Mapping[str, str] | None = None,
        *,
        retry: bool = True,
    ) -> HTTPResponse:
        """Send one request under the model's retries; a failure status is its typed error.

        ``retry=False`` sends it once: creating a job is never repeated, since a request
        whose answer was lost may have created it (a round is never submitted twice)."""
        model = self.model
        sent = {**model.request_headers(), **(headers or {})}
        if content_type is not None:
            sent["content-type"] = content_type
        wire = HTTPRequest(method, url, sent, body)

        async def attempt(_number: int) -> HTTPResponse:
            try:
                response = await model.async_transport.send(wire)
            except TransportError as exc:
                kind = (
                    ProviderTimeoutError
                    if isinstance(exc, TransportTimeout)
                    else ProviderConnectionError
                )
                raise kind(f"{method} {url} failed: {exc}", provider=model.provider) from exc
            # The URL and status only: no header (the key travels in one) and no body.
            logger.info("%s %s: %d, %d bytes", method, url, response.status, len(response.body))
            if response.status >= 400:
                text = response.body.decode("utf-8", "replace")
                raise model.http_error(response.status, text, response.headers, sent)
            return response

        if not retry:
            return await attempt(1)
        return await model.retry_policy().acall(model.model_id, attempt)

    async def json(
        self, method: str, url: str, body: bytes = b"", *, retry: bool = True
    ) -> dict[str, Any]:
        """`send`, and the reply's JSON object."""
        return self.json_of(await self.send(method, url, body, retry=retry))

    def json_of(self, response: HTTPResponse) -> dict[str, Any]:
        """A reply's JSON object (anything else is a `ResponseFormatError`)."""
        data = load_reply(response.body, provider=self.model.provider, status=response.status)
        if not isinstance(data, dict):
            raise self.format_error(f"expected a JSON object, got {str(data)[:200]!r}")
        return data

    def format_error(self, message: str) -> ResponseFormatError:
        return ResponseFormatError(message, provider=self.model.provider)

    def line_error(self, status: int, body: Any) -> ProviderError:
        """A request's failure inside a job, as the same typed error a live call gets."""
        text = body if isinstance(body, str) else json.dumps(body)
        return self.model.http_error(status, text, {})


def jsonl(body: bytes) -> list[dict[str, Any]]:
    """The objects of a JSON Lines file (blank lines skipped; a line that is not an object
    is left out, as it names no request)."""
    out: list[dict[str, Any]] = []
    for line in body.splitlines():
        if line.strip():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict):
                out.append(item)
    return out


def job_error(state: str, provider: str, message: str | None = None) -> BatchJobError:
    """The error of a request a job ended without answering, by the job's (or line's) state."""
    kind: type[BatchJobError] = {
        "expired": BatchExpiredError,
        "cancelled": BatchCancelledError,
        "failed": BatchFailedError,
    }.get(state, BatchJobError)
    text = message or f"the batch job {state} before answering this request"
    return kind(text, provider=provider, error_type=state)


def obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (a field a reply may lack)."""
    return value if isinstance(value, dict) else {}
