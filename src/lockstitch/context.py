"""What a running Lockstitch process shares: settings, database, catalogue, keyring.

Built once by ``build_context`` and handed to the API (``app.state.ctx``), the worker and the
CLI commands, so that nothing else constructs engines or reads settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from lockstitch.catalog.loader import Catalog, load_catalog
from lockstitch.config import Settings
from lockstitch.kit.crypto import Keyring
from lockstitch.kit.db import Database


@dataclass
class Context:
    settings: Settings
    db: Database
    catalog: Catalog
    keyring: Keyring

    async def close(self) -> None:
        await self.db.dispose()


def build_context(settings: Settings, *, catalog: Catalog | None = None) -> Context:
    """Fails fast (``ConfigurationError``) on a missing key or a bad catalogue file."""
    keyring = settings.keyring
    catalog = catalog or load_catalog(settings.source_type_dirs)
    if settings.is_sqlite:
        settings.home.mkdir(parents=True, exist_ok=True)
    return Context(settings=settings, db=Database(settings.database), catalog=catalog, keyring=keyring)
