"""One-time login codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from portal.db.conflicts import raise_on_clash
from portal.db.models import LoginCode


class CodeClash(Exception):
    """The random code's hash is already stored (retry with another code)."""


def _pending(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (LoginCode.used_at.is_(None), LoginCode.cancelled_at.is_(None), LoginCode.expires_at > now)


async def insert(session: AsyncSession, row: LoginCode) -> LoginCode:
    async with raise_on_clash(session, CodeClash()):
        session.add(row)
    return row


async def by_hash(session: AsyncSession, code_hash: str) -> LoginCode | None:
    query = select(LoginCode).where(LoginCode.code_hash == code_hash)
    return (await session.execute(query)).scalar_one_or_none()


async def cancel_pending_web(
    session: AsyncSession, platform: str, platform_user_id: str, client_ip: str, now: datetime
) -> None:
    """End the identity's pending web codes asked from `client_ip` (never another IP's, 08 §64)."""
    await session.execute(
        update(LoginCode)
        .where(
            LoginCode.platform == platform,
            LoginCode.platform_user_id == platform_user_id,
            LoginCode.kind == "web",
            LoginCode.client_ip == client_ip,
            *_pending(now),
        )
        .values(cancelled_at=now, code=None)
    )


async def pending_web_count_for_ip(session: AsyncSession, client_ip: str, now: datetime) -> int:
    query = (
        select(func.count())
        .select_from(LoginCode)
        .where(LoginCode.client_ip == client_ip, LoginCode.kind == "web", *_pending(now))
    )
    return int((await session.execute(query)).scalar_one())


async def oldest_pending_web_expiry_for_ip(
    session: AsyncSession, client_ip: str, now: datetime
) -> datetime | None:
    query = select(func.min(LoginCode.expires_at)).where(
        LoginCode.client_ip == client_ip, LoginCode.kind == "web", *_pending(now)
    )
    value = (await session.execute(query)).scalar_one_or_none()
    if value is not None and value.tzinfo is None:  # min() over SQLite bypasses the column type
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value


async def newest_pending(
    session: AsyncSession, platform: str, platform_user_id: str, kind: str, now: datetime
) -> LoginCode | None:
    rows = await pending_codes(session, platform, platform_user_id, kind, now, limit=1)
    return rows[0] if rows else None


async def pending_codes(
    session: AsyncSession, platform: str, platform_user_id: str, kind: str, now: datetime, *, limit: int
) -> list[LoginCode]:
    """The identity's live codes of `kind`, newest first."""
    query = (
        select(LoginCode)
        .where(
            LoginCode.platform == platform,
            LoginCode.platform_user_id == platform_user_id,
            LoginCode.kind == kind,
            *_pending(now),
        )
        .order_by(LoginCode.created_at.desc(), LoginCode.id.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars().all())


async def consume(session: AsyncSession, code_id: int, now: datetime) -> bool:
    """Mark a pending code used; False when another request consumed it first."""
    result = await session.execute(
        update(LoginCode).where(LoginCode.id == code_id, *_pending(now)).values(used_at=now, code=None)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


async def clear_expired(session: AsyncSession, now: datetime) -> None:
    """Drop the plain code of codes that can no longer be delivered (the row stays until `delete_stale`)."""
    await session.execute(
        update(LoginCode).where(LoginCode.expires_at <= now, LoginCode.code.is_not(None)).values(code=None)
    )


async def delete_stale(session: AsyncSession, before: datetime) -> None:
    """Forget codes that expired long ago (the janitor's housekeeping)."""
    await session.execute(delete(LoginCode).where(LoginCode.expires_at < before))
