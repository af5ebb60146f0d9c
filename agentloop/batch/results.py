"""What a batch gives back: one [`BatchResult`][agentloop.batch.BatchResult] per prompt, and its
JSON record.

A result made in this process holds the live response. One read back from a
results file, or sent back by a Ray worker, is rebuilt from its record: the
same fields, the error as the same exception type where agentloop defines it,
and the response rebuilt on first access.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentloop import errors
from agentloop.errors import AgentloopError, ProviderError
from agentloop.response import ChainResponse, Response
from agentloop.structured import OutputSchema, parse
from agentloop.usage import Usage


class PromptFailed(AgentloopError):
    """An error rebuilt from a record whose type agentloop does not define.

    ``type_name`` is the original exception's class name; the message is its message.
    """

    def __init__(self, message: str, *, type_name: str) -> None:
        super().__init__(message)
        self.type_name = type_name

    def __str__(self) -> str:
        return f"{self.type_name}: {self.args[0]}"


@dataclass(slots=True, eq=False)
class BatchResult:
    """The outcome of one prompt of a batch.

    ``completion`` is the answer's text (None when the prompt failed), ``usage``
    the tokens and cost of every model call it made (zero when none answered), ``error``
    the exception that stopped it (None on success: a failed prompt never sinks
    the batch), ``parsed`` the structured output when ``schema=`` was given.
    """

    index: int
    completion: str | None
    usage: Usage = field(default_factory=lambda: Usage(cost=0.0))
    error: BaseException | None = None
    #: The structured output (``schema=``), validated; None without a schema.
    parsed: Any = None
    #: The model that answered the last call (with several models, which one did).
    model: str | None = None
    #: Requests sent for this prompt, every attempt of every model call.
    attempts: int = 0
    #: Seconds from the first request to the answer.
    elapsed: float = 0.0
    #: The stable hash of the prompt and settings (the key of the results file).
    key: str = ""
    #: True when the result was read back from a results file instead of being asked again.
    resumed: bool = False
    _response: Response | ChainResponse | None = field(default=None, repr=False)
    _response_data: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def response(self) -> Response | ChainResponse | None:
        """The agentloop response (a [`ChainResponse`][agentloop.ChainResponse] with ``tools=``).

        Rebuilt from the record for a result read back from a file or a Ray
        worker (then the final [`Response`][agentloop.Response] of the chain); None
        when no model call answered or the model named in it cannot be found.
        """
        if self._response is None and self._response_data is not None:
            try:
                self._response = Response.from_dict(self._response_data)
            except Exception:  # the model's name no longer resolves (a base_url it needs...)
                self._response_data = None
        return self._response

    def to_record(self) -> dict[str, Any]:
        """A JSON-safe dict: one line of a results file."""
        data = self._response_data
        if data is None and self._response is not None and self.completion is not None:
            data = self._response.to_dict()
        return {
            "key": self.key,
            "index": self.index,
            "completion": self.completion,
            "usage": self.usage.to_dict(),
            "error": error_to_dict(self.error) if self.error is not None else None,
            "model": self.model,
            "attempts": self.attempts,
            "elapsed": round(self.elapsed, 6),
            "response": data,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any], *, index: int | None = None) -> BatchResult:
        """Rebuild a result from [`to_record`][agentloop.batch.BatchResult.to_record]'s dict
        (``parsed`` is left to the caller)."""
        error = record.get("error")
        return cls(
            index=int(record["index"]) if index is None else index,
            completion=record.get("completion"),
            usage=Usage.from_dict(record.get("usage") or {}),
            error=error_from_dict(error) if error else None,
            model=record.get("model"),
            attempts=int(record.get("attempts") or 0),
            elapsed=float(record.get("elapsed") or 0.0),
            key=str(record.get("key") or ""),
            _response_data=record.get("response"),
        )

    def __repr__(self) -> str:
        outcome = f"error={self.error!r}" if self.error else f"completion={self.completion!r:.60}"
        return f"<BatchResult #{self.index} {outcome}>"


def parse_output(result: BatchResult, response: Response | ChainResponse) -> None:
    """Set ``result.parsed`` from ``response``'s structured output (``schema=``); an answer
    that does not parse becomes the result's ``error``, its text kept."""
    try:
        result.parsed = response.parsed()
    except AgentloopError as exc:  # StructuredOutputError
        result.error = exc


def rebuild(
    record: dict[str, Any], schema: OutputSchema | None, *, index: int | None = None
) -> BatchResult:
    """A result from its record, with ``parsed`` validated again against ``schema``."""
    result = BatchResult.from_record(record, index=index)
    if schema is not None and result.completion is not None and result.error is None:
        try:
            result.parsed = parse(result.completion, schema)
        except AgentloopError as exc:  # StructuredOutputError, the text kept
            result.error = exc
    return result


def error_to_dict(error: BaseException) -> dict[str, Any]:
    """An exception as JSON: its type and message, and a provider error's details."""
    out: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    if isinstance(error, PromptFailed):
        out["type"] = error.type_name
        out["message"] = str(error.args[0])
    if isinstance(error, ProviderError):
        out["message"] = error.message
        out["provider"] = error.provider
        for name in ("status", "error_type", "retry_after"):
            if getattr(error, name) is not None:
                out[name] = getattr(error, name)
    return out


def error_from_dict(data: dict[str, Any]) -> BaseException:
    """The exception `error_to_dict` described: the same type when agentloop defines
    it with a plain message (every provider error included), else `PromptFailed`."""
    name = str(data.get("type") or "Exception")
    message = str(data.get("message") or "")
    kind = getattr(errors, name, None)
    if isinstance(kind, type) and issubclass(kind, ProviderError):
        error = kind.__new__(kind)
        ProviderError.__init__(
            error,
            message,
            provider=str(data.get("provider") or "model"),
            status=data.get("status"),
            error_type=data.get("error_type"),
            retry_after=data.get("retry_after"),
        )
        if isinstance(error, errors.StreamIncomplete):
            error.partial_text = ""
        return error
    if isinstance(kind, type) and issubclass(kind, AgentloopError):
        try:
            rebuilt: BaseException = kind(message)
        except TypeError:  # an error whose constructor wants more than a message
            return PromptFailed(message, type_name=name)
        return rebuilt
    return PromptFailed(message, type_name=name)
