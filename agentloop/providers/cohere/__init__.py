"""Cohere's v2 Chat API: message conversion, request/reply codec, stream decoder, model."""

from agentloop.providers.cohere.format import COHERE as FORMAT
from agentloop.providers.cohere.messages import decode_messages, encode_messages
from agentloop.providers.cohere.model import CohereModel, create

__all__ = ["FORMAT", "CohereModel", "create", "decode_messages", "encode_messages"]
