"""Chat bans and mutes, and platform hard mutes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from portal.db.models import ChatRestriction, HardMute
from portal.domain import RestrictionKind


def _in_force(now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    return or_(ChatRestriction.expires_at.is_(None), ChatRestriction.expires_at > now)


def ban_in_force(
    chat_id: int | ColumnElement[int] | InstrumentedAttribute[int],
    user_id: ColumnElement[int] | InstrumentedAttribute[int],
    now: datetime | ColumnElement[datetime],
) -> ColumnElement[bool]:
    """An EXISTS: the user has a ban in force in the chat (either may be a column of the outer query)."""
    return (
        select(ChatRestriction.user_id)
        .where(
            ChatRestriction.chat_id == chat_id,
            ChatRestriction.kind == RestrictionKind.BAN,
            ChatRestriction.user_id == user_id,
            _in_force(now),
        )
        .exists()
    )


def not_banned(
    chat_id: int, user_id: ColumnElement[int] | InstrumentedAttribute[int], now: datetime
) -> ColumnElement[bool]:
    """A WHERE clause: the user in `user_id` (a column of the outer query) has no ban in force in the chat."""
    return ~ban_in_force(chat_id, user_id, now)


async def restriction(
    session: AsyncSession, chat_id: int, user_id: int, kind: str, now: datetime
) -> ChatRestriction | None:
    query = select(ChatRestriction).where(
        ChatRestriction.chat_id == chat_id,
        ChatRestriction.user_id == user_id,
        ChatRestriction.kind == kind,
        _in_force(now),
    )
    return (await session.execute(query)).scalar_one_or_none()


async def restrictions_of(
    session: AsyncSession, chat_id: int, user_id: int, now: datetime
) -> dict[str, ChatRestriction]:
    """The user's bans and mutes in force in the chat, by kind."""
    query = select(ChatRestriction).where(
        ChatRestriction.chat_id == chat_id, ChatRestriction.user_id == user_id, _in_force(now)
    )
    return {row.kind: row for row in (await session.execute(query)).scalars().all()}


async def banned_among(
    session: AsyncSession, chat_id: int, user_ids: Iterable[int], now: datetime
) -> set[int]:
    ids = set(user_ids)
    if not ids:
        return set()
    query = select(ChatRestriction.user_id).where(
        ChatRestriction.chat_id == chat_id,
        ChatRestriction.kind == RestrictionKind.BAN,
        ChatRestriction.user_id.in_(ids),
        _in_force(now),
    )
    return set((await session.execute(query)).scalars().all())


async def take_expired_bans(session: AsyncSession, now: datetime, *, limit: int) -> list[tuple[int, int]]:
    """Delete up to `limit` timed chat bans that have run out; answers their (chat_id, user_id)."""
    query = (
        select(ChatRestriction.chat_id, ChatRestriction.user_id)
        .where(
            ChatRestriction.kind == RestrictionKind.BAN,
            ChatRestriction.expires_at.is_not(None),
            ChatRestriction.expires_at <= now,
        )
        .limit(limit)
    )
    expired = [(int(chat_id), int(user_id)) for chat_id, user_id in (await session.execute(query)).all()]
    for chat_id, user_id in expired:
        await session.execute(
            delete(ChatRestriction).where(
                ChatRestriction.chat_id == chat_id,
                ChatRestriction.user_id == user_id,
                ChatRestriction.kind == RestrictionKind.BAN,
                ChatRestriction.expires_at <= now,
            )
        )
    return expired


async def put(session: AsyncSession, row: ChatRestriction) -> None:
    """Replace any earlier ban/mute of the same kind (a new one replaces the old TTL)."""
    await lift(session, row.chat_id, row.user_id, row.kind)
    session.add(row)
    await session.flush()


async def lift(session: AsyncSession, chat_id: int, user_id: int, kind: str) -> bool:
    result = await session.execute(
        delete(ChatRestriction).where(
            ChatRestriction.chat_id == chat_id,
            ChatRestriction.user_id == user_id,
            ChatRestriction.kind == kind,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def hard_mute(session: AsyncSession, user_id: int, now: datetime) -> HardMute | None:
    row = await session.get(HardMute, user_id)
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        return None
    return row


async def put_hard_mute(session: AsyncSession, row: HardMute) -> None:
    await lift_hard_mute(session, row.user_id)
    session.add(row)
    await session.flush()


async def lift_hard_mute(session: AsyncSession, user_id: int) -> bool:
    result = await session.execute(delete(HardMute).where(HardMute.user_id == user_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]
