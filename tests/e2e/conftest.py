"""Fixtures for tests that run the ``lockstitch`` command: a fresh database per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import TEST_KEY, _fresh_postgres_database


@pytest.fixture
async def fresh_database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'home' / 'lockstitch.db'}"
    name = f"lockstitch_e2e_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    return await _fresh_postgres_database(name)


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
        }
    )
    return env
