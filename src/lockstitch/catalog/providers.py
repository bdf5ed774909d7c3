"""OAuth provider specs: how to talk to each provider's authorization server.

One YAML per provider under ``definitions/providers/``; source types name theirs
(``oauth.provider``). The operator's config can override any endpoint (sandbox hosts,
self-hosted or test servers) and supplies the managed app's client id and secret: ``Providers``
is the packaged specs as this deployment sees them. It lives here, below every domain, because
the process context carries it (``context.Context.providers``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lockstitch.config import OAuthSettings
from lockstitch.kit.errors import ConfigurationError

PACKAGED_PROVIDERS = Path(__file__).parent / "definitions" / "providers"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ProviderSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    authorization_url: str
    token_url: str
    revocation_url: str | None = None
    # When set, a callback carrying `iss` (RFC 9207) must carry exactly this.
    issuer: str | None = None
    scopes: list[str] = Field(default_factory=list)
    scope_separator: str = " "
    authorization_params: dict[str, str] = Field(default_factory=dict)
    token_params: dict[str, str] = Field(default_factory=dict)
    refresh_params: dict[str, str] = Field(default_factory=dict)
    # How the client authenticates at the token endpoint (RFC 6749 2.3.1).
    client_auth: Literal["basic", "body"] = "body"
    pkce: bool = True
    # Whether a refresh returns a new refresh token and retires the old one.
    rotates_refresh_tokens: bool = False
    # How long a used refresh token is still accepted, where the provider documents it (Xero:
    # 1800 s): within it, a refresh whose answer was lost may be sent again (oauth.in_flight).
    refresh_token_grace_seconds: int | None = None
    # RFC 7662 token introspection, where the provider offers it for refresh tokens: tells
    # whether an interrupted refresh spent its token (oauth.in_flight).
    introspection_url: str | None = None
    # Lifetime assumed when a token response has no expires_in (None: tokens that never expire).
    default_expires_in: int | None = 3600
    # Token-response fields and callback parameters that become source properties.
    token_fields: dict[str, str] = Field(default_factory=dict)
    callback_fields: dict[str, str] = Field(default_factory=dict)


def load_providers(directory: Path = PACKAGED_PROVIDERS) -> dict[str, ProviderSpec]:
    providers: dict[str, ProviderSpec] = {}
    for path in sorted(directory.glob("*.y*ml")):
        try:
            spec = ProviderSpec.model_validate(yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader))  # noqa: S506
        except (yaml.YAMLError, ValidationError) as exc:
            raise ConfigurationError(f"{path}: {exc}") from None
        providers[spec.name] = spec
    return providers


@dataclass(frozen=True)
class Client:
    """An OAuth client registered at a provider: the operator's managed app or a partner's own."""

    client_id: str
    client_secret: str
    auth_method: Literal["basic", "body"] = "body"


@dataclass(frozen=True)
class Provider:
    spec: ProviderSpec
    managed: Client | None  # the operator's app, when configured

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def managed_fingerprint(self) -> str | None:
        """Identifies the managed app's credentials (a flag on the app names the one it was for)."""
        if self.managed is None:
            return None
        raw = f"{self.managed.client_id}\x00{self.managed.client_secret}".encode()
        return hashlib.sha256(raw).hexdigest()

    def client(self, client_id: str, client_secret: str, auth_method: str | None = None) -> Client:
        """A partner's own client; ``auth_method`` (basic/body) overrides the provider's default."""
        method = auth_method if auth_method in ("basic", "body") else self.spec.client_auth
        return Client(client_id, client_secret, "basic" if method == "basic" else "body")


class Providers:
    def __init__(self, specs: dict[str, ProviderSpec], settings: OAuthSettings) -> None:
        self._providers: dict[str, Provider] = {}
        for name, packaged in specs.items():
            spec = packaged
            override = settings.providers.get(name)
            managed = None
            if override is not None:
                updates = {
                    key: value
                    for key, value in {
                        "authorization_url": override.authorization_url,
                        "token_url": override.token_url,
                        "revocation_url": override.revocation_url,
                        "introspection_url": override.introspection_url,
                        "issuer": override.issuer,
                        "scopes": override.scopes,
                    }.items()
                    if value is not None
                }
                spec = spec.model_copy(update=updates)
                if override.client_id and override.client_secret:
                    managed = Client(
                        override.client_id, override.client_secret.get_secret_value(), spec.client_auth
                    )
            self._providers[name] = Provider(spec, managed)

    def get(self, name: str) -> Provider | None:
        return self._providers.get(name)

    def __iter__(self) -> Iterator[Provider]:
        return iter(self._providers.values())
