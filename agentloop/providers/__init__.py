"""One module per wire format: pure request encoding and reply decoding, plus a thin provider.

Each module exposes ``encode_messages`` / ``decode_messages`` (the lossless
message converters behind ``Conversation.to_*`` and ``Conversation.from_*``).
"""
