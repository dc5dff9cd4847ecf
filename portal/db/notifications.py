"""Per-user notifications."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db.models import Notification


async def insert(session: AsyncSession, row: Notification) -> Notification:
    session.add(row)
    await session.flush()
    return row
