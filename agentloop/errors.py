"""One exception hierarchy for everything agentloop raises.

Every error a user can meet derives from [`AgentloopError`][agentloop.errors.AgentloopError], so
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


class MediaFetchError(MediaError):
    """A media URL a provider cannot take could not be fetched to send its bytes instead.

    ``url`` is the URL as shown in the message (its user info and query values masked, so a
    signed URL's token is not logged); ``status`` is the HTTP status when one arrived (404),
    None when the fetch failed below HTTP (refused, timed out) or was refused here.
    """

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class MediaTooLargeError(MediaFetchError):
    """A fetched media URL is larger than the cap: ``limit`` bytes (by default
    ``agentloop.downloads.MAX_DOWNLOAD_BYTES``, 50 MiB; a model's ``max_media_bytes``)."""

    def __init__(self, message: str, *, url: str | None = None, limit: int | None = None) -> None:
        super().__init__(message, url=url)
        self.limit = limit


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


# -- the chain ----------------------------------------------------------------


class CancelToolCall(AgentloopError):
    """Raised by a ``before_call`` hook: the tool does not run and the model is told ``reason``."""

    def __init__(self, reason: str = "The tool call was cancelled.") -> None:
        super().__init__(reason)
        self.reason = reason


class PauseChain(AgentloopError):
    """Raised by a hook or an ``approve`` callback to stop the chain and wait for a decision.

    The chain returns a response whose ``state`` holds the pending calls; resume
    it later with ``conversation.resume(state, decisions)``.
    """

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "The chain was paused.")
        self.reason = reason


class ChainLimitExceeded(AgentloopError):
    """The model kept asking for tools past ``chain_limit`` model calls.

    ``responses`` holds every response of the chain so far: nothing is lost,
    and the conversation keeps the pending tool calls so a later ``chain()``
    can carry on.
    """

    def __init__(self, limit: int, responses: list[object]) -> None:
        super().__init__(
            f"The chain made {limit} model calls (chain_limit={limit}) and the model still "
            "asked for tools. Raise chain_limit or check the tools' results."
        )
        self.limit = limit
        self.responses = responses


class BudgetExceeded(AgentloopError):
    """The chain stopped at ``max_cost`` or ``max_total_tokens``.

    Raised before a model call when what was spent plus the estimate of that call would
    pass the limit (``estimate`` is then set), or after a call that passed it, before its
    tool calls run. ``responses`` holds every response so far, as with
    [`ChainLimitExceeded`][agentloop.errors.ChainLimitExceeded]; a later ``chain()`` with a
    larger budget carries on from the pending tool calls.
    """

    def __init__(
        self, limit: str, maximum: float, spent: float, estimate: float | None = None
    ) -> None:
        unit = "USD" if limit == "max_cost" else "tokens"
        if estimate is None:
            what = f"spent {spent:g} {unit}, past {limit}={maximum:g}"
        else:
            what = (
                f"has spent {spent:g} {unit} and the next model call, estimated at "
                f"{estimate:g} {unit}, would pass {limit}={maximum:g}"
            )
        super().__init__(f"The chain {what}. Raise {limit} to go on.")
        self.limit = limit
        self.maximum = maximum
        self.spent = spent
        self.estimate = estimate
        self.responses: list[object] = []


class PromptNotRun(AgentloopError):
    """A batch prompt that was never started: the batch had reached its budget first.

    Not written to the results file, so a rerun with that file (and a larger budget)
    asks these prompts and only these.
    """


class UnknownPriceError(AgentloopError, LookupError):
    """``max_cost`` was set but the price of the model is unknown, so it cannot be kept."""

    def __init__(self, model_id: str, table_installed: bool) -> None:
        why = (
            "the price table (genai-prices) does not know it"
            if table_installed
            else "the price table is not installed: pip install 'agentloop-kit[prices]'"
        )
        super().__init__(
            f"max_cost needs the price of {model_id!r}, and {why}. "
            "Use max_total_tokens to cap this model's spending instead."
        )
        self.model_id = model_id


class ResumeError(AgentloopError, ValueError):
    """A paused chain cannot be resumed as asked (a decision is missing or unknown)."""


class ConversationBusyError(AgentloopError, RuntimeError):
    """A conversation was asked a second question while it was still answering one.

    A conversation is one ordered history: two turns running at once (from two
    threads or two tasks) would interleave their calls and results.
    """


# -- tools ----------------------------------------------------------------------


class ToolDefinitionError(AgentloopError, TypeError):
    """A function, method or toolbox cannot become a tool.

    Raised when the tool is defined (not when the model calls it): a
    ``*args``/``**kwargs`` parameter, a type hint that cannot be resolved or
    described as JSON schema, a name providers would refuse. The message names
    the function and what to change.
    """


class DuplicateToolError(AgentloopError, ValueError):
    """Two tools offered to one conversation share a name.

    Never resolved by letting one silently replace the other: the message names
    both tools and how to rename one.
    """


class UnsupportedServerToolError(AgentloopError, ValueError):
    """A provider-side tool (``WebSearch()``, ``CodeExecution()``), or one of its options,
    that the provider of this request has no place for.

    Raised when the request is encoded, before anything is sent. ``provider`` is the wire
    format, ``tool`` the tool's name, ``option`` the option refused (None: the tool itself).
    """

    def __init__(self, message: str, *, provider: str, tool: str, option: str | None) -> None:
        super().__init__(message)
        self.provider = provider
        self.tool = tool
        self.option = option


class ToolError(AgentloopError):
    """Raise inside a tool to tell the model something went wrong.

    The model sees exactly the message (no exception type name), so write it
    for the model: what failed and what it could do instead.
    """


class ToolArgumentsError(AgentloopError, ValueError):
    """The model called a tool with arguments that do not fit its parameters.

    The tool did not run. The message is written for the model: it names each
    wrong argument, what was expected and what was sent, so the model can fix
    its call. ``problems`` holds one line per wrong argument.
    """

    def __init__(self, message: str, *, tool_name: str, problems: list[str]) -> None:
        super().__init__(message)
        self.tool_name = tool_name
        self.problems = problems


class ToolRetriesExceeded(AgentloopError):
    """A tool kept failing: more consecutive failures than its ``max_retries``.

    Stops a model that keeps sending the same bad call. ``last_error`` is the
    exception of the final failure (also the ``__cause__``).
    """

    def __init__(
        self, tool_name: str, last_error: BaseException, *, failures: int, max_retries: int
    ) -> None:
        super().__init__(
            f"Tool {tool_name!r} failed {failures} times in a row (max_retries={max_retries}); "
            f"last error: {type(last_error).__name__}: {last_error}"
        )
        self.tool_name = tool_name
        self.last_error = last_error
        self.failures = failures
        self.max_retries = max_retries


# -- providers ------------------------------------------------------------------


class ProviderError(AgentloopError):
    """A model provider refused or failed a request.

    ``provider`` names it (``"openai"``, ``"anthropic"``...), ``status`` is the
    HTTP status (None for network failures), ``error_type`` the provider's own
    error code (``"rate_limit_error"``, ``"RESOURCE_EXHAUSTED"``...), ``body``
    the error body as received.
    """

    #: Whether retrying the same request may succeed.
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        error_type: str | None = None,
        body: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.error_type = error_type
        self.body = body
        #: Seconds the provider asked us to wait (retry-after headers), if any.
        self.retry_after = retry_after

    def __str__(self) -> str:
        status = f" {self.status}" if self.status is not None else ""
        kind = f" {self.error_type}" if self.error_type else ""
        return f"{self.provider}{status}{kind}: {self.message}"


class BadRequestError(ProviderError):
    """400/422: the request is wrong (the message says what); retrying will not help."""


class ContextTooLongError(BadRequestError):
    """The conversation is longer than the model's context window."""


class AuthenticationError(ProviderError):
    """401 (or Gemini's API_KEY_INVALID): the key is missing or wrong; the message names
    the environment variable to set."""


class PermissionDeniedError(ProviderError):
    """403: the key is valid but not allowed to do this."""


class ModelNotFoundError(ProviderError):
    """404: usually the model name is wrong."""


class RateLimitError(ProviderError):
    """429: too many requests or tokens; retried with backoff."""

    retryable = True


class OverloadedError(ProviderError):
    """529 (or 503 overloaded): the provider is busy; retried with backoff."""

    retryable = True


class ServerError(ProviderError):
    """5xx (and 408/409): the provider failed; retried with backoff."""

    retryable = True


class ProviderTimeoutError(ProviderError):
    """The provider did not answer in time."""

    retryable = True


class ProviderConnectionError(ProviderError):
    """The provider could not be reached (DNS, refused, reset)."""

    retryable = True


class ResponseFormatError(ProviderError):
    """The provider answered with something its documentation does not allow
    (truncated JSON, a missing field, an unexpected type). The message names the field."""


class StreamIncomplete(ProviderError):
    """A streamed reply broke off before the model finished.

    ``partial_text`` keeps the text that arrived before the break.
    """

    retryable = False

    def __init__(self, message: str, *, provider: str = "model", partial_text: str = "") -> None:
        super().__init__(message, provider=provider)
        self.partial_text = partial_text


class BatchJobError(ProviderError):
    """A provider's batch job gave no answer for a request: the job expired, was cancelled
    or failed (``error_type`` says which). The prompt's other results are kept."""


class BatchExpiredError(BatchJobError):
    """The batch job ran out of time (24 hours) before answering this request."""


class BatchCancelledError(BatchJobError):
    """The batch job was cancelled before answering this request (or before the next round)."""


class BatchFailedError(BatchJobError):
    """The provider failed the whole batch job (its input was refused, say)."""


class BatchUnsupportedError(AgentloopError, ValueError):
    """A model whose provider has no batch API was given to the batch-API mode; raised
    before anything is uploaded."""


class OptionError(AgentloopError, TypeError):
    """An option or keyword argument that cannot be used as given.

    A ``TypeError`` too, as Python raises for a keyword argument a function
    does not take.
    """


class UnknownOptionError(OptionError):
    """An option or keyword argument nobody knows: most likely a typo.

    Raised where it was given (``prompt()``, ``chain()``, ``resume()``,
    ``get_model()``), before any request. ``option`` is the name given,
    ``suggestion`` the known name it is closest to (None if none is close).
    """

    def __init__(self, message: str, *, option: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.option = option
        self.suggestion = suggestion


class InvalidOptionError(OptionError, ValueError):
    """An option's value that cannot be sent: of the wrong type or range (``stop=123``,
    ``top_p=2``), a ``tool_choice`` naming no tool on offer, or one the provider has no
    way to express (``stop`` for the OpenAI Responses API).

    Raised where the option is given, before any request: checked once for every
    provider alike (`agentloop.providers.neutral_options`). ``option`` is its name;
    ``provider`` names the provider when only that provider refuses it, else None.
    A ``ValueError`` too.
    """

    def __init__(self, message: str, *, option: str, provider: str | None = None) -> None:
        super().__init__(message)
        self.option = option
        self.provider = provider


class MissingKeyError(AgentloopError, LookupError):
    """No API key was given and the environment variable that holds it is unset."""


class StructuredOutputError(AgentloopError, ValueError):
    """The model's answer does not match the requested schema; ``text`` is its raw answer.

    ``feedback`` is the same problem worded for the model, as a checked answer's retry tells it.
    """

    def __init__(self, message: str, text: str, *, feedback: str | None = None) -> None:
        super().__init__(message)
        self.text = text
        self.feedback = feedback if feedback is not None else message


class OutputRetriesExceeded(StructuredOutputError):
    """The model's final answer was rejected more than ``output_retries`` times.

    Each rejected answer is in ``attempts``, a `StructuredOutputError` whose ``text`` is the
    answer and whose ``feedback`` is what the model was told; ``text`` is the last answer.
    ``responses`` holds every response of the run, as with
    [`ChainLimitExceeded`][agentloop.errors.ChainLimitExceeded].
    """

    def __init__(self, attempts: list[StructuredOutputError], max_retries: int) -> None:
        last = attempts[-1]
        super().__init__(
            f"The model's answer was rejected {len(attempts)} times "
            f"(output_retries={max_retries}); last: {last.feedback}",
            last.text,
            feedback=last.feedback,
        )
        self.attempts = attempts
        self.max_retries = max_retries
        self.responses: list[object] = []
