"""Subscription history, permission history and moderation actions of a user."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

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
