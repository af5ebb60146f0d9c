"""AWS Signature Version 4 for Bedrock requests, through botocore (the ``bedrock`` extra).

The codec stays pure: the model signs the final request (`HTTPModel.sign`), over the exact
body bytes the transport sends. Credentials come from the arguments, else botocore's standard
chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``, ``AWS_PROFILE``
and the shared config and credentials files, SSO, container and instance roles), resolved once
per model and refreshed by botocore when they expire. botocore is imported only when a request
is signed, so a model using a Bedrock API key (bearer token) never needs it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from agentloop.errors import MissingKeyError
from agentloop.providers.transport import HTTPRequest

#: The service name Bedrock's runtime is signed for.
SERVICE = "bedrock"
#: What the error for missing credentials tells the caller to set.
CREDENTIALS_HINT = (
    "set AWS_BEARER_TOKEN_BEDROCK (a Bedrock API key), or AWS credentials "
    "(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE), or pass api_key= or "
    "aws_access_key_id= and aws_secret_access_key= to get_model()"
)


@dataclass
class SigV4Signer:
    """Signs requests for one region with one set of credentials (found on first use)."""

    region: str
    access_key: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    profile: str | None = None
    _credentials: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        # A model goes to other processes pickled (a batch's Ray workers): the lock and the
        # credentials found (botocore's refreshable ones hold locks) are made again there.
        state = dict(self.__dict__)
        state.update(_credentials=None, _lock=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def sign(self, request: HTTPRequest) -> HTTPRequest:
        """``request`` with ``authorization``, ``x-amz-date`` (and ``x-amz-security-token``
        for temporary credentials) added, signed over its method, URL, headers and body."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        credentials = self.credentials().get_frozen_credentials()
        aws = AWSRequest(request.method, request.url, dict(request.headers), request.body)
        SigV4Auth(credentials, SERVICE, self.region).add_auth(aws)
        headers = {name.lower(): str(value) for name, value in aws.headers.items()}
        return HTTPRequest(request.method, request.url, headers, request.body, request.timeout)

    def credentials(self) -> Any:
        """botocore credentials: the given ones, else the standard chain's (found once)."""
        with self._lock:
            if self._credentials is None:
                self._credentials = self._find()
            return self._credentials

    def secrets(self) -> list[str | None]:
        """The values to mask in errors and logs (those known without a lookup)."""
        found = self._credentials
        if found is None:
            return [self.access_key, self.secret_key, self.session_token]
        frozen = found.get_frozen_credentials()
        return [frozen.access_key, frozen.secret_key, frozen.token]

    def _find(self) -> Any:
        try:
            import botocore.session
            from botocore.credentials import Credentials
        except ImportError:
            raise MissingKeyError(
                "Signing Bedrock requests with AWS credentials needs botocore: "
                "pip install 'agentloop-kit[bedrock]', or use a Bedrock API key "
                "(AWS_BEARER_TOKEN_BEDROCK or api_key=)"
            ) from None
        if self.access_key and self.secret_key:
            return Credentials(self.access_key, self.secret_key, self.session_token)
        from botocore.exceptions import BotoCoreError

        try:
            found = botocore.session.Session(profile=self.profile).get_credentials()
        except BotoCoreError as exc:  # a profile not found, a config file that does not read
            raise MissingKeyError(
                f"No credentials for bedrock ({exc}): {CREDENTIALS_HINT}"
            ) from None
        if found is None:
            raise MissingKeyError(f"No credentials for bedrock: {CREDENTIALS_HINT}")
        return found
