"""The Bedrock Converse model: the shared HTTP machinery, this package's codec, AWS auth."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from agentloop.errors import AuthenticationError, MissingKeyError, ProviderError
from agentloop.media import Media
from agentloop.model import Model
from agentloop.providers.base import Reply, Request
from agentloop.providers.bedrock.auth import CREDENTIALS_HINT, SigV4Signer
from agentloop.providers.bedrock.eventstream import CONTENT_TYPE, EventStreamParser
from agentloop.providers.bedrock.messages import media_to_fetch
from agentloop.providers.bedrock.reply import decode_reply, error_from_exception
from agentloop.providers.bedrock.request import encode_request
from agentloop.providers.bedrock.stream import BedrockStreamDecoder
from agentloop.providers.bedrock.tokens import TOKEN_RULES
from agentloop.providers.endpoints import BEDROCK
from agentloop.providers.http import HTTPCall, HTTPModel, parse_error_body, parse_retry_after
from agentloop.providers.options import check_model_keywords
from agentloop.providers.redaction import secrets_of
from agentloop.providers.sse import EventFraming
from agentloop.providers.transport import HTTPRequest

#: Where the region is read from when ``region=`` is not given, in order.
REGION_ENV = ("AWS_REGION", "AWS_DEFAULT_REGION")


class BedrockModel(HTTPModel):
    """A model on AWS Bedrock over the Converse API (``POST /model/{id}/converse``, and
    ``/converse-stream``, whose AWS event-stream frames `eventstream.py` reads).

    Auth: a Bedrock API key (``api_key=`` or ``AWS_BEARER_TOKEN_BEDROCK``) goes as a bearer
    token; without one every request is signed with SigV4 (botocore, the ``bedrock`` extra)
    by ``aws_access_key_id=``/``aws_secret_access_key=``/``aws_session_token=``, else the
    standard AWS chain (``AWS_PROFILE`` or ``aws_profile=``, the environment, the config
    files, roles). Region: ``region=``, else ``AWS_REGION``/``AWS_DEFAULT_REGION``. The base
    URL is ``https://bedrock-runtime.{region}.amazonaws.com`` unless ``base_url=`` or
    ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` says otherwise (a VPC endpoint, a test server).
    """

    endpoint = BEDROCK
    #: How this format's provider charges media, for the estimates.
    token_rules = TOKEN_RULES

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

    def url(self, *, stream: bool = False) -> str:
        # The model id is one path segment: its ":" (and an ARN's "/") percent-encoded, as the
        # AWS SDKs send it and sign it.
        path = f"/model/{quote(self.model_name, safe='')}/converse"
        return f"{self.base_url}{path}-stream" if stream else f"{self.base_url}{path}"

    def encode(self, request: Request, *, stream: bool) -> HTTPCall:
        options = {**self.options, **request.options}
        return HTTPCall(
            self.url(stream=stream), encode_request(request, options), self.request_headers()
        )

    def media_to_fetch(self, request: Request) -> list[Media]:
        return media_to_fetch(request.messages)

    def decode(self, body: Any) -> Reply:
        return decode_reply(body)

    def stream_decoder(self) -> BedrockStreamDecoder:
        return BedrockStreamDecoder()

    def stream_framing(self, content_type: str) -> EventFraming | None:
        if CONTENT_TYPE in content_type:
            return EventStreamParser(self.provider)
        return super().stream_framing(content_type)

    # -- auth --------------------------------------------------------------------------

    def sign(self, request: HTTPRequest) -> HTTPRequest:
        """SigV4 over the final bytes, unless a bearer token (or the caller's own
        ``authorization`` header) already authenticates the request."""
        if any(name.lower() == "authorization" for name in request.headers):
            return request
        return self._signer.sign(request)

    def secrets_to_mask(self, sent: Mapping[str, str] | None = None) -> tuple[str, ...]:
        found = super().secrets_to_mask(sent)
        return tuple(
            sorted({*found, *secrets_of({}, self._signer.secrets())}, key=len, reverse=True)
        )

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
        return kind(
            message or f"HTTP {status}",
            provider=self.provider,
            status=status,
            error_type=error_type,
            body=text[:2000],
            retry_after=parse_retry_after(headers),
        )


def create(name: str, **kwargs: Any) -> Model:
    """The registry's factory: ``get_model("bedrock/<model id or inference profile>")``."""
    check_model_keywords(BedrockModel, name, kwargs)
    return BedrockModel(name, **kwargs)
