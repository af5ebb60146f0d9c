"""Batches: many prompts through one model or several, within rate limits (``LLMClient``).

``client`` holds [`LLMClient`][agentloop.LLMClient]; ``results`` the per-prompt
[`BatchResult`][agentloop.batch.BatchResult]; ``limits`` the shared rate limiter (charging the
token estimates of `agentloop.tokens`); ``calls`` one rate-limited, retried model call;
``runner`` the worker pool; ``spend`` the batch's own budget; ``jsonl`` the results file that
makes a batch resumable; ``progress`` the progress bar; ``ray`` the same batch spread over Ray
workers. The batch-API mode (the providers' own batch jobs): ``jobs`` the job handle
[`BatchJob`][agentloop.batch.BatchJob], ``rounds`` a tool chain across rounds, ``submit``
opening a batch or resuming one.
"""

from agentloop.batch.client import LLMClient
from agentloop.batch.jobs import BatchJob, BatchStatus
from agentloop.batch.limits import RateLimiter, RequestTooLargeError
from agentloop.batch.results import BatchResult, PromptFailed

__all__ = [
    "BatchJob",
    "BatchResult",
    "BatchStatus",
    "LLMClient",
    "PromptFailed",
    "RateLimiter",
    "RequestTooLargeError",
]
