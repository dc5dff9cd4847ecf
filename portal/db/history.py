"""Subscription history, permission history and moderation actions of a user."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
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
