"""Provider specs as this deployment sees them: packaged spec + operator overrides + managed app."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from lockstitch.catalog.providers import ProviderSpec
from lockstitch.config import OAuthSettings
from lockstitch.oauth.protocol import Client


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
