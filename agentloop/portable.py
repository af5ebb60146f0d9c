"""The one rule for provider parts in a request to another wire format.

Every converter applies it before encoding (see docs/messages.md, "Provider-side tools"), so
the rule lives here once rather than in four codecs.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentloop.messages import Message, Part, ProviderPart, Text


def portable(messages: Sequence[Message], provider: str) -> list[Message]:
    """``messages`` as a request in the wire format ``provider`` sends them: the one
    cross-provider rule for [`ProviderPart`][agentloop.ProviderPart], applied by every codec.

    A provider part from ``provider`` itself stays, to go back exactly as received. One from
    another format becomes a Text part holding its ``text`` rendering, in the same place of
    the same message (a server tool's results stay readable to the next model); one with no
    rendering (the call itself, metadata) is dropped. Messages without such parts are passed
    as they are, not copied.
    """
    out: list[Message] = []
    for message in messages:
        if not _has_foreign(getattr(message, "parts", ()), provider):
            out.append(message)
            continue
        parts: list[Part] = []
        for part in message.parts:
            if not isinstance(part, ProviderPart) or part.provider == provider:
                parts.append(part)
            elif part.text:
                parts.append(Text(part.text))
        out.append(Message(message.role, parts, message.extra))
    return out


def _has_foreign(parts: Sequence[Part], provider: str) -> bool:
    # A loop rather than any() over a generator: every message of every request passes here.
    for part in parts:  # noqa: SIM110
        if isinstance(part, ProviderPart) and part.provider != provider:
            return True
    return False
