"""Transactions that run callbacks after commit ("events after commit", Zulip style)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db.engine import Database

log = logging.getLogger(__name__)
AfterCommit = Callable[[], Awaitable[None]]
_KEY = "portal.on_commit"


def on_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once the surrounding `unit_of_work` has committed (dropped on rollback)."""
    session.info.setdefault(_KEY, []).append(callback)


@asynccontextmanager
async def unit_of_work(db: Database) -> AsyncIterator[AsyncSession]:
    async with db.sessionmaker() as session:
        async with session.begin():
            await db.begin_writing(session)
            yield session
        callbacks: list[AfterCommit] = session.info.pop(_KEY, [])
    for callback in callbacks:
        try:
            await callback()
        except Exception:  # an event that fails to go out must not undo a committed change
            log.exception("after-commit callback failed")
