"""Gemini's Batch Mode: ``models/{model}:batchGenerateContent`` with inline requests.

A job is one POST of the requests, each ``{"request": <the generateContent body a live
call sends>, "metadata": {"key": <custom id>}}``; past 20 MB they go instead as a JSONL file
(``{"key", "request"}`` a line) uploaded to the Files API (its resumable protocol), which the
job names. The answer is a long-running operation
named ``batches/{id}``, read with GET and cancelled with ``:cancel``. Its ``BATCH_STATE_*``
(or ``JOB_STATE_*``) becomes the shared states. Inline responses come back in the order of
the requests (their keys are not always echoed); a job whose output is a file
(``responsesFile``) is downloaded as JSON lines, each with its ``key``.
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
    json_bytes,
    jsonl,
    obj,
)
from agentloop.providers.gemini.request import request_url
from agentloop.providers.http_call import HTTPCall

if TYPE_CHECKING:
    from agentloop.providers.http import HTTPModel

#: Inline requests may total 20 MB; a larger job goes as a JSONL file, of at most 2 GB.
INLINE_BYTES = 20 * 1000 * 1000
LIMITS = BatchLimits(max_requests=100_000, max_bytes=2 * 1000 * 1000 * 1000)
_KEY = b',"metadata":{"key":'

_STATES: dict[str, JobState] = {
    "PENDING": "validating",
    "RUNNING": "in_progress",
    "SUCCEEDED": "completed",
    "FAILED": "failed",
    "CANCELLED": "cancelled",
    "EXPIRED": "expired",
}
#: The HTTP status a live call gets for each google.rpc status, so a failed request in a
#: batch becomes the same typed error.
_HTTP = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}


class GeminiBatch:
    """The Batch Mode of one Gemini model."""

    limits = LIMITS

    def __init__(self, model: HTTPModel) -> None:
        self.http = BatchHTTP(model)
        self.provider = model.provider
        live = request_url(model.base_url, getattr(model, "model_name", ""), stream=False)
        self.create_url = live.removesuffix(":generateContent") + ":batchGenerateContent"
        #: The versioned base (``{base}/v1beta``) that operation names are relative to.
        self.api = live.rsplit("/models/", 1)[0]
        self.host = model.base_url.rstrip("/")

    def line(self, custom_id: str, call: HTTPCall) -> bytes:
        return b'{"request":%s,"metadata":{"key":%s}}' % (body_bytes(call), json_bytes(custom_id))

    async def create(self, lines: list[bytes]) -> JobStatus:
        if sum(len(line) + 1 for line in lines) <= INLINE_BYTES:
            source = b'{"requests":{"requests":[' + b",".join(lines) + b"]}}"
        else:
            name = await self._upload(b"\n".join(_file_line(line) for line in lines))
            source = b'{"file_name":%s}' % json_bytes(name)
        body = b'{"batch":{"display_name":"agentloop","input_config":%s}}' % source
        return self._status(await self.http.json("POST", self.create_url, body, retry=False))

    async def _upload(self, content: bytes) -> str:
        """Upload a JSONL file to the Files API (resumable: start, then upload and finalize);
        its name (``files/...``)."""
        version = self.api.rsplit("/", 1)[1]
        start = await self.http.send(
            "POST",
            f"{self.host}/upload/{version}/files",
            json_bytes({"file": {"display_name": "agentloop-batch"}}),
            headers={
                "x-goog-upload-protocol": "resumable",
                "x-goog-upload-command": "start",
                "x-goog-upload-header-content-length": str(len(content)),
                "x-goog-upload-header-content-type": "application/jsonl",
            },
            retry=False,
        )
        url = start.headers.get("x-goog-upload-url")
        if not url:
            raise self.http.format_error("the file upload gave no x-goog-upload-url")
        done = await self.http.send(
            "POST",
            url,
            content,
            "application/jsonl",
            headers={"x-goog-upload-offset": "0", "x-goog-upload-command": "upload, finalize"},
            retry=False,
        )
        name = obj(self.http.json_of(done).get("file")).get("name")
        if not isinstance(name, str):
            raise self.http.format_error("the file upload answered no file name")
        return name

    async def retrieve(self, job_id: str) -> JobStatus:
        return self._status(await self.http.json("GET", f"{self.api}/{job_id}"))

    async def cancel(self, job_id: str) -> JobStatus:
        await self.http.json("POST", f"{self.api}/{job_id}:cancel")
        return await self.retrieve(job_id)

    def _status(self, data: dict[str, Any]) -> JobStatus:
        batch = obj(data.get("metadata")) or data
        raw_state = str(batch.get("state") or "")
        state = _STATES.get(raw_state.removeprefix("BATCH_STATE_").removeprefix("JOB_STATE_"))
        name = data.get("name") or batch.get("name")
        if state is None or not isinstance(name, str):
            raise self.http.format_error(f"a batch without a known name and state: {data}")
        stats = batch.get("batchStats") or {}
        counts = {k: int(v) for k, v in stats.items() if str(v).isdigit()}
        error = obj(data.get("error"))
        return JobStatus(name, state, counts, error.get("message"), data)

    async def outcomes(self, status: JobStatus, custom_ids: list[str]) -> dict[str, LineOutcome]:
        raw = status.raw
        output = obj(raw.get("response")) or obj(obj(raw.get("metadata")).get("output"))
        inline = obj(output.get("inlinedResponses")).get("inlinedResponses")
        if isinstance(inline, list):
            items = [i for i in inline if isinstance(i, dict)]
            out: dict[str, LineOutcome] = {}
            for position, item in enumerate(items):
                key = obj(item.get("metadata")).get("key")
                if not isinstance(key, str) and position < len(custom_ids):
                    key = custom_ids[position]  # keys are not always echoed: the order is
                if isinstance(key, str):
                    out[key] = self._outcome(item)
            return out
        file = output.get("responsesFile")
        if not isinstance(file, str):
            return {}
        url = f"{self.host}/download/{self.api.rsplit('/', 1)[1]}/{file}:download?alt=media"
        response = await self.http.send("GET", url, b"", None)
        return {
            item["key"]: self._outcome(item)
            for item in jsonl(response.body)
            if isinstance(item.get("key"), str)
        }

    def _outcome(self, item: dict[str, Any]) -> LineOutcome:
        if isinstance(item.get("response"), dict):
            return LineOutcome(body=item["response"])
        error = obj(item.get("error"))
        code = error.get("code")
        status = code if isinstance(code, int) and code >= 400 else None
        status = status or _HTTP.get(str(error.get("status")), 500)
        return LineOutcome(error=self.http.line_error(status, {"error": error}))


def _file_line(line: bytes) -> bytes:
    """An inline request line (``{"request":…,"metadata":{"key":…}}``) as a file's line
    (``{"key":…,"request":…}``), the request's bytes unchanged."""
    cut = line.rindex(_KEY)
    key = line[cut + len(_KEY) : -2]
    return b'{"key":' + key + b',"request":' + line[len(b'{"request":') : cut] + b"}"
