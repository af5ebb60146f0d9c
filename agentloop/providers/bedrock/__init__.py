"""AWS Bedrock's Converse API: message conversion, request/reply codec, event stream, model."""

from agentloop.providers.bedrock.format import BEDROCK as FORMAT
from agentloop.providers.bedrock.messages import decode_messages, encode_messages
from agentloop.providers.bedrock.model import BedrockModel, create

__all__ = ["FORMAT", "BedrockModel", "create", "decode_messages", "encode_messages"]
