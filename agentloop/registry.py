"""get_model(): from a model name to a [`Model`][agentloop.Model].

A name is looked up as an alias first, then as ``provider/model``, then by
the prefixes each provider registered (``claude-`` → Anthropic). Providers
register themselves with [`register_model`][agentloop.register_model]; adding a provider is one
module plus one registration line in `_register_builtin`, and adding an OpenAI-compatible host
is one `Endpoint` in `agentloop.providers.endpoints` (or `register_endpoint` in code).

The built-in providers are registered by dotted path (``"package.module:function"``) and
imported when a model of theirs is first asked for: ``import agentloop`` and a ``TestModel``
never load the HTTP stack, and this module sits below every provider (none imports it back).

Installed packages add providers through the ``agentloop.providers`` entry-point group, read
the first time a name is found among neither the built-ins nor those registered in code
(`load_entry_points`): each entry point's name is a provider name, its object a factory
``create(model_name, **kwargs)`` or an `Endpoint`, imported when one of its models is asked for.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentloop.errors import AgentloopError
from agentloop.providers.endpoints import ENDPOINTS, HOSTS, Endpoint

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from agentloop.model import AsyncModel, Model

#: The model ``get_model()`` returns when no name is given and $AGENTLOOP_MODEL is unset.
DEFAULT_MODEL = "gpt-4.1-mini"

Factory = Callable[..., "Model"]


#: The entry-point group through which installed packages add providers.
ENTRY_POINT_GROUP = "agentloop.providers"

#: Each wire format's factory for a model served at an `Endpoint`:
#: ``create_on(endpoint, model_name, **kwargs)``.
WIRE_FACTORIES = {"openai_chat": "agentloop.providers.openai_chat.model:create_on"}


class UnknownModelError(AgentloopError, LookupError):
    """No registered provider knows this model name."""


class ProviderLoadError(AgentloopError, ImportError):
    """A provider registered by an installed package could not be loaded."""


@dataclass(slots=True)
class _Entry:
    #: The factory, where to import it from (``"package.module:function"``), or the installed
    #: package's entry point naming it (a factory or an `Endpoint`).
    target: Factory | str | EntryPoint
    prefixes: tuple[str, ...]
    #: Where its models are served, when that is known without importing anything.
    endpoint: Endpoint | None = None

    @property
    def factory(self) -> Factory:
        if isinstance(self.target, str):
            self.target = _load(self.target)
        elif not callable(self.target):
            loaded = _load_entry_point(self.target)
            if isinstance(loaded, Endpoint):
                self.endpoint = loaded
                loaded = _OnEndpoint(loaded)
            self.target = loaded
        return self.target


@dataclass(frozen=True, slots=True)
class _OnEndpoint:
    """The factory of an endpoint's models: its wire format's, given the endpoint."""

    endpoint: Endpoint

    def __call__(self, name: str, **kwargs: Any) -> Model:
        path = WIRE_FACTORIES.get(self.endpoint.wire)
        if path is None:
            raise UnknownModelError(
                f"{self.endpoint.name!r} speaks {self.endpoint.wire}, which has no endpoint "
                f"factory yet (only {', '.join(WIRE_FACTORIES)})"
            )
        return _load(path)(self.endpoint, name, **kwargs)


_PROVIDERS: dict[str, _Entry] = {}
_ALIASES: dict[str, str] = {}
#: Whether the entry points were read (once, the first time a name is not found).
_entry_points_loaded = False


def register_model(
    provider: str,
    factory: Factory | str,
    *,
    prefixes: tuple[str, ...] = (),
    aliases: dict[str, str] | None = None,
    endpoint: Endpoint | None = None,
) -> None:
    """Make ``provider/<name>`` (and bare names starting with ``prefixes``) resolvable.

    ``factory(model_name, **kwargs)`` builds the model. It may also be given as a dotted path,
    ``"package.module:function"``, imported the first time a model of ``provider`` is asked
    for. ``aliases`` maps short names to full ones
    (``{"sonnet": "anthropic/claude-sonnet-4-5"}``). ``endpoint`` says where its models are
    served (for ``agentloop models``: the key variables), when the factory uses one.
    """
    _PROVIDERS[provider] = _Entry(factory, prefixes, endpoint)
    _ALIASES.update(aliases or {})


def register_endpoint(
    endpoint: Endpoint,
    *,
    prefixes: tuple[str, ...] = (),
    aliases: dict[str, str] | None = None,
) -> None:
    """Make ``<endpoint.name>/<model>`` a model of the endpoint's wire format served there:
    a new OpenAI-compatible host is one `Endpoint`."""
    register_model(
        endpoint.name, _OnEndpoint(endpoint), prefixes=prefixes, aliases=aliases, endpoint=endpoint
    )


def register_alias(alias: str, name: str) -> None:
    _ALIASES[alias] = name


def get_model(name: str | None = None, **kwargs: Any) -> Model:
    """The model called ``name``; ``kwargs`` (``api_key=``, ``base_url=``...) go to it.

    ``fallbacks=["b", "c"]`` makes a [`FallbackModel`][agentloop.FallbackModel] trying those
    after this one fails (``kwargs`` then go to this model only; ``context_windows=`` to it).

    The built-in providers refuse a keyword their model does not take with
    [`UnknownOptionError`][agentloop.errors.UnknownOptionError] naming the closest one; default
    request options go in ``options={...}``.
    """
    if "fallbacks" in kwargs:
        # A FallbackModel is made of models, so it sits below this module: by dotted path.
        return _load("agentloop.fallback:with_fallbacks")(name, **kwargs)
    name = name or os.environ.get("AGENTLOOP_MODEL") or DEFAULT_MODEL
    found = _resolve(name)
    if found is None and load_entry_points():
        found = _resolve(name)
    if found is None:
        known = ", ".join(sorted(_PROVIDERS))
        raise UnknownModelError(
            f"Unknown model {name!r}. Use 'provider/model' with one of: {known}; "
            "or register it with agentloop.register_model()."
        )
    entry, model_name = found
    return entry.factory(model_name, **kwargs)


def _resolve(name: str) -> tuple[_Entry, str] | None:
    """The provider entry answering to ``name``, and the model name it is given."""
    name = _ALIASES.get(name, name)
    provider, _, rest = name.partition("/")
    if rest and provider in _PROVIDERS:
        return _PROVIDERS[provider], rest
    if name in _PROVIDERS:
        return _PROVIDERS[name], name
    for entry in _PROVIDERS.values():
        if name.startswith(entry.prefixes):
            return entry, name
    return None


def get_async_model(name: str | None = None, **kwargs: Any) -> AsyncModel:
    """The same model as [`get_model`][agentloop.get_model], with every call awaitable."""
    return get_model(name, **kwargs).to_async()


def factory_of(provider: str) -> Factory:
    """The factory registered for ``provider``, imported now if it was given by dotted path."""
    return _PROVIDERS[provider].factory


def endpoint_of(provider: str) -> Endpoint | None:
    """Where ``provider``'s models are served, if it registered an endpoint (an installed
    package's entry point is imported now to tell)."""
    entry = _PROVIDERS[provider]
    if entry.endpoint is None and not isinstance(entry.target, str) and not callable(entry.target):
        entry.factory  # noqa: B018 - loading an entry point's object tells whether it is one
    return entry.endpoint


def _load(path: str) -> Factory:
    """The factory at ``"package.module:function"``."""
    module, _, attribute = path.partition(":")
    factory: Factory = getattr(importlib.import_module(module), attribute)
    return factory


def load_entry_points() -> bool:
    """Register the providers of the ``agentloop.providers`` entry points, once; True if
    this call read them. None is imported yet, and none replaces a provider already
    registered (built in, or by `register_model`)."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return False
    _entry_points_loaded = True
    from importlib.metadata import entry_points  # only once a name is not found

    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name not in _PROVIDERS:
            _PROVIDERS[point.name] = _Entry(point, ())
    return True


def _load_entry_point(point: EntryPoint) -> Factory | Endpoint:
    """An entry point's object, or an error naming the package that declared it."""
    dist = point.dist
    package = f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"
    where = f"the {ENTRY_POINT_GROUP} entry point {point.name!r} = {point.value!r} of {package}"
    try:
        loaded = point.load()
    except Exception as exc:
        # The package's own traceback would point deep into importlib, not at the package.
        raise ProviderLoadError(
            f"{where} could not be loaded: {type(exc).__name__}: {exc}"
        ) from None
    if isinstance(loaded, Endpoint) or callable(loaded):
        return loaded  # type: ignore[no-any-return]
    raise ProviderLoadError(
        f"{where} is a {type(loaded).__name__}: it must be a factory "
        "create(model_name, **kwargs) or an agentloop Endpoint"
    )


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
    chat = f"{providers}.openai_chat.model"
    register_model("openai", f"{chat}:create", prefixes=gpt, endpoint=ENDPOINTS["openai"])
    register_model(
        "openai-responses",
        f"{providers}.openai_responses.model:create",
        endpoint=ENDPOINTS["openai-responses"],
    )
    compatible = ENDPOINTS["openai-compatible"]
    register_model("openai-compatible", f"{chat}:create_compatible", endpoint=compatible)
    register_model("ollama", f"{chat}:create_ollama", endpoint=ENDPOINTS["ollama"])
    claude, gemini = ("claude-",), ("gemini-",)
    anthropic = f"{providers}.anthropic.model:create"
    register_model("anthropic", anthropic, prefixes=claude, endpoint=ENDPOINTS["anthropic"])
    google = f"{providers}.gemini.model:create"
    register_model("gemini", google, prefixes=gemini, endpoint=ENDPOINTS["gemini"])
    register_model("vertex", f"{providers}.gemini.vertex:create", endpoint=ENDPOINTS["vertex"])
    claude_vertex = f"{providers}.anthropic.vertex:create"
    register_model("vertex-anthropic", claude_vertex, endpoint=ENDPOINTS["vertex-anthropic"])
    register_model("azure", f"{providers}.openai_chat.azure:create", endpoint=ENDPOINTS["azure"])
    azure_responses = f"{providers}.openai_responses.azure:create"
    register_model("azure-responses", azure_responses, endpoint=ENDPOINTS["azure-responses"])
    register_model("bedrock", f"{providers}.bedrock.model:create", endpoint=ENDPOINTS["bedrock"])
    register_model("cohere", f"{providers}.cohere.model:create", endpoint=ENDPOINTS["cohere"])
    register_model("test", f"{providers}.offline:create_test")
    for host in HOSTS:  # the OpenAI-compatible hosts: one entry each, no code
        register_endpoint(host)


_register_builtin()
