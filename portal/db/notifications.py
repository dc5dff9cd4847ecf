"""Per-user notifications, and the recipients of an admin send."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from portal.db.base import valid_id
from portal.db.models import Notification, User


async def insert(session: AsyncSession, row: Notification) -> Notification:
    session.add(row)
    await session.flush()
    return row


async def insert_many(session: AsyncSession, rows: Sequence[Notification]) -> Sequence[Notification]:
    """Add many rows in one flush (one multi-row INSERT ... RETURNING id on both backends)."""
    session.add_all(rows)
    await session.flush()
    return rows


async def get(session: AsyncSession, notification_id: int) -> Notification | None:
    if not valid_id(notification_id):
        return None
    return await session.get(Notification, notification_id)


async def page(session: AsyncSession, user_id: int, *, offset: int, limit: int) -> Sequence[Notification]:
    """One user's notifications, newest first."""
    query = (
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return (await session.execute(query)).scalars().all()


async def counts(session: AsyncSession, user_id: int) -> tuple[int, int]:
    """(total, unread) of one user's notifications."""
    query = select(func.count(), func.count(Notification.id).filter(Notification.read_at.is_(None))).where(
        Notification.user_id == user_id
    )
    total, unread = (await session.execute(query)).one()
    return int(total), int(unread)


async def unread_count(session: AsyncSession, user_id: int) -> int:
    query = select(func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    return int((await session.execute(query)).scalar_one())


async def mark_read(session: AsyncSession, row: Notification, now: datetime) -> bool:
    """Stamp `read_at` if the row is still unread (a concurrent read loses); answers whether it did."""
    result = await session.execute(
        update(Notification)
        .where(Notification.id == row.id, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    await session.refresh(row)
    return True


async def mark_all_read(session: AsyncSession, user_id: int, now: datetime) -> int:
    result = await session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def registered_user_ids(session: AsyncSession) -> list[int]:
    """Every registered (non-stranger) user, by id: the recipients of a broadcast."""
    query = select(User.id).where(User.is_stranger.is_(False)).order_by(User.id)
    return list((await session.execute(query)).scalars().all())


async def registered_among(session: AsyncSession, user_ids: Iterable[int]) -> set[int]:
    """Which of `user_ids` are registered (non-stranger) users."""
    wanted = [i for i in set(user_ids) if valid_id(i)]
    if not wanted:
        return set()
    query = select(User.id).where(User.id.in_(wanted), User.is_stranger.is_(False))
    return set((await session.execute(query)).scalars().all())
