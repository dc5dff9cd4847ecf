"""Unique-key clashes: the one place an `IntegrityError` becomes the domain's answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession


class Clash(Exception):
    """A write hit a unique key (or another integrity constraint) and its savepoint was rolled back."""


@asynccontextmanager
async def raise_on_clash(session: AsyncSession, error: Exception) -> AsyncIterator[None]:
    """Run the body and a flush inside a SAVEPOINT; an `IntegrityError` rolls back only the savepoint and
    raises `error` (chained to it), so the surrounding transaction stays usable.

    Make the changes inside the body: `begin_nested()` first flushes whatever is already pending, outside
    the savepoint (a clash there is still turned into `error`, but the outer transaction is lost).
    """
    try:
        async with session.begin_nested():
            yield
            await session.flush()
    except IntegrityError as exc:
        raise error from exc


async def insert_unless_taken(session: AsyncSession, row: object) -> bool:
    """Insert `row`; False when it clashes (a concurrent insert of the same key won)."""
    try:
        async with raise_on_clash(session, Clash()):
            session.add(row)
    except Clash:
        return False
    return True
