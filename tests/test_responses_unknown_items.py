"""Responses output items of a type agentloop does not know: kept as a ProviderPart, sent back
to the Responses API unchanged, and left out for other formats (a part with no rendering,
by the rule of `agentloop.portable.portable`)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from responses_events import message, reply

from agentloop import Message, ProviderPart, ResponseFormatError
from agentloop.conversation import Conversation
from agentloop.providers.anthropic.messages import encode_messages as to_anthropic
from agentloop.providers.gemini.messages import encode_messages as to_gemini
from agentloop.providers.openai_chat.messages import encode_messages as to_chat
from agentloop.providers.openai_responses.fields import OPENAI_RESPONSES
from agentloop.providers.openai_responses.messages import decode_messages, encode_messages
from agentloop.providers.openai_responses.reply import decode_reply

ITEM = {
    "type": "local_shell_call_v9",
    "id": "lsh_1",
    "status": "completed",
    "action": {"command": ["ls", "-la"], "env": {}, "timeout_ms": None},
}


def decoded() -> Message:
    return decode_reply(reply(ITEM, message("Listed."))).message


def test_an_unknown_output_item_is_kept_as_received() -> None:
    answer = decoded()

    (part,) = [p for p in answer.parts if isinstance(p, ProviderPart)]
    assert (part.provider, part.kind, part.payload, part.text) == (
        OPENAI_RESPONSES,
        "local_shell_call_v9",
        ITEM,
        "",
    )
    assert answer.text == "Listed."


def test_it_goes_back_to_the_responses_api_byte_for_byte() -> None:
    items = encode_messages([Message.user("Go"), decoded()])

    assert json.dumps(items[1]) == json.dumps(ITEM)


def test_other_formats_leave_it_out_and_keep_the_answer() -> None:
    history = [Message.user("Go"), decoded()]

    for sent in (to_chat(history), to_anthropic(history)[1], to_gemini(history)[1]):
        text = json.dumps(sent)
        assert "lsh_1" not in text
        assert "Listed." in text


def test_it_survives_serialization_and_the_input_converters() -> None:
    answer = decoded()
    restored = Message.from_dict(json.loads(json.dumps(answer.to_dict())))
    items = Conversation([Message.user("Go"), restored]).to_openai_responses()

    assert restored == answer
    assert decode_messages(items)[1] == answer


@pytest.mark.parametrize(
    "item",
    [{"type": 7}, {"type": ""}, {"type": None}, {"type": "function_call_output", "call_id": "c"}],
)
def test_an_item_that_is_no_output_item_is_a_typed_error(item: dict[str, Any]) -> None:
    with pytest.raises(ResponseFormatError, match=r"output\[0\]\.type") as info:
        decode_reply(reply(item, message("Hi")))
    assert info.value.provider == OPENAI_RESPONSES
