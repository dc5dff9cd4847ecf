"""Direct chats after they open: the active ones of a user, the members' disconnect grace (`away_until`),
and the chats the janitor must archive (grace or 24 h expiry) or purge."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from portal.db.models import Chat, ChatMember
from portal.domain import ChatType


def _active(now: datetime) -> ColumnElement[bool]:
    return (
        (Chat.chat_type == ChatType.DIRECT)
        & Chat.archived_at.is_(None)
        & ((Chat.expires_at.is_(None)) | (Chat.expires_at > now))
    )


async def active_ids_for(session: AsyncSession, user_id: int, now: datetime) -> list[int]:
    """The user's active direct chats (not archived, not past `expires_at`), newest first."""
    query = (
        select(Chat.id)
        .join(ChatMember, ChatMember.chat_id == Chat.id)
        .where(ChatMember.user_id == user_id, _active(now))
        .order_by(Chat.created_at.desc(), Chat.id.desc())
    )
    return list((await session.execute(query)).scalars().all())


async def set_away(session: AsyncSession, chat_id: int, user_id: int, until: datetime) -> bool:
    """Arm a member's grace; False when the user is not a member."""
    result = await session.execute(
        update(ChatMember)
        .where(ChatMember.chat_id == chat_id, ChatMember.user_id == user_id)
        .values(away_until=until)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def clear_away(session: AsyncSession, chat_id: int, user_id: int) -> datetime | None:
    """Cancel a member's grace; answers the deadline it had (None: no grace was running)."""
    query = select(ChatMember.away_until).where(ChatMember.chat_id == chat_id, ChatMember.user_id == user_id)
    until = (await session.execute(query)).scalar_one_or_none()
    if until is None:
        return None
    await session.execute(
        update(ChatMember)
        .where(ChatMember.chat_id == chat_id, ChatMember.user_id == user_id)
        .values(away_until=None)
        .execution_options(synchronize_session=False)
    )
    return until


async def away_until(session: AsyncSession, chat_id: int, user_id: int) -> datetime | None:
    query = select(ChatMember.away_until).where(ChatMember.chat_id == chat_id, ChatMember.user_id == user_id)
    return (await session.execute(query)).scalar_one_or_none()


async def clear_all_away(session: AsyncSession, chat_id: int) -> None:
    await session.execute(
        update(ChatMember)
        .where(ChatMember.chat_id == chat_id)
        .values(away_until=None)
        .execution_options(synchronize_session=False)
    )


async def overdue_graces(session: AsyncSession, now: datetime, *, limit: int) -> list[tuple[int, int]]:
    """(chat id, user id) of members of unarchived direct chats whose grace ran out, earliest first."""
    query = (
        select(ChatMember.chat_id, ChatMember.user_id)
        .join(Chat, Chat.id == ChatMember.chat_id)
        .where(
            ChatMember.away_until.is_not(None),
            ChatMember.away_until <= now,
            Chat.chat_type == ChatType.DIRECT,
            Chat.archived_at.is_(None),
        )
        .order_by(ChatMember.away_until, ChatMember.chat_id, ChatMember.id)  # ties: the earlier member
        .limit(limit)
    )
    return [(chat_id, user_id) for chat_id, user_id in (await session.execute(query)).all()]


async def expired_ids(session: AsyncSession, now: datetime, *, limit: int) -> list[int]:
    """Unarchived direct chats past their `expires_at`."""
    query = (
        select(Chat.id)
        .where(
            Chat.chat_type == ChatType.DIRECT,
            Chat.archived_at.is_(None),
            Chat.expires_at.is_not(None),
            Chat.expires_at <= now,
        )
        .order_by(Chat.expires_at, Chat.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars().all())


async def purgeable_ids(session: AsyncSession, archived_before: datetime, *, limit: int) -> Sequence[int]:
    """Direct chats archived at or before `archived_before` (their archive time is over)."""
    query = (
        select(Chat.id)
        .where(
            Chat.chat_type == ChatType.DIRECT,
            Chat.archived_at.is_not(None),
            Chat.archived_at <= archived_before,
        )
        .order_by(Chat.archived_at, Chat.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars().all())
