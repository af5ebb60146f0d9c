"""The Anthropic Messages API: message conversion, request/reply codec and the model."""

from agentloop.providers.anthropic.format import ANTHROPIC as FORMAT
from agentloop.providers.anthropic.messages import decode_messages, encode_messages
from agentloop.providers.anthropic.model import AnthropicModel, create
from agentloop.providers.anthropic.schema import structured_schema
from agentloop.schema_transforms import register_schema_transforms

__all__ = ["FORMAT", "AnthropicModel", "create", "decode_messages", "encode_messages"]

# What ``Tool.schema(provider=FORMAT, strict=...)`` means: (plain, strict) transforms.
register_schema_transforms(FORMAT, None, structured_schema)
