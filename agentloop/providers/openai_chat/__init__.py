"""The openai chat wire format: lossless message conversion (`messages`)."""

from agentloop.providers.openai_chat.messages import (
    attachment_marker,
    decode_messages,
    encode_messages,
)

__all__ = ["attachment_marker", "decode_messages", "encode_messages"]
