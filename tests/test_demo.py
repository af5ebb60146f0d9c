"""The offline demo: examples/quickstart.py shows the code and answers correctly, and the demo
model says what it needs when it is not given its tools."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentloop import FunctionModel
from agentloop.demo import DEMO_TOOLS, quickstart, scripted_model, sentence_to_count

ROOT = Path(__file__).parents[1]
QUICKSTART = ROOT / "examples" / "quickstart.py"


def offline_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTLOOP_")}
    return {**env, "AGENTLOOP_HOME": str(tmp_path), "NO_COLOR": "1", "COLUMNS": "100"}


def test_the_quickstart_runs_offline_and_prints_the_right_answer(tmp_path: Path) -> None:
    ran = subprocess.run(
        [sys.executable, str(QUICKSTART)],
        capture_output=True,
        text=True,
        env=offline_env(tmp_path),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == [
        '-> word_count({"text": "the quick brown fox jumps"})',
        "<- 5",
        '-> Notes_write({"title": "count", "body": "5"})',
        "<- saved 'count'",
        '-> Notes_read({"title": "count"})',
        "<- 5",
        '"the quick brown fox jumps" has 5 words; I noted that down.',
    ]


def test_the_quickstart_shows_the_code_rather_than_importing_it() -> None:
    source = QUICKSTART.read_text()
    assert len(source.splitlines()) <= 65
    shown = ["def word_count(", "(agentloop.Toolbox)", "before_call=", "after_call=", ".chain("]
    assert all(code in source for code in shown)


def test_agentloop_demo_runs_the_quickstart_itself() -> None:
    import agentloop.demo

    assert agentloop.demo.word_count is quickstart().word_count  # one copy of the code
    assert agentloop.demo.Notes is quickstart().Notes
    with pytest.raises(AttributeError):
        agentloop.demo.missing  # noqa: B018


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        ("How many words are in: the quick brown fox jumps", '"the quick brown fox jumps" has 5'),
        ("Count the words of: one", '"one" has 1 word;'),
        ("two words", '"two words" has 2 words;'),
    ],
)
def test_the_scripted_model_counts_the_sentence_not_the_prompt(sentence: str, answer: str) -> None:
    module = quickstart()
    model = FunctionModel(scripted_model, model_id="demo")
    response = model.chain(sentence, tools=[module.word_count, module.Notes()])
    assert response.text().startswith(answer)
    assert [c.name for c in response.tool_calls()] == list(DEMO_TOOLS)


def test_a_second_question_in_the_same_conversation_is_counted_afresh() -> None:
    module = quickstart()
    conversation = FunctionModel(scripted_model).conversation(
        tools=[module.word_count, module.Notes()]
    )
    conversation.chain("Count: a b c")
    assert conversation.chain("Count: a b").text().startswith('"a b" has 2 words')


def test_sentence_to_count() -> None:
    assert sentence_to_count('How many words are in: "hi there"') == "hi there"
    assert sentence_to_count("just this") == "just this"


def test_without_its_tools_the_demo_model_says_what_it_needs() -> None:
    answer = FunctionModel(scripted_model).chain("x").text()
    assert answer.startswith("The demo model needs the demo tools word_count, Notes_write and")
    assert "agentloop demo" in answer


def test_agentloop_chain_with_the_demo_model_and_no_tools_explains(tmp_path: Path) -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "agentloop.cli", "chain", "-m", "demo", "--no-log", "x"],
        capture_output=True,
        text=True,
        env=offline_env(tmp_path),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert "The demo model needs the demo tools" in ran.stdout
    assert "-T agentloop.demo:word_count -T agentloop.demo:Notes" in ran.stdout
