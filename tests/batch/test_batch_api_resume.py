"""Resuming a batch-API batch from its saved handle: in another process, never submitting a
round twice; and ``agentloop batch`` on the command line."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from batch_servers import OpenAIFake, running

from agentloop import LLMClient
from agentloop.cli import main
from agentloop.errors import ResumeError
from agentloop.providers.openai_chat.model import OpenAIChatModel
from agentloop.tools import tool

ROOT = Path(__file__).resolve().parents[2]


@tool
def add(a: int, b: int) -> str:
    """Add two numbers."""
    return f"RESULT={a + b}"


def client(url: str) -> LLMClient:
    model = OpenAIChatModel("gpt-4.1-mini", base_url=f"{url}/v1", api_key="sk-test")
    return LLMClient(model, progress=False, batch_poll_interval=0)


RESUME = """
import json, sys
from agentloop import LLMClient
from agentloop.providers.openai_chat.model import OpenAIChatModel
from agentloop.tools import tool

@tool
def add(a: int, b: int) -> str:
    \"\"\"Add two numbers.\"\"\"
    return f"RESULT={a + b}"

model = OpenAIChatModel("gpt-4.1-mini", base_url=sys.argv[1] + "/v1", api_key="sk-test")
job = LLMClient(model, progress=False, batch_poll_interval=0).resume_batch(sys.argv[2], tools=[add])
print(json.dumps([r.completion for r in job.wait()]))
"""


def test_another_process_resumes_the_round_in_flight(tmp_path: Path) -> None:
    handle_file = tmp_path / "job.json"
    with running(OpenAIFake()) as fake:
        client(fake.url).submit_batch_sync(
            ["add 2 3", "echo here"], tools=[add], handle_file=handle_file
        )
        assert len(fake.jobs) == 1
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(RESUME), fake.url, str(handle_file)],
            capture_output=True,
            text=True,
            timeout=120,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == ["sum=5", "echo: here"]
        # Round 1 was polled where it stood, never created again; round 2 only for the chain.
        assert [len(job.lines) for job in fake.jobs.values()] == [2, 1]
        saved = json.loads(handle_file.read_text())
        assert saved["round"] == 2
        assert saved["jobs"] == []
        # A finished handle gives its results without a request.
        before = len(fake.requests)
        again = client(fake.url).resume_batch(handle_file, tools=[add]).results()
        assert [r.completion for r in again] == ["sum=5", "echo: here"]
        assert len(fake.requests) == before


def test_resuming_with_other_tools_is_refused(tmp_path: Path) -> None:
    handle_file = tmp_path / "job.json"

    @tool
    def other(x: int) -> int:
        """Something else."""
        return x

    with running(OpenAIFake()) as fake:
        client(fake.url).submit_batch_sync(["add 1 1"], tools=[add], handle_file=handle_file)
        with pytest.raises(ResumeError, match="tools or schema differ"):
            client(fake.url).resume_batch(handle_file, tools=[other])
    with pytest.raises(ResumeError, match="cannot read"):
        client(fake.url).resume_batch(tmp_path / "missing.json")


def test_a_rerun_with_the_results_file_resumes_instead_of_submitting(tmp_path: Path) -> None:
    results_file = tmp_path / "out.jsonl"
    with running(OpenAIFake()) as fake:
        # A first run that stopped after submitting: its handle is beside the results file.
        client(fake.url).submit_batch_sync(
            ["echo a", "echo b"], handle_file=f"{results_file}.batch.json"
        )
        results = client(fake.url).process_prompts_sync(
            ["echo a", "echo b"], batch_api=True, results_file=results_file
        )
        assert [r.completion for r in results] == ["echo: a", "echo: b"]
        assert len(fake.jobs) == 1
        assert not Path(f"{results_file}.batch.json").exists()
        again = client(fake.url).process_prompts_sync(
            ["echo a", "echo b"], batch_api=True, results_file=results_file
        )
        assert [r.resumed for r in again] == [True, True]
        assert len(fake.jobs) == 1


def test_a_handle_beside_the_results_file_must_be_these_prompts(tmp_path: Path) -> None:
    results_file = tmp_path / "out.jsonl"
    with running(OpenAIFake()) as fake:
        client(fake.url).submit_batch_sync(["echo a"], handle_file=f"{results_file}.batch.json")
        with pytest.raises(ResumeError, match="other prompts"):
            client(fake.url).process_prompts_sync(
                ["echo a", "echo b"], batch_api=True, results_file=results_file
            )


def test_the_batch_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    prompts = tmp_path / "in.jsonl"
    prompts.write_text('"echo one"\n\n[{"role": "user", "content": "echo two"}]\n')
    out = tmp_path / "out.jsonl"
    with running(OpenAIFake()) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{fake.url}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        command = ["batch", str(prompts), "-o", str(out), "-m", "gpt-4.1-mini", "--poll", "0"]
        assert main([*command, "--batch-api"]) == 0
        records = [json.loads(line) for line in out.read_text().splitlines()]
        assert [r["completion"] for r in records] == ["echo: one", "echo: two"]
        assert "2 prompts (batch API): 2 answered, 0 failed" in capsys.readouterr().err
        assert main([*command, "--batch-api"]) == 0  # a rerun asks nothing again
        assert "2 from an earlier run" in capsys.readouterr().err
        assert len(fake.jobs) == 1
        live_out = tmp_path / "live.jsonl"
        assert main(["batch", str(prompts), "-o", str(live_out), "-m", "gpt-4.1-mini"]) == 0
        assert "(live)" in capsys.readouterr().err
    assert len(live_out.read_text().splitlines()) == 2


def test_the_batch_command_names_a_bad_line(tmp_path: Path, capsys: Any) -> None:
    prompts = tmp_path / "in.jsonl"
    prompts.write_text('"fine"\n{"not": "a prompt"}\n')
    assert main(["batch", str(prompts), "-o", str(tmp_path / "out.jsonl")]) == 2
    assert "line 2" in capsys.readouterr().err
