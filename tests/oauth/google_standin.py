"""A stand-in for Google's OAuth token endpoint (Google cannot run here), at the transport layer.

It behaves as Google documents: authorization codes are single use and bound to the client, the
redirect URI and the PKCE challenge; refresh tokens do not rotate; errors use RFC 6749 JSON.
Tests steer it with ``fail_refresh`` and read ``requests``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import httpx

from tests.canary import remember

TOKEN_URL = "https://oauth2.googleapis.com/token"


@dataclass
class GoogleStandIn:
    client_id: str = "managed-google-client.apps.googleusercontent.com"
    client_secret: str = "managed-google-secret"
    codes: dict[str, tuple[str, str | None]] = field(
        default_factory=dict
    )  # code -> (redirect_uri, challenge)
    refresh_tokens: set[str] = field(default_factory=set)
    access_tokens: set[str] = field(default_factory=set)
    requests: list[dict[str, str]] = field(default_factory=list)
    fail_refresh: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    def issue_code(self, redirect_uri: str, challenge: str | None) -> str:
        code = "4/" + secrets.token_urlsafe(16)
        remember(code)
        self.codes[code] = (redirect_uri, challenge)
        return code

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) != TOKEN_URL or request.method != "POST":
            return httpx.Response(404)
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.requests.append({k: v for k, v in form.items() if k not in ("client_secret",)})
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return httpx.Response(401, json={"error": "invalid_client", "error_description": "Unauthorized"})
        if form.get("grant_type") == "authorization_code":
            return self._exchange(form)
        if form.get("grant_type") == "refresh_token":
            if self.fail_refresh:
                status, body = self.fail_refresh.pop(0)
                return httpx.Response(status, json=body)
            if form.get("refresh_token") not in self.refresh_tokens:
                return httpx.Response(
                    400, json={"error": "invalid_grant", "error_description": "Bad Request"}
                )
            return httpx.Response(200, json=self._tokens(with_refresh=False))
        return httpx.Response(400, json={"error": "unsupported_grant_type"})

    def _exchange(self, form: dict[str, str]) -> httpx.Response:
        bound = self.codes.pop(form.get("code", ""), None)
        if bound is None or bound[0] != form.get("redirect_uri"):
            return httpx.Response(
                400, json={"error": "invalid_grant", "error_description": "Malformed auth code."}
            )
        challenge = bound[1]
        if challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            )
            if digest != challenge:
                return httpx.Response(
                    400, json={"error": "invalid_grant", "error_description": "Invalid code verifier."}
                )
        return httpx.Response(200, json=self._tokens(with_refresh=True))

    def _tokens(self, *, with_refresh: bool) -> dict[str, object]:
        access = "ya29." + secrets.token_urlsafe(24)
        remember(access)
        self.access_tokens.add(access)
        body: dict[str, object] = {
            "access_token": access,
            "expires_in": 3599,
            "scope": "openid email",
            "token_type": "Bearer",
        }
        if with_refresh:
            refresh = "1//" + secrets.token_urlsafe(24)
            remember(refresh)
            self.refresh_tokens.add(refresh)
            body["refresh_token"] = refresh
        return body
