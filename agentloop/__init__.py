"""agentloop: a small, fast, correct tool-loop library for LLM agents.

Only public names live here; each is defined in the module named after it.
"""

from agentloop.conversation import Conversation
from agentloop.errors import (
    AgentloopError,
    ConversionError,
    MediaError,
    MediaNotFoundError,
    SerializationError,
)
from agentloop.media import Attachment, File, Image
from agentloop.messages import Message, Part, Role, Text, Thinking, ToolCall, ToolResult

__version__ = "0.1.0"

__all__ = [
    "AgentloopError",
    "Attachment",
    "Conversation",
    "ConversionError",
    "File",
    "Image",
    "MediaError",
    "MediaNotFoundError",
    "Message",
    "Part",
    "Role",
    "SerializationError",
    "Text",
    "Thinking",
    "ToolCall",
    "ToolResult",
    "__version__",
]
