"""Registered bots."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.db.models import Bot


async def insert(session: AsyncSession, bot: Bot) -> Bot:
    session.add(bot)
    await session.flush()
    return bot


async def by_key_hash(session: AsyncSession, key_hash: str) -> Bot | None:
    return (await session.execute(select(Bot).where(Bot.api_key_hash == key_hash))).scalar_one_or_none()


async def owned_by(session: AsyncSession, owner_id: int) -> Sequence[Bot]:
    return (
        (await session.execute(select(Bot).where(Bot.owner_id == owner_id).order_by(Bot.id))).scalars().all()
    )
