"""`/health` and `/v1/admin/health` (01 §9, 08 §43): reachability, statistics, degraded and unhealthy.

Degraded and unhealthy need a backend that fails while a server runs: Redis goes away behind a TCP proxy
that the test closes, and the database is dropped (PostgreSQL) or is not a database at all (SQLite).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from portal.clock import FakeClock, isoformat
from portal.container import Container
from tests.helpers import Portal, expect_error
from tests.servers import (
    POSTGRES_SKIP,
    REDIS_UP,
    REDIS_URL,
    RedisProxy,
    build_settings,
    create_pg_database,
    drop_pg_database,
    node_like,
    purge_redis,
    serving,
)

HEALTH_KEYS = {
    "status",
    "database",
    "cache",
    "started_at",
    "db_statistics",
    "cache_statistics",
    "errors",
}
DB_STAT_KEYS = {"size", "checked_in", "checked_out", "overflow", "total", "latency_ms"}
CACHE_STAT_KEYS = {
    "memory_usage_bytes",
    "total_keys",
    "connected_clients",
    "uptime_seconds",
    "evicted_keys",
    "hit_rate",
    "total_commands_processed",
    "latency_ms",
}
REDIS_ONLY = CACHE_STAT_KEYS - {"total_keys", "latency_ms"}


# ---- /health ------------------------------------------------------------------------------------------


async def test_health_is_public_and_reports_both_stores(portal: Portal) -> None:
    if portal.server.backend == "postgres":
        # hit_rate needs at least one key lookup in Redis's lifetime; make sure there is one.
        await portal.container.live.get("health-test-probe")
    client = portal.client(api_key=None)  # no key, no cookie

    response = await client.raw("GET", "/health")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == HEALTH_KEYS
    assert body["status"] == "healthy"
    assert body["database"] is True
    assert body["cache"] is True  # the in-memory store counts as a reachable cache (08 §43)
    assert body["errors"] == []
    assert body["started_at"] == isoformat(portal.container.started_at)
    assert response.headers["x-correlation-id"]

    db = body["db_statistics"]
    assert set(db) == DB_STAT_KEYS
    assert all(isinstance(db[k], int) for k in ("size", "checked_in", "checked_out", "overflow", "total"))
    assert db["size"] == portal.server.settings.db_pool_size
    assert db["total"] == db["checked_in"] + db["checked_out"]
    assert isinstance(db["latency_ms"], int | float) and db["latency_ms"] >= 0

    cache = body["cache_statistics"]
    assert set(cache) == CACHE_STAT_KEYS
    assert isinstance(cache["total_keys"], int) and cache["total_keys"] >= 1  # this request's counter
    assert isinstance(cache["latency_ms"], int | float) and cache["latency_ms"] >= 0
    if portal.server.backend == "sqlite":
        assert {k: cache[k] for k in REDIS_ONLY} == dict.fromkeys(REDIS_ONLY)
    else:
        for key in REDIS_ONLY:
            assert isinstance(cache[key], int | float), f"{key} is {cache[key]!r} on Redis"
        assert cache["memory_usage_bytes"] > 0 and cache["connected_clients"] >= 1
        assert 0 <= cache["hit_rate"] <= 100


async def test_health_started_at_stays_the_start_time(portal: Portal) -> None:
    client = portal.client(api_key=None)
    first = (await client.raw("GET", "/health")).json()["started_at"]
    portal.server.clock.advance(5)
    assert (await client.raw("GET", "/health")).json()["started_at"] == first


# ---- degraded and unhealthy -------------------------------------------------------------------------------


@pytest.mark.skipif(not REDIS_UP, reason=f"Redis {REDIS_URL} not reachable: Redis outage NOT TESTED")
async def test_health_is_degraded_while_redis_is_down(portal: Portal) -> None:
    """08 §43: Redis configured but unreachable → `degraded`, still 200; back to healthy when it returns."""
    proxy = RedisProxy()
    await proxy.start()
    prefix = f"health_degraded_{uuid.uuid4().hex[:8]}"
    try:
        async with node_like(portal.server, redis_url=proxy.url, redis_prefix=prefix) as node:
            client = portal.client(api_key=None, base_url=node.base_url)
            healthy = await client.raw("GET", "/health")
            assert healthy.status_code == 200
            assert healthy.json()["status"] == "healthy"
            assert healthy.json()["cache_statistics"]["connected_clients"] >= 1

            await proxy.cut()
            # The first command may still meet the dropped connection; the state must settle at degraded.
            responses = [await client.raw("GET", "/health") for _ in range(2)]

            for response in responses:
                assert response.status_code == 200, response.text
                body = response.json()
                assert body["status"] == "degraded"
                assert body["database"] is True
                assert body["cache"] is False
                assert body["errors"] and all(isinstance(e, str) and e for e in body["errors"])
                assert body["cache_statistics"] == dict.fromkeys(CACHE_STAT_KEYS)
                assert isinstance(body["db_statistics"]["latency_ms"], int | float)

            await proxy.start()  # Redis is back on the same address
            recovered = await client.raw("GET", "/health")
            assert recovered.status_code == 200
            assert recovered.json()["status"] == "healthy"
            assert recovered.json()["errors"] == []
    finally:
        if proxy._server is not None:
            await proxy.cut()
        await purge_redis(prefix)


@pytest.mark.skipif(not REDIS_UP, reason=f"Redis {REDIS_URL} not reachable: Redis outage NOT TESTED")
async def test_a_node_starts_while_redis_is_down_and_reports_degraded(portal: Portal) -> None:
    """A node must come up (and say so on /health) even when Redis is down at start."""
    proxy = RedisProxy()
    await proxy.start()
    await proxy.cut()  # nothing listens on proxy.port now
    prefix = f"health_start_{uuid.uuid4().hex[:8]}"
    async with node_like(portal.server, redis_url=proxy.url, redis_prefix=prefix) as node:
        response = await portal.client(api_key=None, base_url=node.base_url).raw("GET", "/health")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["cache"] is False


async def test_health_is_unhealthy_when_the_sqlite_database_cannot_be_opened(tmp_path: Path) -> None:
    """08 §43: the database is down → 503 `unhealthy`; the cache is still reported."""
    not_a_database = tmp_path / "portal.db"
    not_a_database.mkdir()  # SQLite cannot open a directory
    clock = FakeClock()
    settings = build_settings("sqlite", tmp_path / "var", f"sqlite+aiosqlite:///{not_a_database}", "x")
    async with serving(Container(settings, clock=clock), "sqlite", clock) as node:
        from portal.client import PortalClient

        async with PortalClient(node.base_url) as client:
            response = await client.raw("GET", "/health")

    assert response.status_code == 503
    body = response.json()
    assert set(body) == HEALTH_KEYS | {"error", "correlation_id"}  # the health object inside the envelope
    assert body["error"] == "Service unhealthy"
    assert body["correlation_id"] == response.headers["x-correlation-id"]
    assert body["status"] == "unhealthy"
    assert body["database"] is False
    assert body["cache"] is True
    assert body["db_statistics"]["latency_ms"] is None
    assert body["errors"] and all(isinstance(e, str) and e for e in body["errors"])
    assert response.headers["x-correlation-id"]


@pytest.mark.skipif(bool(POSTGRES_SKIP), reason=POSTGRES_SKIP or "")
async def test_health_is_unhealthy_when_the_postgres_database_is_dropped(tmp_path: Path) -> None:
    name = f"portal_health_{uuid.uuid4().hex[:10]}"
    url = await create_pg_database(name)
    clock = FakeClock()
    settings = build_settings("postgres", tmp_path / "var", url, name)
    try:
        async with serving(Container(settings, clock=clock), "postgres", clock) as node:
            from portal.client import PortalClient

            async with PortalClient(node.base_url) as client:
                before = await client.raw("GET", "/health")
                assert before.status_code == 200
                assert before.json()["status"] == "healthy"

                await drop_pg_database(name)  # terminates the pooled connections too
                after = await client.raw("GET", "/health")

        assert after.status_code == 503
        body = after.json()
        assert body["error"] == "Service unhealthy"
        assert body["status"] == "unhealthy"
        assert body["database"] is False
        assert body["cache"] is True  # Redis is still there
        assert body["errors"] and all(isinstance(e, str) and e for e in body["errors"])
        assert after.headers["x-correlation-id"]
    finally:
        await drop_pg_database(name)
        await purge_redis(name)


# ---- /v1/admin/health ---------------------------------------------------------------------------------


async def test_admin_health_needs_a_session(portal: Portal) -> None:
    await expect_error(portal.client().admin_health(), 401, "Authentication required")


@pytest.mark.parametrize("level", ["user", "moderator"])
async def test_admin_health_is_refused_below_admin(portal: Portal, level: str) -> None:
    caller = await portal.login(level)
    await expect_error(caller.client.admin_health(), 403, "Admin access required")


async def test_admin_health_is_refused_to_strangers(portal: Portal) -> None:
    stranger = await portal.stranger()
    await expect_error(stranger.client.admin_health(), 403, "Access denied")


async def test_admin_health_adds_a_stable_source_hash(portal: Portal) -> None:
    admin = await portal.login("admin")
    owner = await portal.login("owner")

    first = await admin.client.raw("GET", "/v1/admin/health")
    again = await admin.client.raw("GET", "/v1/admin/health")
    by_owner = await owner.client.raw("GET", "/v1/admin/health")

    assert first.status_code == again.status_code == by_owner.status_code == 200
    body = first.json()
    assert set(body) == HEALTH_KEYS | {"source_hash"}
    assert body["status"] == "healthy"
    assert body["database"] is True and body["cache"] is True
    assert re.fullmatch(r"[0-9a-f]{64}", body["source_hash"])
    assert again.json()["source_hash"] == by_owner.json()["source_hash"] == body["source_hash"]
    assert first.headers["x-ratelimit-limit"] == "60"  # the ADMIN tier (00 §3.4)
