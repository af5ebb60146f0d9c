"""agentloop: a small, fast, correct tool-loop library for LLM agents.

Only public names live here; each is defined in the module named after it.
"""

from agentloop.batch import BatchResult, LLMClient
from agentloop.conversation import AsyncConversation, Conversation
from agentloop.errors import (
    AgentloopError,
    AuthenticationError,
    BadRequestError,
    CancelToolCall,
    ChainLimitExceeded,
    ContextTooLongError,
    ConversionError,
    DuplicateToolError,
    MediaError,
    MediaNotFoundError,
    MissingKeyError,
    ModelNotFoundError,
    OptionError,
    OverloadedError,
    PauseChain,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ResponseFormatError,
    ResumeError,
    SerializationError,
    ServerError,
    StreamIncomplete,
    StructuredOutputError,
    ToolArgumentsError,
    ToolDefinitionError,
    ToolError,
    ToolRetriesExceeded,
    UnknownOptionError,
)
from agentloop.media import Attachment, File, Image
from agentloop.messages import Message, Part, Role, Text, Thinking, ToolCall, ToolResult
from agentloop.model import AsyncModel, Model
from agentloop.providers.base import Delta, Reply, Request
from agentloop.providers.offline import FunctionModel, TestModel
from agentloop.registry import (
    UnknownModelError,
    get_async_model,
    get_model,
    register_alias,
    register_model,
)
from agentloop.response import ChainResponse, ChainState, Prompt, Response
from agentloop.toolbox import Toolbox
from agentloop.tools import Tool, ToolReturn, tool
from agentloop.usage import Usage

__version__ = "0.1.0"

__all__ = [
    "AgentloopError",
    "AsyncConversation",
    "AsyncModel",
    "Attachment",
    "AuthenticationError",
    "BadRequestError",
    "BatchResult",
    "CancelToolCall",
    "ChainLimitExceeded",
    "ChainResponse",
    "ChainState",
    "ContextTooLongError",
    "Conversation",
    "ConversionError",
    "Delta",
    "DuplicateToolError",
    "File",
    "FunctionModel",
    "Image",
    "LLMClient",
    "MediaError",
    "MediaNotFoundError",
    "Message",
    "MissingKeyError",
    "Model",
    "ModelNotFoundError",
    "OptionError",
    "OverloadedError",
    "Part",
    "PauseChain",
    "PermissionDeniedError",
    "Prompt",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderTimeoutError",
    "RateLimitError",
    "Reply",
    "Request",
    "Response",
    "ResponseFormatError",
    "ResumeError",
    "Role",
    "SerializationError",
    "ServerError",
    "StreamIncomplete",
    "StructuredOutputError",
    "TestModel",
    "Text",
    "Thinking",
    "Tool",
    "ToolArgumentsError",
    "ToolCall",
    "ToolDefinitionError",
    "ToolError",
    "ToolResult",
    "ToolRetriesExceeded",
    "ToolReturn",
    "Toolbox",
    "UnknownModelError",
    "UnknownOptionError",
    "Usage",
    "__version__",
    "get_async_model",
    "get_model",
    "register_alias",
    "register_model",
    "tool",
]
