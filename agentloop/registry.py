"""get_model(): from a model name to a [`Model`][agentloop.Model].

A name is looked up as an alias first, then as ``provider/model``, then by
the prefixes each provider registered (``claude-`` → Anthropic). Providers
register themselves with [`register_model`][agentloop.register_model]; adding a provider is one
module plus one registration line in `_register_builtin`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentloop.errors import AgentloopError
from agentloop.model import AsyncModel, Model
from agentloop.providers.options import check_keywords, keyword_only

#: The model ``get_model()`` returns when no name is given and $AGENTLOOP_MODEL is unset.
DEFAULT_MODEL = "gpt-4.1-mini"

Factory = Callable[..., Model]


class UnknownModelError(AgentloopError, LookupError):
    """No registered provider knows this model name."""


@dataclass(slots=True)
class _Entry:
    factory: Factory
    prefixes: tuple[str, ...]


_PROVIDERS: dict[str, _Entry] = {}
_ALIASES: dict[str, str] = {}


def register_model(
    provider: str,
    factory: Factory,
    *,
    prefixes: tuple[str, ...] = (),
    aliases: dict[str, str] | None = None,
) -> None:
    """Make ``provider/<name>`` (and bare names starting with ``prefixes``) resolvable.

    ``factory(model_name, **kwargs)`` builds the model. ``aliases`` maps short
    names to full ones (``{"sonnet": "anthropic/claude-sonnet-4-5"}``).
    """
    _PROVIDERS[provider] = _Entry(factory, prefixes)
    _ALIASES.update(aliases or {})


def register_alias(alias: str, name: str) -> None:
    _ALIASES[alias] = name


def get_model(name: str | None = None, **kwargs: Any) -> Model:
    """The model called ``name``; ``kwargs`` (``api_key=``, ``base_url=``...) go to it.

    The built-in providers refuse a keyword their model does not take with
    [`UnknownOptionError`][agentloop.errors.UnknownOptionError] naming the closest one; default
    request options go in ``options={...}``.
    """
    name = name or os.environ.get("AGENTLOOP_MODEL") or DEFAULT_MODEL
    name = _ALIASES.get(name, name)
    provider, _, rest = name.partition("/")
    if rest and provider in _PROVIDERS:
        return _PROVIDERS[provider].factory(rest, **kwargs)
    if name in _PROVIDERS:
        return _PROVIDERS[name].factory(name, **kwargs)
    for entry in _PROVIDERS.values():
        if name.startswith(entry.prefixes):
            return entry.factory(name, **kwargs)
    known = ", ".join(sorted(_PROVIDERS))
    raise UnknownModelError(
        f"Unknown model {name!r}. Use 'provider/model' with one of: {known}; "
        "or register it with agentloop.register_model()."
    )


def get_async_model(name: str | None = None, **kwargs: Any) -> AsyncModel:
    """The same model as [`get_model`][agentloop.get_model], with every call awaitable."""
    return get_model(name, **kwargs).to_async()


def known_models() -> dict[str, list[str]]:
    """Registered providers with their name prefixes, and the aliases."""
    out = {name: list(entry.prefixes) for name, entry in _PROVIDERS.items()}
    out["aliases"] = [f"{a} -> {n}" for a, n in sorted(_ALIASES.items())]
    return out


def _register_builtin() -> None:
    # One line per provider: the name before "/", and the bare-name prefixes it owns.
    from agentloop.providers import anthropic, gemini, openai_chat, openai_responses

    register_model("openai", openai_chat.create, prefixes=("gpt-", "chatgpt-", "o1", "o3", "o4"))
    register_model("openai-responses", openai_responses.create)
    register_model("openai-compatible", openai_chat.create_compatible)
    register_model("ollama", openai_chat.create_ollama)
    register_model("anthropic", anthropic.create, prefixes=("claude-",))
    register_model("gemini", gemini.create, prefixes=("gemini-",))
    register_model("test", _create_test)


def _create_test(name: str, **kwargs: Any) -> Model:
    """``get_model("test")``: the offline TestModel (``text=``, ``call_tools=``)."""
    from agentloop.providers.offline import TestModel

    check_keywords(kwargs, keyword_only(TestModel) - {"model_id"}, call=f"get_model({name!r})")
    return TestModel(model_id="test", **kwargs)


_register_builtin()
