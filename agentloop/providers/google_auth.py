"""Google Cloud's Application Default Credentials as an `Authenticator` (Vertex AI).

``google-auth`` (the ``vertex`` extra, imported on the first request) finds the credentials
as every Google client does: ``GOOGLE_APPLICATION_CREDENTIALS`` (a service-account or
``authorized_user`` JSON file), then gcloud's ``application-default`` login, then the
metadata server of the machine it runs on. Each request gets ``Authorization: Bearer
<token>``, refreshed when google-auth says it is about to expire. The refresh is a blocking
HTTP call (made here through httpx); the async side runs it in a worker thread, so the event
loop never waits on it. The token is masked in logs and errors like any credential.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agentloop.errors import AuthenticationError, MissingKeyError
from agentloop.providers.transport import HTTPRequest

if TYPE_CHECKING:
    import google.auth.credentials

#: The scope Vertex AI needs (as google-genai asks for it).
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
#: Seconds a token request may take.
TOKEN_TIMEOUT = 30.0
_NO_CREDENTIALS = (
    "no Google Cloud credentials found: run `gcloud auth application-default login`, set "
    "GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, or pass credentials= "
    "(or use express mode: api_key= or GOOGLE_API_KEY)"
)


class GoogleCredentials:
    """``Authorization: Bearer`` from google-auth credentials (Application Default Credentials
    unless ``credentials=`` gives some), refreshed when expired."""

    def __init__(
        self, credentials: google.auth.credentials.Credentials | None = None, *, provider: str
    ) -> None:
        self.credentials = credentials
        self.provider = provider
        self._lock = threading.Lock()

    def headers(self, request: HTTPRequest) -> dict[str, str]:
        with self._lock:  # one refresh, not one per thread
            credentials = self._loaded()
            if not credentials.valid:
                self._refresh(credentials)
            headers: dict[str, str] = {}
            credentials.apply(headers)  # type: ignore[no-untyped-call]  # token, quota project
        return headers

    async def aheaders(self, request: HTTPRequest) -> dict[str, str]:
        return await asyncio.to_thread(self.headers, request)

    def secrets(self) -> tuple[str, ...]:
        token = getattr(self.credentials, "token", None)
        return (token,) if isinstance(token, str) and token else ()

    def _loaded(self) -> google.auth.credentials.Credentials:
        if self.credentials is None:
            google_auth = _import_google_auth()
            try:
                self.credentials, _ = google_auth.default(scopes=list(SCOPES))
            except google_auth.exceptions.DefaultCredentialsError as error:
                raise MissingKeyError(f"{self.provider}: {_NO_CREDENTIALS} ({error})") from None
        return self.credentials

    def _refresh(self, credentials: google.auth.credentials.Credentials) -> None:
        import google.auth.exceptions

        try:
            credentials.refresh(_HTTPXRequest())  # type: ignore[no-untyped-call]
        except (google.auth.exceptions.RefreshError, google.auth.exceptions.TransportError) as e:
            raise AuthenticationError(
                f"could not get a Google Cloud access token: {e}", provider=self.provider
            ) from None

    def __getstate__(self) -> dict[str, Any]:
        # Credentials are found again where the copy runs (another process, a Ray worker).
        return {"credentials": None, "provider": self.provider}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["credentials"], provider=state["provider"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"GoogleCredentials({type(self.credentials).__name__})"  # never the token


def _import_google_auth() -> Any:
    try:
        import google.auth
        import google.auth.exceptions
    except ImportError:
        raise MissingKeyError(
            "Vertex AI's Application Default Credentials need google-auth: "
            "pip install 'agentloop-kit[vertex]' (or use express mode: api_key=)"
        ) from None
    return google.auth


def _HTTPXRequest() -> Any:
    """google-auth's transport for its token requests, over httpx (no ``requests`` needed)."""
    import google.auth.exceptions
    import google.auth.transport
    import httpx

    class Response(google.auth.transport.Response):
        def __init__(self, response: httpx.Response) -> None:
            self._response = response

        @property
        def status(self) -> int:
            return self._response.status_code

        @property
        def headers(self) -> Mapping[str, str]:
            return self._response.headers

        @property
        def data(self) -> bytes:
            return self._response.content

    class Request(google.auth.transport.Request):
        def __call__(
            self,
            url: str,
            method: str = "GET",
            body: bytes | None = None,
            headers: Mapping[str, str] | None = None,
            timeout: float | None = None,
            **kwargs: Any,
        ) -> Response:
            try:
                with httpx.Client(timeout=timeout or TOKEN_TIMEOUT) as client:
                    reply = client.request(method, url, content=body, headers=headers)
            except httpx.HTTPError as error:
                raise google.auth.exceptions.TransportError(str(error)) from error  # type: ignore[no-untyped-call]
            return Response(reply)

    return Request()
