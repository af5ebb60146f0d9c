"""Toolbox: methods as tools, naming, instance state, add_tool, prepare and close."""

import asyncio

import pytest

import agentloop
from agentloop import ToolCall
from agentloop.errors import DuplicateToolError, ToolDefinitionError
from agentloop.toolbox import Toolbox, close_toolboxes, prepare_toolboxes, toolboxes_in
from agentloop.tools import Tool, collect_tools


class Memory(Toolbox):
    """Remembers values for the rest of the conversation."""

    _memory = None

    def _values(self) -> dict[str, str]:
        if self._memory is None:
            self._memory = {}
        return self._memory

    def set(self, key: str, value: str) -> None:
        "Set a value by key"
        self._values()[key] = value

    def get(self, key: str) -> str:
        "Get a value by key"
        return self._values()[key]

    def keys(self) -> list[str]:
        "List the keys"
        return list(self._values())


def run(t: Tool, **arguments: object) -> object:
    return t.invoke(t.validate(ToolCall(t.name, dict(arguments), "c1")))


def by_name(box: Toolbox) -> dict[str, Tool]:
    return {t.name: t for t in box.tools()}


def test_public_methods_become_tools_named_class_underscore_method() -> None:
    assert [t.name for t in Memory().tools()] == ["Memory_set", "Memory_get", "Memory_keys"]


def test_method_docstrings_describe_the_tools_and_self_is_not_a_parameter() -> None:
    get = by_name(Memory())["Memory_get"]
    assert get.description == "Get a value by key"
    assert get.parameters["properties"] == {"key": {"type": "string"}}


def test_the_class_docstring_describes_the_toolbox() -> None:
    assert Memory().description == "Remembers values for the rest of the conversation."


def test_state_lives_on_the_instance_across_calls() -> None:
    tools = by_name(Memory())
    run(tools["Memory_set"], key="a", value="1")
    run(tools["Memory_set"], key="b", value="2")
    assert run(tools["Memory_get"], key="b") == "2"
    assert run(tools["Memory_keys"]) == ["a", "b"]


def test_instances_do_not_share_state() -> None:
    first, second = Memory(), Memory()
    run(by_name(first)["Memory_set"], key="a", value="1")
    assert run(by_name(second)["Memory_keys"]) == []


def test_each_tool_knows_its_toolbox() -> None:
    box = Memory()
    assert all(t.toolbox is box for t in box.tools())


def test_instances_share_one_schema_per_method() -> None:
    assert by_name(Memory())["Memory_set"].parameters is by_name(Memory())["Memory_set"].parameters


class Configured(Toolbox):
    """Greets people."""

    def __init__(self, greeting: str) -> None:
        self.greeting = greeting

    def greet(self, name: str) -> str:
        return f"{self.greeting}, {name}"

    def _helper(self) -> None: ...

    @property
    def shout(self) -> str:
        return self.greeting.upper()

    @staticmethod
    def version() -> str:
        return "1"

    @classmethod
    def kind(cls) -> str:
        return cls.__name__


def test_configuration_comes_through_init_without_calling_super() -> None:
    assert run(by_name(Configured("Hi"))["Configured_greet"], name="Ann") == "Hi, Ann"


def test_private_methods_properties_and_base_methods_are_not_tools() -> None:
    assert sorted(by_name(Configured("Hi"))) == [
        "Configured_greet",
        "Configured_kind",
        "Configured_version",
    ]


class Decorated(Toolbox):
    @agentloop.tool(name="remove_everything", description="Delete it all.", requires_approval=True)
    def delete(self) -> str:
        return "gone"

    @agentloop.tool(sequential=True)
    def write(self, text: str) -> str:
        return text


def test_the_decorator_overrides_a_method_tool_name_and_flags() -> None:
    tools = by_name(Decorated())
    assert set(tools) == {"remove_everything", "Decorated_write"}
    removal = tools["remove_everything"]
    assert (removal.description, removal.requires_approval) == ("Delete it all.", True)
    assert tools["Decorated_write"].sequential


class Child(Memory):
    def get(self, key: str) -> str:
        "Get a value, or an empty string"
        return self._values().get(key, "")

    def clear(self) -> None:
        self._values().clear()


def test_a_subclass_keeps_inherited_tools_and_overrides_in_place() -> None:
    tools = Child().tools()
    assert [t.name for t in tools] == ["Child_set", "Child_get", "Child_keys", "Child_clear"]
    assert tools[1].description == "Get a value, or an empty string"


class AsyncBox(Toolbox):
    async def fetch(self, url: str) -> str:
        await asyncio.sleep(0)
        return url


def test_async_methods_become_async_tools() -> None:
    tool = by_name(AsyncBox())["AsyncBox_fetch"]
    assert tool.is_async
    assert asyncio.run(run(tool, url="u")) == "u"  # type: ignore[arg-type]


# -- instance names --------------------------------------------------------------------------


def test_an_instance_name_prefixes_the_tools() -> None:
    assert Memory().named("work").tools()[0].name == "work_set"
    assert Configured("Hi").named("hello").tools()[0].name == "hello_greet"


def test_the_instance_name_may_be_given_to_init() -> None:
    class Named(Toolbox):
        def ping(self) -> str:
            return "pong"

    assert [t.name for t in Named(instance_name="a").tools()] == ["a_ping"]


def test_two_named_instances_serve_one_conversation() -> None:
    tools = collect_tools([Memory().named("work"), Memory().named("home")])
    assert sorted(tools)[:2] == ["home_get", "home_keys"]
    assert len(tools) == 6


def test_two_unnamed_instances_are_a_clear_error() -> None:
    with pytest.raises(DuplicateToolError, match=r"'Memory_set'.*named"):
        collect_tools([Memory(), Memory()])


def test_an_invalid_instance_name_is_refused() -> None:
    with pytest.raises(ToolDefinitionError, match="instance name"):
        Memory().named("has space")


def test_a_toolbox_class_instead_of_an_instance_is_a_clear_error() -> None:
    with pytest.raises(ToolDefinitionError, match=r"pass an instance, Memory\(\)"):
        collect_tools([Memory])


# -- add_tool --------------------------------------------------------------------------------


def search(query: str) -> str:
    "Search the web."
    return query


def test_add_tool_prefixes_a_function_with_the_toolbox_name() -> None:
    box = Memory()
    added = box.add_tool(search)
    assert added.name == "Memory_search"
    assert added.toolbox is box
    assert box.tools()[-1] is added


def test_add_tool_takes_an_explicit_name_and_keeps_a_ready_tool_s_name() -> None:
    box = Memory()
    assert box.add_tool(search, name="web").name == "web"
    assert box.add_tool(Tool.function(search, name="ready")).name == "ready"


def test_add_tool_refuses_a_taken_name() -> None:
    box = Memory()
    box.add_tool(search)
    with pytest.raises(DuplicateToolError, match="Two tools are named 'Memory_search'"):
        box.add_tool(search)
    assert [t.name for t in box.tools()].count("Memory_search") == 1


def test_naming_after_adding_tools_is_refused() -> None:
    box = Memory()
    box.add_tool(search)
    with pytest.raises(ToolDefinitionError, match="before adding"):
        box.named("late")


# -- prepare and close -----------------------------------------------------------------------


class Remote(Toolbox):
    """Tools listed by a remote server."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def prepare(self) -> None:
        await asyncio.sleep(0)
        self.events.append("prepare")
        self.add_tool(search)

    async def close(self) -> None:
        self.events.append("close")

    def status(self) -> str:
        return "up"


async def test_prepare_runs_once_however_often_and_concurrently_it_is_asked_for() -> None:
    box = Remote()
    await asyncio.gather(box.ensure_prepared(), box.ensure_prepared(), box.ensure_prepared())
    await box.ensure_prepared()
    assert box.events == ["prepare"]
    assert box.prepared


async def test_tools_added_in_prepare_are_listed_once_prepared() -> None:
    box = Remote()
    assert [t.name for t in box.tools()] == ["Remote_status"]
    await prepare_toolboxes([box, search])
    assert list(collect_tools([box])) == ["Remote_status", "Remote_search"]


async def test_close_runs_once_and_only_after_prepare() -> None:
    box = Remote()
    await box.aclose()
    assert box.events == []
    await box.ensure_prepared()
    await box.aclose()
    await box.aclose()
    assert box.events == ["prepare", "close"]
    assert not box.prepared


async def test_prepare_and_close_may_be_plain_methods() -> None:
    class Sync(Toolbox):
        opened = False

        def prepare(self) -> None:  # type: ignore[override]
            self.opened = True

        def close(self) -> None:  # type: ignore[override]
            self.opened = False

    box = Sync()
    await box.ensure_prepared()
    assert box.opened
    await box.aclose()
    assert not box.opened


async def test_close_toolboxes_closes_each_toolbox_once_from_its_tools() -> None:
    first, second = Remote(), Remote().named("other")
    await prepare_toolboxes([first, second])
    tools = collect_tools([first, second])
    await close_toolboxes(tools.values())
    assert (first.events, second.events) == (["prepare", "close"], ["prepare", "close"])


async def test_close_toolboxes_closes_the_others_when_one_fails() -> None:
    class Broken(Remote):
        async def close(self) -> None:
            raise RuntimeError("close failed")

    broken, healthy = Broken(), Remote()
    await prepare_toolboxes([healthy, broken.named("broken")])
    with pytest.raises(RuntimeError, match="close failed"):
        await close_toolboxes([healthy, broken])
    assert healthy.events == ["prepare", "close"]


def test_toolboxes_in_finds_each_toolbox_once() -> None:
    box = Memory()
    assert toolboxes_in([box, *box.tools(), search, Tool.function(search)]) == [box]
