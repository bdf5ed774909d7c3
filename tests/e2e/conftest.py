"""Fixtures for tests that run the ``lockstitch`` command: a fresh database per test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import (
    LOOPBACK_CIDRS,
    PLUGINS_CACHE,
    TEST_KEY,
    _drop_postgres_database,
    _fresh_postgres_database,
    _worker_suffix,
)


@pytest.fixture
async def fresh_database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'home' / 'lockstitch.db'}"
        return
    name = f"lockstitch_e2e_{_worker_suffix()}"
    yield await _fresh_postgres_database(name)
    await _drop_postgres_database(name)


@pytest.fixture
def lockstitch_env(fresh_database_url: str, tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCKSTITCH_")}
    env.update(
        {
            "LOCKSTITCH_ENV": "production",
            "LOCKSTITCH_HOME": str(home),
            "LOCKSTITCH_DATABASE_URL": fresh_database_url,
            "LOCKSTITCH_ENCRYPTION_KEYS": TEST_KEY,
            "LOCKSTITCH_LOG_LEVEL": "debug",
            # The embedded worker runs connection checks: share the machine's plugin venvs.
            "LOCKSTITCH_RUNNER__PLUGINS_DIR": str(PLUGINS_CACHE),
            # The machine's servers (databases, the OAuth server) are on loopback: allowed as an
            # operator allows an internal network.
            "LOCKSTITCH_NETWORK__ALLOWED_CIDRS": ",".join(LOOPBACK_CIDRS),
        }
    )
    return env
