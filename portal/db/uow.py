"""After-commit callbacks ("events after commit", Zulip style).

`Database.transaction()` is the one unit of work: it commits, then runs what `on_commit` registered on its
session, so clients never hear about a change that was rolled back. See docs/architecture.md.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)
AfterCommit = Callable[[], Awaitable[None]]
_KEY = "portal.on_commit"


def on_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once the surrounding `Database.transaction()` has committed (dropped on rollback)."""
    session.info.setdefault(_KEY, []).append(callback)


def take_callbacks(session: AsyncSession) -> list[AfterCommit]:
    """The callbacks registered on `session`, removed from it (the transaction runs them after commit)."""
    callbacks: list[AfterCommit] = session.info.pop(_KEY, [])
    return callbacks


async def run_callbacks(callbacks: list[AfterCommit]) -> None:
    for callback in callbacks:
        try:
            await callback()
        except Exception:  # an event that fails to go out must not undo a committed change
            log.exception("after-commit callback failed")
