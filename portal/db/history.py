"""Subscription history, permission history and moderation actions of a user."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from portal.db.base import valid_id
from portal.db.models import ModerationAction, PermissionHistory, SubscriptionHistory


async def add(session: AsyncSession, row: SubscriptionHistory | PermissionHistory | ModerationAction) -> None:
    session.add(row)
    await session.flush()


async def subscription_history(session: AsyncSession, user_id: int) -> Sequence[SubscriptionHistory]:
    query = (
        select(SubscriptionHistory)
        .where(SubscriptionHistory.user_id == user_id)
        .order_by(SubscriptionHistory.id.desc())
    )
    return (await session.execute(query)).scalars().all()


async def permission_history(session: AsyncSession, user_id: int) -> Sequence[PermissionHistory]:
    query = (
        select(PermissionHistory)
        .where(PermissionHistory.user_id == user_id)
        .order_by(PermissionHistory.id.desc())
    )
    return (await session.execute(query)).scalars().all()


async def moderation_actions(
    session: AsyncSession, user_id: int, *, offset: int = 0, limit: int | None = None
) -> Sequence[ModerationAction]:
    query = (
        select(ModerationAction)
        .where(ModerationAction.user_id == user_id)
        .order_by(ModerationAction.id.desc())
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return (await session.execute(query)).scalars().all()


async def lift_open(
    session: AsyncSession, user_id: int, action_type: str, now: datetime, *, chat_id: int | None = None
) -> int:
    """Mark the user's actions of this type that are still in force as lifted by a person."""
    query = update(ModerationAction).where(
        ModerationAction.user_id == user_id,
        ModerationAction.action_type == action_type,
        ModerationAction.is_lifted.is_(False),
        or_(ModerationAction.expires_at.is_(None), ModerationAction.expires_at > now),
    )
    if chat_id is not None:
        query = query.where(ModerationAction.chat_id == chat_id)
    result = await session.execute(query.values(is_lifted=True, lifted_at=now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def search_actions(
    session: AsyncSession,
    *,
    now: datetime,
    user_id: int | None = None,
    issued_by: int | None = None,
    action_type: str | None = None,
    chat_id: int | None = None,
    active_only: bool = False,
    offset: int = 0,
    limit: int = 25,
) -> tuple[Sequence[ModerationAction], int]:
    """Moderation records matching every given filter, newest first, and how many match in all. Active
    means not lifted by a person and not past `expires_at`."""
    if any(v is not None and not valid_id(v) for v in (user_id, issued_by, chat_id)):
        return [], 0  # no row has such an id
    conditions: list[ColumnElement[bool]] = []
    if user_id is not None:
        conditions.append(ModerationAction.user_id == user_id)
    if issued_by is not None:
        conditions.append(ModerationAction.issued_by_id == issued_by)
    if action_type is not None:
        conditions.append(ModerationAction.action_type == action_type)
    if chat_id is not None:
        conditions.append(ModerationAction.chat_id == chat_id)
    if active_only:
        conditions.append(ModerationAction.is_lifted.is_(False))
        conditions.append(or_(ModerationAction.expires_at.is_(None), ModerationAction.expires_at > now))
    where = and_(true(), *conditions)
    total = (
        await session.execute(select(func.count()).select_from(ModerationAction).where(where))
    ).scalar_one()
    query = (
        select(ModerationAction).where(where).order_by(ModerationAction.id.desc()).offset(offset).limit(limit)
    )
    return (await session.execute(query)).scalars().all(), int(total)


async def latest_lifted(
    session: AsyncSession, user_id: int, action_types: Sequence[str]
) -> ModerationAction | None:
    """The user's newest record of these types that a person lifted."""
    query = (
        select(ModerationAction)
        .where(
            ModerationAction.user_id == user_id,
            ModerationAction.action_type.in_(action_types),
            ModerationAction.is_lifted.is_(True),
        )
        .order_by(ModerationAction.lifted_at.desc(), ModerationAction.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalars().first()
