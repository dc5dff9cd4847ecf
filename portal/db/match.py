"""Direct chats as matchmaking sees them: a user's active ones, with their peer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from portal.db.models import Chat, ChatMember
from portal.domain import ChatType


@dataclass(frozen=True)
class ActiveDirectRow:
    chat_id: int
    created_at: datetime
    expires_at: datetime | None
    peer_id: int


_MINE = aliased(ChatMember)
_PEER = aliased(ChatMember)
# Built once: every enqueue and match status runs it (twice for an enqueue that pairs), and building the
# statement with its aliases cost more than running it. Plain columns, no ORM objects to load.
_ACTIVE_DIRECT = (
    select(Chat.id, Chat.created_at, Chat.expires_at, _PEER.user_id)
    .join(_MINE, _MINE.chat_id == Chat.id)
    .join(_PEER, (_PEER.chat_id == Chat.id) & (_PEER.user_id != bindparam("user_id")))
    .where(
        _MINE.user_id == bindparam("user_id"),
        Chat.chat_type == ChatType.DIRECT,
        Chat.archived_at.is_(None),
        Chat.expires_at > bindparam("now"),
    )
    .order_by(Chat.created_at.desc(), Chat.id.desc())
)


async def active_direct(session: AsyncSession, user_id: int, now: datetime) -> list[ActiveDirectRow]:
    """The user's direct chats that are neither archived nor past `expires_at`, newest first, each with
    the other member's id."""
    rows = await session.execute(_ACTIVE_DIRECT, {"user_id": user_id, "now": now})
    return [
        ActiveDirectRow(int(chat_id), created, expires, int(peer)) for chat_id, created, expires, peer in rows
    ]
