"""Checks of chat bans, chat mutes and hard mutes (used by joins, sends and invites)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import restrictions as restrictions_db
from portal.domain import RestrictionKind
from portal.errors import ErrorCode, coded
from portal.services.base import Service


def ttl_seconds(expires_at: datetime | None, now: datetime) -> int:
    """Seconds left, 0 for indefinite (the `ttl` of mute errors)."""
    if expires_at is None:
        return 0
    return max(1, math.ceil((expires_at - now).total_seconds()))


class RestrictionService(Service):
    async def banned_user_ids(self, session: AsyncSession, chat_id: int, user_ids: Iterable[int]) -> set[int]:
        return await restrictions_db.banned_among(session, chat_id, user_ids, self.c.clock.now())

    async def refuse_banned(self, session: AsyncSession, chat_id: int, user_id: int) -> None:
        if await restrictions_db.restriction(
            session, chat_id, user_id, RestrictionKind.BAN, self.c.clock.now()
        ):
            raise coded(ErrorCode.BANNED, 403)

    @staticmethod
    def refuse_silenced(facts: restrictions_db.SendFacts, now: datetime) -> None:
        """A send's checks in the contract's order: banned, hard-muted, muted (the mutes with their `ttl`).
        `facts` come from one statement (`restrictions_db.send_facts`)."""
        if facts.banned:
            raise coded(ErrorCode.BANNED, 403)
        if facts.hard_muted:
            raise coded(ErrorCode.HARD_MUTED, 403, ttl=ttl_seconds(facts.hard_mute_expires, now))
        if facts.muted:
            raise coded(ErrorCode.MUTED, 403, ttl=ttl_seconds(facts.mute_expires, now))

    async def is_hard_muted(self, user_id: int) -> bool:
        async with self.c.db.read() as session:
            return await restrictions_db.hard_mute(session, user_id, self.c.clock.now()) is not None
