"""Memory: set, get, keys and delete, in memory or persisted to a JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentloop import FunctionModel, Request, ToolCall, ToolError
from toolboxes import Memory


def test_values_can_be_set_read_listed_and_deleted() -> None:
    memory = Memory()
    assert memory.set("colour", "teal") == "Remembered 'colour'."
    memory.set("animal", "panda")
    assert memory.get("colour") == "teal"
    assert memory.keys() == ["animal", "colour"]
    assert memory.delete("colour") == "Forgot 'colour'."
    assert memory.keys() == ["animal"]


def test_a_missing_key_is_an_error_naming_the_known_keys() -> None:
    memory = Memory()
    memory.set("colour", "teal")
    with pytest.raises(ToolError, match=r"Nothing is stored under 'color'. Known keys: 'colour'"):
        memory.get("color")
    with pytest.raises(ToolError, match="Nothing is stored under 'color'"):
        memory.delete("color")


def test_limits_are_enforced_with_advice() -> None:
    memory = Memory(max_keys=1, max_value_chars=5)
    with pytest.raises(ToolError, match="the limit is 5"):
        memory.set("k", "123456")
    memory.set("k", "12345")
    memory.set("k", "54321")  # replacing a key does not count against max_keys
    with pytest.raises(ToolError, match=r"Memory is full \(1 keys\)"):
        memory.set("other", "x")
    with pytest.raises(ToolError, match="key is empty"):
        memory.set("  ", "x")


def test_values_persist_to_a_json_file_and_load_back(tmp_path: Path) -> None:
    path = tmp_path / "state" / "memory.json"
    first = Memory(path)
    first.set("colour", "teal")
    first.set("city", "Oslo")
    first.delete("city")
    assert json.loads(path.read_text()) == {"colour": "teal"}
    assert Memory(path).get("colour") == "teal"
    assert [p.name for p in path.parent.iterdir()] == ["memory.json"]  # no temp files left


def test_a_corrupt_memory_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "memory.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        Memory(path)
    path.write_text('{"a": 1}')
    with pytest.raises(ValueError, match="JSON object of strings"):
        Memory(path)


def test_memory_lives_across_turns_of_a_conversation() -> None:
    def play(request: Request) -> Any:
        last = request.messages[-1]
        if last.role == "tool":
            return last.tool_results[0].output
        if "remember" in last.text:
            return ToolCall("Memory_set", {"key": "colour", "value": "teal"}, "c1")
        return ToolCall("Memory_get", {"key": "colour"}, "c2")

    memory = Memory()
    conversation = FunctionModel(play).conversation(tools=[memory])
    conversation.chain("remember my favourite colour is teal")
    assert conversation.chain("what is my favourite colour?").text() == "teal"
    assert sorted(t.name for t in memory.tools()) == [
        "Memory_delete",
        "Memory_get",
        "Memory_keys",
        "Memory_set",
    ]
