"""A model releases its connections when closed, or at the end of a `with` block."""

from __future__ import annotations

import openai_chat_wire
from local_server import LocalServer

from agentloop import TestModel
from agentloop.providers.openai_chat import OpenAIChatModel


async def test_an_async_model_closes_its_session_at_the_end_of_async_with(
    local_server: LocalServer,
) -> None:
    local_server.reply(openai_chat_wire.completion("hi"))
    model = OpenAIChatModel("gpt-4.1-mini", base_url=local_server.url, api_key="sk-1")
    async with model.to_async() as amodel:
        assert (await amodel.prompt("hello")).text() == "hi"
        session = model.async_transport._session
        assert session is not None
        assert not session.closed
    assert session.closed


def test_a_model_is_a_context_manager_and_offline_models_close_as_a_no_op(
    local_server: LocalServer,
) -> None:
    local_server.reply(openai_chat_wire.completion("hi"))
    with OpenAIChatModel("gpt-4.1-mini", base_url=local_server.url, api_key="sk-1") as model:
        assert model.prompt("hello").text() == "hi"
    with TestModel() as offline:
        assert offline.prompt("hello").text()
