"""The command line's pure pieces: key=value options, -T resolution, exit statuses, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import agentloop
from agentloop.cli.app import build_parser, main, with_default_command
from agentloop.cli.errors import UsageError, describe, exit_status
from agentloop.cli.key_values import parse_options, parse_tool_options, parse_value
from agentloop.cli.tools_option import load_functions, resolve_tools
from agentloop.errors import MissingKeyError, RateLimitError
from agentloop.registry import UnknownModelError
from toolboxes import Files, Memory


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.2", 0.2),
        ("7", 7),
        ("true", True),
        ("null", None),
        ('["a", "b"]', ["a", "b"]),
        ('{"k": 1}', {"k": 1}),
        ("low", "low"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_option_values_are_json_when_they_parse_else_text(text: str, value: object) -> None:
    assert parse_value(text) == value


def test_options_become_a_dict_and_a_later_key_wins() -> None:
    assert parse_options(["temperature=0.2", "stop=END", "temperature=1"]) == {
        "temperature": 1,
        "stop": "END",
    }


@pytest.mark.parametrize("item", ["temperature", "=3", " =3"])
def test_an_option_without_key_and_value_is_a_usage_error(item: str) -> None:
    with pytest.raises(UsageError, match="-o expects key=value"):
        parse_options([item])


def test_tool_options_are_grouped_by_toolbox() -> None:
    assert parse_tool_options(["Files.root=.", "Files.writable=true", "HTTP.max_bytes=10"]) == {
        "Files": {"root": ".", "writable": True},
        "HTTP": {"max_bytes": 10},
    }


def test_a_tool_option_must_name_its_toolbox() -> None:
    with pytest.raises(UsageError, match=r"ToolboxName\.key=value"):
        parse_tool_options(["root=."])


def test_built_in_toolboxes_are_found_by_name_in_any_case(tmp_path: Path) -> None:
    memory, files = resolve_tools(["memory", "Files"], [], [f"Files.root={tmp_path}"])
    assert isinstance(memory, Memory)
    assert isinstance(files, Files)


def test_module_paths_name_functions_classes_and_attributes() -> None:
    [function, toolbox] = resolve_tools(
        ["agentloop.demo:word_count", "agentloop.demo:Notes"], [], []
    )
    assert function is agentloop.demo.word_count  # type: ignore[attr-defined]
    assert isinstance(toolbox, agentloop.demo.Notes)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("Nope", "Unknown tool 'Nope'"),
        ("no_such_module_xyz:f", "cannot import 'no_such_module_xyz'"),
        ("agentloop.demo:missing", "has no 'missing'"),
        ("agentloop.demo:PROMPT", "a str is not a tool"),
        ("json:JSONDecoder", "a class is not a tool"),
    ],
)
def test_a_tool_that_cannot_be_found_is_a_usage_error(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        resolve_tools([spec], [], [])


def test_a_toolbox_given_options_it_does_not_take_names_the_ones_it_does() -> None:
    with pytest.raises(UsageError, match=r"Memory: .*it takes path, max_keys"):
        resolve_tools(["Memory"], [], ["Memory.colour=teal"])


def test_a_toolbox_missing_a_required_option_says_how_to_give_it() -> None:
    with pytest.raises(UsageError, match=r"--tool-option Files\.root="):
        resolve_tools(["Files"], [], [])


def test_a_tool_option_for_no_toolbox_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no -T gives a toolbox class called 'Files'"):
        resolve_tools(["Memory"], [], ["Files.root=."])


def test_functions_file_gives_public_functions_defined_there(tmp_path: Path) -> None:
    file = tmp_path / "tools.py"
    file.write_text(
        "from os.path import join\n"
        "def add(a: int, b: int) -> int:\n    return a + b\n"
        "def _private() -> None:\n    pass\n"
        "lambda_value = lambda: 1\n"
    )
    assert [f.__name__ for f in load_functions(str(file))] == ["add"]


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), ("def broken(:\n", "SyntaxError"), ("X = 1\n", "no public function")],
)
def test_a_functions_file_that_gives_no_tools_is_a_usage_error(
    tmp_path: Path, content: str | None, message: str
) -> None:
    file = tmp_path / "tools.py"
    if content is not None:
        file.write_text(content)
    with pytest.raises(UsageError, match=message):
        load_functions(str(file))


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["Hello"], ["prompt", "Hello"]),
        (["-m", "test", "Hello"], ["prompt", "-m", "test", "Hello"]),
        (["--debug", "Hello"], ["--debug", "prompt", "Hello"]),
        (["chat", "-m", "test"], ["chat", "-m", "test"]),
        (["--debug", "logs"], ["--debug", "logs"]),
        (["--help"], ["--help"]),
        ([], []),
    ],
)
def test_text_without_a_command_is_a_prompt(arguments: list[str], expected: list[str]) -> None:
    assert with_default_command(arguments) == expected


def test_debug_is_accepted_before_and_after_the_command() -> None:
    parser = build_parser()
    assert parser.parse_args(["--debug", "prompt", "x"]).debug is True
    assert parser.parse_args(["prompt", "--debug", "x"]).debug is True
    assert parser.parse_args(["prompt", "x"]).debug is False


def test_version_and_help_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"agentloop {agentloop.__version__}"
    assert main([]) == 0  # no command: the help
    assert "chain" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (UsageError("bad"), 2),
        (UnknownModelError("Unknown model 'x'"), 2),
        (ValueError("Anthropic has no seed option"), 2),
        (MissingKeyError("set OPENAI_API_KEY"), 1),
        (RateLimitError("slow down", provider="openai", status=429), 1),
        (RuntimeError("boom"), 1),
    ],
)
def test_exit_statuses(error: Exception, status: int) -> None:
    assert exit_status(error) == status


def test_an_error_is_described_in_one_line() -> None:
    assert describe(UsageError("two\nlines")) == "two lines"
    assert describe(RateLimitError("slow down", provider="openai", status=429)) == (
        "openai 429: slow down"
    )


def test_an_unexpected_error_names_its_type_and_points_to_debug() -> None:
    assert describe(RuntimeError("boom")) == "RuntimeError: boom (--debug shows the traceback)"
