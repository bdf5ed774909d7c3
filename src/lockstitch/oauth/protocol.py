"""OAuth 2.0 protocol helpers (RFC 6749, RFC 7636 PKCE, RFC 9207 iss): no web framework here.

``token_request`` sends one request to a token endpoint and either returns the parsed token
response or raises ``OAuthError`` sorted into what to do next (ARCHITECTURE.md 3.6):

* ``reauth`` (configuration, needs the user): invalid_grant, invalid_scope, access_denied;
* ``client`` (configuration, needs the operator or partner): invalid_client, unauthorized_client,
  unsupported_grant_type, invalid_request;
* ``retriable``: 5xx, 429, timeouts, connection failures, temporarily_unavailable, unreadable
  responses. ``retry_after`` carries the provider's Retry-After in seconds when it sent one. A
  partner's own token endpoint that cannot be reached, or that the outbound policy refuses, is
  ``unreachable`` with the policy's one message (nothing was sent);
* ``ambiguous``: the request left but no answer came (timeout while reading, dropped connection):
  the provider may have used, and rotated, the refresh token.

Error descriptions come from the provider; they are passed through ``scrub`` with the secrets of
the request before they are stored or shown.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import httpx
import orjson
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from lockstitch.catalog.providers import Client
from lockstitch.kit.outbound import unreachable
from lockstitch.kit.outbound_http import TRUSTED, OutboundRefused

ErrorClass = Literal["reauth", "client", "retriable", "ambiguous"]
_REAUTH = {"invalid_grant", "invalid_scope", "access_denied", "consent_required", "login_required"}
_CLIENT = {"invalid_client", "unauthorized_client", "unsupported_grant_type", "invalid_request"}
_RETRIABLE = {"temporarily_unavailable", "server_error", "slow_down"}
_MAX_DESCRIPTION = 300
CONNECT_SECONDS = 5.0  # nothing is sent before the connection is made: safe to give up on


class OAuthError(Exception):
    def __init__(
        self,
        error_class: ErrorClass,
        code: str,
        description: str = "",
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {description}" if description else code)
        self.error_class = error_class
        self.code = code
        self.description = description[:_MAX_DESCRIPTION]
        self.status = status
        self.retry_after = retry_after

    @property
    def summary(self) -> str:
        return f"{self.code}: {self.description}" if self.description else self.code


@dataclass(frozen=True)
class TokenResponse:
    access_token: str
    refresh_token: str | None
    expires_in: int | None
    token_type: str
    scope: str | None
    raw: dict[str, Any] = field(repr=False)


def new_state() -> str:
    return secrets.token_urlsafe(32)


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) per RFC 7636."""
    verifier = secrets.token_urlsafe(64)[:96]
    return verifier, create_s256_code_challenge(verifier)


def authorization_url(
    endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: list[str],
    scope_separator: str,
    state: str,
    code_challenge: str | None,
    extra: dict[str, str],
) -> str:
    params: list[tuple[str, str]] = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("state", state),
    ]
    if scopes:
        params.append(("scope", scope_separator.join(scopes)))
    if code_challenge:
        params += [("code_challenge", code_challenge), ("code_challenge_method", "S256")]
    params += sorted(extra.items())
    return str(add_params_to_uri(endpoint, params))


def _basic(client: Client) -> str:
    # RFC 6749 2.3.1: form-urlencode each part before joining them.
    raw = f"{quote(client.client_id, safe='')}:{quote(client.client_secret, safe='')}"
    return "Basic " + base64.b64encode(raw.encode()).decode()


def client_auth(client: Client, form: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """A form and headers authenticating ``client`` the way it authenticates (RFC 6749 2.3.1)."""
    data = dict(form)
    headers = {"Accept": "application/json"}
    if client.auth_method == "basic":
        headers["Authorization"] = _basic(client)
    else:
        data["client_id"] = client.client_id
        data["client_secret"] = client.client_secret
    return data, headers


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


async def token_request(
    http: httpx.AsyncClient,
    token_url: str,
    client: Client,
    form: dict[str, str],
    *,
    timeout: float | None,  # noqa: ASYNC109 - httpx's per-read timeout, not a cancellation scope
    trusted: bool,
) -> TokenResponse:
    """``trusted``: the operator configured ``token_url`` (a provider's endpoint); otherwise it
    came from a partner and the outbound policy decides whether Lockstitch may reach it.

    ``timeout=None``: no read or write timeout of httpx's own (only the connect one), for
    callers that bound the whole request themselves (``kit.deadline.within``): httpx's timers
    would fire after a stall of the process, before an answer that arrived meanwhile is read.
    """
    data, headers = client_auth(client, form)
    limits = httpx.Timeout(timeout, connect=min(timeout or CONNECT_SECONDS, CONNECT_SECONDS))
    try:
        response = await http.post(
            token_url, data=data, headers=headers, timeout=limits, extensions={TRUSTED: trusted}
        )
    except (OutboundRefused, httpx.ConnectError, httpx.ConnectTimeout, httpx.InvalidURL) as exc:
        # Nothing reached the provider: safe to retry with the same refresh token.
        if not trusted:
            # A partner's endpoint: refused by the outbound policy, no such name, closed port,
            # all read alike (``kit.outbound.unreachable``), so a token URL is no port scanner.
            # Retried with backoff, never sent: the partner may fix their DNS or URL.
            raise OAuthError("retriable", "unreachable", unreachable(_host_of(token_url))) from None
        raise OAuthError("retriable", "connection_failed", type(exc).__name__) from None
    except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise OAuthError("ambiguous", "no_response", type(exc).__name__) from None
    except httpx.HTTPError as exc:
        raise OAuthError("retriable", "http_error", type(exc).__name__) from None
    return _interpret(response)


def _host_of(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _interpret(response: httpx.Response) -> TokenResponse:
    try:
        body = orjson.loads(response.content) if response.content else {}
    except orjson.JSONDecodeError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    status = response.status_code
    if status == 200 and isinstance(body.get("access_token"), str) and body["access_token"]:
        expires_in = body.get("expires_in")
        if isinstance(expires_in, str) and expires_in.isdigit():
            expires_in = int(expires_in)
        refresh = body.get("refresh_token")
        return TokenResponse(
            access_token=body["access_token"],
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            expires_in=expires_in if isinstance(expires_in, int) and expires_in > 0 else None,
            token_type=str(body.get("token_type") or "Bearer"),
            scope=body.get("scope") if isinstance(body.get("scope"), str) else None,
            raw=body,
        )
    code = body["error"] if isinstance(body.get("error"), str) else ""
    description = body["error_description"] if isinstance(body.get("error_description"), str) else ""
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status == 429 or status >= 500 or code in _RETRIABLE:
        raise OAuthError(
            "retriable", code or f"http_{status}", description, status=status, retry_after=retry_after
        )
    if code in _REAUTH:
        raise OAuthError("reauth", code, description, status=status)
    if code in _CLIENT or status == 401:
        raise OAuthError("client", code or "invalid_client", description, status=status)
    if status == 200:
        raise OAuthError("retriable", "malformed_response", "no access_token in the response", status=status)
    # An unknown 4xx: nothing says retrying helps, nothing says the grant is dead. Back off.
    raise OAuthError(
        "retriable", code or f"http_{status}", description, status=status, retry_after=retry_after
    )
