"""``agentloop models``: the model names each provider answers to, and which keys are set."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from agentloop.cli.render import Output
from agentloop.providers.offline import FunctionModel
from agentloop.registry import (
    DEFAULT_MODEL,
    ProviderLoadError,
    endpoint_of,
    known_models,
    load_entry_points,
    register_model,
)

#: Providers that run in this process and need no key.
OFFLINE = {"test": "the offline TestModel", "demo": "the scripted model of `agentloop demo`"}


def register_demo_model() -> None:
    """``-m demo``: the scripted model of ``agentloop demo``, offline, for trying the CLI."""

    def create(_name: str, **_options: Any) -> FunctionModel:
        from agentloop.demo import scripted_model

        return FunctionModel(scripted_model, model_id="demo")

    register_model("demo", create)


@dataclass(slots=True)
class ProviderInfo:
    name: str
    names: list[str]
    #: Key variables and whether each is set (their values are never read out).
    keys: dict[str, bool]
    needs_key: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.name,
            "names": self.names,
            "keys": self.keys,
            "needs_key": self.needs_key,
            "note": self.note,
        }


def providers() -> list[ProviderInfo]:
    """Every registered provider, with its names and the state of its key variables.

    The installed packages' providers (entry points) are listed too; one that cannot be
    loaded is listed with the reason rather than failing the command.
    """
    load_entry_points()
    out = []
    for name, prefixes in known_models().items():
        if name == "aliases":
            continue
        try:
            endpoint = endpoint_of(name)
        except ProviderLoadError as error:
            out.append(ProviderInfo(name, [f"{name}/<model>"], {}, False, str(error)))
            continue
        if endpoint is None:  # a model of code (offline, or registered by a program)
            out.append(ProviderInfo(name, [name], {}, False, OFFLINE.get(name, "")))
            continue
        names = [f"{name}/<model>", *(f"{p}*" for p in prefixes)]
        keys = {variable: bool(os.environ.get(variable)) for variable in endpoint.key_env}
        note = endpoint.auth_note or (
            "" if endpoint.requires_key else "a local or compatible server: no key needed"
        )
        out.append(ProviderInfo(name, names, keys, endpoint.requires_key, note))
    return out


def aliases() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in known_models().get("aliases", []):
        alias, _, target = line.partition(" -> ")
        out[alias] = target
    return out


def run(args: argparse.Namespace, output: Output) -> int:
    found = providers()
    default = os.environ.get("AGENTLOOP_MODEL") or DEFAULT_MODEL
    if args.json:
        output.json(
            {
                "default": default,
                "providers": [p.to_dict() for p in found],
                "aliases": aliases(),
            }
        )
        return 0
    table = Table(title="Models", title_justify="left")
    table.add_column("provider", style="bold")
    table.add_column("model names")
    table.add_column("key")
    for info in found:
        table.add_row(info.name, ", ".join(info.names), _key_status(info))
    output.show(table)
    for alias, target in aliases().items():
        output.line(f"alias {alias} -> {target}")
    output.line(f"Default model: {default} (set AGENTLOOP_MODEL or pass -m to change it)")
    return 0


def _key_status(info: ProviderInfo) -> str:
    if not info.keys:
        return info.note or "no key needed"
    status = ", ".join(
        f"{name} {'set' if is_set else 'not set'}" for name, is_set in info.keys.items()
    )
    if info.needs_key and not any(info.keys.values()):
        status = f"{status}: export one to use it"
    return f"{status} ({info.note})" if info.note else status
