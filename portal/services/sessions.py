"""Login sessions: creation, the authentication lookup, listing and ending."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from portal.db import sessions as sessions_db
from portal.db import users as users_db
from portal.db.models import User, UserSession
from portal.db.uow import on_commit
from portal.domain import SessionEnd, UserState
from portal.errors import AccountRestricted, BadRequest, NotFound
from portal.schemas.users import GeoOut, SessionHistoryOut, SessionOut, SessionsOut
from portal.security import new_session_token, session_public_id, sha256_hex
from portal.services.base import Service
from portal.services.permissions import session_ttl_seconds
from portal.services.subscriptions import effective_tier

STRANGER_SESSION_TTL = 86400
ACTIVITY_WRITE_INTERVAL = timedelta(minutes=1)
MAX_TOKEN_LENGTH = 128


@dataclass
class AuthContext:
    """Who is calling: the user and the session the request came with."""

    user: User
    session: UserSession

    @property
    def token_hash(self) -> str:
        return self.session.token_hash

    @property
    def session_id(self) -> str:
        return session_public_id(self.session.token_hash)


@dataclass(frozen=True)
class NewSession:
    token: str
    row: UserSession

    def max_age(self, now: datetime) -> int:
        """Seconds of life left: the cookie's Max-Age."""
        return max(0, math.floor((self.row.expires_at - now).total_seconds()))


def _geo_view(geo: dict[str, object] | None) -> GeoOut:
    return GeoOut.model_validate(geo or {})


def session_history_view(row: UserSession) -> SessionHistoryOut:
    return SessionHistoryOut(
        token_suffix=row.token_suffix,
        created_at=row.created_at,
        client_ip=row.client_ip,
        user_agent=row.user_agent,
        geo=_geo_view(row.geo),
    )


def is_restricted(user: User, now: datetime) -> bool:
    """Timed-out or banned right now (a timeout or timed ban past its end no longer counts)."""
    if user.state == UserState.ACTIVE:
        return False
    return user.state_expires_at is None or user.state_expires_at > now


class SessionService(Service):
    async def create(
        self,
        session: AsyncSession,
        user: User,
        *,
        client_ip: str | None,
        user_agent: str | None,
        now: datetime,
        ttl: int | None = None,
    ) -> NewSession:
        token = new_session_token()
        geo = self.c.geo.lookup(client_ip).to_dict()
        row = await sessions_db.insert(
            session,
            UserSession(
                user_id=user.id,
                token_hash=sha256_hex(token),
                token_suffix=token[-6:],
                created_at=now,
                expires_at=now + timedelta(seconds=ttl or session_ttl_seconds(user.permission_level)),
                client_ip=client_ip,
                user_agent=(user_agent or "")[:512] or None,
                geo=geo,
            ),
        )
        return NewSession(token=token, row=row)

    async def authenticate(self, token: str | None) -> AuthContext | None:
        """The hot path: one indexed read; writes only when something is due (expiry, activity).

        None for a missing, unknown, ended or expired session; `AccountRestricted` (after ending every
        session of the user) when the account is timed out or banned.
        """
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        token_hash = sha256_hex(token)
        cache = self.c.auth_cache
        found = cache.get(token_hash)
        if found is None:
            since = cache.generation()
            async with self.c.db.read() as session:
                found = await sessions_db.with_user_by_hash(session, token_hash)
            if found is None:
                return None
            cache.put(token_hash, *found, since=since)
        row, user = found
        now = self.c.clock.now()
        if row.expires_at <= now:
            await self.end_sessions([row.id], reason=SessionEnd.EXPIRED)
            return None
        if is_restricted(user, now):
            reason = SessionEnd.BANNED if user.state == UserState.BANNED else SessionEnd.TIMEOUT
            await self.end_user_sessions(user.id, reason=reason)
            raise AccountRestricted()
        since = cache.generation()
        if await self._refresh_due(user, now):
            cache.put(token_hash, row, user, since=since)  # a touch only: keep the entry, with its new time
        return AuthContext(user=user, session=row)

    async def _refresh_due(self, user: User, now: datetime) -> bool:
        """Lift a finished timeout, apply subscription expiry, bump last activity (at most once a minute).
        Answers whether it wrote (`user` then holds the row as written)."""
        # Restricted users were turned away above, so a state other than active has ended.
        lift = user.state != UserState.ACTIVE
        expire = effective_tier(user, now) != user.subscription_tier
        touch = user.last_activity_at < now - ACTIVITY_WRITE_INTERVAL
        if not (lift or expire or touch):
            return False
        async with self.c.db.transaction() as session:
            fresh = await users_db.get_for_update(session, user.id)
            if fresh is None:
                return False
            if lift and not is_restricted(fresh, now):
                fresh.state, fresh.state_expires_at, fresh.updated_at = UserState.ACTIVE, None, now
            if expire:
                await self.c.subscriptions.apply_expiry(session, fresh, now)
            if touch:
                fresh.last_activity_at = now
        for name in (
            "state",
            "state_expires_at",
            "subscription_tier",
            "subscription_expires_at",
            "last_activity_at",
            "updated_at",
        ):
            set_committed_value(user, name, getattr(fresh, name))
        return True

    # ---- listing and ending -----------------------------------------------------------------------

    async def list_for(self, ctx: AuthContext) -> SessionsOut:
        now = self.c.clock.now()
        async with self.c.db.read() as session:
            active = await sessions_db.active_of(session, ctx.user.id, now)
            history = await sessions_db.history_of(session, ctx.user.id, now, 50)
        return SessionsOut(
            sessions=[
                SessionOut(
                    **session_history_view(row).model_dump(),
                    expires_at=row.expires_at,
                    is_current=row.id == ctx.session.id,
                )
                for row in active
            ],
            history=[session_history_view(row) for row in history],
        )

    async def destroy_by_suffix(self, ctx: AuthContext, token_suffix: str) -> None:
        if token_suffix == ctx.session.token_suffix:
            raise BadRequest("Cannot destroy the current session; use logout")
        now = self.c.clock.now()
        async with self.c.db.read() as session:
            active = await sessions_db.active_of(session, ctx.user.id, now)
        targets = [row.id for row in active if row.token_suffix == token_suffix and row.id != ctx.session.id]
        if not targets:
            raise NotFound("Session")
        await self.end_sessions(targets, reason=SessionEnd.REVOKED)

    async def end_sessions(self, ids: list[int], *, reason: SessionEnd) -> None:
        now = self.c.clock.now()
        async with self.c.db.transaction() as session:
            ended = await sessions_db.end(session, ids, now, reason)
            self._announce_end(session, ended, reason)

    async def end_user_sessions(
        self, user_id: int, *, reason: SessionEnd, session: AsyncSession | None = None
    ) -> None:
        """End every open session of a user (level change, ban, timeout)."""
        if session is not None:
            await self._end_user_sessions_in(session, user_id, reason)
            return
        async with self.c.db.transaction() as own:
            await self._end_user_sessions_in(own, user_id, reason)

    async def _end_user_sessions_in(self, session: AsyncSession, user_id: int, reason: SessionEnd) -> None:
        ids = await sessions_db.open_ids_of(session, user_id)
        ended = await sessions_db.end(session, ids, self.c.clock.now(), reason)
        self._announce_end(session, ended, reason)

    def _announce_end(
        self, session: AsyncSession, ended: list[tuple[int, int, str]], reason: SessionEnd
    ) -> None:
        """After commit: the sessions' E2EE keys go (rooms hear `portal:key_removed`), then their sockets
        hear `session:ended` and are disconnected — in that order, while presence still knows the rooms."""

        async def announce() -> None:
            await self.c.e2ee.sessions_ended(ended)
            for _pk, _user_id, token_hash in ended:
                await self.c.notifier.end_session(token_hash, reason)

        if ended:
            on_commit(session, announce)
