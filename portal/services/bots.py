"""Bots: registration, key authentication and the hourly quota."""

from __future__ import annotations

import re

from portal.db import bots as bots_db
from portal.db import users as users_db
from portal.db.models import Bot, User
from portal.errors import BadRequest, InvalidApiKey, NotFound
from portal.schemas.bots import BotKeyIssued, BotPrivate, BotPublic
from portal.schemas.common import PLATFORM_PATTERN
from portal.security import BOT_KEY_PREFIX, new_bot_key, sha256_hex
from portal.services.audit import AuditEvent
from portal.services.base import Service

BOT_TYPE_OFFICIAL, BOT_TYPE_VERIFIED, BOT_TYPE_COMMUNITY = 1, 2, 3
MAX_KEY_LENGTH = 128


def bot_public(bot: Bot) -> BotPublic:
    return BotPublic(
        id=bot.id,
        name=bot.name,
        groups=bot.groups,
        users=bot.users,
        avatar_url=bot.avatar_url,
        latency_ms=bot.latency_ms,
        is_verified=bot.bot_type in (BOT_TYPE_OFFICIAL, BOT_TYPE_VERIFIED),
        last_activity_at=bot.last_activity_at,
        created_at=bot.created_at,
        updated_at=bot.updated_at,
    )


def bot_private(bot: Bot) -> BotPrivate:
    return BotPrivate(
        **bot_public(bot).model_dump(),
        platform=bot.platform,
        owner_id=bot.owner_id,
        bot_type=bot.bot_type,
        is_active=bot.is_active,
        rate_limit_per_hour=bot.rate_limit_per_hour,
    )


def is_bot_key(value: str | None) -> bool:
    return value is not None and value.startswith(BOT_KEY_PREFIX)


class BotService(Service):
    async def register(
        self,
        *,
        actor: User | None,
        name: str,
        owner_id: int,
        platform: str,
        rate_limit_per_hour: int = 1000,
    ) -> BotKeyIssued:
        """Create a bot and its key; the plain key is shown only in this answer."""
        if not isinstance(name, str):
            raise BadRequest("name must be a string")
        if len(name.strip()) < 2:
            raise BadRequest("name must be at least 2 characters")
        if len(name.strip()) > 32:
            raise BadRequest("name must be at most 32 characters")
        if not re.fullmatch(PLATFORM_PATTERN, platform):
            raise BadRequest("platform contains invalid characters")
        if isinstance(rate_limit_per_hour, bool) or not 1 <= rate_limit_per_hour <= 100_000:
            raise BadRequest("rate_limit_per_hour must be between 1 and 100000")
        now = self.c.clock.now()
        key = new_bot_key()
        async with self.c.db.transaction() as session:
            owner = await users_db.get(session, owner_id)
            if owner is None or owner.is_stranger:
                raise NotFound("User")
            bot = await bots_db.insert(
                session,
                Bot(
                    name=name.strip(),
                    platform=platform,
                    owner_id=owner_id,
                    bot_type=BOT_TYPE_COMMUNITY,
                    is_active=True,
                    rate_limit_per_hour=rate_limit_per_hour,
                    groups=0,
                    users=0,
                    group_ids=[],
                    api_key_hash=sha256_hex(key),
                    created_at=now,
                    updated_at=now,
                ),
            )
            await self.c.audit.record(
                session,
                AuditEvent.BOT_REGISTER,
                actor=actor,
                on=("bot", bot.id),
                name=bot.name,
                owner_id=owner_id,
                platform=platform,
            )
        return BotKeyIssued(
            message="Bot registered successfully",
            bot=bot_private(bot),
            api_key=key,
            created_at=bot.created_at,
            updated_at=bot.updated_at,
        )

    async def authenticate(self, key: str | None) -> Bot:
        """The bot behind an `X-API-Key`; unknown or inactive keys are refused alike."""
        if not is_bot_key(key) or len(key or "") > MAX_KEY_LENGTH:
            raise InvalidApiKey()
        async with self.c.db.read() as session:
            bot = await bots_db.by_key_hash(session, sha256_hex(key or ""))
        if bot is None or not bot.is_active:
            raise InvalidApiKey()
        return bot
