"""`BedrockAccess`: what every model on Bedrock shares, whatever its wire format.

The region, the base URL it picks, the model id as one escaped path segment, auth (a Bedrock
API key as a bearer token, else a SigV4 signature over the final request: `auth.py`), the
credentials masked in errors and logs, and Bedrock's errors, named in the
``x-amzn-ErrorType`` header. The Converse model (`model.py`) and Claude over InvokeModel
(`claude.py`) each add their codec to it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from agentloop.errors import AuthenticationError, MissingKeyError, ProviderError
from agentloop.providers.bedrock.auth import CREDENTIALS_HINT, SigV4Signer
from agentloop.providers.bedrock.reply import error_from_exception
from agentloop.providers.endpoints import BEDROCK
from agentloop.providers.http import HTTPModel, parse_error_body
from agentloop.providers.redaction import secrets_of
from agentloop.providers.transport import HTTPRequest

#: Where the region is read from when ``region=`` is not given, in order.
REGION_ENV = ("AWS_REGION", "AWS_DEFAULT_REGION")


class BedrockAccess(HTTPModel):
    """An HTTP model reached through Bedrock's runtime (see `BedrockModel` for the options)."""

    endpoint = BEDROCK

    def __init__(
        self,
        model_name: str,
        *,
        region: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        aws_profile: str | None = None,
        **kwargs: Any,
    ) -> None:
        found = region or next((os.environ[n] for n in REGION_ENV if os.environ.get(n)), None)
        if not found:
            raise MissingKeyError(
                f"No AWS region for bedrock/{model_name}: set AWS_REGION or pass region= "
                "to get_model()"
            )
        self.region = found
        self._signer = SigV4Signer(
            found, aws_access_key_id, aws_secret_access_key, aws_session_token, aws_profile
        )
        super().__init__(model_name, **kwargs)

    def configured_base_url(self) -> str:
        return super().configured_base_url().format(region=self.region)

    def model_url(self, operation: str) -> str:
        """``{base_url}/model/{id}/{operation}``: the model id is one path segment, its ``:``
        (and an ARN's ``/``) percent-encoded, as the AWS SDKs send it and sign it."""
        return f"{self.base_url}/model/{quote(self.model_name, safe='')}/{operation}"

    def sign(self, request: HTTPRequest) -> HTTPRequest:
        """SigV4 over the final bytes, unless a bearer token (or the caller's own
        ``authorization`` header) already authenticates the request."""
        if any(name.lower() == "authorization" for name in request.headers):
            return request
        return self._signer.sign(request)

    def secrets_to_mask(self, sent: Mapping[str, str] | None = None) -> tuple[str, ...]:
        found = {*super().secrets_to_mask(sent), *secrets_of({}, self._signer.secrets())}
        return tuple(sorted(found, key=len, reverse=True))

    def error_from_response(
        self, status: int, text: str, headers: Mapping[str, str]
    ) -> ProviderError:
        # Bedrock names the error in a header (x-amzn-errortype: ThrottlingException:...) and
        # puts only {"message": ...} in the body.
        lowered = {k.lower(): v for k, v in headers.items()}
        error_type = lowered.get("x-amzn-errortype", "").split(":", 1)[0] or None
        body_type, message = parse_error_body(text)
        error_type = error_type or body_type
        kind = error_from_exception(error_type, message, status)
        if issubclass(kind, AuthenticationError):
            message = f"{message} ({CREDENTIALS_HINT})"
        return self.provider_error(kind, status, error_type, message, text, headers)
