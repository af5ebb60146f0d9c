"""The gemini wire format's name, which the core treats as an opaque string.

It keys this format's fields in a part's ``extra``, and is the ``provider`` of its `Thinking`
and `ProviderPart`s, of its schema transform and of its errors.
"""

GEMINI = "gemini"
