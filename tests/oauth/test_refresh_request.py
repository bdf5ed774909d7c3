"""What one refresh sends and where (``oauth.refresh_request``): the managed app's client goes
only to the provider's endpoint (trusted), never to a partner's ``token_url``; a partner's own
client goes to its ``token_url`` when set (untrusted: the outbound policy decides), with the
client authentication it chose; a credential without a usable client is a client error."""

from __future__ import annotations

import pytest

from lockstitch.context import Context
from lockstitch.kit.time import utcnow
from lockstitch.models import OAuthCredential
from lockstitch.oauth import sealing
from lockstitch.oauth.protocol import OAuthError
from lockstitch.oauth.refresh_request import client_and_token, refresh_form, token_endpoint
from lockstitch.oauth.repository import Claim
from tests.conftest import MakeContext
from tests.oauth.rows import REST_TYPE

PROVIDER_TOKEN_URL = "https://auth.example.com/token"
PARTNER_TOKEN_URL = "https://partner.example.com/token"


@pytest.fixture
def managed_ctx(make_ctx: MakeContext) -> Context:
    managed = {
        "authorization_url": "https://auth.example.com/authorize",
        "token_url": PROVIDER_TOKEN_URL,
        "client_id": "managed-client",
        "client_secret": "managed-secret-value",
    }
    return make_ctx(oauth={"providers": {"oauth2": managed}})


def _claim(ctx: Context, app: str, **properties: str) -> Claim:
    now = utcnow()
    credential = OAuthCredential(
        id=1, account_id=7, source_id=9, provider="oauth2", app=app, status="valid",
        created_at=now, updated_at=now,
    )  # fmt: skip
    credential.refresh_token = sealing.seal(ctx.keyring, credential, "refresh_token", "rt-current")
    if app == "source":
        credential.client_id = sealing.seal(ctx.keyring, credential, "client_id", "own-client")
        credential.client_secret = sealing.seal(ctx.keyring, credential, "client_secret", "own-secret")
    return Claim(credential, REST_TYPE, dict(properties), {})


def test_the_managed_app_goes_only_to_the_providers_endpoint(managed_ctx: Context) -> None:
    """A partner's token_url on the source does not redirect the operator's client secret."""
    claim = _claim(managed_ctx, "managed", token_url=PARTNER_TOKEN_URL)
    provider = managed_ctx.providers.get("oauth2")
    assert provider is not None
    assert token_endpoint(claim, provider, managed_ctx.catalog.source_type(REST_TYPE)) == (
        PROVIDER_TOKEN_URL,
        True,
    )
    client, refresh_token = client_and_token(managed_ctx, claim, provider)
    assert (client.client_id, client.client_secret, refresh_token) == (
        "managed-client",
        "managed-secret-value",
        "rt-current",
    )


@pytest.mark.parametrize("method", ["basic", "body"])
def test_a_partners_client_goes_to_its_own_endpoint_untrusted(managed_ctx: Context, method: str) -> None:
    """A partner's own client refreshes at the token_url it gave (partner input, so not
    trusted), authenticated the way it chose; without one, at the provider's."""
    source_type = managed_ctx.catalog.source_type(REST_TYPE)
    provider = managed_ctx.providers.get("oauth2")
    assert provider is not None
    claim = _claim(managed_ctx, "source", token_url=PARTNER_TOKEN_URL, client_auth_method=method)
    assert token_endpoint(claim, provider, source_type) == (PARTNER_TOKEN_URL, False)
    client, refresh_token = client_and_token(managed_ctx, claim, provider)
    assert (client.client_id, client.client_secret, refresh_token) == (
        "own-client",
        "own-secret",
        "rt-current",
    )
    assert client.auth_method == method
    assert token_endpoint(_claim(managed_ctx, "source"), provider, source_type) == (PROVIDER_TOKEN_URL, True)


def test_the_form_is_a_refresh_token_grant(managed_ctx: Context) -> None:
    """grant_type=refresh_token with the stored refresh token (no redirect_uri for a type
    that does not ask for one)."""
    provider = managed_ctx.providers.get("oauth2")
    assert provider is not None
    claim = _claim(managed_ctx, "managed")
    form = refresh_form(
        managed_ctx, claim, provider, managed_ctx.catalog.source_type(REST_TYPE), "rt-current"
    )
    assert form["grant_type"] == "refresh_token"
    assert form["refresh_token"] == "rt-current"
    assert "redirect_uri" not in form


def test_no_usable_client_is_a_client_error(ctx: Context, managed_ctx: Context) -> None:
    """An unknown provider, or a managed credential with no managed app configured, fails as
    a client error (the refresher then flags or declares it, never sends)."""
    claim = _claim(ctx, "managed")
    with pytest.raises(OAuthError) as unknown:
        client_and_token(ctx, claim, None)
    assert (unknown.value.error_class, unknown.value.code) == ("client", "unknown_provider")
    bare = ctx.providers.get("oauth2")
    assert bare is not None
    assert bare.managed is None
    with pytest.raises(OAuthError) as unconfigured:
        client_and_token(ctx, claim, bare)
    assert (unconfigured.value.error_class, unconfigured.value.code) == ("client", "unconfigured")
