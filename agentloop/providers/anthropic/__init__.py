"""The anthropic wire format: lossless message conversion (`messages`)."""

from agentloop.providers.anthropic.messages import decode_messages, encode_messages

__all__ = ["decode_messages", "encode_messages"]
