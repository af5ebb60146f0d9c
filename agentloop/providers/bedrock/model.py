"""The Bedrock Converse model: the shared Bedrock access, this package's codec."""

from __future__ import annotations

from typing import Any

from agentloop.errors import InvalidOptionError
from agentloop.media import Media
from agentloop.model import Model
from agentloop.providers.base import Reply, Request
from agentloop.providers.bedrock.access import BedrockAccess
from agentloop.providers.bedrock.eventstream import CONTENT_TYPE, EventStreamParser
from agentloop.providers.bedrock.messages import media_to_fetch
from agentloop.providers.bedrock.reply import decode_reply
from agentloop.providers.bedrock.request import encode_request
from agentloop.providers.bedrock.stream import BedrockStreamDecoder
from agentloop.providers.bedrock.tokens import TOKEN_RULES
from agentloop.providers.http import HTTPCall
from agentloop.providers.options import check_model_keywords
from agentloop.providers.sse import EventFraming


class BedrockModel(BedrockAccess):
    """A model on AWS Bedrock over the Converse API (``POST /model/{id}/converse``, and
    ``/converse-stream``, whose AWS event-stream frames `eventstream.py` reads).

    Auth: a Bedrock API key (``api_key=`` or ``AWS_BEARER_TOKEN_BEDROCK``) goes as a bearer
    token; without one every request is signed with SigV4 (botocore, the ``bedrock`` extra)
    by ``aws_access_key_id=``/``aws_secret_access_key=``/``aws_session_token=``, else the
    standard AWS chain (``AWS_PROFILE`` or ``aws_profile=``, the environment, the config
    files, roles). Region: ``region=``, else ``AWS_REGION``/``AWS_DEFAULT_REGION``. The base
    URL is ``https://bedrock-runtime.{region}.amazonaws.com`` unless ``base_url=`` or
    ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` says otherwise (a VPC endpoint, a test server).
    ``wire="anthropic"`` (to `create`) serves a Claude model through the Anthropic Messages
    format over InvokeModel instead (`claude.py`).
    """

    #: How this format's provider charges media, for the estimates.
    token_rules = TOKEN_RULES

    def url(self, *, stream: bool = False) -> str:
        return self.model_url("converse-stream" if stream else "converse")

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


def create(name: str, *, wire: str = "converse", **kwargs: Any) -> Model:
    """The registry's factory: ``get_model("bedrock/<model id, inference profile or ARN>")``;
    ``wire="anthropic"`` for Claude through the Anthropic Messages format (InvokeModel)."""
    if wire == "anthropic":
        from agentloop.providers.bedrock.claude import BedrockClaudeModel

        check_model_keywords(BedrockClaudeModel, name, kwargs)
        return BedrockClaudeModel(name, **kwargs)
    if wire != "converse":
        raise InvalidOptionError(
            f"get_model('bedrock/{name}'): wire= is 'converse' (the default) or 'anthropic', "
            f"not {wire!r}",
            option="wire",
            provider="Bedrock",
        )
    check_model_keywords(BedrockModel, name, kwargs)
    return BedrockModel(name, **kwargs)
