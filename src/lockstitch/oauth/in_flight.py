"""Resolving a refresh whose outcome is unknown, without sending a spent refresh token again.

A refresh is *in flight* from its claim until its outcome is stored. The outcome stays unknown
when the holder died mid-request, or when the request left and no answer came (a timeout, a
dropped connection): the provider may have used, and rotated, the refresh token. Sending it
again would be a reuse, and providers with reuse detection then revoke the whole grant, new
tokens included. So the next holder of the credential finds out first (``resolve``):

* the provider does not rotate refresh tokens (Google, HubSpot, Salesforce): nothing can have
  been spent: **resend**;
* the provider documents a grace period for a used refresh token (Xero: 30 minutes) and the
  request left well within it: the provider answers a resend like the first: **resend**;
* the provider has a token introspection endpoint (RFC 7662, ``introspection_url``): once the
  first request's deadline is well past (``timing.resolve_after``, so the provider cannot still
  be answering it), ask whether the refresh token is still active: yes, **resend**; no, it was
  **spent** and the rotated token is lost;
* none of these (a partner's own token endpoint, a rotating provider without introspection):
  nothing tells a lost answer from a request that never arrived: **unknown**.

Spent and unknown end as ``needs_reauth`` with a message that says why. The trade-off of
*unknown*: a re-authorization that was perhaps not needed, instead of a resend that, had the
token been spent, would make the provider revoke the grant behind the user's back.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import httpx
import orjson

from lockstitch.catalog.providers import Client, ProviderSpec
from lockstitch.kit.deadline import within
from lockstitch.kit.outbound_http import TRUSTED
from lockstitch.oauth import timing
from lockstitch.oauth.protocol import client_auth

Verdict = Literal["resend", "spent", "unknown", "later"]

SPENT = (
    "a refresh of this token was interrupted after the provider used it, and its answer was lost; "
    "the provider no longer accepts the old refresh token, so the source needs re-authorization"
)
UNKNOWN = (
    "a refresh of this token was interrupted, and this provider offers no way to tell whether it "
    "used the token: sending it again could make the provider revoke the grant, so the source "
    "needs re-authorization"
)


async def resolve(
    http: httpx.AsyncClient,
    spec: ProviderSpec,
    client: Client,
    refresh_token: str,
    *,
    in_flight_since: dt.datetime,
    now: dt.datetime,
    timeout: float,  # noqa: ASYNC109 - a per-request timeout
    operator_endpoint: bool,
) -> Verdict:
    """What to do with a refresh token whose last refresh's outcome is unknown.

    ``operator_endpoint``: the refresh goes to the provider's configured endpoint; a partner's
    own token URL tells nothing of rotation or introspection, so it is assumed to rotate.
    """
    elapsed = (now - in_flight_since).total_seconds()
    if operator_endpoint and not spec.rotates_refresh_tokens:
        return "resend"
    grace = spec.refresh_token_grace_seconds if operator_endpoint else None
    if grace and elapsed < grace - timing.resolve_after(timeout):
        return "resend"
    if not operator_endpoint or not spec.introspection_url:
        return "unknown"
    if elapsed < timing.resolve_after(timeout):
        return "later"
    return await _introspect(http, spec.introspection_url, client, refresh_token, timeout)


async def _introspect(
    http: httpx.AsyncClient,
    url: str,
    client: Client,
    refresh_token: str,
    timeout: float,  # noqa: ASYNC109
) -> Verdict:
    data, headers = client_auth(client, {"token": refresh_token, "token_type_hint": "refresh_token"})
    try:
        response = await within(
            http.post(url, data=data, headers=headers, timeout=None, extensions={TRUSTED: True}), timeout
        )
    except (httpx.HTTPError, TimeoutError):
        return "later"
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return "later"
    if response.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("active"), bool):
        return "later"
    return "resend" if body["active"] else "spent"
