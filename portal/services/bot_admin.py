"""The admins' actions on registered bots (06 §6, 08 §42): list, update, regenerate-key, delete and
reset-stats. Registration is `BotService.register`.

Each action checks the hierarchy against the bot's owner (and, for a transfer, the new owner): the
caller passes when they own the bot or `can_act_on` the owner (08 §49); the CLI (`actor=None`) skips it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import bots as bots_db
from portal.db import users as users_db
from portal.db.models import Bot, User
from portal.errors import AccessDenied, BadRequest, NotFound
from portal.schemas.bots import AdminBotUpdateIn, BotKeyIssued, BotPrivate
from portal.security import new_bot_key, sha256_hex
from portal.services.audit import AuditEvent
from portal.services.base import Service
from portal.services.bots import BOT_TYPE_COMMUNITY, bot_private, may_manage_bot

ADMIN_LIST_MAX = 25


class BotAdminService(Service):
    async def list(
        self, *, offset: int = 0, limit: int = ADMIN_LIST_MAX, q: str | None = None
    ) -> list[BotPrivate]:
        """Every bot (inactive ones too) by id, as the private object; `q` as in the bot search (CLI)."""
        if not offset >= 0:
            raise BadRequest("offset must be at least 0")
        if not 1 <= limit <= ADMIN_LIST_MAX:
            raise BadRequest(f"limit must be between 1 and {ADMIN_LIST_MAX}")
        if q is not None and len(q) > 50:
            raise BadRequest("q must be at most 50 characters")
        async with self.c.db.read() as session:
            if q and q.strip():
                rows, _ = await bots_db.search(
                    session,
                    q=q.strip(),
                    owner_id=None,
                    bot_type=None,
                    active_only=False,
                    offset=offset,
                    limit=limit,
                )
            else:
                rows = await bots_db.page(session, offset=offset, limit=limit, active_only=False)
        return [bot_private(b) for b in rows]

    async def _managed(self, session: AsyncSession, bot_id: int, actor: User | None) -> Bot:
        """The bot, locked, after the 404 and the hierarchy check against its owner."""
        bot = await bots_db.get_for_update(session, bot_id)
        if bot is None:
            raise NotFound("Bot")
        owner = await users_db.get(session, bot.owner_id)
        if owner is None or not may_manage_bot(actor, owner):
            raise AccessDenied()
        return bot

    async def update(self, bot_id: int, body: AdminBotUpdateIn, *, actor: User | None) -> str:
        """Change only the fields sent. A change of `bot_type` writes BOT_VERIFY (to official or verified)
        or BOT_UNVERIFY (to community); any other change writes BOT_UPDATE with the old and new values."""
        sent = body.model_fields_set
        now = self.now
        async with self.c.db.transaction() as session:
            bot = await self._managed(session, bot_id, actor)
            if "owner_id" in sent and body.owner_id is not None and body.owner_id != bot.owner_id:
                new_owner = await users_db.get(session, body.owner_id)
                if new_owner is None or new_owner.is_stranger:
                    raise NotFound("User")
                if not may_manage_bot(actor, new_owner):
                    raise AccessDenied()
            changes: dict[str, Any] = {}
            for name in ("name", "owner_id", "rate_limit_per_hour", "is_active"):
                value = getattr(body, name)
                if name in sent and value is not None and value != getattr(bot, name):
                    changes[name] = [getattr(bot, name), value]
                    setattr(bot, name, value)
            old_type = bot.bot_type
            new_type = int(body.bot_type) if "bot_type" in sent and body.bot_type is not None else old_type
            if not changes and new_type == old_type:
                return f"Bot {bot.id} updated"
            bot.bot_type = new_type
            bot.updated_at = now
            if changes:
                await self.c.audit.record(
                    session, AuditEvent.BOT_UPDATE, actor=actor, on=("bot", bot.id), changes=changes
                )
            if new_type != old_type:
                event = AuditEvent.BOT_UNVERIFY if new_type == BOT_TYPE_COMMUNITY else AuditEvent.BOT_VERIFY
                await self.c.audit.record(
                    session, event, actor=actor, on=("bot", bot.id), old_type=old_type, new_type=new_type
                )
        return f"Bot {bot_id} updated"

    async def regenerate_key(self, bot_id: int, *, actor: User | None) -> BotKeyIssued:
        """A new key; the old one stops working with this commit (keys are checked in the database)."""
        key = new_bot_key()
        async with self.c.db.transaction() as session:
            bot = await self._managed(session, bot_id, actor)
            bot.api_key_hash = sha256_hex(key)
            bot.updated_at = self.now
            await self.c.audit.record(session, AuditEvent.BOT_KEY_REGENERATE, actor=actor, on=("bot", bot.id))
        return BotKeyIssued(
            message=f"API key regenerated for bot {bot.name}",
            bot=bot_private(bot),
            api_key=key,
            created_at=bot.created_at,
            updated_at=bot.updated_at,
        )

    async def delete(self, bot_id: int, *, actor: User | None) -> str:
        """A hard delete: the row, its key and its command statistics (08 §42)."""
        async with self.c.db.transaction() as session:
            bot = await self._managed(session, bot_id, actor)
            await self.c.audit.record(
                session,
                AuditEvent.BOT_DELETE,
                actor=actor,
                on=("bot", bot.id),
                name=bot.name,
                owner_id=bot.owner_id,
                platform=bot.platform,
            )
            await bots_db.remove(session, bot)
        return f"Bot {bot_id} deleted"

    async def reset_stats(self, bot_id: int, *, actor: User | None) -> str:
        """Zero `groups` and `users`, null `latency_ms` and `last_activity_at`, clear group ids and command
        statistics (08 §42)."""
        async with self.c.db.transaction() as session:
            bot = await self._managed(session, bot_id, actor)
            bot.groups, bot.users, bot.group_ids = 0, 0, []
            bot.latency_ms, bot.last_activity_at = None, None
            bot.updated_at = self.now
            await bots_db.clear_command_stats(session, bot.id)
            await self.c.audit.record(session, AuditEvent.BOT_RESET_STATS, actor=actor, on=("bot", bot.id))
        return f"Stats reset for bot {bot_id}"
