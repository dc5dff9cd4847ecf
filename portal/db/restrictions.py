"""Chat bans and mutes, and platform hard mutes."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BindParameter, ColumnElement, Select, bindparam, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from portal.db.models import ChatKeyBlob, ChatRestriction, HardMute
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


@dataclass(frozen=True, slots=True)
class SendFacts:
    """What a send's checks read about its sender, in one statement (`send_facts`)."""

    banned: bool
    hard_muted: bool
    hard_mute_expires: datetime | None
    muted: bool
    mute_expires: datetime | None
    holds_key: bool  # the sending session holds a blob of `epoch`


async def send_facts(
    session: AsyncSession, chat_id: int, user_id: int, session_pk: int, epoch: int, now: datetime
) -> SendFacts:
    """The sender's ban and mute in the chat, platform hard mute and key for `epoch`: one statement where
    they took three (docs/performance.md)."""
    params = {"chat_id": chat_id, "user_id": user_id, "session_pk": session_pk, "epoch": epoch, "now": now}
    row = (await session.execute(_send_facts_query(), params)).one()
    return SendFacts(
        banned=bool(row.banned),
        hard_muted=bool(row.hard_muted),
        hard_mute_expires=row.hard_mute_expires,
        muted=bool(row.muted),
        mute_expires=row.mute_expires,
        holds_key=bool(row.holds_key),
    )


@functools.cache
def _send_facts_query() -> Select[bool, bool, datetime | None, bool, datetime | None, bool]:
    """Built once. Parameters: `chat_id`, `user_id`, `session_pk`, `epoch`, `now`."""
    chat: BindParameter[int] = bindparam("chat_id")
    user: BindParameter[int] = bindparam("user_id")
    now: BindParameter[datetime] = bindparam("now")
    mute = select(ChatRestriction.expires_at).where(
        ChatRestriction.chat_id == chat,
        ChatRestriction.user_id == user,
        ChatRestriction.kind == RestrictionKind.MUTE,
        _in_force(now),
    )
    hard = select(HardMute.expires_at).where(
        HardMute.user_id == user, or_(HardMute.expires_at.is_(None), HardMute.expires_at > now)
    )
    key = select(ChatKeyBlob.session_pk).where(
        ChatKeyBlob.chat_id == chat,
        ChatKeyBlob.epoch == bindparam("epoch"),
        ChatKeyBlob.session_pk == bindparam("session_pk"),
    )
    return select(
        ban_in_force(chat, user, now).label("banned"),
        hard.exists().label("hard_muted"),
        hard.limit(1).scalar_subquery().label("hard_mute_expires"),
        mute.exists().label("muted"),
        mute.limit(1).scalar_subquery().label("mute_expires"),
        key.exists().label("holds_key"),
    )
