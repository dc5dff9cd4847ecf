"""Direct chats as matchmaking sees them: a user's active ones, with their peer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from portal.db.models import Chat, ChatMember
from portal.domain import ChatType


async def active_direct(session: AsyncSession, user_id: int, now: datetime) -> list[tuple[Chat, int]]:
    """The user's direct chats that are neither archived nor past `expires_at`, newest first, each with
    the other member's id."""
    mine = aliased(ChatMember)
    peer = aliased(ChatMember)
    query = (
        select(Chat, peer.user_id)
        .join(mine, mine.chat_id == Chat.id)
        .join(peer, (peer.chat_id == Chat.id) & (peer.user_id != user_id))
        .where(
            mine.user_id == user_id,
            Chat.chat_type == ChatType.DIRECT,
            Chat.archived_at.is_(None),
            Chat.expires_at > now,
        )
        .order_by(Chat.created_at.desc(), Chat.id.desc())
    )
    return [(chat, int(peer_id)) for chat, peer_id in (await session.execute(query)).all()]
