"""Registered bots and the command statistics they report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy import and_, delete, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from portal.db.base import valid_id
from portal.db.models import Bot, BotCommandStat


async def insert(session: AsyncSession, bot: Bot) -> Bot:
    session.add(bot)
    await session.flush()
    return bot


async def get(session: AsyncSession, bot_id: int) -> Bot | None:
    if not valid_id(bot_id):
        return None
    return await session.get(Bot, bot_id)


async def get_for_update(session: AsyncSession, bot_id: int) -> Bot | None:
    """The bot row, locked for the rest of the transaction (serialises writes to one bot on PostgreSQL)."""
    if not valid_id(bot_id):
        return None
    query = select(Bot).where(Bot.id == bot_id).with_for_update().execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one_or_none()


async def by_key_hash(session: AsyncSession, key_hash: str) -> Bot | None:
    return (await session.execute(select(Bot).where(Bot.api_key_hash == key_hash))).scalar_one_or_none()


async def owned_by(session: AsyncSession, owner_id: int) -> Sequence[Bot]:
    return (
        (await session.execute(select(Bot).where(Bot.owner_id == owner_id).order_by(Bot.id))).scalars().all()
    )


async def page(session: AsyncSession, *, offset: int, limit: int, active_only: bool) -> Sequence[Bot]:
    """Bots by id; inactive ones only when `active_only` is false."""
    query = select(Bot).order_by(Bot.id).offset(offset).limit(limit)
    if active_only:
        query = query.where(Bot.is_active.is_(True))
    return (await session.execute(query)).scalars().all()


async def search(
    session: AsyncSession,
    *,
    q: str | None,
    owner_id: int | None,
    bot_type: int | None,
    active_only: bool,
    offset: int,
    limit: int,
) -> tuple[Sequence[Bot], int]:
    """Bots whose name contains `q` (case-insensitive) or whose id is `q`, with the filters; by id."""
    conditions: list[ColumnElement[bool]] = []
    if q:
        escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        by_name = func.lower(Bot.name).like(f"%{escaped}%", escape="\\")
        conditions.append(or_(by_name, Bot.id == int(q)) if q.isdigit() and valid_id(int(q)) else by_name)
    if owner_id is not None:
        conditions.append(Bot.owner_id == owner_id)
    if bot_type is not None:
        conditions.append(Bot.bot_type == bot_type)
    if active_only:
        conditions.append(Bot.is_active.is_(True))
    where = and_(true(), *conditions)
    total = (await session.execute(select(func.count()).select_from(Bot).where(where))).scalar_one()
    rows = await session.execute(select(Bot).where(where).order_by(Bot.id).offset(offset).limit(limit))
    return rows.scalars().all(), int(total)


async def remove(session: AsyncSession, bot: Bot) -> None:
    """Delete the bot and its command statistics."""
    await clear_command_stats(session, bot.id)
    await session.delete(bot)
    await session.flush()


# ---- command statistics ------------------------------------------------------------------------------


async def add_command_counts(
    session: AsyncSession, bot_id: int, counts: Mapping[tuple[str, date], int]
) -> None:
    """Add `counts` ({(command, day): n}) to the bot's sums. The caller holds the bot's row lock, so two
    batches of one bot never race on the same rows."""
    if not counts:
        return
    commands = {command for command, _ in counts}
    days = {day for _, day in counts}
    existing = (
        await session.execute(
            select(BotCommandStat).where(
                BotCommandStat.bot_id == bot_id,
                BotCommandStat.command.in_(commands),
                BotCommandStat.day.in_(days),
            )
        )
    ).scalars()
    found = {(row.command, row.day): row for row in existing}
    for (command, day), n in counts.items():
        row = found.get((command, day))
        if row is None:
            session.add(BotCommandStat(bot_id=bot_id, command=command, day=day, count=n))
        else:
            row.count += n
    await session.flush()


async def command_stats(session: AsyncSession, bot_id: int) -> Sequence[BotCommandStat]:
    query = (
        select(BotCommandStat)
        .where(BotCommandStat.bot_id == bot_id)
        .order_by(BotCommandStat.day, BotCommandStat.command)
    )
    return (await session.execute(query)).scalars().all()


async def clear_command_stats(session: AsyncSession, bot_id: int) -> None:
    await session.execute(delete(BotCommandStat).where(BotCommandStat.bot_id == bot_id))
