"""OAuth provider specs: how to talk to each provider's authorization server.

One YAML per provider under ``definitions/providers/``; source types name theirs
(``oauth.provider``). The operator's config can override any endpoint (sandbox hosts,
self-hosted or test servers) and supplies the managed app's client id and secret.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

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
