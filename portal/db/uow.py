"""After-commit callbacks ("events after commit", Zulip style), and the users a transaction changed.

`Database.transaction()` is the one unit of work: it commits, then runs what `on_commit` registered on its
session, so clients never hear about a change that was rolled back. See docs/architecture.md.

It also tells the authentication cache (`services/auth_cache.py`) whose user row or sessions it changed:
ORM changes are noted at flush (`note_flushed_users`), bulk statements in `db/` call `users_changed`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)
AfterCommit = Callable[[], Awaitable[None]]
_KEY = "portal.on_commit"
_CHANGED = "portal.changed_users"
ALL_USERS: Literal["all"] = "all"
ChangedUsers = set[int] | Literal["all"]
# A User column whose change nobody else needs to hear of: the hot path writes it at most once a minute.
QUIET_USER_COLUMNS = frozenset({"last_activity_at"})


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


def users_changed(session: Any, user_ids: Iterable[int]) -> None:
    """Note that these users' rows or sessions change in this transaction (`session`: sync or async)."""
    changed: ChangedUsers = session.info.setdefault(_CHANGED, set())
    if changed != ALL_USERS:
        changed.update(user_ids)


def all_users_changed(session: Any) -> None:
    session.info[_CHANGED] = ALL_USERS


def take_changed_users(session: AsyncSession) -> ChangedUsers | None:
    changed: ChangedUsers | None = session.info.pop(_CHANGED, None)
    return changed or None


def note_flushed_users(session: Any, _context: Any = None, _instances: Any = None) -> None:
    """`before_flush`: the users whose row (beyond `QUIET_USER_COLUMNS`), sessions or linked platforms this
    flush changes."""
    from sqlalchemy import inspect

    from portal.db.models import LinkedPlatform, User, UserSession

    ids: set[int] = set()
    for obj in session.new:
        if isinstance(obj, LinkedPlatform) and obj.user_id is not None:
            ids.add(obj.user_id)
    for obj in session.dirty:
        if isinstance(obj, User):
            state = inspect(obj)
            loud = [
                attr.key
                for attr in state.mapper.column_attrs
                if attr.key not in QUIET_USER_COLUMNS and state.attrs[attr.key].history.has_changes()
            ]
            if loud:
                ids.add(obj.id)
        elif isinstance(obj, UserSession | LinkedPlatform) and session.is_modified(obj):
            ids.add(obj.user_id)
    for obj in session.deleted:
        if isinstance(obj, User):
            ids.add(obj.id)
        elif isinstance(obj, UserSession | LinkedPlatform):
            ids.add(obj.user_id)
    if ids:
        users_changed(session, ids)
