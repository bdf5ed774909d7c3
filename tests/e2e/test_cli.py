"""The ``lockstitch`` command as an operator uses it (subprocesses, both databases)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import LOCKSTITCH, Server, cli

pytestmark = pytest.mark.slow


def test_accounts_create_json_is_exact(lockstitch_env: dict[str, str]) -> None:
    result = cli(
        lockstitch_env, "accounts", "create", "--email", "ops@example.com", "--company", "Ops", "--json"
    )
    line = result.stdout.strip()
    assert re.fullmatch(r'\{"stitch_account_id": \d+, "access_token": "ac_[A-Za-z0-9_-]{43}"\}', line), line
    parsed = json.loads(line)
    assert list(parsed) == ["stitch_account_id", "access_token"]
    again = cli(
        lockstitch_env, "accounts", "create", "--email", "OPS@example.com", "--company", "Ops", check=False
    )
    assert again.returncode == 1
    assert "already associated" in again.stderr


def test_tokens_create_list_revoke(lockstitch_env: dict[str, str], tmp_path: Path) -> None:
    created = json.loads(
        cli(
            lockstitch_env, "accounts", "create", "--email", "a@example.com", "--company", "A", "--json"
        ).stdout
    )
    account = str(created["stitch_account_id"])
    second = json.loads(
        cli(lockstitch_env, "tokens", "create", "--account", account, "--name", "ci", "--json").stdout
    )
    scoped = cli(
        lockstitch_env, "tokens", "create", "--account", account, "--scope", "credentials:read"
    ).stdout
    assert "ac_" in scoped
    listing = cli(lockstitch_env, "tokens", "list", "--account", account).stdout.splitlines()
    assert len(listing) == 3
    assert all(second["access_token"] not in line and created["access_token"] not in line for line in listing)
    assert "credentials:read" in listing[2]
    server = Server(lockstitch_env, tmp_path / "server.log").start("--no-worker")
    try:
        headers = {"Authorization": f"Bearer {second['access_token']}"}
        assert httpx.get(f"{server.url}/v4/sources", headers=headers).status_code == 200
        token_id = listing[1].split("\t")[0]
        assert "revoked" in cli(lockstitch_env, "tokens", "revoke", token_id, "--account", account).stdout
        # The server remembers verified tokens for at most a second (accounts.auth.TokenCache).
        time.sleep(1.1)
        assert httpx.get(f"{server.url}/v4/sources", headers=headers).status_code == 401
        first = {"Authorization": f"Bearer {created['access_token']}"}
        assert httpx.get(f"{server.url}/v4/sources", headers=first).status_code == 200
    finally:
        server.stop()
    wrong = cli(lockstitch_env, "tokens", "revoke", token_id, "--account", account, check=False)
    assert wrong.returncode == 1
    missing = cli(lockstitch_env, "tokens", "create", "--account", "999999", check=False)
    assert missing.returncode == 1
    assert "does not exist" in missing.stderr
    bad_scope = cli(lockstitch_env, "tokens", "create", "--account", account, "--scope", "admin", check=False)
    assert bad_scope.returncode == 2


def test_production_refuses_to_start_without_a_key(lockstitch_env: dict[str, str]) -> None:
    env = {k: v for k, v in lockstitch_env.items() if k != "LOCKSTITCH_ENCRYPTION_KEYS"}
    result = cli(env, "serve", check=False, timeout=60)
    assert result.returncode == 2
    assert "no encryption key configured" in result.stderr
    placeholder = cli({**env, "LOCKSTITCH_ENCRYPTION_KEYS": "k1:changeme"}, "db", "upgrade", check=False)
    assert placeholder.returncode == 2
    assert "placeholder" in placeholder.stderr


def test_development_generates_a_private_key_once(lockstitch_env: dict[str, str]) -> None:
    env = {k: v for k, v in lockstitch_env.items() if k != "LOCKSTITCH_ENCRYPTION_KEYS"}
    env["LOCKSTITCH_ENV"] = "development"
    cli(env, "db", "upgrade")
    key_file = Path(env["LOCKSTITCH_HOME"]) / "encryption.keys"
    first = key_file.read_text()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    cli(env, "db", "upgrade")
    assert key_file.read_text() == first


def test_config_file_partners_and_bad_config(lockstitch_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "lockstitch.toml"
    config.write_text('[[partners]]\nid = "oc_test"\nsecret = "partner-secret-from-file"\n')
    env = {**lockstitch_env, "LOCKSTITCH_CONFIG": str(config)}
    server = Server(env, tmp_path / "server.log").start("--no-worker")
    try:
        body = {
            "partner_id": "oc_test",
            "partner_secret": "partner-secret-from-file",
            "first_name": "A",
            "last_name": "B",
            "company": "C",
            "email": "partner-user@example.com",
        }
        assert httpx.post(f"{server.url}/v3/accounts", json=body).status_code == 200
    finally:
        server.stop()
    assert "partner-secret-from-file" not in server.log
    config.write_text("this is = not [toml")
    broken = cli(env, "db", "upgrade", check=False)
    assert broken.returncode == 2
    assert "not valid TOML" in broken.stderr
    missing = cli({**env, "LOCKSTITCH_CONFIG": str(tmp_path / "nope.toml")}, "db", "upgrade", check=False)
    assert missing.returncode == 2


def test_worker_runs_alone_and_stops_cleanly(lockstitch_env: dict[str, str], tmp_path: Path) -> None:
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [LOCKSTITCH, "worker"], env=lockstitch_env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = 60.0
        start = time.monotonic()
        while (
            "worker started" not in (tmp_path / "worker.log").read_text()
            and time.monotonic() - start < deadline
        ):
            assert process.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert "worker stopped" in (tmp_path / "worker.log").read_text()


def test_serve_readyz_and_openapi(lockstitch_env: dict[str, str], tmp_path: Path) -> None:
    server = Server(lockstitch_env, tmp_path / "server.log").start()
    try:
        assert httpx.get(f"{server.url}/readyz").json() == {"status": "ok"}
        spec = httpx.get(f"{server.url}/openapi.json").json()
        assert "/v4/sources/{source_id}" in spec["paths"]
        assert "worker started" in server.log
    finally:
        server.stop()
    assert server.process is not None
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal as its exit status.
    assert server.process.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in server.log
    assert "worker stopped" in server.log
