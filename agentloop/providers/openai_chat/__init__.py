"""The OpenAI Chat Completions wire format: messages, requests, replies, streams and models.

``messages`` converts the history losslessly; ``request``, ``reply`` and
``stream`` are the pure encoding and decoding of one call; ``model`` holds the
HTTP models (OpenAI, any compatible server, Ollama) and their registry factories.
"""

from agentloop.providers.openai_chat.messages import OPENAI as FORMAT
from agentloop.providers.openai_chat.messages import (
    attachment_marker,
    decode_assistant,
    decode_messages,
    encode_messages,
)
from agentloop.providers.openai_chat.model import (
    OllamaModel,
    OpenAIChatModel,
    OpenAICompatibleModel,
    create,
    create_compatible,
    create_ollama,
    ollama_base_url,
)
from agentloop.providers.openai_chat.reply import decode_reply, decode_usage
from agentloop.providers.openai_chat.request import encode_body, encode_tool, response_format
from agentloop.providers.openai_chat.stream import ChatStreamDecoder
from agentloop.providers.openai_strict import openai_strict
from agentloop.schema_transforms import register_schema_transforms

__all__ = [
    "FORMAT",
    "ChatStreamDecoder",
    "OllamaModel",
    "OpenAIChatModel",
    "OpenAICompatibleModel",
    "attachment_marker",
    "create",
    "create_compatible",
    "create_ollama",
    "decode_assistant",
    "decode_messages",
    "decode_reply",
    "decode_usage",
    "encode_body",
    "encode_messages",
    "encode_tool",
    "ollama_base_url",
    "response_format",
]

# What ``Tool.schema(provider=FORMAT, strict=...)`` means: (plain, strict) transforms.
register_schema_transforms(FORMAT, None, openai_strict)
