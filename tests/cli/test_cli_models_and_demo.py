"""`agentloop models` and `agentloop demo`."""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable
from pathlib import Path

import pytest
from terminal import Ran, cli_env, run_cli

ROOT = Path(__file__).parents[2]


def test_models_says_which_keys_are_set_without_showing_them(home: Path) -> None:
    env = cli_env(home, OPENAI_API_KEY="sk-very-secret-value")
    result = run_cli("models", "--json", env=env)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    providers = {p["provider"]: p for p in found["providers"]}
    assert providers["openai"]["keys"] == {"OPENAI_API_KEY": True}
    assert providers["anthropic"]["keys"] == {"ANTHROPIC_API_KEY": False}
    assert "claude-*" in providers["anthropic"]["names"]
    assert providers["test"]["needs_key"] is False
    assert found["default"] == "gpt-4.1-mini"
    assert "sk-very-secret-value" not in result.stdout


def test_models_shows_a_table_of_providers(cli_in_process: Callable[..., Ran]) -> None:
    ran = cli_in_process("models")
    assert ran.status == 0, ran.stderr
    for expected in ["openai", "anthropic", "gemini", "OPENAI_API_KEY not set", "Default model"]:
        assert expected in ran.stdout


def test_demo_prints_what_the_quickstart_example_prints(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = run_cli("demo", env=env)
    assert demo.returncode == 0, demo.stderr
    monkeypatch.setenv("COLUMNS", env["COLUMNS"])  # the same width as the subprocess
    runpy.run_path(str(ROOT / "examples" / "quickstart.py"), run_name="__main__")
    assert demo.stdout == capsys.readouterr().out
    assert '"the quick brown fox jumps" has 5 words' in demo.stdout
