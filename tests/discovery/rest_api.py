"""A small REST API for the lockstitch.rest-api tests: bearer tokens are checked by asking
oidc-provider's introspection endpoint (as the ``api`` resource server), so only tokens the real
OAuth server issued, and did not revoke, get data. It runs on a loopback port in a thread,
where the tap (a separate process) can reach it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.oauth_server.harness import RESOURCE_SERVER, OidcProvider

ITEMS = [
    {"id": 1, "name": "needle", "updated_at": "2024-01-01T00:00:00Z"},
    {"id": 2, "name": "thread", "updated_at": "2024-01-02T00:00:00Z"},
    {"id": 3, "name": "thimble", "updated_at": "2024-01-03T00:00:00Z"},
]


@dataclass
class RestApi:
    url: str
    seen: list[dict[str, Any]] = field(default_factory=list)  # per request: token active or not

    @property
    def rejected(self) -> int:
        return sum(1 for s in self.seen if not s["active"])


def _app(provider: OidcProvider, api: RestApi) -> Starlette:
    resource = provider.client(RESOURCE_SERVER)

    async def items(request: Request) -> JSONResponse:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        active = False
        if token:
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.post(
                    provider.introspection_endpoint,
                    data={"token": token},
                    auth=(resource.client_id, resource.client_secret),
                )
            active = answer.status_code == 200 and bool(answer.json().get("active"))
        api.seen.append({"active": active, "at": time.time()})
        if not active:
            return JSONResponse(
                {"error": "invalid_token", "error_description": "unauthorized"}, status_code=401
            )
        return JSONResponse({"items": ITEMS})

    return Starlette(routes=[Route("/api/items", items)])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve_rest_api(provider: OidcProvider) -> Iterator[RestApi]:
    port = _free_port()
    api = RestApi(f"http://127.0.0.1:{port}/api")
    server = uvicorn.Server(
        uvicorn.Config(_app(provider, api), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test REST API did not start")
        time.sleep(0.05)
    try:
        yield api
    finally:
        server.should_exit = True
        thread.join(timeout=10)
