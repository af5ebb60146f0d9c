"""The Anthropic Messages API: message conversion, request/reply codec and the model."""

from agentloop.providers.anthropic.messages import decode_messages, encode_messages
from agentloop.providers.anthropic.model import AnthropicModel, create

__all__ = ["AnthropicModel", "create", "decode_messages", "encode_messages"]
