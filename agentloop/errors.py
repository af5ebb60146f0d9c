"""One exception hierarchy for everything agentloop raises.

Every error a user can meet derives from :class:`AgentloopError`, so
``except agentloop.AgentloopError`` is always enough. Errors that also have a
natural built-in meaning (a bad argument, a missing file) inherit from that
built-in as well, so existing ``except ValueError`` code keeps working.
"""

from __future__ import annotations


class AgentloopError(Exception):
    """Base class of every error agentloop raises."""


class MediaError(AgentloopError, ValueError):
    """An image or file could not be loaded or understood."""


class MediaNotFoundError(MediaError, FileNotFoundError):
    """A media path does not exist. The message names the path."""


class ConversionError(AgentloopError, ValueError):
    """A message cannot be converted to or from a provider's wire format.

    Raised, for example, when a part has no representation in the target
    format (audio for Anthropic) or when an imported payload is malformed.
    The message names the provider and the offending part or field.
    """

    def __init__(self, message: str, *, provider: str | None = None) -> None:
        super().__init__(message)
        self.provider = provider


class SerializationError(AgentloopError, ValueError):
    """A ``from_dict`` payload is not something ``to_dict`` produced."""
