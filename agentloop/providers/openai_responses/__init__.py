"""The OpenAI Responses API: the model (`model`), its wire codec (`request`, `reply`,
`stream`) and the lossless message converter (`messages`)."""

from agentloop.providers.openai_responses.fields import FORMAT
from agentloop.providers.openai_responses.messages import (
    decode_messages,
    decode_output,
    encode_messages,
)
from agentloop.providers.openai_responses.model import OpenAIResponsesModel, create
from agentloop.providers.openai_strict import openai_strict
from agentloop.schema_transforms import register_schema_transforms

__all__ = [
    "FORMAT",
    "OpenAIResponsesModel",
    "create",
    "decode_messages",
    "decode_output",
    "encode_messages",
]

# What ``Tool.schema(provider=FORMAT, strict=...)`` means: (plain, strict) transforms.
register_schema_transforms(FORMAT, None, openai_strict)
