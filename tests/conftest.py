"""Test servers: the real app on a real socket, once per backend per worker.

Every test that takes `server` runs twice: on SQLite + the memory LiveStore, and on PostgreSQL + Redis
(a fresh database and a unique Redis key prefix per run). Where PostgreSQL or Redis does not answer, the
`postgres` variants are skipped with the reason in the summary (pytest -ra) and in the report header.

The server shares the test's event loop and a `FakeClock`, so tests move time instead of sleeping. Each
test client gets its own client IP (X-Forwarded-For from the trusted 127.0.0.1), which keeps rate-limit
counters and pending-code limits apart between tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import secrets
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
import uvicorn

from portal.app import create_app
from portal.clock import FakeClock
from portal.config import Settings
from portal.container import Container
from portal.db.migrate import upgrade_async

PG_ADMIN_URL = os.environ.get("PORTAL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PUBLIC_KEY = "ppub_test_" + secrets.token_urlsafe(16)
RUN_ID = uuid.uuid4().hex[:10]


def _answers(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


POSTGRES_UP = _answers("127.0.0.1", 5432)
REDIS_UP = _answers("127.0.0.1", 6379)
POSTGRES_SKIP = (
    None
    if POSTGRES_UP and REDIS_UP
    else "PostgreSQL + Redis backend NOT TESTED: "
    + ", ".join(
        name
        for name, up in (("PostgreSQL 127.0.0.1:5432", POSTGRES_UP), ("Redis 127.0.0.1:6379", REDIS_UP))
        if not up
    )
    + " not reachable"
)


def pytest_report_header(config: pytest.Config) -> list[str]:
    postgres = "yes" if not POSTGRES_SKIP else f"NO -- {POSTGRES_SKIP}"
    return [f"portal backends: sqlite+memory yes; postgres+redis {postgres}"]


@dataclass
class TestServer:
    """A running Portal server and the handles tests need around it."""

    __test__ = False

    backend: str
    base_url: str
    container: Container
    clock: FakeClock
    settings: Settings

    @property
    def public_key(self) -> str:
        return PUBLIC_KEY


class _UvicornServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test process keeps its own signal handling
        return None


async def _create_pg_database(name: str) -> str:
    connection = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


async def _drop_pg_database(name: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def _purge_redis(prefix: str) -> None:
    client = aioredis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def build_settings(
    backend: str, var_dir: Path, database_url: str, redis_prefix: str, **overrides: Any
) -> Settings:
    return Settings(
        var_dir=var_dir,
        database_url=database_url,
        redis_url=REDIS_URL if backend == "postgres" else None,
        redis_prefix=redis_prefix,
        public_api_key=PUBLIC_KEY,
        secret_key="test-secret-" + RUN_ID,
        trusted_proxies="127.0.0.1",
        rate_limits="on",
        console_codes="off",
        allowed_origins="http://127.0.0.1:8080,http://localhost:8080",
        **{"janitor_interval": 3600, **overrides},  # tests run the janitor themselves (run_once)
    )


async def _serve(container: Container) -> tuple[_UvicornServer, asyncio.Task[None], int]:
    config = uvicorn.Config(
        create_app(container),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="on",
        ws="websockets-sansio",
    )
    server = _UvicornServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, task, server.servers[0].sockets[0].getsockname()[1]


@contextlib.asynccontextmanager
async def another_node(first: TestServer) -> AsyncIterator[TestServer]:
    """A second server process's worth of app on the same database, Redis prefix and clock as `first`."""
    container = Container(first.settings, clock=first.clock)
    server, task, port = await _serve(container)
    try:
        yield TestServer(first.backend, f"http://127.0.0.1:{port}", container, first.clock, first.settings)
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def running_server(backend: str, tmp: Path, **overrides: Any) -> AsyncIterator[TestServer]:
    """Start a server for `backend` on a free port; clean its database and Redis keys afterwards."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"portal_test_{RUN_ID}_{worker}_{uuid.uuid4().hex[:6]}"
    if backend == "postgres":
        database_url = await _create_pg_database(name)
    else:
        database_url = f"sqlite+aiosqlite:///{tmp / 'portal.db'}"
    settings = build_settings(backend, tmp / "var", database_url, name, **overrides)
    try:
        await upgrade_async(database_url)
        clock = FakeClock()
        container = Container(settings, clock=clock)
        config = uvicorn.Config(
            create_app(container),
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="on",
            ws="websockets-sansio",
        )
        server = _UvicornServer(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield TestServer(backend, f"http://127.0.0.1:{port}", container, clock, settings)
        finally:
            server.should_exit = True
            await task
    finally:
        if backend == "postgres":
            await _drop_pg_database(name)
            await _purge_redis(name)


@pytest_asyncio.fixture(scope="session", params=["sqlite", "postgres"])
async def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TestServer]:
    if request.param == "postgres" and POSTGRES_SKIP:
        pytest.skip(POSTGRES_SKIP)
    async with running_server(request.param, tmp_path_factory.mktemp(request.param)) as running:
        yield running


# ---- clients ------------------------------------------------------------------------------------------

_ip_counter = itertools.count(1)


def fresh_ip() -> str:
    n = next(_ip_counter)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


@pytest_asyncio.fixture
async def portal(server: TestServer) -> AsyncIterator[Any]:
    """Factory of clients, users and bots on `server` (see tests/helpers.py)."""
    from tests.helpers import Portal

    factory = Portal(server)
    try:
        yield factory
    finally:
        await factory.close()
