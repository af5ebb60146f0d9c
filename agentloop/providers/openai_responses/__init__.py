"""The OpenAI Responses API: the model (`model`), its wire codec (`request`, `reply`,
`stream`) and the lossless message converter (`messages`)."""

from agentloop.providers.openai_responses.messages import (
    decode_messages,
    decode_output,
    encode_messages,
)
from agentloop.providers.openai_responses.model import OpenAIResponsesModel, create

__all__ = ["OpenAIResponsesModel", "create", "decode_messages", "decode_output", "encode_messages"]
