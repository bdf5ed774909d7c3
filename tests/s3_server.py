"""A local S3 server for the tests: moto's standalone server (``moto[server]``, the dev extra).

``s3_server`` (session scope) starts ``python -m moto.server`` on a free loopback port, waits
until it answers (polling, generous deadline), and stops it at the end of the session. The same
server answers STS too (moto routes by the signed service), so a tap that assumes a role reaches
it through ``AWS_ENDPOINT_URL_STS``. moto accepts any credentials and does not evaluate bucket
policies by default: a denied write is shown with a stand-in transport instead
(tests/s3/test_s3_check.py).

Another module wanting it imports the fixture into its conftest (tests/s3/conftest.py does).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

ACCESS_KEY_ID = "lockstitch-test-key"
SECRET_ACCESS_KEY = "lockstitch-test-secret-9f2c1e"
REGION = "us-east-1"
START_WITHIN_SECONDS = 60.0


@dataclass
class S3Server:
    endpoint: str
    log: Path

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
            region_name=REGION,
        )

    def settings(self) -> dict[str, Any]:
        """The operator's ``s3`` settings for a context on this server."""
        return {
            "endpoint_url": self.endpoint,
            "access_key_id": ACCESS_KEY_ID,
            "secret_access_key": SECRET_ACCESS_KEY,
            "region": REGION,
        }

    def new_bucket(self, prefix: str = "lockstitch-test") -> str:
        """A fresh, empty bucket with a unique name (tests share the session's server)."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self.client().put_object(Bucket=bucket, Key=key, Body=body)

    def objects(self, bucket: str) -> dict[str, bytes]:
        """Every object in the bucket, by key."""
        client = self.client()
        found: dict[str, bytes] = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for entry in page.get("Contents", []):
                found[entry["Key"]] = client.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
        return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(endpoint: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_WITHIN_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto's server exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{endpoint}/moto-api/", timeout=2.0).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # a poll interval, not a wait for an outcome
    raise RuntimeError(f"moto's server did not answer within {START_WITHIN_SECONDS:g} s")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    endpoint = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(endpoint, process, log)
        yield S3Server(endpoint, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
