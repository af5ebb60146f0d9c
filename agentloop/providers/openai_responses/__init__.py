"""The openai responses wire format: lossless message conversion (`messages`)."""

from agentloop.providers.openai_responses.messages import decode_messages, encode_messages

__all__ = ["decode_messages", "encode_messages"]
