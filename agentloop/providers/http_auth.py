"""The key and credential plumbing of `HTTPModel` (`agentloop.providers.http`).

`Secret` holds an API key so that nothing prints it; `with_auth` adds an authenticator's
headers to a request as it is sent (a header the caller gave wins); `legacy_endpoint` reads
the `Endpoint` of a provider class written before endpoints from its class constants.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from agentloop.providers.endpoints import Endpoint
from agentloop.providers.transport import HTTPRequest


class Secret:
    """Holds an API key so that no repr, ``vars()`` dump or log line can show it."""

    __slots__ = ("value",)

    def __init__(self, value: str | None) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Secret('********')" if self.value else "Secret(None)"


def legacy_endpoint(cls: type) -> Endpoint:
    """The endpoint of a subclass written before endpoints, from its class constants
    (``provider``, ``key_env``, ``base_url_env``, ``default_base_url``, ``requires_key``),
    so that it keeps working unchanged."""

    def constant(name: str, kind: type, default: Any) -> Any:
        value = getattr(cls, name, default)
        return value if isinstance(value, kind) else default  # a property: not set there

    return Endpoint(
        constant("provider", str, cls.__name__.lower()),
        "custom",
        constant("default_base_url", str, ""),
        "",
        key_env=tuple(constant("key_env", tuple, ())),
        base_url_env=constant("base_url_env", str, None),
        requires_key=constant("requires_key", bool, True),
    )


def with_auth(wire: HTTPRequest, auth: Mapping[str, str]) -> HTTPRequest:
    """``wire`` with the headers ``auth`` adds, except those the request already has."""
    given = {name.lower() for name in wire.headers}
    added = {name: value for name, value in auth.items() if name.lower() not in given}
    return replace(wire, headers={**wire.headers, **added}) if added else wire
