"""Local servers shaped like each provider's batch API, and its live endpoint beside it.

Each server answers a model request, live or inside a batch, with `decide`: a scripted model
that reads the prompt (``echo X`` answers ``echo: X``; ``add A B`` calls the ``add`` tool,
then answers with its result; ``secret`` calls the ``vault`` tool, which needs approval;
``fail`` is refused with a 400; ``garbled`` gets a 200 no codec can read; ``json X``
answers ``{"answer": len(X)}``). Jobs move one state per poll through ``states`` (the
provider's own words mapped from OpenAI's: validating, in_progress, finalizing, then the end
state: completed, expired, cancelled or failed). A job that does not complete answers
only its first ``partial`` requests. Every request body is kept (``server.requests``), and
every job's raw upload (``uploads``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anthropic_wire
import gemini_replies
import openai_chat_wire
import responses_events
from local_server import LocalServer, Recorded, Scripted

JSON = {"content-type": "application/json"}
END_STATES = ("completed", "expired", "cancelled", "failed")
_PROMPT = re.compile(r"\b(echo|add|fail|secret|garbled|json)\b( [^\"\\]*)?")
_RESULT = re.compile(r"RESULT=(\d+)")
_TOOL_RESULT = ('"role":"tool"', "function_call_output", "tool_result", "functionResponse")


def decide(body: bytes) -> tuple[str, Any]:
    """The scripted model: ("text", str), ("call", (name, args)) or ("error", message)."""
    text = body.decode()
    found = _PROMPT.search(text)
    verb, rest = (found.group(1), (found.group(2) or "").strip()) if found else ("echo", "")
    answered = any(marker in text.replace(" ", "") for marker in _TOOL_RESULT)
    if verb == "fail":
        return "error", "this prompt is refused"
    if verb == "garbled":
        return "garbled", None
    if verb == "json":
        return "text", json.dumps({"answer": len(rest)})
    if answered:
        result = _RESULT.search(text)
        return "text", f"sum={result.group(1) if result else '?'}"
    numbers = [int(n) for n in re.findall(r"\d+", rest)]
    if verb == "add" and len(numbers) >= 2:
        return "call", ("add", {"a": numbers[0], "b": numbers[1]})
    if verb == "secret":
        return "call", ("vault", {"name": rest or "key"})
    return "text", f"echo: {rest}"


def chat_reply(body: bytes) -> tuple[int, dict[str, Any]]:
    kind, value = decide(body)
    if kind == "garbled":
        return 200, {"garbled": True}
    if kind == "error":
        return 400, {"error": {"type": "invalid_request_error", "message": value}}
    if kind == "call":
        calls = [openai_chat_wire.tool_call(value[0], value[1], "call_1")]
        return 200, openai_chat_wire.completion(None, tool_calls=calls)
    return 200, openai_chat_wire.completion(value)


def responses_reply(body: bytes) -> tuple[int, dict[str, Any]]:
    kind, value = decide(body)
    if kind == "garbled":
        return 200, {"garbled": True}
    if kind == "error":
        return 400, {"error": {"type": "invalid_request_error", "message": value}}
    if kind == "call":
        return 200, responses_events.reply(responses_events.function_call(*value, "call_1"))
    return 200, responses_events.reply(responses_events.message(value))


def anthropic_reply(body: bytes) -> tuple[int, dict[str, Any]]:
    kind, value = decide(body)
    if kind == "garbled":
        return 200, {"garbled": True}
    if kind == "error":
        error = {"type": "invalid_request_error", "message": value}
        return 400, {"type": "error", "error": error}
    if kind == "call":
        block = anthropic_wire.tool_use("toolu_1", value[0], value[1])
        return 200, anthropic_wire.message_body([block], "tool_use")
    return 200, anthropic_wire.message_body([anthropic_wire.text(value)])


def gemini_reply(body: bytes) -> tuple[int, dict[str, Any]]:
    kind, value = decide(body)
    if kind == "garbled":
        return 200, {"garbled": True}
    if kind == "error":
        return 400, {"error": {"code": 400, "message": value, "status": "INVALID_ARGUMENT"}}
    if kind == "call":
        return 200, gemini_replies.reply(gemini_replies.call(*value))
    return 200, gemini_replies.reply(gemini_replies.text(value))


def _json(data: Any, status: int = 200) -> Scripted:
    return Scripted(status, json.dumps(data).encode(), dict(JSON))


class Job:
    """One batch job on a fake server: its request lines and where it stands."""

    def __init__(self, job_id: str, lines: list[tuple[str, bytes]], states: list[str]) -> None:
        self.id = job_id
        #: (custom id, the request body's exact bytes)
        self.lines = lines
        self.states = list(states)
        self.state = self.states.pop(0)
        self.cancel_asked = False

    def step(self) -> str:
        if self.states:
            self.state = self.states.pop(0)
        return self.state


class BatchServer:
    """What the three fakes share: a local server, jobs, a state script."""

    def __init__(self) -> None:
        #: Set by `running` (a fake can also answer through another server's responder).
        self.server: LocalServer | None = None
        self.base_url = ""
        self.jobs: dict[str, Job] = {}
        self.uploads: list[bytes] = []
        self.states = ["validating", "in_progress", "finalizing", "completed"]
        self.partial = 0

    @property
    def url(self) -> str:
        return self.server.url if self.server is not None else self.base_url

    @property
    def requests(self) -> list[Recorded]:
        return self.server.requests if self.server is not None else []

    def new_job(self, lines: list[tuple[str, bytes]]) -> Job:
        job = Job(f"batch_{len(self.jobs) + 1}", lines, self.states)
        self.jobs[job.id] = job
        return job

    def cancel(self, job: Job) -> None:
        job.cancel_asked = True
        job.states = ["cancelled"]
        job.state = "cancelling"

    def answered(self, job: Job) -> list[tuple[str, bytes]]:
        """The lines that got an answer: all of a completed job, ``partial`` of the rest."""
        if job.state == "completed":
            return job.lines
        if job.state == "failed":
            return []
        return job.lines[: self.partial]


def _header(request: Recorded, name: str) -> str:
    return next((v for k, v in request.headers.items() if k.lower() == name), "")


def multipart_file(request: Recorded) -> bytes:
    """The ``file`` part of a multipart/form-data upload."""
    boundary = _header(request, "content-type").split("boundary=", 1)[1].encode()
    for part in request.body.split(b"--" + boundary):
        head, _, content = part.partition(b"\r\n\r\n")
        if b'name="file"' in head:
            return content.removesuffix(b"\r\n")
    raise AssertionError("no file in the upload")


class OpenAIFake(BatchServer):
    """``/v1/files``, ``/v1/batches`` and the live Chat Completions and Responses endpoints."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, bytes] = {}
        self.endpoints: dict[str, str] = {}

    def route(self, request: Recorded) -> Scripted:
        path = request.path.split("?", 1)[0]
        if path == "/v1/chat/completions":
            return _json(*reversed(chat_reply(request.body)))
        if path == "/v1/responses":
            return _json(*reversed(responses_reply(request.body)))
        if path == "/v1/files":
            content = multipart_file(request)
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = content
            self.uploads.append(content)
            return _json({"id": file_id, "object": "file", "purpose": "batch"})
        if path == "/v1/batches":
            data = request.json()
            content = self.files[data["input_file_id"]]
            lines = []
            for raw in content.split(b"\n"):
                lines.append((json.loads(raw)["custom_id"], raw[raw.index(b',"body":') + 8 : -1]))
            job = self.new_job(lines)
            self.endpoints[job.id] = data["endpoint"]
            return _json(self.view(job))
        found = re.fullmatch(r"/v1/batches/([^/]+)(/cancel)?", path)
        if found:
            job = self.jobs[found.group(1)]
            self.cancel(job) if found.group(2) else job.step()
            return _json(self.view(job))
        found = re.fullmatch(r"/v1/files/([^/]+)/content", path)
        if found:
            return Scripted(200, self.files[found.group(1)], {"content-type": "application/jsonl"})
        return _json({"error": {"message": f"no route {path}"}}, 404)

    def view(self, job: Job) -> dict[str, Any]:
        out: dict[str, Any] = {"id": job.id, "object": "batch", "status": job.state}
        out["endpoint"] = self.endpoints[job.id]
        out["request_counts"] = {"total": len(job.lines), "completed": 0, "failed": 0}
        if job.state == "failed":
            out["errors"] = {"data": [{"code": "invalid_request", "message": "bad input file"}]}
        elif job.state in END_STATES:
            self._files(job, out)
        return out

    def _files(self, job: Job, out: dict[str, Any]) -> None:
        answer = chat_reply if self.endpoints[job.id].endswith("completions") else responses_reply
        output, errors = [], []
        answered = self.answered(job)
        for custom_id, body in job.lines:
            line: dict[str, Any] = {"id": f"req_{custom_id}", "custom_id": custom_id}
            if (custom_id, body) in answered:
                status, reply = answer(body)
                line["response"] = {"status_code": status, "request_id": "r", "body": reply}
                line["error"] = None
                (output if status == 200 else errors).append(line)
            else:
                code = "batch_cancelled" if job.cancel_asked else "batch_expired"
                line["response"] = None
                line["error"] = {"code": code, "message": f"{code} before this request"}
                errors.append(line)
        for key, lines in (("output_file_id", output), ("error_file_id", errors)):
            if lines:
                file_id = f"file-{job.id}-{key}"
                self.files[file_id] = b"\n".join(json.dumps(x).encode() for x in lines) + b"\n"
                out[key] = file_id
        out["request_counts"]["completed"] = len(output)
        out["request_counts"]["failed"] = len(errors)


class AnthropicFake(BatchServer):
    """``/v1/messages/batches`` (and ``/results``) and the live Messages endpoint."""

    def route(self, request: Recorded) -> Scripted:
        path = request.path.split("?", 1)[0]
        if path == "/v1/messages":
            return _json(*reversed(anthropic_reply(request.body)))
        if path == "/v1/messages/batches":
            self.uploads.append(request.body)
            requests = request.json()["requests"]
            lines = [(r["custom_id"], _compact(r["params"])) for r in requests]
            return _json(self.view(self.new_job(lines)))
        found = re.fullmatch(r"/v1/messages/batches/([^/]+)(/cancel|/results)?", path)
        if not found:
            return _json({"type": "error", "error": {"type": "not_found_error"}}, 404)
        job = self.jobs[found.group(1)]
        if found.group(2) == "/results":
            return Scripted(200, self.results(job), {"content-type": "application/x-jsonl"})
        self.cancel(job) if found.group(2) else job.step()
        return _json(self.view(job))

    def view(self, job: Job) -> dict[str, Any]:
        ended = job.state in END_STATES
        status = "ended" if ended else "canceling" if job.state == "cancelling" else "in_progress"
        answered = len(self.answered(job)) if ended else 0
        rest = "canceled" if job.cancel_asked else "expired"
        counts = {"processing": 0 if ended else len(job.lines), "succeeded": answered}
        counts.update({"errored": 0, "canceled": 0, "expired": 0})
        if ended:
            counts[rest] = len(job.lines) - answered
        return {
            "id": job.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": counts,
            "cancel_initiated_at": "2026-01-01T00:00:00Z" if job.cancel_asked else None,
            "results_url": f"{self.url}/v1/messages/batches/{job.id}/results" if ended else None,
        }

    def results(self, job: Job) -> bytes:
        answered = self.answered(job)
        lines = []
        for custom_id, body in job.lines:
            result: dict[str, Any]
            if (custom_id, body) in answered:
                status, reply = anthropic_reply(body)
                result = (
                    {"type": "succeeded", "message": reply}
                    if status == 200
                    else {"type": "errored", "error": reply}
                )
            else:
                result = {"type": "canceled" if job.cancel_asked else "expired"}
            lines.append(json.dumps({"custom_id": custom_id, "result": result}).encode())
        return b"\n".join(lines) + b"\n"


_GEMINI_STATES = {
    "validating": "PENDING",
    "in_progress": "RUNNING",
    "finalizing": "RUNNING",
    "cancelling": "RUNNING",
    "completed": "SUCCEEDED",
    "expired": "EXPIRED",
    "cancelled": "CANCELLED",
    "failed": "FAILED",
}


class GeminiFake(BatchServer):
    """``models/{m}:batchGenerateContent``, ``batches/{id}`` (and ``:cancel``), and the live
    ``generateContent``. Inline responses come back in order, without their keys."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, bytes] = {}
        #: Jobs made from an uploaded file, which answer in a file too.
        self.from_files: set[str] = set()

    def route(self, request: Recorded) -> Scripted:
        path = request.path.split("?", 1)[0]
        if path.endswith(":generateContent"):
            return _json(*reversed(gemini_reply(request.body)))
        if path == "/upload/v1beta/files":
            return self.upload(request)
        if path.endswith(":batchGenerateContent"):
            self.uploads.append(request.body)
            source = request.json()["batch"]["input_config"]
            if "file_name" in source:
                items = [json.loads(x) for x in self.files[source["file_name"]].splitlines()]
                lines = [(i["key"], _compact(i["request"])) for i in items]
                job = self.new_job(lines)
                self.from_files.add(job.id)
                return _json(self.view(job))
            items = source["requests"]["requests"]
            lines = [(i["metadata"]["key"], _compact(i["request"])) for i in items]
            return _json(self.view(self.new_job(lines)))
        found = re.fullmatch(r"/download/v1beta/(files/[^:]+):download", path)
        if found:
            return Scripted(200, self.files[found.group(1)], {"content-type": "application/jsonl"})
        found = re.fullmatch(r"/v1beta/batches/([^/:]+)(:cancel)?", path)
        if not found:
            return _json(
                {"error": {"code": 404, "message": "no route", "status": "NOT_FOUND"}}, 404
            )
        job = self.jobs[found.group(1)]
        if found.group(2):
            self.cancel(job)
            return _json({})
        job.step()
        return _json(self.view(job))

    def view(self, job: Job) -> dict[str, Any]:
        name = f"batches/{job.id}"
        state = f"BATCH_STATE_{_GEMINI_STATES[job.state]}"
        metadata = {"@type": "GenerateContentBatch", "name": name, "state": state}
        out: dict[str, Any] = {"name": name, "metadata": metadata}
        if job.state not in END_STATES:
            return out
        out["done"] = True
        if job.state == "failed":
            out["error"] = {"code": 3, "message": "the batch failed"}
            return out
        responses = []
        for key, body in self.answered(job):
            status, reply = gemini_reply(body)
            responses.append({"response": reply} if status == 200 else reply)
            if job.id in self.from_files:
                responses[-1]["key"] = key
        if job.id in self.from_files:
            name = f"files/{job.id}-output"
            self.files[name] = b"\n".join(json.dumps(r).encode() for r in responses)
            out["response"] = {"responsesFile": name}
        else:
            out["response"] = {"inlinedResponses": {"inlinedResponses": responses}}
        return out

    def upload(self, request: Recorded) -> Scripted:
        """The Files API's resumable upload: ``start`` gives the URL, ``upload, finalize``
        sends the bytes."""
        command = _header(request, "x-goog-upload-command")
        if command == "start":
            url = f"{self.url}/upload/v1beta/files?upload_id={len(self.files) + 1}"
            return Scripted(200, b"{}", {**JSON, "x-goog-upload-url": url})
        assert command == "upload, finalize", command
        name = f"files/upload-{len(self.files) + 1}"
        self.files[name] = request.body
        self.uploads.append(request.body)
        return _json({"file": {"name": name, "mimeType": "application/jsonl"}})


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@contextmanager
def running(fake: BatchServer) -> Iterator[BatchServer]:
    fake.server = LocalServer(fake.route)  # type: ignore[attr-defined]  # each fake has one
    fake.server.start()
    try:
        yield fake
    finally:
        fake.server.stop()
