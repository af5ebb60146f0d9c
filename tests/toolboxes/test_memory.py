"""Memory: set, get, keys and delete, in memory or persisted to a JSON file."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
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


def test_two_instances_on_one_file_keep_each_others_updates(tmp_path: Path) -> None:
    path = tmp_path / "memory.json"
    first, second = Memory(path), Memory(path)
    first.set("a", "from the first")
    second.set("b", "from the second")
    assert json.loads(path.read_text()) == {"a": "from the first", "b": "from the second"}
    assert second.get("a") == "from the first"
    assert first.keys() == ["a", "b"]
    first.delete("b")
    with pytest.raises(ToolError, match="Nothing is stored under 'b'"):
        second.get("b")
    assert [p.name for p in tmp_path.iterdir()] == ["memory.json"]  # no lock or temp files


def test_concurrent_writers_on_one_file_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "memory.json"
    instances = [Memory(path) for _ in range(4)]
    start = threading.Barrier(len(instances))

    def write(n: int) -> None:
        start.wait(timeout=10)
        for i in range(25):
            instances[n].set(f"key {n} {i}", "x")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(len(instances))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert len(json.loads(path.read_text())) == 100
    assert len(Memory(path).keys()) == 100


def test_the_key_limit_counts_keys_set_by_other_instances(tmp_path: Path) -> None:
    path = tmp_path / "memory.json"
    first, second = Memory(path, max_keys=1), Memory(path, max_keys=1)
    first.set("a", "x")
    with pytest.raises(ToolError, match="Memory is full"):
        second.set("b", "y")


def test_processes_sharing_a_file_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "memory.json"
    script = (
        "import sys\nfrom toolboxes import Memory\nmemory = Memory(sys.argv[1])\n"
        "for i in range(30):\n    memory.set(f'{sys.argv[2]} {i}', 'x')\n"
    )
    writers = [subprocess.Popen([sys.executable, "-c", script, str(path), name]) for name in "ab"]
    assert [writer.wait(timeout=60) for writer in writers] == [0, 0]
    assert len(Memory(path).keys()) == 60
