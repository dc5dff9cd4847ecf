"""Counts behind `/v1/statistics/users` and `/bots` (chat counts are `chats.group_counts`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.db.models import Bot, User

TIMED_TIERS = (1, 2)  # Trial and Premium end; Basic and Lifetime do not


async def users_by_effective_tier(session: AsyncSession, now: datetime) -> dict[int, int]:
    """Registered (non-stranger) users per tier in force at `now`: an ended Trial or Premium counts as
    Basic (0) even before the janitor has written the downgrade."""
    ended = and_(
        User.subscription_tier.in_(TIMED_TIERS),
        User.subscription_expires_at.is_not(None),
        User.subscription_expires_at <= now,
    )
    tier = case((ended, 0), else_=User.subscription_tier).label("tier")
    query = select(tier, func.count()).where(User.is_stranger.is_(False)).group_by(tier)
    return {int(t): int(n) for t, n in (await session.execute(query)).all()}


async def active_bots_by_type(session: AsyncSession) -> dict[int, int]:
    """Active bots per `bot_type` (inactive bots are hidden from the public listing, so from its counts)."""
    query = select(Bot.bot_type, func.count()).where(Bot.is_active.is_(True)).group_by(Bot.bot_type)
    return {int(t): int(n) for t, n in (await session.execute(query)).all()}
