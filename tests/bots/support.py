"""Shared set-up of the bot tests: paths, the two bot shapes, audit rows and rows read back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from portal.db import bots as bots_db
from portal.db.models import AuditLog, Bot, BotCommandStat
from tests.helpers import LoggedIn, Portal

BOTS = "/v1/bots"
ADMIN = "/v1/admin/bots"
PUBLIC_KEYS = {
    "id",
    "name",
    "groups",
    "users",
    "avatar_url",
    "latency_ms",
    "is_verified",
    "last_activity_at",
    "created_at",
    "updated_at",
}
PRIVATE_KEYS = PUBLIC_KEYS | {"platform", "owner_id", "bot_type", "is_active", "rate_limit_per_hour"}


async def audit_rows(portal: Portal, bot_id: int, event_type: str | None = None) -> list[AuditLog]:
    async with portal.container.db.read() as session:
        query = select(AuditLog).where(AuditLog.entity_type == "bot", AuditLog.entity_id == bot_id)
        if event_type is not None:
            query = query.where(AuditLog.event_type == event_type)
        return list((await session.execute(query.order_by(AuditLog.id))).scalars().all())


async def bot_row(portal: Portal, bot_id: int) -> Bot | None:
    async with portal.container.db.read() as session:
        return await session.get(Bot, bot_id)


async def command_stats(portal: Portal, bot_id: int) -> list[tuple[str, str, int]]:
    async with portal.container.db.read() as session:
        rows: list[BotCommandStat] = list(await bots_db.command_stats(session, bot_id))
    return [(r.command, r.day.isoformat(), r.count) for r in rows]


async def set_active(portal: Portal, bot_id: int, active: bool) -> None:
    async with portal.container.db.transaction() as session:
        await session.execute(update(Bot).where(Bot.id == bot_id).values(is_active=active))


async def bot_of(
    portal: Portal, owner: LoggedIn | dict[str, Any] | None = None, **kwargs: Any
) -> tuple[Any, dict[str, Any]]:
    """A registered bot (client, private object), owned by `owner` or a new User."""
    owner_id = owner.id if isinstance(owner, LoggedIn) else (owner["id"] if owner else None)
    return await portal.register_bot(owner_id=owner_id, **kwargs)


async def named_bot(portal: Portal, name: str, *, owner_id: int | None = None) -> tuple[Any, dict[str, Any]]:
    """A bot with a given name (search tests), owned by `owner_id` or a new User."""
    if owner_id is None:
        owner_id = (await portal.create_user())["id"]
    issued = await portal.container.bots.register(
        actor=None, name=name, owner_id=owner_id, platform="discord"
    )
    return portal.bot_client(issued.api_key), issued.bot.model_dump(mode="json")
