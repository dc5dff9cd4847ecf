"""Fixtures: the test servers (tests/servers.py) and the `portal` factory (tests/helpers.py).

Every test that takes `server` runs twice: on SQLite + the memory LiveStore, and on PostgreSQL + Redis
(a fresh database and a unique Redis key prefix per run). Where PostgreSQL or Redis does not answer, the
`postgres` variants are skipped with the reason in the summary (pytest -ra) and in the report header.

The server shares the test's event loop and a `FakeClock`, so tests move time instead of sleeping. Each
test client gets its own client IP (X-Forwarded-For from the trusted 127.0.0.1), which keeps rate-limit
counters and pending-code limits apart between tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.servers import POSTGRES_SKIP, TestServer, running_server
from tests.sockets import sockets

__all__ = ["portal", "server", "sockets"]


def pytest_report_header(config: pytest.Config) -> list[str]:
    postgres = "yes" if not POSTGRES_SKIP else f"NO -- {POSTGRES_SKIP}"
    return [f"portal backends: sqlite+memory yes; postgres+redis {postgres}"]


@pytest_asyncio.fixture(scope="session", params=["sqlite", "postgres"])
async def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TestServer]:
    if request.param == "postgres" and POSTGRES_SKIP:
        pytest.skip(POSTGRES_SKIP)
    async with running_server(request.param, tmp_path_factory.mktemp(request.param)) as running:
        yield running


@pytest_asyncio.fixture
async def portal(server: TestServer) -> AsyncIterator[Any]:
    """Factory of clients, users and bots on `server` (see tests/helpers.py)."""
    from tests.helpers import Portal

    factory = Portal(server)
    try:
        yield factory
    finally:
        await factory.close()


HANG_REPORT_AFTER = 100.0  # seconds; pytest-timeout fails a test at 120 s but shows threads only


@pytest_asyncio.fixture(autouse=True)
async def report_hangs() -> AsyncIterator[None]:
    """A test still running after HANG_REPORT_AFTER seconds prints every asyncio task's stack to stderr, so
    the pytest-timeout failure that follows shows what it was waiting for."""
    import asyncio
    import sys

    def dump() -> None:
        print(f"\n---- asyncio tasks after {HANG_REPORT_AFTER:.0f} s ----", file=sys.stderr)
        for task in asyncio.all_tasks():
            task.print_stack(limit=12, file=sys.stderr)

    handle = asyncio.get_running_loop().call_later(HANG_REPORT_AFTER, dump)
    yield
    handle.cancel()
