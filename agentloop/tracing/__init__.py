"""OpenTelemetry traces of prompts and chains, in the GenAI semantic conventions (docs/tracing.md).

``instrument()`` turns tracing on for every run in the process, ``instrument(model)`` for
the runs of one model (and of the copies a batch makes of it); ``uninstrument()`` turns it
off again. The spans are built from the runs' events (`agentloop.events`) by
`agentloop.tracing.spans`, an observer each traced run is given through
``agentloop.run.run_watchers``. Off, nothing is registered there, so runs make no events for
it, and OpenTelemetry is not imported until ``instrument()`` is called (the ``otel`` extra:
``pip install 'agentloop-kit[otel]'``).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agentloop.events import Event
from agentloop.run import Run, run_watchers

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

    from agentloop.model import AsyncModel, Model
    from agentloop.tracing.spans import Settings

__all__ = ["instrument", "is_instrumented", "uninstrument"]

logger = logging.getLogger("agentloop.tracing")

#: The attribute an instrumented model is marked with: the key of its settings in
#: `_models`. Copies of the model (a batch's) keep it; pickled, it names nothing.
MARK = "_agentloop_tracing"

_process: Settings | None = None
_models: dict[int, Settings] = {}
_keys = itertools.count(1)


def instrument(
    model: Model | AsyncModel | None = None,
    *,
    tracer_provider: TracerProvider | None = None,
    record_content: bool = False,
    agent_name: str | None = None,
) -> None:
    """Trace every prompt, chain and resume in the process, or those of ``model`` only.

    Spans go to ``tracer_provider``, else to OpenTelemetry's global one (set it up with the
    SDK, or let a distribution such as ``opentelemetry-instrument`` do it). With
    ``record_content``, the messages sent and received, the tool definitions, each tool
    call's arguments and result are recorded too (off by default: they may hold personal
    data). ``agent_name`` names the chain spans (``invoke_agent {agent_name}``). Calling it
    again replaces the settings; process-wide settings win over a model's.
    """
    global _process
    settings = _settings(tracer_provider, record_content, agent_name)
    if model is None:
        _process = settings
    else:
        backing = model._backing_model()
        old: Any = getattr(backing, MARK, None)
        # The same key again: copies made under the old settings (a batch's) take the new.
        key = old if old in _models else next(_keys)
        try:
            setattr(backing, MARK, key)
        except AttributeError:
            raise TypeError(
                f"{type(backing).__name__} takes no new attributes (__slots__), so it cannot "
                "be traced on its own: call agentloop.tracing.instrument() for every model"
            ) from None
        _models[key] = settings
    _register()


def uninstrument(model: Model | AsyncModel | None = None) -> None:
    """Stop tracing: the whole process's runs (``model`` None: the process-wide tracing set
    by ``instrument()``), or one model's."""
    global _process
    if model is None:
        _process = None
    else:
        backing = model._backing_model()
        key: Any = getattr(backing, MARK, None)
        _models.pop(key, None)
        if MARK in getattr(backing, "__dict__", {}):
            delattr(backing, MARK)
    if _process is None and not _models and _watch in run_watchers:
        run_watchers.remove(_watch)
        _unregister_retries()


def is_instrumented(model: Model | AsyncModel | None = None) -> bool:
    """Whether runs (of ``model``, if given) are traced."""
    if _process is not None:
        return True
    return model is not None and _settings_of(model._backing_model()) is not None


def _settings(
    tracer_provider: TracerProvider | None, record_content: bool, agent_name: str | None
) -> Settings:
    try:
        from opentelemetry import trace
    except ImportError:  # pragma: no cover - the otel extra is in dev
        raise ImportError(
            "agentloop.tracing needs OpenTelemetry's API: pip install 'agentloop-kit[otel]'"
        ) from None
    from agentloop.tracing.spans import Settings

    tracer = trace.get_tracer("agentloop", tracer_provider=tracer_provider)
    return Settings(tracer, record_content, agent_name)


def _register() -> None:
    if _watch not in run_watchers:
        run_watchers.append(_watch)
    from agentloop.providers.retry import retry_observers
    from agentloop.tracing.spans import retried

    if retried not in retry_observers:
        retry_observers.append(retried)


def _unregister_retries() -> None:
    from agentloop.providers.retry import retry_observers
    from agentloop.tracing.spans import retried

    if retried in retry_observers:
        retry_observers.remove(retried)


def _watch(run: Run) -> Callable[[Event], object] | None:
    """A run watcher: the spans of ``run``, if it is traced."""
    settings = _process or _settings_of(run.conversation.require_model())
    if settings is None:
        return None
    from agentloop.tracing.spans import RunSpans

    try:
        return RunSpans(settings, run)
    except Exception:  # tracing never fails a run
        logger.warning("could not trace run %d", run.run_id, exc_info=True)
        return None


def _settings_of(model: Model) -> Settings | None:
    if not _models:
        return None
    from agentloop.tracing.spans import members

    for member in members(model):
        key: Any = getattr(member, MARK, None)
        if key is not None and key in _models:
            return _models[key]
    return None
