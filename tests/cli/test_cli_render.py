"""What the command line shows: streamed Markdown, plain text, tool calls, questions, errors."""

from __future__ import annotations

import io

import pytest

from agentloop.cli.render import SHOWN_RESULT_LINES, Output, split_blocks
from agentloop.cli.session import usage_line
from agentloop.messages import ToolCall, ToolResult
from agentloop.usage import Usage


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_finished_paragraphs_split_off_once_the_next_block_begins() -> None:
    assert split_blocks("One.\n\nTwo") == ("", "One.\n\nTwo")  # "Two" may still grow into a list
    assert split_blocks("One.\n\nTwo is here") == ("One.", "Two is here")
    assert split_blocks("One.\n\nTwo.\n\nThree") == ("One.\n\nTwo.", "Three")


def test_nothing_splits_inside_a_code_fence() -> None:
    text = "```python\na = 1\n\nb = 2\n```\n\nAfter it"
    assert split_blocks(text) == ("```python\na = 1\n\nb = 2\n```", "After it")
    assert split_blocks("```\na = 1\n\nstill code") == ("", "```\na = 1\n\nstill code")


def test_items_of_one_list_and_indented_lines_stay_together() -> None:
    assert split_blocks("- one\n\n- two\n\n  more of two\n") == (
        "",
        "- one\n\n- two\n\n  more of two\n",
    )
    assert split_blocks("1. one\n\n2. two\n") == ("", "1. one\n\n2. two\n")


def test_piped_answers_are_the_model_text_ending_on_a_newline() -> None:
    out = io.StringIO()
    output = Output(stdout=out)
    for chunk in ["Pelicans are ", "**large**", " birds."]:
        output.write(chunk)
    output.end_answer()
    output.end_answer()  # nothing more to settle
    assert out.getvalue() == "Pelicans are **large** birds.\n"


def test_a_terminal_gets_the_answer_rendered_as_markdown() -> None:
    out = FakeTerminal()
    output = Output(stdout=out)
    assert output.markdown
    for chunk in ["# Title\n\nSome ", "**bold** text.\n\n", "```python\nx = 1\n```\n"]:
        output.write(chunk)
    output.end_answer()
    shown = out.getvalue()
    assert "\x1b[" in shown  # styled
    assert "**" not in shown
    assert "# Title" not in shown
    assert "bold" in shown


def test_tool_calls_and_results_are_shown_with_their_arguments() -> None:
    out = io.StringIO()
    output = Output(stdout=out)
    output.write("Let me look.")
    output.tool_call(ToolCall("lookup", {"city": "Zürich"}, "call_1"))
    output.tool_result(ToolResult("lookup", "Sunny\nWarm", "call_1"))
    output.tool_result(ToolResult("lookup", "City not found", "call_2", is_error=True))
    assert out.getvalue() == (
        "Let me look.\n"
        'Tool call: lookup({"city": "Zürich"})\n'
        "  Sunny\n"
        "  Warm\n"
        "  Error: City not found\n"
    )


def test_arguments_that_are_not_json_are_shown_as_sent() -> None:
    out = io.StringIO()
    Output(stdout=out).tool_call(ToolCall("lookup", {}, "call_1", raw_arguments="{city: Paris"))
    assert out.getvalue() == "Tool call: lookup({city: Paris)\n"


def test_a_long_tool_result_is_cut_in_the_display() -> None:
    out = io.StringIO()
    lines = [f"line {i}" for i in range(SHOWN_RESULT_LINES + 5)]
    Output(stdout=out).tool_result(ToolResult("read", "\n".join(lines), "call_1"))
    shown = out.getvalue().splitlines()
    assert len(shown) == SHOWN_RESULT_LINES + 1
    assert shown[-1] == "  ... (5 more lines)"


def test_an_error_is_one_line_on_stderr_however_long() -> None:
    out, err = io.StringIO(), io.StringIO()
    Output(stdout=out, stderr=err).error("x" * 300 + " [not markup]")
    assert out.getvalue() == ""
    assert err.getvalue() == "Error: " + "x" * 300 + " [not markup]\n"


@pytest.mark.parametrize(("typed", "answer"), [("y\n", True), ("n\n", False), ("", False)])
def test_confirm_reads_yes_or_no_and_end_of_input_means_no(
    monkeypatch: pytest.MonkeyPatch, typed: str, answer: bool
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    assert Output(stdout=io.StringIO(), stderr=io.StringIO()).confirm("Run it?") is answer


def test_usage_line_names_cached_and_reasoning_tokens_when_reported() -> None:
    assert usage_line(Usage(1200, 30)) == "Token usage: 1,200 input, 30 output"
    assert usage_line(Usage(10, 5, cached_input_tokens=4, reasoning_tokens=2)) == (
        "Token usage: 10 input, 5 output (4 cached, 2 reasoning)"
    )
    written = Usage(10, 5, cached_input_tokens=4, details={"cache_creation_input_tokens": 6})
    assert usage_line(written) == ("Token usage: 10 input, 5 output (4 cached, 6 written to cache)")
