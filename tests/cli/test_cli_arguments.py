"""The command line's pure pieces: key=value options, -T resolution, exit statuses, errors."""

from __future__ import annotations

import re
from contextlib import chdir
from pathlib import Path

import pytest

import agentloop
from agentloop.cli.app import build_parser, main, with_default_command
from agentloop.cli.errors import UsageError, describe, exit_status
from agentloop.cli.functions_option import load_functions
from agentloop.cli.key_values import (
    join_option_pairs,
    parse_options,
    parse_tool_options,
    parse_value,
)
from agentloop.cli.tools_option import resolve_tools
from agentloop.errors import MissingKeyError, RateLimitError
from agentloop.registry import UnknownModelError
from toolboxes import HTTP, Files, Memory


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
    with pytest.raises(UsageError, match="-o expects KEY VALUE or KEY=VALUE"):
        parse_options([item])


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["-o", "temperature", "0.2", "Hi"], ["-o", "temperature=0.2", "Hi"]),
        (["--option", "stop", "a=b"], ["--option", "stop=a=b"]),
        (["-otemperature", "0.2"], ["-o", "temperature=0.2"]),
        (["--option=seed", "7"], ["--option", "seed=7"]),
        (["-o", "temperature", "-1"], ["-o", "temperature=-1"]),
        (["-o", "temperature=0.2", "Hi"], ["-o", "temperature=0.2", "Hi"]),
        (["-o", "temperature"], ["-o", "temperature"]),  # parse_options says what -o wants
        (["Hi", "--", "-o", "a", "b"], ["Hi", "--", "-o", "a", "b"]),
    ],
)
def test_o_key_value_is_read_as_o_key_equals_value(
    arguments: list[str], expected: list[str]
) -> None:
    assert join_option_pairs(arguments) == expected


def test_tool_options_are_grouped_by_toolbox_and_stay_text() -> None:
    assert parse_tool_options(["Files.root=.", "Files.writable=true", "HTTP.max_bytes=10"]) == {
        "Files": {"root": ".", "writable": "true"},
        "HTTP": {"max_bytes": "10"},
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


def test_a_tool_module_that_fails_to_import_is_a_usage_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_tools_xyz.py").write_text("raise RuntimeError('no config')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UsageError) as raised:
        resolve_tools(["broken_tools_xyz:f"], [], [])
    assert str(raised.value) == (
        "-T broken_tools_xyz:f: importing 'broken_tools_xyz' failed: RuntimeError: no config"
    )


def test_a_toolbox_given_options_it_does_not_take_names_the_ones_it_does() -> None:
    with pytest.raises(UsageError) as raised:
        resolve_tools(["Memory"], [], ["Memory.colour=teal"])
    assert str(raised.value) == (
        "--tool-option Memory.colour: Memory has no option 'colour'; "
        "it takes path, max_keys, max_value_chars, instance_name"
    )


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            "Memory.max_keys=abc",
            "--tool-option Memory.max_keys=abc: Memory.max_keys must be int "
            "(input should be a valid integer, unable to parse string as an integer)",
        ),
        ("Memory.max_keys=1.5", "Memory.max_keys must be int (input should be a valid integer"),
        ("Memory.path=[1]", "Memory.path must be str | os.PathLike[str] | None (got '[1]')"),
    ],
)
def test_a_toolbox_option_of_the_wrong_type_is_a_usage_error_naming_it(
    option: str, message: str
) -> None:
    with pytest.raises(UsageError) as raised:
        resolve_tools(["Memory"], [], [option])
    assert message in str(raised.value)
    assert str(raised.value).startswith(f"--tool-option {option}: ")


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("HTTP.allowed_hosts=python.org", 'give a JSON list, e.g. ["a", "b"]'),
        ("HTTP.allowed_hosts=[1]", "([0]: input should be a valid string)"),
        ("MCP.command=python", "MCP.command must be Sequence[str] | None"),
    ],
)
def test_a_list_option_wants_a_json_list_not_text_read_letter_by_letter(
    option: str, message: str
) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        resolve_tools([option.partition(".")[0]], [], [option])


def test_toolbox_options_are_converted_to_the_types_the_constructor_wants(
    tmp_path: Path,
) -> None:
    root = tmp_path / "2024"  # a folder named like a number: its name is still text
    root.mkdir()
    [memory, files, http] = resolve_tools(
        ["Memory", "Files", "HTTP"],
        [],
        [
            "Memory.max_keys=3",
            f"Files.root={root}",
            "Files.writable=yes",
            'Files.skip_dirs=[".git"]',
            'HTTP.allowed_hosts=[".python.org"]',
            "HTTP.timeout=5",
        ],
    )
    assert isinstance(memory, Memory)
    assert memory.max_keys == 3
    assert isinstance(files, Files)
    assert files.writable is True
    assert files.limits.skip_dirs == frozenset({".git"})
    assert isinstance(http, HTTP)
    assert http.timeout == 5.0
    with chdir(tmp_path):
        [files] = resolve_tools(["Files"], [], ["Files.root=2024"])
    assert isinstance(files, Files)
    assert files.root == root.resolve()


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


def test_functions_also_takes_code_inline() -> None:
    [double, triple] = load_functions(
        "def double(x: int) -> int:\n    return x * 2\n\ndef triple(x: int) -> int: return x * 3"
    )
    assert (double(4), triple(4)) == (8, 12)
    [one_line] = load_functions("def f(x: int) -> int: return x * 2")
    assert one_line(21) == 42


def test_an_existing_file_wins_over_reading_the_value_as_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tools.py").write_text("def from_the_file() -> str:\n    return 'file'\n")
    assert [f.__name__ for f in load_functions("tools.py")] == ["from_the_file"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("tools.py", "--functions tools.py: no such file (give a .py file, or Python code"),
        ("my tools.py", "--functions my tools.py: no such file"),
        ("def f(x) return x", "--functions 'def f(x) return x': the code does not parse (line 1:"),
        ("import os\nx = (", "the code does not parse (line 2:"),
        ("x = 1", "--functions 'x = 1': defines no public function"),
        ("import no_such_module_xyz", "ModuleNotFoundError: No module named 'no_such_module_xyz'"),
        (".", "--functions .: a folder; give a .py file or Python code"),
    ],
)
def test_functions_that_is_neither_a_file_nor_code_says_which_it_took_it_for(
    value: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as raised:
        load_functions(value)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


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
