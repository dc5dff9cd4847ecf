"""Login sessions (active and ended)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from portal.db.models import User, UserSession
from portal.db.uow import users_changed


async def insert(session: AsyncSession, row: UserSession) -> UserSession:
    session.add(row)
    await session.flush()
    return row


async def with_user_by_hash(session: AsyncSession, token_hash: str) -> tuple[UserSession, User] | None:
    """The hot authentication lookup: one indexed query for the session and its user."""
    query = (
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == token_hash, UserSession.ended_at.is_(None))
    )
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row else None


async def active_of(session: AsyncSession, user_id: int, now: datetime) -> Sequence[UserSession]:
    query = (
        select(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None), UserSession.expires_at > now)
        .order_by(UserSession.created_at.desc(), UserSession.id.desc())
    )
    return (await session.execute(query)).scalars().all()


async def history_of(session: AsyncSession, user_id: int, now: datetime, limit: int) -> Sequence[UserSession]:
    """Ended or expired sessions, newest first."""
    query = (
        select(UserSession)
        .where(
            UserSession.user_id == user_id,
            or_(UserSession.ended_at.is_not(None), UserSession.expires_at <= now),
        )
        .order_by(UserSession.created_at.desc(), UserSession.id.desc())
        .limit(limit)
    )
    return (await session.execute(query)).scalars().all()


async def end(
    session: AsyncSession, ids: Sequence[int], now: datetime, reason: str
) -> list[tuple[int, int, str]]:
    """End the given sessions if still open; answer (id, user_id, token_hash) of those actually ended."""
    if not ids:
        return []
    query = (
        update(UserSession)
        .where(UserSession.id.in_(ids), UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .returning(UserSession.id, UserSession.user_id, UserSession.token_hash)
    )
    ended = [(int(pk), int(uid), str(token)) for pk, uid, token in (await session.execute(query)).all()]
    users_changed(session, [uid for _, uid, _ in ended])
    return ended


async def open_ids_of(session: AsyncSession, user_id: int) -> list[int]:
    query = select(UserSession.id).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    return list((await session.execute(query)).scalars().all())


async def expired_open_ids(session: AsyncSession, now: datetime, *, limit: int) -> list[int]:
    """Up to `limit` sessions still open although past their fixed expiry."""
    query = select(UserSession.id).where(UserSession.ended_at.is_(None), UserSession.expires_at <= now)
    return list((await session.execute(query.limit(limit))).scalars().all())
