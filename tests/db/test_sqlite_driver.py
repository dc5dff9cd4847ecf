"""One thread hop per SQLite statement (portal/db/sqlite_driver.py), and nothing lost on the way.

A hop is a call aiosqlite runs in its thread (`aiosqlite.Connection._execute`); the test counts them with
a wrapper around that method of the real connection class, and every statement runs on a real file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from portal.db.engine import Database


@contextmanager
def hops() -> Iterator[list[str]]:
    calls: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    aiosqlite.Connection._execute = counted  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        aiosqlite.Connection._execute = original  # type: ignore[method-assign]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}", pool_size=2)
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER UNIQUE)"))
        await session.execute(text("INSERT INTO t (n) VALUES (1), (2), (3)"))
    yield database
    await database.dispose()


async def test_a_read_session_costs_one_hop_per_statement_and_no_rollback(db: Database) -> None:
    async with db.read() as session:
        await session.execute(text("SELECT 1"))  # the pooled connection is warm
    with hops() as calls:
        async with db.read() as session:
            rows = (await session.execute(text("SELECT n FROM t ORDER BY n"))).scalars().all()
            count = (await session.execute(text("SELECT count(*) FROM t"))).scalar_one()
    assert (rows, count) == ([1, 2, 3], 3)
    assert calls == ["_run", "_run"]  # aiosqlite's adapter: cursor, execute, fetchall, close (+ ROLLBACK)


async def test_a_write_commits_with_its_rowcount_and_lastrowid(db: Database) -> None:
    with hops() as calls:
        async with db.transaction() as session:
            inserted = await session.execute(text("INSERT INTO t (n) VALUES (4)"))
            updated = await session.execute(text("UPDATE t SET n = n + 10 WHERE n < 3"))
    assert inserted.lastrowid == 4
    assert updated.rowcount == 2
    assert calls == ["_run", "_run", "_run", "commit"]  # BEGIN IMMEDIATE, INSERT, UPDATE, COMMIT
    async with db.read() as session:
        rows = (await session.execute(text("SELECT n FROM t ORDER BY n"))).scalars().all()
    assert rows == [3, 4, 11, 12]


async def test_a_failed_write_rolls_back_and_the_connection_stays_usable(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO t (n) VALUES (5)"))
            await session.execute(text("INSERT INTO t (n) VALUES (1)"))  # n is unique
    async with db.read() as session:
        rows = (await session.execute(text("SELECT n FROM t ORDER BY n"))).scalars().all()
    assert rows == [1, 2, 3]  # the 5 went with the rollback
    async with db.transaction() as session:
        await session.execute(text("INSERT INTO t (n) VALUES (6)"))
    async with db.read() as session:
        assert (await session.execute(text("SELECT max(n) FROM t"))).scalar_one() == 6


async def test_executemany_runs_in_one_hop(db: Database) -> None:
    with hops() as calls:
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO t (n) VALUES (:n)"), [{"n": n} for n in range(10, 20)])
    assert calls.count("_run") == 2  # BEGIN IMMEDIATE and the whole batch
    async with db.read() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 13
