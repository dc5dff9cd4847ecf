"""Security headers on API answers, the refused CORS preflight and the offline /docs (issue 14 item 9)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio

from tests.helpers import Portal
from tests.servers import TestServer, running_server

ALLOWED_ORIGIN = "http://localhost:8080"


async def test_api_answers_carry_no_store_nosniff_referrer_policy_and_frame_ancestors(portal: Portal) -> None:
    client = portal.client()
    for response in (
        await client.raw("GET", "/v1/users/me"),  # an error
        await client.raw("GET", "/v1/no/such/route"),
        await client.raw("GET", "/v1/announcements"),
    ):
        headers = response.headers
        assert headers["cache-control"] == "no-store", response.url
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
    health = await client.raw("GET", "/health")
    assert "frame-ancestors 'none'" in health.headers["content-security-policy"]
    assert health.headers["referrer-policy"] == "no-referrer"
    # No HSTS while cookies are not Secure (plain-http development).
    assert "strict-transport-security" not in health.headers


async def test_a_refused_cors_preflight_answers_in_the_error_envelope(portal: Portal) -> None:
    client = portal.client()
    refused = await client.raw(
        "OPTIONS",
        "/v1/users/me",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert refused.status_code == 403
    body = refused.json()
    assert body == {"error": "Origin not allowed", "correlation_id": refused.headers["x-correlation-id"]}
    assert "access-control-allow-origin" not in refused.headers
    allowed = await client.raw(
        "OPTIONS",
        "/v1/users/me",
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


REDOC_BUNDLE = "/docs/assets/redoc.standalone.js"


async def test_docs_serve_swagger_ui_from_the_installed_package(portal: Portal) -> None:
    client = portal.client()
    page = await client.raw("GET", "/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower()
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    csp = page.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp and "cdn" not in csp and "'unsafe-inline'" not in csp.split("style-src")[0]
    )
    assert "frame-ancestors 'none'" in csp
    for asset, media in (
        ("/docs/assets/swagger-ui-bundle.js", "javascript"),
        ("/docs/assets/swagger-ui.css", "text/css"),
        ("/docs/init.js", "javascript"),
        ("/docs/assets/redoc.standalone.js", "javascript"),
    ):
        response = await client.raw("GET", asset)
        assert response.status_code == 200, asset
        assert media in response.headers["content-type"]
        assert asset.removeprefix("/docs/") in page.text or asset in ("/docs/init.js", REDOC_BUNDLE)
    assert "/docs/init.js" in page.text
    assert "/openapi.json" in (await client.raw("GET", "/docs/init.js")).text
    redoc = await client.raw("GET", "/redoc")
    assert redoc.status_code == 200 and REDOC_BUNDLE in redoc.text and "https://" not in redoc.text
    assert "script-src 'self'" in redoc.headers["content-security-policy"]


@pytest_asyncio.fixture
async def secure_server(tmp_path: Path) -> AsyncIterator[TestServer]:
    async with running_server("sqlite", tmp_path, cookie_secure=True) as running:
        yield running


async def test_hsts_when_cookies_are_secure(secure_server: TestServer) -> None:
    async with httpx.AsyncClient(base_url=secure_server.base_url) as http:
        for path in ("/health", "/v1/users/me", "/docs"):
            response = await http.get(path)
            assert response.headers["strict-transport-security"] == "max-age=31536000", path


async def test_no_store_is_for_the_api_only(portal: Portal) -> None:
    """`/health` and `/openapi.json` are not under `/v1`: only `/v1` answers are `no-store`."""
    schema = await portal.client().raw("GET", "/openapi.json")
    assert schema.headers.get("cache-control") != "no-store"
