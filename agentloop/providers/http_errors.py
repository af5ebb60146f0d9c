"""What an HTTP failure means: its error body, its error class, and how long to wait (pure).

Every function here takes what was received, however hostile (a body that is
not JSON, a ``retry-after`` of ``soon``), and never raises: an unreadable part
is ignored, and the request is treated as if it had not been sent.
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import Mapping
from datetime import UTC

from agentloop.errors import (
    AuthenticationError,
    BadRequestError,
    ContextTooLongError,
    ModelNotFoundError,
    OverloadedError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    ServerError,
)

_CONTEXT_HINTS = (
    "context length",
    "context_length",
    "context window",
    "maximum context",
    "prompt is too long",
    "too many tokens",
    "input is too long",
    "exceeds the maximum number of tokens",
)


def parse_error_body(text: str) -> tuple[str | None, str]:
    """(error type, message) from an error body in the OpenAI, Anthropic or Google shape."""
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        return None, text.strip()[:500]
    if isinstance(body, list) and body:
        body = body[0]  # Gemini's streaming endpoint wraps errors in a list
    if not isinstance(body, dict):
        return None, text.strip()[:500]
    error = body.get("error", body)
    if isinstance(error, str):
        return None, error
    if not isinstance(error, dict):
        return None, text.strip()[:500]
    message = str(error.get("message") or "")
    error_type = error.get("type") or error.get("status") or error.get("code")
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("reason"):
            error_type = detail["reason"]  # Gemini's API_KEY_INVALID is more telling
    return (str(error_type) if error_type is not None else None), message


def classify(status: int, error_type: str | None, message: str) -> type[ProviderError]:
    """Which error an HTTP status (and the provider's error type) means."""
    kind = (error_type or "").lower()
    if status == 401 or kind in ("api_key_invalid", "authentication_error", "invalid_api_key"):
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status == 404:
        return ModelNotFoundError
    if status == 429:
        return RateLimitError
    if status == 529 or "overloaded" in kind or (status == 503 and "overload" in message):
        return OverloadedError
    if status in (408, 409) or status >= 500:
        return ServerError
    lowered = message.lower()
    if kind == "context_length_exceeded" or any(h in lowered for h in _CONTEXT_HINTS):
        return ContextTooLongError
    if status in (400, 413, 422):
        return BadRequestError
    return ProviderError


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date).

    None when neither is there or neither can be read (``soon``, ``0x10``, ``inf``, a
    malformed date): the caller then backs off as usual.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    milliseconds = _seconds(lowered.get("retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000
    value = lowered.get("retry-after")
    if value is None:
        return None
    seconds = _seconds(value)
    return seconds if seconds is not None else _until(value)


def _seconds(value: str | None) -> float | None:
    """A finite, non-negative number of seconds, or None (negative counts as now)."""
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return max(0.0, number) if math.isfinite(number) else None


def _until(value: str) -> float | None:
    """Seconds until an HTTP date, or None if it is not one."""
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # "-0000": UTC, says RFC 5322
    try:
        return max(0.0, moment.timestamp() - time.time())
    except (OverflowError, OSError, ValueError):
        return None
