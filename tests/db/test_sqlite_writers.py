"""SQLite writers of one process queue on the event loop, not in `BEGIN IMMEDIATE` (docs/decisions.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from portal.db.engine import Database


async def test_a_waiting_writer_holds_no_connection_and_never_times_out(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'writers.db'}", pool_size=1)
    begins: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("BEGIN"):
            begins.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", note)
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE t (n INTEGER)"))
        begins.clear()
        release = asyncio.Event()

        async def holder() -> None:
            async with db.transaction() as session:
                await session.execute(text("INSERT INTO t VALUES (0)"))
                await release.wait()

        async def writer(n: int) -> None:
            async with db.transaction() as session:
                await session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})

        first = asyncio.create_task(holder())
        while not begins:  # noqa: ASYNC110 - the holder's BEGIN IMMEDIATE is the signal
            await asyncio.sleep(0)
        others = [asyncio.create_task(writer(n)) for n in range(1, 6)]
        for _ in range(10):
            await asyncio.sleep(0)

        async def count() -> int:
            async with db.read() as session:
                return int((await session.execute(text("SELECT count(*) FROM t"))).scalar_one())

        # Five writers wait for their turn without a connection (the pool has one and one overflow; the
        # holder has one) and without a busy_timeout running: a read still gets the other connection.
        assert await asyncio.wait_for(count(), 5) == 0
        assert begins == ["BEGIN IMMEDIATE"]
        release.set()
        await asyncio.gather(first, *others)
        assert len(begins) == 6
        assert await count() == 6
    finally:
        await db.engine.dispose()
