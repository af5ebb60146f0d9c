"""get_model(): from a model name to a [`Model`][agentloop.Model].

A name is looked up as an alias first, then as ``provider/model``, then by
the prefixes each provider registered (``claude-`` → Anthropic). Providers
register themselves with [`register_model`][agentloop.register_model]; adding a provider is one
module plus one registration line in `_register_builtin`.

The built-in providers are registered by dotted path (``"package.module:function"``) and
imported when a model of theirs is first asked for: ``import agentloop`` and a ``TestModel``
never load the HTTP stack, and this module sits below every provider (none imports it back).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentloop.errors import AgentloopError

if TYPE_CHECKING:
    from agentloop.model import AsyncModel, Model

#: The model ``get_model()`` returns when no name is given and $AGENTLOOP_MODEL is unset.
DEFAULT_MODEL = "gpt-4.1-mini"

Factory = Callable[..., "Model"]


class UnknownModelError(AgentloopError, LookupError):
    """No registered provider knows this model name."""


@dataclass(slots=True)
class _Entry:
    #: The factory, or where to import it from (``"package.module:function"``).
    target: Factory | str
    prefixes: tuple[str, ...]

    @property
    def factory(self) -> Factory:
        if isinstance(self.target, str):
            self.target = _load(self.target)
        return self.target


_PROVIDERS: dict[str, _Entry] = {}
_ALIASES: dict[str, str] = {}


def register_model(
    provider: str,
    factory: Factory | str,
    *,
    prefixes: tuple[str, ...] = (),
    aliases: dict[str, str] | None = None,
) -> None:
    """Make ``provider/<name>`` (and bare names starting with ``prefixes``) resolvable.

    ``factory(model_name, **kwargs)`` builds the model. It may also be given as a dotted path,
    ``"package.module:function"``, imported the first time a model of ``provider`` is asked
    for. ``aliases`` maps short names to full ones
    (``{"sonnet": "anthropic/claude-sonnet-4-5"}``).
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


def factory_of(provider: str) -> Factory:
    """The factory registered for ``provider``, imported now if it was given by dotted path."""
    return _PROVIDERS[provider].factory


def _load(path: str) -> Factory:
    """The factory at ``"package.module:function"``."""
    module, _, attribute = path.partition(":")
    factory: Factory = getattr(importlib.import_module(module), attribute)
    return factory


def known_models() -> dict[str, list[str]]:
    """Registered providers with their name prefixes, and the aliases."""
    out = {name: list(entry.prefixes) for name, entry in _PROVIDERS.items()}
    out["aliases"] = [f"{a} -> {n}" for a, n in sorted(_ALIASES.items())]
    return out


def _register_builtin() -> None:
    # One line per provider: the name before "/", where its factory is, and the bare-name
    # prefixes it owns. By path, so a provider package is imported only once it is used.
    providers = "agentloop.providers"
    gpt = ("gpt-", "chatgpt-", "o1", "o3", "o4")
    register_model("openai", f"{providers}.openai_chat.model:create", prefixes=gpt)
    register_model("openai-responses", f"{providers}.openai_responses.model:create")
    register_model("openai-compatible", f"{providers}.openai_chat.model:create_compatible")
    register_model("ollama", f"{providers}.openai_chat.model:create_ollama")
    register_model("anthropic", f"{providers}.anthropic.model:create", prefixes=("claude-",))
    register_model("gemini", f"{providers}.gemini.model:create", prefixes=("gemini-",))
    register_model("test", f"{providers}.offline:create_test")


_register_builtin()
