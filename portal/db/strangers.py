"""The moderators' block list of stranger sessions, and the purge of strangers whose sessions are over."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.db.conflicts import insert_unless_taken
from portal.db.models import ChatMember, StrangerBlock, User, UserSession
from portal.db.uow import users_changed


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


async def purgeable_ids(session: AsyncSession, over_before: datetime, *, limit: int) -> list[int]:
    """Strangers with no session that was still live at `over_before` (each expired or ended before it) and
    no chat membership left: nobody can sign in as them again and no chat shows them."""
    live_session = exists().where(
        UserSession.user_id == User.id,
        UserSession.expires_at > over_before,
        (UserSession.ended_at.is_(None)) | (UserSession.ended_at > over_before),
    )
    membership = exists().where(ChatMember.user_id == User.id)
    query = select(User.id).where(User.is_stranger.is_(True), ~live_session, ~membership).limit(limit)
    return list((await session.execute(query)).scalars())


async def delete_users(session: AsyncSession, user_ids: list[int]) -> int:
    """Delete stranger users; their sessions and other rows go with them (ON DELETE CASCADE / SET NULL)."""
    if not user_ids:
        return 0
    query = delete(User).where(User.id.in_(user_ids), User.is_stranger.is_(True))
    result = await session.execute(query)
    users_changed(session, user_ids)
    return int(getattr(result, "rowcount", 0) or 0)
