"""OpenAI's Batch API, for Chat Completions and Responses alike.

A job is a JSONL file uploaded to ``/v1/files`` (purpose ``batch``), one request a line
(``custom_id``, ``method``, ``url``, ``body``: the body a live call sends), then a batch
created on ``/v1/batches`` naming that file and the endpoint. Its states are the ones
`agentloop.providers.batch_wire` names. Once it ends, the answers are in the output file
and the failures in the error file, one line per request, either of them possibly absent.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from agentloop.providers.batch_wire import (
    STATES,
    BatchHTTP,
    BatchLimits,
    JobStatus,
    LineOutcome,
    body_bytes,
    job_error,
    json_bytes,
    jsonl,
    obj,
)
from agentloop.providers.http_call import HTTPCall

if TYPE_CHECKING:
    from agentloop.providers.http import HTTPModel

#: Per batch: 50,000 requests, an input file of at most 200 MB.
LIMITS = BatchLimits(max_requests=50_000, max_bytes=200 * 1024 * 1024)
#: What an error line's code means when the line has no response.
_LINE_STATES = {"batch_expired": "expired", "batch_cancelled": "cancelled"}


class OpenAIBatch:
    """The Batch API of one OpenAI model (``path``: its endpoint, ``/chat/completions``)."""

    limits = LIMITS

    def __init__(self, model: HTTPModel, path: str) -> None:
        self.http = BatchHTTP(model)
        self.base = model.base_url
        self.provider = model.provider
        #: The ``url`` of each line: the endpoint's path under the API version.
        self.endpoint = f"/v1{path}"

    def line(self, custom_id: str, call: HTTPCall) -> bytes:
        head = b'{"custom_id":%s,"method":"POST","url":%s,"body":' % (
            json_bytes(custom_id),
            json_bytes(self.endpoint),
        )
        return head + body_bytes(call) + b"}"

    async def create(self, lines: list[bytes]) -> JobStatus:
        boundary = f"agentloop-{uuid.uuid4().hex}"
        upload = b"".join(
            [
                f"--{boundary}\r\n".encode(),
                b'Content-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n',
                f"--{boundary}\r\n".encode(),
                b'Content-Disposition: form-data; name="file"; filename="batch.jsonl"\r\n',
                b"Content-Type: application/jsonl\r\n\r\n",
                b"\n".join(lines),
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        content_type = f"multipart/form-data; boundary={boundary}"
        response = await self.http.send(
            "POST", f"{self.base}/files", upload, content_type, retry=False
        )
        file = self.http.json_of(response)
        if not isinstance(file.get("id"), str):
            raise self.http.format_error(f"the file upload answered no id: {file}")
        body = json_bytes(
            {"input_file_id": file["id"], "endpoint": self.endpoint, "completion_window": "24h"}
        )
        return self._status(await self.http.json("POST", f"{self.base}/batches", body, retry=False))

    async def retrieve(self, job_id: str) -> JobStatus:
        return self._status(await self.http.json("GET", f"{self.base}/batches/{job_id}"))

    async def cancel(self, job_id: str) -> JobStatus:
        return self._status(await self.http.json("POST", f"{self.base}/batches/{job_id}/cancel"))

    def _status(self, data: dict[str, Any]) -> JobStatus:
        state = STATES.get(str(data.get("status")))
        if state is None or not isinstance(data.get("id"), str):
            raise self.http.format_error(f"a batch without a known id and status: {data}")
        errors = (data.get("errors") or {}).get("data") or []
        message = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
        counts = data.get("request_counts") or {}
        return JobStatus(
            data["id"],
            state,
            {k: int(v) for k, v in counts.items() if isinstance(v, int)},
            message or None,
            data,
        )

    async def outcomes(self, status: JobStatus, custom_ids: list[str]) -> dict[str, LineOutcome]:
        out: dict[str, LineOutcome] = {}
        for key in ("error_file_id", "output_file_id"):  # an answer wins over an error
            file_id = status.raw.get(key)
            if not isinstance(file_id, str):
                continue
            response = await self.http.send(
                "GET", f"{self.base}/files/{file_id}/content", b"", None
            )
            for item in jsonl(response.body):
                custom_id = item.get("custom_id")
                if isinstance(custom_id, str):
                    out[custom_id] = self._outcome(item)
        return out

    def _outcome(self, item: dict[str, Any]) -> LineOutcome:
        response = item.get("response")
        if isinstance(response, dict):
            code = response.get("status_code")
            body = response.get("body")
            if code == 200 and isinstance(body, dict):
                return LineOutcome(body=body)
            return LineOutcome(error=self.http.line_error(int(code or 500), body))
        error = obj(item.get("error"))
        code = str(error.get("code") or "")
        state = _LINE_STATES.get(code, "failed")
        message = str(error.get("message") or "") or None
        return LineOutcome(error=job_error(state, self.provider, message))
