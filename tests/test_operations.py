"""Operations endpoints (operations.py): the API reference works offline, and the operator can
put /metrics, /docs and /openapi.json behind a token.

Issue 8, finding 6: ``/docs`` loaded its assets from a CDN (a blank page on an offline host), and
``/metrics`` and ``/docs`` needed no token.
"""

from __future__ import annotations

import base64

import httpx

from tests import canary
from tests.conftest import MakeContext, api_client

OPS_TOKEN = "ops-token-for-the-tests-4f1d"
canary.remember(OPS_TOKEN)


async def test_docs_are_served_from_local_files(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "/docs/assets/swagger-ui-bundle.js" in page.text
    for asset, kind in (("swagger-ui-bundle.js", "javascript"), ("swagger-ui.css", "text/css")):
        response = await client.get(f"/docs/assets/{asset}")
        assert response.status_code == 200
        assert kind in response.headers["content-type"]
        assert len(response.content) > 10_000
    assert (await client.get("/docs/assets/..%2F__init__.py")).status_code == 404
    assert (await client.get("/docs/assets/index.html")).status_code == 404
    assert (await client.get("/openapi.json")).json()["info"]["title"] == "Lockstitch"
    assert (await client.get("/redoc")).status_code == 404


async def test_an_operations_token_guards_metrics_docs_and_openapi(make_ctx: MakeContext) -> None:
    ctx = make_ctx(operations_token=OPS_TOKEN)
    basic = "Basic " + base64.b64encode(f"operator:{OPS_TOKEN}".encode()).decode()
    async with api_client(ctx) as client:
        for path in ("/metrics", "/docs", "/openapi.json", "/docs/assets/swagger-ui.css"):
            refused = await client.get(path)
            assert refused.status_code == 401, path
            assert refused.headers["www-authenticate"].startswith("Basic")
            wrong = await client.get(path, headers={"Authorization": "Bearer not-the-token"})
            assert wrong.status_code == 401, path
            assert (
                await client.get(path, headers={"Authorization": f"Bearer {OPS_TOKEN}"})
            ).status_code == 200
            assert (await client.get(path, headers={"Authorization": basic})).status_code == 200
        # Load balancers keep their probes.
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200


async def test_without_a_token_metrics_stay_open(client: httpx.AsyncClient) -> None:
    """Prometheus scrapers that never sent a token keep working until the operator sets one."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert "lockstitch_oauth_credentials" in response.text
