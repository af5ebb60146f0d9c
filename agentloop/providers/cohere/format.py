"""The cohere wire format's name (Cohere's v2 Chat API), which the core treats as an opaque string.

It keys this format's fields in a part's ``extra``, and is the ``provider`` of its `Thinking`
and of its errors.
"""

COHERE = "cohere"
