"""Anthropic's Message Batches API (``/v1/messages/batches``).

A job is one POST of ``{"requests": [{"custom_id", "params"}]}``, where ``params`` is the
body a live Messages call sends. Its ``processing_status`` is only ``in_progress``,
``canceling`` or ``ended``; an ended job is read as cancelled when a cancel was asked, as
expired when every request expired, else completed. Its results, one JSON line per
request, are at its ``results_url``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentloop.providers.batch_wire import (
    BatchHTTP,
    BatchLimits,
    JobState,
    JobStatus,
    LineOutcome,
    body_bytes,
    job_error,
    json_bytes,
    jsonl,
)
from agentloop.providers.http_call import HTTPCall

if TYPE_CHECKING:
    from agentloop.providers.http import HTTPModel

#: Per batch: 100,000 requests or 256 MB, whichever comes first.
LIMITS = BatchLimits(max_requests=100_000, max_bytes=256 * 1024 * 1024)
#: The HTTP status a live call gets for each error type, so a failed request in a batch
#: becomes the same typed error.
_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


class AnthropicBatch:
    """The Message Batches API of one Anthropic model."""

    limits = LIMITS

    def __init__(self, model: HTTPModel) -> None:
        self.http = BatchHTTP(model)
        self.url = f"{model.base_url.removesuffix('/v1')}/v1/messages/batches"
        self.provider = model.provider

    def line(self, custom_id: str, call: HTTPCall) -> bytes:
        return b'{"custom_id":%s,"params":%s}' % (json_bytes(custom_id), body_bytes(call))

    async def create(self, lines: list[bytes]) -> JobStatus:
        body = b'{"requests":[' + b",".join(lines) + b"]}"
        return self._status(await self.http.json("POST", self.url, body, retry=False))

    async def retrieve(self, job_id: str) -> JobStatus:
        return self._status(await self.http.json("GET", f"{self.url}/{job_id}"))

    async def cancel(self, job_id: str) -> JobStatus:
        return self._status(await self.http.json("POST", f"{self.url}/{job_id}/cancel"))

    def _status(self, data: dict[str, Any]) -> JobStatus:
        processing = data.get("processing_status")
        if not isinstance(data.get("id"), str) or processing not in (
            "in_progress",
            "canceling",
            "ended",
        ):
            raise self.http.format_error(f"a message batch without a known id and status: {data}")
        raw_counts = data.get("request_counts") or {}
        counts = {k: int(v) for k, v in raw_counts.items() if isinstance(v, int)}
        state: JobState = "in_progress" if processing == "in_progress" else "cancelling"
        if processing == "ended":
            answered = counts.get("succeeded", 0) + counts.get("errored", 0)
            if data.get("cancel_initiated_at"):
                state = "cancelled"
            elif counts.get("expired", 0) and not answered:
                state = "expired"
            else:
                state = "completed"
        return JobStatus(data["id"], state, counts, None, data)

    async def outcomes(self, status: JobStatus, custom_ids: list[str]) -> dict[str, LineOutcome]:
        url = status.raw.get("results_url")
        if not isinstance(url, str):
            return {}
        response = await self.http.send("GET", url, b"", None)
        out: dict[str, LineOutcome] = {}
        for item in jsonl(response.body):
            result = item.get("result")
            if isinstance(item.get("custom_id"), str) and isinstance(result, dict):
                out[item["custom_id"]] = self._outcome(result)
        return out

    def _outcome(self, result: dict[str, Any]) -> LineOutcome:
        kind = result.get("type")
        if kind == "succeeded" and isinstance(result.get("message"), dict):
            return LineOutcome(body=result["message"])
        if kind == "errored":
            error = result.get("error")
            inner = error.get("error") if isinstance(error, dict) else None
            error_type = inner.get("type") if isinstance(inner, dict) else None
            return LineOutcome(error=self.http.line_error(_STATUS.get(str(error_type), 500), error))
        state = {"canceled": "cancelled", "expired": "expired"}.get(str(kind), "failed")
        return LineOutcome(error=job_error(state, self.provider))
