"""Keeping API keys out of errors and logs: what counts as a secret, and masking it.

A server or proxy may echo the request's headers in an error body; a debug
log shows bodies and headers. Both pass through here first: every header
whose name says it carries a credential is masked, and so is each secret
value (the key itself, a whole ``Bearer ...`` value and its token) wherever
it appears in a text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from agentloop.errors import ProviderError

#: What a secret is replaced with.
MASK = "[redacted]"
#: Shorter values are not keys, and masking them would garble ordinary words.
MIN_SECRET_LENGTH = 8
_CREDENTIAL_WORDS = ("auth", "key", "token", "secret", "cookie", "password")


def is_credential(header: str) -> bool:
    """Whether a header's name says its value is a credential (``authorization``,
    ``x-api-key``, ``x-goog-api-key``, ``api-key``, ``cookie``...)."""
    lowered = header.lower()
    return any(word in lowered for word in _CREDENTIAL_WORDS)


def secrets_of(headers: Mapping[str, str], keys: Iterable[str | None] = ()) -> tuple[str, ...]:
    """The values to mask: ``keys``, and the credential headers' values and their tokens
    (``Bearer sk-...`` gives the whole value and ``sk-...``), longest first."""
    found = {key for key in keys if key}
    for name, value in headers.items():
        if is_credential(name) and value:
            found.add(value)
            found.update(part for part in value.split() if part)
    usable = (s for s in found if len(s) >= MIN_SECRET_LENGTH)
    return tuple(sorted(usable, key=len, reverse=True))  # "Bearer sk-1" before "sk-1"


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret masked."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redacted_headers(headers: Mapping[str, str], secrets: Iterable[str]) -> dict[str, str]:
    """Headers fit for a log: credentials masked whole, secrets masked in the others."""
    known = tuple(secrets)
    return {
        name: MASK if is_credential(name) else redact(value, known)
        for name, value in headers.items()
    }


def redact_error(error: ProviderError, secrets: tuple[str, ...]) -> ProviderError:
    """Mask the secrets in every text an error carries: message, body, type and ``args``."""
    if not secrets:
        return error
    error.message = redact(error.message, secrets)
    if error.body is not None:
        error.body = redact(error.body, secrets)
    if error.error_type is not None:
        error.error_type = redact(error.error_type, secrets)
    error.args = tuple(redact(a, secrets) if isinstance(a, str) else a for a in error.args)
    return error
