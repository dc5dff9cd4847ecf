"""Bots: registration, key authentication, the public views and the bot's own API (06 §3–5).

The admin actions on an existing bot are in `bot_admin.py`. A bot's key is checked against the database
on every request (nothing caches it), so a regenerated key, a deleted or a deactivated bot is refused at
once on every node.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

from portal.db import bots as bots_db
from portal.db import users as users_db
from portal.db.models import Bot, User
from portal.errors import AccessDenied, BadRequest, InvalidApiKey, NotFound
from portal.schemas.bots import (
    RATE_LIMIT_MAX,
    RATE_LIMIT_MIN,
    BatchIn,
    BotDoneOut,
    BotKeyIssued,
    BotPrivate,
    BotPublic,
    BotSearchOut,
    BotSelfUpdateIn,
    bot_name_problem,
)
from portal.schemas.common import PLATFORM_PATTERN
from portal.schemas.users import UserPrivate
from portal.security import BOT_KEY_PREFIX, new_bot_key, sha256_hex
from portal.services.audit import AuditEvent
from portal.services.base import Service
from portal.services.permissions import Level, can_act_on
from portal.services.user_views import private_view

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


def sees_bot_detail(viewer: User | None) -> bool:
    """Admin+ readers get the private object, inactive bots included (06 §3.3, 08 §42)."""
    return viewer is not None and not viewer.is_stranger and viewer.permission_level >= Level.ADMIN


def may_manage_bot(actor: User | None, owner: User) -> bool:
    """The CLI (`None`), the bot's owner (08 §49), or someone above the owner (`can_act_on`)."""
    return actor is None or actor.id == owner.id or can_act_on(actor, owner)


class BotService(Service):
    # ---- registration and keys ------------------------------------------------------------------------

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
        if problem := bot_name_problem(name):
            raise BadRequest(f"name {problem}")
        if not isinstance(platform, str) or not re.fullmatch(PLATFORM_PATTERN, platform):
            raise BadRequest("platform contains invalid characters")
        if (
            isinstance(rate_limit_per_hour, bool)
            or not RATE_LIMIT_MIN <= rate_limit_per_hour <= RATE_LIMIT_MAX
        ):
            raise BadRequest(f"rate_limit_per_hour must be between {RATE_LIMIT_MIN} and {RATE_LIMIT_MAX}")
        now = self.now
        key = new_bot_key()
        async with self.c.db.transaction() as session:
            owner = await users_db.get(session, owner_id)
            if owner is None or owner.is_stranger:
                raise NotFound("User")
            if not may_manage_bot(actor, owner):
                raise AccessDenied()
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
                rate_limit_per_hour=rate_limit_per_hour,
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

    # ---- public views ---------------------------------------------------------------------------------

    async def list_public(self, *, offset: int, limit: int) -> list[BotPublic]:
        """Active bots by id (`GET /v1/bots`)."""
        async with self.c.db.read() as session:
            rows = await bots_db.page(session, offset=offset, limit=limit, active_only=True)
        return [bot_public(b) for b in rows]

    async def view(self, viewer: User | None, bot_id: int) -> BotPublic | BotPrivate:
        """One bot: the private object for Admin+, else the public one; inactive bots only for Admin+."""
        detail = sees_bot_detail(viewer)
        async with self.c.db.read() as session:
            bot = await bots_db.get(session, bot_id)
        if bot is None or not (bot.is_active or detail):
            raise NotFound("Bot")
        return bot_private(bot) if detail else bot_public(bot)

    async def search(
        self,
        viewer: User,
        *,
        q: str | None,
        owner_id: int | None,
        bot_type: int | None,
        offset: int,
        limit: int,
    ) -> BotSearchOut:
        """Name contains `q` (any case) or id equals `q`, with the filters; by id."""
        detail = sees_bot_detail(viewer)
        async with self.c.db.read() as session:
            rows, total = await bots_db.search(
                session,
                q=(q or "").strip() or None,
                owner_id=owner_id,
                bot_type=bot_type,
                active_only=not detail,
                offset=offset,
                limit=limit,
            )
        bots: list[BotPrivate | BotPublic] = [bot_private(b) if detail else bot_public(b) for b in rows]
        return BotSearchOut(bots=bots, total=total, limit=limit, offset=offset)

    # ---- the bot's own API ----------------------------------------------------------------------------

    async def me(self, bot: Bot) -> BotPrivate:
        return bot_private(bot)

    async def update_me(self, bot: Bot, body: BotSelfUpdateIn) -> BotDoneOut:
        """Info and stats change only where sent; `last_activity_at` is refreshed on every call."""
        sent = body.model_fields_set
        now = self.now
        async with self.c.db.transaction() as session:
            row = await bots_db.get_for_update(session, bot.id)
            if row is None:
                raise InvalidApiKey()
            changed = False
            if "name" in sent and body.name is not None and body.name != row.name:
                row.name, changed = body.name, True
            if "avatar_url" in sent and body.avatar_url != row.avatar_url:
                row.avatar_url, changed = body.avatar_url, True
            if "group_ids" in sent and body.group_ids is not None:
                ids = sorted(set(body.group_ids))
                if ids != sorted(row.group_ids or []):
                    row.group_ids, row.groups, changed = ids, len(ids), True
            if "users" in sent and body.users is not None and body.users != row.users:
                row.users, changed = body.users, True
            if "latency_ms" in sent and body.latency_ms is not None and body.latency_ms != row.latency_ms:
                row.latency_ms, changed = body.latency_ms, True
            if changed:
                row.updated_at = now
            row.last_activity_at = now
        return BotDoneOut(
            message="Bot updated successfully", created_at=row.created_at, updated_at=row.updated_at
        )

    async def batch(self, bot: Bot, body: BatchIn) -> BotDoneOut:
        """Command records summed per command and UTC day (of `timestamp`, or of now when absent)."""
        now = self.now
        counts: Counter[tuple[str, date]] = Counter()
        for record in body.commands:
            counts[(record.command, (record.timestamp or now).date())] += record.count
        async with self.c.db.transaction() as session:
            row = await bots_db.get_for_update(session, bot.id)
            if row is None:
                raise InvalidApiKey()
            await bots_db.add_command_counts(session, row.id, counts)
            row.last_activity_at = now
        return BotDoneOut(
            message="Batch update processed successfully",
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    async def lookup_user(self, bot: Bot, platform: str, platform_user_id: str) -> UserPrivate:
        """The private user object behind an identity on the bot's own platform."""
        if platform != bot.platform:
            raise AccessDenied()
        async with self.c.db.read() as session:
            found = await users_db.user_by_identity(session, platform, platform_user_id)
            if found is None or found[0].is_stranger:
                raise NotFound("User")
            user = found[0]
            platforms = await users_db.platforms_of(session, user.id)
        return private_view(user, platforms, self.now)
