"""What one refresh sends, and where (step 3 of ``lifecycle``): the client and refresh token,
the form, the token endpoint. The managed app's credentials go only to the provider's endpoint;
a partner's own client may name its own (then the outbound policy decides whether it is reached).
"""

from __future__ import annotations

from lockstitch.catalog.providers import Client, Provider
from lockstitch.catalog.source_type import SourceType
from lockstitch.context import Context
from lockstitch.oauth import sealing
from lockstitch.oauth.protocol import OAuthError
from lockstitch.oauth.repository import Claim


def client_and_token(ctx: Context, claim: Claim, provider: Provider | None) -> tuple[Client, str]:
    """The client a refresh authenticates as (the managed app, or the partner's own) and the
    refresh token it sends."""
    credential = claim.credential
    if provider is None:
        raise OAuthError("client", "unknown_provider", f"no OAuth provider {credential.provider!r}")
    if credential.app == "managed":
        if provider.managed is None:
            raise OAuthError("client", "unconfigured", f"no managed app is configured for {provider.name}")
        client = provider.managed
    else:
        client = provider.client(
            sealing.unseal(ctx.keyring, credential, "client_id"),
            sealing.unseal(ctx.keyring, credential, "client_secret"),
            _source_choice(claim, ctx.catalog.source_type(claim.source_type)),
        )
    return client, sealing.unseal(ctx.keyring, credential, "refresh_token")


def refresh_form(
    ctx: Context, claim: Claim, provider: Provider, source_type: SourceType | None, refresh_token: str
) -> dict[str, str]:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, **provider.spec.refresh_params}
    oauth = source_type.definition.oauth if source_type else None
    if oauth is not None and oauth.redirect_uri:
        # Providers such as HubSpot want the redirect URI the grant was made with.
        if claim.credential.app == "managed":
            form["redirect_uri"] = ctx.settings.oauth_callback_url
        elif oauth.redirect_uri in claim.source_credentials:
            form["redirect_uri"] = sealing.unseal_source_credential(
                ctx.keyring, claim.credential, oauth.redirect_uri, claim.source_credentials
            )
    return form


def token_endpoint(claim: Claim, provider: Provider, source_type: SourceType | None) -> tuple[str, bool]:
    """Where a refresh goes, and whether the operator said so (trusted) or a partner did.

    The managed app's credentials go only to the provider's endpoint (packaged, or the
    operator's override): a partner's ``token_url`` property never receives them. A partner's
    own client may name its token endpoint on the source (``token_url_property``); that URL is
    partner input, so the outbound policy decides whether Lockstitch may reach it.
    """
    oauth = source_type.definition.oauth if source_type else None
    if claim.credential.app != "managed" and oauth is not None and oauth.token_url_property:
        url = claim.source_properties.get(oauth.token_url_property)
        if isinstance(url, str) and url:
            return url, False
    return provider.spec.token_url, True


def _source_choice(claim: Claim, source_type: SourceType | None) -> str | None:
    """The client authentication a partner chose on the source, when its type lets them."""
    oauth = source_type.definition.oauth if source_type else None
    if oauth is None or not oauth.client_auth_property:
        return None
    value = claim.source_properties.get(oauth.client_auth_property)
    return value if value in ("basic", "body") else None
