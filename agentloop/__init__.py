"""agentloop: a small, fast, correct tool-loop library for LLM agents.

Only public names live here; each is defined in the module named after it. They are imported
on first use (PEP 562 ``__getattr__``), so ``import agentloop`` costs next to nothing, and a
program that runs no batch and calls no HTTP provider never loads httpx, tenacity or rich. The
``TYPE_CHECKING`` block tells type checkers and IDEs the same names, with their types.
"""

from __future__ import annotations

import importlib

# Not typing.TYPE_CHECKING: importing typing would be most of this module's cost. Type
# checkers read a module-level TYPE_CHECKING = False the same way.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from agentloop.batch import BatchResult, LLMClient
    from agentloop.context import RunContext
    from agentloop.conversation import AsyncConversation, Conversation
    from agentloop.errors import (
        AgentloopError,
        AuthenticationError,
        BadRequestError,
        BudgetExceeded,
        CancelToolCall,
        ChainLimitExceeded,
        ContextTooLongError,
        ConversationBusyError,
        ConversionError,
        DuplicateToolError,
        InvalidOptionError,
        MediaError,
        MediaFetchError,
        MediaNotFoundError,
        MediaTooLargeError,
        MissingKeyError,
        ModelNotFoundError,
        OptionError,
        OutputRetriesExceeded,
        OverloadedError,
        PauseChain,
        PermissionDeniedError,
        PromptNotRun,
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
        UnknownPriceError,
        UnsupportedServerToolError,
    )
    from agentloop.fallback import FallbackModel
    from agentloop.history_processors import (
        FitTokens,
        HistoryContext,
        HistoryProcessor,
        HistoryProcessorError,
        KeepRecent,
        SummarizeOldTurns,
        TrimToolResults,
    )
    from agentloop.media import Attachment, File, Image
    from agentloop.messages import (
        Citation,
        Message,
        Part,
        ProviderPart,
        Role,
        Text,
        Thinking,
        ToolCall,
        ToolResult,
    )
    from agentloop.model import AsyncModel, Model
    from agentloop.providers.base import Delta, Reply, Request
    from agentloop.providers.endpoints import Endpoint
    from agentloop.providers.offline import FunctionModel, TestModel
    from agentloop.registry import (
        UnknownModelError,
        get_async_model,
        get_model,
        register_alias,
        register_endpoint,
        register_model,
    )
    from agentloop.response import ChainResponse, ChainState, Prompt, Response
    from agentloop.server_tools import CodeExecution, UserLocation, WebSearch
    from agentloop.token_count import TokenCount
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
    "BudgetExceeded",
    "CancelToolCall",
    "ChainLimitExceeded",
    "ChainResponse",
    "ChainState",
    "Citation",
    "CodeExecution",
    "ContextTooLongError",
    "Conversation",
    "ConversationBusyError",
    "ConversionError",
    "Delta",
    "DuplicateToolError",
    "Endpoint",
    "FallbackModel",
    "File",
    "FitTokens",
    "FunctionModel",
    "HistoryContext",
    "HistoryProcessor",
    "HistoryProcessorError",
    "Image",
    "InvalidOptionError",
    "KeepRecent",
    "LLMClient",
    "MediaError",
    "MediaFetchError",
    "MediaNotFoundError",
    "MediaTooLargeError",
    "Message",
    "MissingKeyError",
    "Model",
    "ModelNotFoundError",
    "OptionError",
    "OutputRetriesExceeded",
    "OverloadedError",
    "Part",
    "PauseChain",
    "PermissionDeniedError",
    "Prompt",
    "PromptNotRun",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderPart",
    "ProviderTimeoutError",
    "RateLimitError",
    "Reply",
    "Request",
    "Response",
    "ResponseFormatError",
    "ResumeError",
    "Role",
    "RunContext",
    "SerializationError",
    "ServerError",
    "StreamIncomplete",
    "StructuredOutputError",
    "SummarizeOldTurns",
    "TestModel",
    "Text",
    "Thinking",
    "TokenCount",
    "Tool",
    "ToolArgumentsError",
    "ToolCall",
    "ToolDefinitionError",
    "ToolError",
    "ToolResult",
    "ToolRetriesExceeded",
    "ToolReturn",
    "Toolbox",
    "TrimToolResults",
    "UnknownModelError",
    "UnknownOptionError",
    "UnknownPriceError",
    "UnsupportedServerToolError",
    "Usage",
    "UserLocation",
    "WebSearch",
    "__version__",
    "get_async_model",
    "get_model",
    "register_alias",
    "register_endpoint",
    "register_model",
    "tool",
]

#: Where each public name is defined, by module (the same imports as the TYPE_CHECKING block).
_MODULES: dict[str, tuple[str, ...]] = {
    "agentloop.batch": ("BatchResult", "LLMClient"),
    "agentloop.context": ("RunContext",),
    "agentloop.conversation": ("AsyncConversation", "Conversation"),
    "agentloop.errors": (
        "AgentloopError",
        "AuthenticationError",
        "BadRequestError",
        "BudgetExceeded",
        "CancelToolCall",
        "ChainLimitExceeded",
        "ContextTooLongError",
        "ConversationBusyError",
        "ConversionError",
        "DuplicateToolError",
        "InvalidOptionError",
        "MediaError",
        "MediaFetchError",
        "MediaNotFoundError",
        "MediaTooLargeError",
        "MissingKeyError",
        "ModelNotFoundError",
        "OptionError",
        "OutputRetriesExceeded",
        "OverloadedError",
        "PauseChain",
        "PermissionDeniedError",
        "PromptNotRun",
        "ProviderConnectionError",
        "ProviderError",
        "ProviderTimeoutError",
        "RateLimitError",
        "ResponseFormatError",
        "ResumeError",
        "SerializationError",
        "ServerError",
        "StreamIncomplete",
        "StructuredOutputError",
        "ToolArgumentsError",
        "ToolDefinitionError",
        "ToolError",
        "ToolRetriesExceeded",
        "UnknownOptionError",
        "UnknownPriceError",
        "UnsupportedServerToolError",
    ),
    "agentloop.fallback": ("FallbackModel",),
    "agentloop.history_processors": (
        "FitTokens",
        "HistoryContext",
        "HistoryProcessor",
        "HistoryProcessorError",
        "KeepRecent",
        "SummarizeOldTurns",
        "TrimToolResults",
    ),
    "agentloop.media": ("Attachment", "File", "Image"),
    "agentloop.messages": (
        "Citation",
        "Message",
        "Part",
        "ProviderPart",
        "Role",
        "Text",
        "Thinking",
        "ToolCall",
        "ToolResult",
    ),
    "agentloop.model": ("AsyncModel", "Model"),
    "agentloop.providers.base": ("Delta", "Reply", "Request"),
    "agentloop.providers.endpoints": ("Endpoint",),
    "agentloop.providers.offline": ("FunctionModel", "TestModel"),
    "agentloop.registry": (
        "UnknownModelError",
        "get_async_model",
        "get_model",
        "register_alias",
        "register_endpoint",
        "register_model",
    ),
    "agentloop.response": ("ChainResponse", "ChainState", "Prompt", "Response"),
    "agentloop.server_tools": ("CodeExecution", "UserLocation", "WebSearch"),
    "agentloop.token_count": ("TokenCount",),
    "agentloop.toolbox": ("Toolbox",),
    "agentloop.tools": ("Tool", "ToolReturn", "tool"),
    "agentloop.usage": ("Usage",),
}
_SOURCE = {name: module for module, names in _MODULES.items() for name in names}


# Only at run time: a type checker that saw a module __getattr__ would accept any misspelt name.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        module = _SOURCE.get(name)
        if module is None:
            raise AttributeError(f"module 'agentloop' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # later lookups find it without calling this function
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
