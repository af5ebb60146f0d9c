"""OpenTelemetry spans built from a run's events, in the GenAI semantic conventions.

One `RunSpans` per traced run observes its events (``Run.run_watchers``), in the thread or
task reading the run, and makes:

- ``invoke_agent`` (kind INTERNAL) from `ChainStarted` to `ChainFinished`, the parent of
  the others; its own parent is the context current where the run is read (a span of the
  caller's around ``chain()``), and a batch prompt's carries the prompt's index;
- ``chat {model}`` (kind CLIENT) per model call, `ModelCallStarted` to `ModelCallFinished`,
  with a ``retry`` span event for each attempt that failed and was retried;
- ``execute_tool {name}`` (kind INTERNAL) per tool call, `ToolRunning` to `ToolFinished`
  (a call refused before it ran has a span of no length, in error).

Every span is started with its parent's context given explicitly and the event's own time,
so tools run side by side (threads or tasks) land under their chain whatever thread reported
them. Texts are masked with the run's model's secrets before they are written; messages,
arguments and results are recorded only with ``record_content``.
"""

from __future__ import annotations

import logging
import traceback
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from agentloop.events import (
    ApprovalDecided,
    ApprovalRequested,
    ChainFinished,
    ChainStarted,
    Event,
    ModelCallFinished,
    ModelCallStarted,
    TextDelta,
    ThinkingDelta,
    ToolCallStarted,
    ToolFinished,
    ToolRunning,
)
from agentloop.providers.endpoints import TELEMETRY_NAMES
from agentloop.providers.redaction import redact
from agentloop.tracing import content
from agentloop.usage import Usage

if TYPE_CHECKING:
    from agentloop.model import Model
    from agentloop.run import Run

logger = logging.getLogger("agentloop.tracing")

#: Neutral options recorded on a ``chat`` span, by their attribute.
REQUEST_OPTIONS = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "max_tokens": "gen_ai.request.max_tokens",
    "seed": "gen_ai.request.seed",
    "stop": "gen_ai.request.stop_sequences",
}


@dataclass(frozen=True, slots=True)
class Settings:
    """What `agentloop.tracing.instrument` was asked for."""

    tracer: trace.Tracer
    record_content: bool = False
    agent_name: str | None = None


#: The model call in progress where a retry is decided (set by the run's spans, read by
#: `retried`): a model call runs in the thread or task reading its run.
_current_call: ContextVar[_Call | None] = ContextVar("agentloop_tracing_call", default=None)


@dataclass(slots=True)
class _Call:
    span: Span
    secrets: tuple[str, ...]
    started: float
    first_chunk: bool = False


def retried(name: str, attempt: int, wait: float, error: BaseException) -> None:  # noqa: ARG001
    """A retry observer (`agentloop.providers.retry`): the failed attempt as a span event
    (``name``, the call's label, is the span's already)."""
    call = _current_call.get()
    if call is None or not call.span.is_recording():
        return
    try:
        call.span.add_event(
            "retry",
            {
                "agentloop.retry.attempt": attempt,
                "agentloop.retry.wait": wait,
                "error.type": _error_type(error),
                "exception.message": redact(str(error), call.secrets),
            },
        )
    except Exception:  # tracing never fails a call
        logger.warning("could not record a retry", exc_info=True)


def provider_name(provider: str) -> str:
    """``gen_ai.provider.name``: the conventions' name for an endpoint, else its own."""
    return TELEMETRY_NAMES.get(provider, provider)


def model_name(model_id: str) -> str:
    """The model's own name (``gpt-4.1-mini`` of ``openai/gpt-4.1-mini``)."""
    return model_id.split("/", 1)[-1]


class RunSpans:
    """The spans of one run, from its events. Our own code: a failure here is logged, never
    raised into the run."""

    __slots__ = (
        "_call",
        "_chain",
        "_context",
        "_prompt",
        "_secrets",
        "_settings",
        "_tools",
        "_usage",
    )

    def __init__(self, settings: Settings, run: Run) -> None:
        model = run.conversation.require_model()
        self._settings = settings
        self._secrets = secrets_of(model)
        #: A batch prompt's index in its batch (None outside a batch).
        self._prompt: int | None = getattr(model, "prompt_index", None)
        self._chain: Span | None = None
        self._context: otel_context.Context | None = None
        self._call: _Call | None = None
        #: The tool calls running, by id.
        self._tools: dict[str, Span] = {}
        #: The usage of the run's model calls so far.
        self._usage = Usage()

    def __call__(self, event: Event) -> None:
        try:
            self._handle(event)
        except Exception:
            logger.warning("could not record the event %s", type(event).__name__, exc_info=True)

    def _handle(self, event: Event) -> None:
        if isinstance(event, ChainStarted):
            self._start_chain(event)
        elif self._context is None:
            return  # events of a run whose start was not seen
        elif isinstance(event, TextDelta | ThinkingDelta | ToolCallStarted):
            self._first_chunk(event)
        elif isinstance(event, ModelCallStarted):
            self._start_call(event)
        elif isinstance(event, ModelCallFinished):
            self._end_call(event)
        elif isinstance(event, ToolRunning):
            span = self._tool_span(event.call.name, event.call.tool_call_id, event.time)
            self._tools[event.call.tool_call_id] = span
        elif isinstance(event, ToolFinished):
            self._end_tool(event)
        elif isinstance(event, ApprovalRequested | ApprovalDecided):
            self._approval(event)
        elif isinstance(event, ChainFinished):
            self._end_chain(event)

    # -- the run ---------------------------------------------------------------------

    def _start_chain(self, event: ChainStarted) -> None:
        settings = self._settings
        name = f"invoke_agent {settings.agent_name}" if settings.agent_name else "invoke_agent"
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.provider.name": provider_name(event.provider),
            "gen_ai.request.model": model_name(event.model),
            "agentloop.run_id": event.run_id,
        }
        if settings.agent_name:
            attributes["gen_ai.agent.name"] = settings.agent_name
        if self._prompt is not None:
            attributes["agentloop.batch.prompt_index"] = self._prompt
        # The parent is whatever span is current where the run is read: the caller's own.
        self._chain = settings.tracer.start_span(
            name,
            context=otel_context.get_current(),
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            start_time=_ns(event.time),
        )
        self._context = trace.set_span_in_context(self._chain)

    def _end_chain(self, event: ChainFinished) -> None:
        span = self._chain
        assert span is not None
        usage = self._usage
        span.set_attribute("gen_ai.usage.input_tokens", usage.input_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", usage.output_tokens)
        if event.model_calls is not None:
            span.set_attribute("agentloop.model_calls", event.model_calls)
        if event.paused:
            span.set_attribute("agentloop.paused_calls", [c.tool_call_id for c in event.paused])
        if event.error is not None:
            self._failed(span, event.error)
        for tool in self._tools.values():  # calls cut short by the error
            tool.end(end_time=_ns(event.time))
        self._tools.clear()
        span.end(end_time=_ns(event.time))
        self._chain = None
        self._context = None

    def _approval(self, event: ApprovalRequested | ApprovalDecided) -> None:
        assert self._chain is not None
        attributes: dict[str, Any] = {
            "gen_ai.tool.name": event.call.name,
            "gen_ai.tool.call.id": event.call.tool_call_id,
        }
        if isinstance(event, ApprovalRequested):
            self._chain.add_event("approval requested", attributes, _ns(event.time))
            return
        attributes["agentloop.approval.approved"] = event.approved
        if event.reason is not None and self._settings.record_content:
            attributes["agentloop.approval.reason"] = redact(event.reason, self._secrets)
        self._chain.add_event("approval decided", attributes, _ns(event.time))

    # -- model calls -----------------------------------------------------------------

    def _start_call(self, event: ModelCallStarted) -> None:
        request = event.request
        name = model_name(event.model)
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider_name(event.provider),
            "gen_ai.request.model": name,
            "gen_ai.request.stream": request.stream,
            "gen_ai.output.type": "json" if request.schema is not None else "text",
            "agentloop.model_call.number": event.number,
        }
        for option, attribute in REQUEST_OPTIONS.items():
            value = request.options.get(option)
            if isinstance(value, str) and option == "stop":
                value = [value]
            if value is not None and _is_attribute(value):
                attributes[attribute] = value
        if self._settings.record_content:
            secrets = self._secrets
            attributes["gen_ai.input.messages"] = content.messages_json(request.messages, secrets)
            system = content.system_json(request.messages, secrets)
            if system is not None:
                attributes["gen_ai.system_instructions"] = system
            if request.tools:
                attributes["gen_ai.tool.definitions"] = content.tools_json(request.tools, secrets)
        span = self._settings.tracer.start_span(
            f"chat {name}",
            context=self._context,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=_ns(event.time),
        )
        self._call = _Call(span, self._secrets, event.time)
        _current_call.set(self._call)

    def _first_chunk(self, event: Event) -> None:
        call = self._call
        if call is not None and not call.first_chunk:
            call.first_chunk = True
            elapsed = max(0.0, event.time - call.started)
            call.span.set_attribute("gen_ai.response.time_to_first_chunk", elapsed)

    def _end_call(self, event: ModelCallFinished) -> None:
        call = self._call
        if call is None:
            return
        self._call = None
        if _current_call.get() is call:
            _current_call.set(None)
        span = call.span
        reply = event.reply
        if reply is not None:
            usage = reply.usage
            self._usage += usage
            if reply.model:
                span.set_attribute("gen_ai.response.model", reply.model)
            if reply.finish_reason:
                span.set_attribute("gen_ai.response.finish_reasons", [reply.finish_reason])
            span.set_attributes(_usage_attributes(usage))
            if self._settings.record_content:
                shown = content.output_json(reply.message, reply.finish_reason, self._secrets)
                span.set_attribute("gen_ai.output.messages", shown)
        if event.error is not None:
            self._failed(span, event.error)
        span.end(end_time=_ns(event.time))

    # -- tool calls ------------------------------------------------------------------

    def _tool_span(self, name: str, call_id: str, start: float) -> Span:
        return self._settings.tracer.start_span(
            f"execute_tool {name}",
            context=self._context,
            kind=SpanKind.INTERNAL,
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": name,
                "gen_ai.tool.call.id": call_id,
                "gen_ai.tool.type": "function",
            },
            start_time=_ns(start),
        )

    def _end_tool(self, event: ToolFinished) -> None:
        call, result = event.call, event.result
        span = self._tools.pop(call.tool_call_id, None)
        if span is None:  # refused before it ran: a span of no length says so
            span = self._tool_span(call.name, call.tool_call_id, event.time)
            span.set_attribute("agentloop.tool.ran", False)
        if self._settings.record_content:
            secrets = self._secrets
            span.set_attribute(
                "gen_ai.tool.call.arguments", content.as_json(call.arguments, secrets)
            )
            span.set_attribute("gen_ai.tool.call.result", redact(result.output, secrets))
        if result.is_error:
            error = result.exception
            span.set_attribute("error.type", _error_type(error) if error else "tool_error")
            description = redact(str(error), self._secrets) if error else "the tool call failed"
            span.set_status(Status(StatusCode.ERROR, description))
        span.end(end_time=_ns(event.time))

    # -- errors ----------------------------------------------------------------------

    def _failed(self, span: Span, error: BaseException) -> None:
        """The error on ``span``: ``error.type``, the status, an ``exception`` event, masked."""
        message = redact(str(error), self._secrets)
        span.set_attribute("error.type", _error_type(error))
        span.set_status(Status(StatusCode.ERROR, message))
        stack = "".join(traceback.format_exception(error))
        span.add_event(
            "exception",
            {
                "exception.type": _qualified(error),
                "exception.message": message,
                "exception.stacktrace": redact(stack, self._secrets),
            },
        )


def secrets_of(model: Model) -> tuple[str, ...]:
    """What to mask in every text a span records: the keys and credentials of ``model`` and
    of the models it stands for (a fallback's members, a batch's models)."""
    found: set[str] = set()
    for member in members(model):
        secrets = getattr(member, "secrets_to_mask", None)
        if callable(secrets):
            found.update(secrets())
    return tuple(sorted(found, key=len, reverse=True))


def members(model: Model) -> list[Model]:
    """``model`` and every model it stands for (``models``: a `FallbackModel`'s, a batch
    prompt's), depth first."""
    out = [model]
    for inner in getattr(model, "models", None) or ():
        out.extend(members(inner))
    return out


def _usage_attributes(usage: Usage) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "gen_ai.usage.input_tokens": usage.input_tokens,
        "gen_ai.usage.output_tokens": usage.output_tokens,
    }
    if usage.cached_input_tokens is not None:
        attributes["gen_ai.usage.cache_read.input_tokens"] = usage.cached_input_tokens
    if usage.cache_write_tokens is not None:
        attributes["gen_ai.usage.cache_creation.input_tokens"] = usage.cache_write_tokens
    if usage.reasoning_tokens is not None:
        attributes["gen_ai.usage.reasoning.output_tokens"] = usage.reasoning_tokens
    if usage.cost is not None:
        attributes["agentloop.usage.cost"] = usage.cost
    return attributes


def _error_type(error: BaseException) -> str:
    return type(error).__name__


def _qualified(error: BaseException) -> str:
    kind = type(error)
    return (
        kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    )


def _is_attribute(value: Any) -> bool:
    """Whether OpenTelemetry takes ``value`` as an attribute (a scalar or a list of one type)."""
    if isinstance(value, bool | int | float | str):
        return True
    return (
        isinstance(value, list | tuple) and bool(value) and all(isinstance(v, str) for v in value)
    )


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)
