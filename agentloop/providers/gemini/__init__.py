"""The gemini wire format: lossless message conversion (`messages`), request encoding
(`request`), reply and stream decoding (`reply`, `stream`) and the provider (`model`)."""

from agentloop.providers.gemini.format import GEMINI as FORMAT
from agentloop.providers.gemini.messages import decode_messages, encode_messages
from agentloop.providers.gemini.model import GeminiModel, create
from agentloop.providers.gemini.schema import gemini_subset
from agentloop.schema_transforms import register_schema_transforms

__all__ = ["FORMAT", "GeminiModel", "create", "decode_messages", "encode_messages"]

# What ``Tool.schema(provider=FORMAT, strict=...)`` means: (plain, strict) transforms.
register_schema_transforms(FORMAT, gemini_subset, gemini_subset)
