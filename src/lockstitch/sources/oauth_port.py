"""The OAuth side of a source's POST and PUT, as sources needs it (a port).

Client credentials and refresh tokens sent among a source's properties become the source's OAuth
credentials, and that rule is oauth's (``oauth.ownership``). But oauth sits above sources: its
handshake and refresher read and write sources. So sources names what it needs here and the
caller hands in the implementation: the app wires ``lockstitch.oauth.ownership`` into
``app.state.credential_ownership`` (read by ``credential_ownership``), the demo and the bench pass
the module itself. A source service called without one cannot silently skip the rule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from lockstitch.catalog.source_type import SourceType
from lockstitch.kit.crypto import Keyring
from lockstitch.models import OAuthCredential, Source


@dataclass(frozen=True)
class SourceAt:
    """The source a change is applied to, inside the change's transaction, at its moment."""

    session: AsyncSession
    keyring: Keyring
    source: Source
    source_type: SourceType
    now: dt.datetime


class CredentialOwnership(Protocol):
    def split(self, source_type: SourceType, secrets: dict[str, Any]) -> dict[str, Any]:
        """Take the OAuth roles out of a change's credential values: ``{role: value or None}``."""
        ...

    async def endpoint_change_refused(
        self, at: SourceAt, plain: dict[str, Any], secrets: dict[str, Any]
    ) -> str | None:
        """The endpoint property a change may not touch (managed credentials), if any."""
        ...

    async def adopt(self, at: SourceAt, values: dict[str, Any]) -> OAuthCredential:
        """Store the OAuth values on the source's credential, which Lockstitch then owns."""
        ...

    async def endpoint_changed(self, at: SourceAt) -> list[str] | None:
        """Revalidate a partner's credentials after their token endpoint changed."""
        ...


def credential_ownership(request: Request) -> CredentialOwnership:
    return cast(CredentialOwnership, request.app.state.credential_ownership)
