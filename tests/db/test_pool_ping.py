"""PostgreSQL pool: a connection that sat idle is pinged before use and replaced when the server killed it;
one a request has just returned is used without a ping (no round trip per transaction under load)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text

from portal.db import engine as engine_module
from portal.db.engine import Database
from tests.servers import PG_ADMIN_URL, POSTGRES_SKIP

pytestmark = pytest.mark.skipif(POSTGRES_SKIP is not None, reason=POSTGRES_SKIP or "")


@pytest.fixture
async def database() -> AsyncIterator[Database]:
    url = PG_ADMIN_URL.replace("postgresql://", "postgresql+asyncpg://")
    db = Database(url, pool_size=1)
    try:
        yield db
    finally:
        await db.dispose()


async def _backend_pid(db: Database) -> int:
    async with db.read() as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


def _count_pings(monkeypatch: pytest.MonkeyPatch, db: Database) -> list[int]:
    pings: list[int] = []
    dialect = db.engine.dialect
    real_ping = dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        pings.append(1)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counted)
    return pings


async def test_a_connection_just_returned_is_used_without_a_ping(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "PING_WHEN_IDLE_AFTER", 60.0)
    pings = _count_pings(monkeypatch, database)
    first = await _backend_pid(database)
    assert [await _backend_pid(database) for _ in range(5)] == [first] * 5
    assert pings == []


async def test_an_idle_connection_the_server_killed_is_replaced_before_use(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = _count_pings(monkeypatch, database)
    doomed = await _backend_pid(database)
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", doomed) is True
    finally:
        await admin.close()
    monkeypatch.setattr(engine_module, "PING_WHEN_IDLE_AFTER", 0.0)  # it has been idle "long enough"
    replacement = await _backend_pid(database)  # no error: the ping found it dead, the pool reconnected
    assert replacement != doomed
    assert pings == [1]
