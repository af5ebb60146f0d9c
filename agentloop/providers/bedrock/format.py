"""The bedrock wire format's name (the Converse API), which the core treats as an opaque string.

It keys this format's fields in a part's ``extra``, and is the ``provider`` of its `Thinking`
and `ProviderPart`s and of its errors.
"""

BEDROCK = "bedrock"
