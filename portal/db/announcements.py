"""Platform announcements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.db.base import valid_id
from portal.db.models import Announcement


async def insert(session: AsyncSession, row: Announcement) -> Announcement:
    session.add(row)
    await session.flush()
    return row


async def get_for_update(session: AsyncSession, announcement_id: int) -> Announcement | None:
    if not valid_id(announcement_id):
        return None
    query = select(Announcement).where(Announcement.id == announcement_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def listed(
    session: AsyncSession,
    *,
    active_at: datetime | None,
    q: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> Sequence[Announcement]:
    """Newest first (by `starts_at`, then id). `active_at`: only those showing at that time
    (`starts_at <= t` and `ends_at` null or later); None: all of them. `q`: a title substring."""
    query = select(Announcement)
    if active_at is not None:
        query = query.where(
            Announcement.starts_at <= active_at,
            or_(Announcement.ends_at.is_(None), Announcement.ends_at > active_at),
        )
    if q:
        query = query.where(func.lower(Announcement.title).contains(q.lower(), autoescape=True))
    query = query.order_by(Announcement.starts_at.desc(), Announcement.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return (await session.execute(query)).scalars().all()
