"""Strangers: the moderators' block list (00 §3.3, 08 §33) and the stranger peer's country (05 §7, 08 §31).

A block is keyed by HMAC-SHA256(secret key, SHA-256 of the session token). The spec says "an HMAC of the
session token", but the server never keeps the token, only its SHA-256; keying the HMAC over that hash is
the same one-way, secret-keyed function of the token, computable both when a moderator blocks (from the
session row) and when the stranger enqueues (from the request's session). See docs/decisions.md.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import sessions as sessions_db
from portal.db import strangers as strangers_db
from portal.db import users as users_db
from portal.db.models import StrangerBlock, User
from portal.errors import NotFound
from portal.security import keyed_hash
from portal.services.audit import AuditEvent
from portal.services.base import Service

# How long a stranger's row outlives their last session: long enough for a moderator to look into a report.
STRANGER_RETENTION = timedelta(days=1)


class Strangers(Service):
    def block_key(self, token_hash: str) -> str:
        """The block list's key for the session whose token hashes to `token_hash`."""
        return keyed_hash(self.c.settings.resolved_secret_key, "stranger-block:" + token_hash)

    async def is_blocked(self, token_hash: str) -> bool:
        """Whether the stranger session with this token hash is blocked from matchmaking."""
        now = self.c.clock.now()
        async with self.c.db.read() as session:
            return await strangers_db.is_blocked(session, self.block_key(token_hash), now)

    async def block(self, user_id: int, *, actor: User | None) -> str:
        """Block a stranger's live session from matchmaking until that session expires, and take the
        stranger out of every queue; active direct chats are left alone. Idempotent (a repeat writes no
        second audit row). 404 "User not found" unless the target is a stranger with a live session."""
        now = self.c.clock.now()
        async with self.c.db.transaction() as session:
            target = await users_db.get(session, user_id)
            live = await sessions_db.active_of(session, user_id, now) if target is not None else []
            if target is None or not target.is_stranger or not live:
                raise NotFound("User")
            blocked = []
            for row in live:  # a stranger has one session; block each live one should there be more
                block = StrangerBlock(
                    block_key=self.block_key(row.token_hash),
                    user_id=target.id,
                    issued_by_id=actor.id if actor else None,
                    expires_at=row.expires_at,
                    created_at=now,
                )
                if await strangers_db.block(session, block):
                    blocked.append(row)
            if blocked:
                await self.c.audit.record(
                    session,
                    AuditEvent.STRANGER_BLOCK,
                    actor=actor,
                    on=("user", target.id),
                    expires_at=max(row.expires_at for row in blocked).isoformat(),
                )
        await self.c.matchmaking.remove_everywhere(user_id)
        return f"Stranger {user_id} blocked"

    async def purge_expired(self) -> int:
        """Drop blocks whose session has expired (housekeeping: an expired session cannot enqueue)."""
        async with self.c.db.transaction() as session:
            return await strangers_db.delete_expired(session, self.c.clock.now())

    async def purge_over(self, *, limit: int) -> int:
        """Delete strangers whose every session ended or expired over `STRANGER_RETENTION` ago and who are
        in no chat any more (their direct chats archived and purged first): a stranger cannot sign in
        again, so the row only kept a name and an IP (docs/decisions.md)."""
        over_before = self.c.clock.now() - STRANGER_RETENTION
        async with self.c.db.transaction() as session:
            ids = await strangers_db.purgeable_ids(session, over_before, limit=limit)
            return await strangers_db.delete_users(session, ids)

    async def country_of(self, user_id: int) -> str | None:
        """The ISO 3166-1 alpha-2 country of a stranger's current session IP (for the `match:found` peer),
        or None: for registered users (08 §31), without a live session, or when the geo lookup knows
        nothing. The raw IP never leaves the server."""
        async with self.c.db.read() as session:
            user = await users_db.get(session, user_id)
            return None if user is None else await self.country_in(session, user)

    async def country_in(self, session: AsyncSession, user: User) -> str | None:
        """`country_of` inside the caller's transaction (opening a direct chat reads it for both peers)."""
        if not user.is_stranger:
            return None
        live = await sessions_db.active_of(session, user.id, self.c.clock.now())
        if not live:
            return None
        row = live[0]  # the newest live session
        code = self.c.geo.lookup(row.client_ip).country_code
        if code is None and row.geo:
            stored = row.geo.get("country_code")  # what was known at sign-in (e.g. the db changed since)
            code = stored if isinstance(stored, str) else None
        return code
