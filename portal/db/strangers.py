"""The moderators' block list of stranger sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.db.conflicts import insert_unless_taken
from portal.db.models import StrangerBlock


async def is_blocked(session: AsyncSession, block_key: str, now: datetime) -> bool:
    query = select(StrangerBlock.block_key).where(
        StrangerBlock.block_key == block_key, StrangerBlock.expires_at > now
    )
    return (await session.execute(query)).first() is not None


async def block(session: AsyncSession, row: StrangerBlock) -> bool:
    """Insert the block; False when that key is already blocked (also by a concurrent insert)."""
    if await session.get(StrangerBlock, row.block_key) is not None:
        return False
    return await insert_unless_taken(session, row)


async def delete_expired(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(StrangerBlock).where(StrangerBlock.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
