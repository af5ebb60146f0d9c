"""The distribution is `agentloop-kit` (`pip install agentloop` is someone else's project), and
`make demo` installs only what the demo needs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
#: Where users are told how to install: the docs, and the messages and docstrings of the code.
TOLD = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TOLD += sorted(p for d in ("agentloop", "toolboxes", "examples") for p in (ROOT / d).rglob("*.py"))


def test_the_distribution_is_agentloop_kit_and_the_import_name_agentloop() -> None:
    project = PYPROJECT["project"]
    assert project["name"] == "agentloop-kit"
    assert project["scripts"] == {"agentloop": "agentloop.cli:main"}
    assert PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [
        "agentloop",
        "toolboxes",
    ]
    assert {"dev", "mcp", "ray"} <= set(project["optional-dependencies"])


def test_no_page_or_message_says_pip_install_agentloop_without_kit() -> None:
    wrong = re.compile(
        r"pip install '?agentloop(?!-kit)(?=[\s\['`\"]|$)|agentloop\[(?:mcp|ray|dev)\]"
    )
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in TOLD
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if wrong.search(line)
    ]
    assert found == []
    assert "pip install agentloop-kit" in (ROOT / "README.md").read_text()


def dry_run(target: str, venv: Path) -> list[str]:
    """The commands ``make TARGET`` would run with its virtualenv at ``venv`` (nothing runs)."""
    # Run under `make test` too: a parent make's variables would change what this one prints.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    ran = subprocess.run(
        ["make", "--no-print-directory", "-n", target, f"VENV={venv}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return ran.stdout.splitlines()


needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="no make")


@needs_make
def test_make_demo_on_a_fresh_machine_installs_the_runtime_dependencies_only(
    tmp_path: Path,
) -> None:
    commands = dry_run("demo", tmp_path / "venv")
    assert any(" -m venv " in c for c in commands)
    installs = [c for c in commands if "pip install" in c and "--upgrade pip" not in c]
    assert installs == [f"{tmp_path}/venv/bin/python -m pip install --quiet -e ."]
    assert commands[-1] == f"{tmp_path}/venv/bin/python examples/quickstart.py"


@needs_make
def test_make_test_installs_the_dev_extra(tmp_path: Path) -> None:
    commands = dry_run("test", tmp_path / "venv")
    assert any("pip install --quiet -e '.[dev]'" in c for c in commands)


@needs_make
def test_nothing_is_reinstalled_when_nothing_changed(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    (venv / ".installed-dev").touch()
    (venv / ".installed-runtime").touch()  # newer than pyproject.toml, as after an install
    assert [c for c in dry_run("demo", venv) if "pip" in c] == []
    assert [c for c in dry_run("test", venv) if "pip" in c] == []


@needs_make
def test_the_dev_install_also_counts_for_the_demo(tmp_path: Path) -> None:
    commands = dry_run("test", tmp_path / "venv")
    stamp = next(c for c in commands if c.startswith("touch"))
    assert ".installed-runtime" in stamp
    assert ".installed-dev" in stamp
