"""``import agentloop`` loads no batch client, rich or HTTP stack until they are used.

Checked by what lands in ``sys.modules`` of a fresh interpreter, not by timing (the figures are
in benchmarks/import_time.py and docs/architecture.md).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import agentloop

ROOT = Path(__file__).parents[1]
#: What a program that runs no batch and calls no HTTP provider should never load.
HEAVY = ["httpx", "httpx_sse", "tenacity", "aiohttp", "rich", "agentloop.batch"]


def loaded_after(code: str) -> list[str]:
    """Which of HEAVY a fresh interpreter has imported after running ``code``."""
    report = f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    probe = f"{code}\nimport json, sys\n{report}"
    ran = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(ran.stdout.splitlines()[-1])
    return loaded


def test_import_agentloop_loads_none_of_the_heavy_modules() -> None:
    assert loaded_after("import agentloop") == []


def test_a_test_model_prompt_and_chain_do_not_load_them_either() -> None:
    code = """
import agentloop

def shout(text: str) -> str:
    "Shout."
    return text.upper()

model = agentloop.get_model("test")
assert model.prompt("hi").text()
assert "HELLO" in model.chain("say hello", tools=[shout]).text()
conversation = agentloop.Conversation.from_dict(model.conversation(system="s").to_dict())
assert conversation.model is not None
"""
    assert loaded_after(code) == []


def test_the_registry_imports_a_provider_when_one_of_its_models_is_asked_for() -> None:
    code = """
import sys
import agentloop

agentloop.get_model("test")
assert "agentloop.providers.openai_chat" not in sys.modules
agentloop.get_model("gpt-4.1-mini", api_key="k")
assert "agentloop.providers.openai_chat" in sys.modules
"""
    loaded = loaded_after(code)
    assert "tenacity" in loaded  # the HTTP model's retry policy
    assert "httpx" not in loaded  # no codec reads a transport library's types: httpx comes
    # with the transport, on the first request


def test_every_public_name_resolves() -> None:
    for name in agentloop.__all__:
        assert getattr(agentloop, name) is not None, name
    assert set(agentloop.__all__) <= set(dir(agentloop))


def test_a_misspelt_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="Conversaton"):
        agentloop.Conversaton  # type: ignore[attr-defined]  # noqa: B018


def type_checking_imports() -> dict[str, set[str]]:
    """The names ``agentloop/__init__.py`` imports under TYPE_CHECKING, by module."""
    tree = ast.parse((ROOT / "agentloop" / "__init__.py").read_text())
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    )
    out: dict[str, set[str]] = {}
    for node in block.body:
        if isinstance(node, ast.ImportFrom) and node.module != "typing":
            out.setdefault(node.module or "", set()).update(a.name for a in node.names)
    return out


def test_lazy_names_match_the_type_checking_block() -> None:
    # What type checkers and IDEs see is what __getattr__ loads, and both are __all__.
    lazy = {module: set(names) for module, names in agentloop._MODULES.items()}
    assert type_checking_imports() == lazy
    assert set(agentloop._SOURCE) == set(agentloop.__all__) - {"__version__"}
