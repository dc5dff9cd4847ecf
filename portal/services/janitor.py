"""Periodic housekeeping: expiries that must happen even when nobody reads the row.

Runs every `PORTAL_JANITOR_INTERVAL` seconds on every node; a LiveStore lock makes one node do each pass.
Tests call `run_once()` after moving the clock.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from portal.db import login_codes as codes_db
from portal.db import sessions as sessions_db
from portal.db import users as users_db
from portal.domain import SessionEnd
from portal.live.base import LockTimeout
from portal.services.base import Service
from portal.services.subscriptions import Tier
from portal.tasks import cancel_and_wait, raise_if_cancelling

if TYPE_CHECKING:
    from portal.container import Container

log = logging.getLogger("portal.janitor")
CODE_RETENTION = timedelta(days=1)
BATCH = 500


@dataclass(frozen=True)
class JanitorReport:
    subscriptions_expired: int
    restrictions_lifted: int
    chat_bans_lifted: int
    sessions_expired: int
    chats_wiped: int
    direct_chats_archived: int
    direct_chats_purged: int
    match_entries_reaped: int
    strangers_purged: int


class Janitor(Service):
    def __init__(self, container: Container) -> None:
        super().__init__(container)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="portal-janitor")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _loop(self) -> None:
        while True:
            raise_if_cancelling()
            await asyncio.sleep(self.c.settings.janitor_interval)
            try:
                async with self.c.live.lock("janitor", ttl=60, wait=0):
                    await self.run_once()
            except LockTimeout:
                continue  # another node is sweeping
            except Exception:
                log.exception("janitor pass failed")

    async def run_once(self) -> JanitorReport:
        return JanitorReport(
            subscriptions_expired=await self.expire_subscriptions(),
            restrictions_lifted=await self.lift_restrictions(),
            chat_bans_lifted=await self.c.chat_moderation.lift_expired_bans(limit=BATCH),
            sessions_expired=await self.expire_sessions(),
            chats_wiped=await self.c.messaging.run_wipes(),
            direct_chats_archived=await self.c.direct_lifecycle.archive_overdue(),
            direct_chats_purged=await self.c.direct_lifecycle.purge_archived(),
            match_entries_reaped=await self.c.matchmaking.reap(),
            strangers_purged=await self.c.strangers.purge_over(limit=BATCH),
        )

    async def expire_subscriptions(self) -> int:
        """Downgrade ended Trials/Premiums, writing the "expired" history row."""
        now = self.c.clock.now()
        async with self.c.db.transaction() as session:
            users = await users_db.subscriptions_ended(session, (Tier.TRIAL, Tier.PREMIUM), now, limit=BATCH)
            for user in users:
                await self.c.subscriptions.apply_expiry(session, user, now)
            await codes_db.clear_expired(session, now)
            await codes_db.delete_stale(session, now - CODE_RETENTION)
        return len(users)

    async def lift_restrictions(self) -> int:
        """Timeouts and timed bans lift themselves at `state_expires_at`."""
        now = self.c.clock.now()
        async with self.c.db.transaction() as session:
            lifted = await users_db.lift_expired_states(session, now)
        return lifted

    async def expire_sessions(self) -> int:
        """End sessions past their fixed expiry so their sockets hear `session:ended {expired}`."""
        now = self.c.clock.now()
        async with self.c.db.read() as session:
            ids = await sessions_db.expired_open_ids(session, now, limit=BATCH)
        if ids:
            await self.c.sessions.end_sessions(ids, reason=SessionEnd.EXPIRED)
        await self.c.strangers.purge_expired()  # a block lasts as long as the blocked session
        return len(ids)
