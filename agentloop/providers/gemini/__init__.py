"""The gemini wire format: lossless message conversion (`messages`), request encoding
(`request`), reply and stream decoding (`reply`, `stream`) and the provider (`model`)."""

from agentloop.providers.gemini.messages import decode_messages, encode_messages
from agentloop.providers.gemini.model import GeminiModel, create

__all__ = ["GeminiModel", "create", "decode_messages", "encode_messages"]
