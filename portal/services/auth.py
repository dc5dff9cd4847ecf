"""Login with one-time codes, logout and stranger sessions."""

from __future__ import annotations

import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import login_codes as codes_db
from portal.db import users as users_db
from portal.db.models import LinkedPlatform, LoginCode, User
from portal.domain import SessionEnd, UserState
from portal.errors import AccessDenied, AccountRestricted, AuthRequired, NotFound, RateLimited
from portal.schemas.auth import (
    MAX_PENDING_LISTED,
    BotCodeOut,
    BotLoginCodeOut,
    CodeRequestOut,
    LookupOut,
    PendingCodeOut,
    PlatformRef,
    StrangerOut,
    VerifyOut,
)
from portal.security import keyed_hash, new_login_code
from portal.services.audit import AuditEvent
from portal.services.base import Service
from portal.services.bots import BOT_TYPE_OFFICIAL
from portal.services.permissions import Level
from portal.services.sessions import STRANGER_SESSION_TTL, AuthContext, NewSession, is_restricted
from portal.services.subscriptions import effective_tier
from portal.services.user_views import avatar_url, private_view
from portal.services.users import new_user_row
from portal.services.words import stranger_name

if TYPE_CHECKING:
    from portal.config import Settings
    from portal.db.models import Bot

log = logging.getLogger("portal.auth")
INVALID_CODE = "Invalid or expired code"


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class LoginResult:
    body: VerifyOut | StrangerOut
    session: NewSession
    max_age: int


@dataclass(frozen=True)
class BotIdentity:
    """What a bot says about the platform user it acts for."""

    platform: str
    platform_user_id: str
    platform_username: str | None
    platform_avatar_url: str | None


def may_bot_sign_in(bot: Bot, user: User) -> bool:
    """A bot-initiated code (`send-code`) for a Moderator+ account needs an official bot (08 §65)."""
    return user.permission_level < Level.MODERATOR or bot.bot_type == BOT_TYPE_OFFICIAL


class AuthService(Service):
    @property
    def settings(self) -> Settings:
        return self.c.settings

    def _code_hash(self, code: str) -> str:
        return keyed_hash(self.settings.resolved_secret_key, "login-code:" + code)

    # ---- lookup -----------------------------------------------------------------------------------

    async def lookup(self, username: str) -> LookupOut:
        async with self.c.db.read() as session:
            user = await users_db.by_username(session, username)
            if user is None or user.is_stranger:
                raise NotFound("User")
            platforms = await users_db.platforms_of(session, user.id)
        return LookupOut(
            id=user.id,
            username=user.username,
            avatar_url=avatar_url(user, platforms),
            permission_level=user.permission_level,
            subscription_tier=effective_tier(user, self.c.clock.now()),
            platforms=[
                PlatformRef(platform=p.platform, platform_user_id=p.platform_user_id) for p in platforms
            ],
        )

    # ---- issuing codes ----------------------------------------------------------------------------

    async def request_code(self, platform: str, platform_user_id: str, client: ClientInfo) -> CodeRequestOut:
        """A web code bound to the caller's IP; the identity's older pending web codes asked from the same
        IP are cancelled (another IP's never are: 08 §64)."""
        ip = client.ip or "unknown"
        now = self.c.clock.now()
        async with self.c.live.lock(f"login-codes:ip:{ip}"), self.c.db.transaction() as session:
            await codes_db.cancel_pending_web(session, platform, platform_user_id, ip, now)
            pending = await codes_db.pending_web_count_for_ip(session, ip, now)
            if pending >= self.settings.max_pending_codes_per_ip:
                oldest = await codes_db.oldest_pending_web_expiry_for_ip(session, ip, now)
                wait = math.ceil((oldest - now).total_seconds()) if oldest else self.settings.login_code_ttl
                raise RateLimited("Too many pending login codes", retry_after=wait)
            found = await users_db.user_by_identity(session, platform, platform_user_id)
            row = await self._issue(
                session,
                kind="web",
                platform=platform,
                platform_user_id=platform_user_id,
                user_id=found[0].id if found else None,
                client_ip=ip,
                now=now,
            )
        self._console(row)
        return CodeRequestOut(message="Login code generated.", expires_at=row.expires_at)

    async def bot_login_code(self, bot: Bot, who: BotIdentity) -> BotLoginCodeOut:
        """The pending web codes of an identity, newest first, for the bot to deliver (08 §64)."""
        self._check_platform(bot, who)
        now = self.c.clock.now()
        async with self.c.db.transaction() as session:
            found = await users_db.user_by_identity(session, who.platform, who.platform_user_id)
            if found:
                self._refresh_link(found[1], who)
            rows = await codes_db.pending_codes(
                session, who.platform, who.platform_user_id, "web", now, limit=MAX_PENDING_LISTED
            )
            if not found:  # the name and avatar a signup from any of these codes takes
                for row in rows:
                    row.platform_username = who.platform_username
                    row.platform_avatar_url = who.platform_avatar_url
        pending = [  # live codes keep their text (it is cleared once used, cancelled or expired)
            PendingCodeOut(code=row.code, requested_at=row.created_at, expires_at=row.expires_at)
            for row in rows
            if row.code is not None
        ]
        newest = pending[0] if pending else None
        return BotLoginCodeOut(
            code=newest.code if newest else None,
            expires_at=newest.expires_at if newest else None,
            pending=pending,
        )

    async def bot_send_code(self, bot: Bot, who: BotIdentity) -> BotCodeOut:
        """A bot-delivered code for an existing identity; the same code while it lives."""
        self._check_platform(bot, who)
        now = self.c.clock.now()
        key = f"login-codes:identity:{who.platform}:{who.platform_user_id}"
        async with self.c.live.lock(key), self.c.db.transaction() as session:
            found = await users_db.user_by_identity(session, who.platform, who.platform_user_id)
            if found is None:
                raise NotFound("User")
            user, link = found
            self._refresh_link(link, who)
            if is_restricted(user, now):
                raise AccountRestricted()
            if user.bot_login_streak >= self.settings.bot_login_web_required_every or not may_bot_sign_in(
                bot, user
            ):
                raise AccessDenied("Web login required")
            row = await codes_db.newest_pending(session, who.platform, who.platform_user_id, "bot", now)
            fresh = row is None
            if row is None:
                row = await self._issue(
                    session,
                    kind="bot",
                    platform=who.platform,
                    platform_user_id=who.platform_user_id,
                    user_id=user.id,
                    client_ip=None,
                    bot_id=bot.id,
                    now=now,
                )
        if fresh:
            self._console(row)
        return BotCodeOut(code=row.code, expires_at=row.expires_at)

    def _check_platform(self, bot: Bot, who: BotIdentity) -> None:
        if bot.platform != who.platform:
            raise AccessDenied()

    @staticmethod
    def _refresh_link(link: LinkedPlatform, who: BotIdentity) -> None:
        link.platform_username = who.platform_username
        link.platform_avatar_url = who.platform_avatar_url

    async def _issue(
        self,
        session: AsyncSession,
        *,
        kind: str,
        platform: str,
        platform_user_id: str,
        user_id: int | None,
        client_ip: str | None,
        bot_id: int | None = None,
        now: datetime,
    ) -> LoginCode:
        for _attempt in range(8):
            code = new_login_code()
            try:
                return await codes_db.insert(
                    session,
                    LoginCode(
                        code=code,
                        code_hash=self._code_hash(code),
                        kind=kind,
                        platform=platform,
                        platform_user_id=platform_user_id,
                        user_id=user_id,
                        client_ip=client_ip,
                        bot_id=bot_id,
                        created_at=now,
                        expires_at=now + timedelta(seconds=self.settings.login_code_ttl),
                    ),
                )
            except codes_db.CodeClash:
                continue
        raise RuntimeError("could not issue a unique login code")  # pragma: no cover

    def _console(self, row: LoginCode) -> None:
        if self.settings.console_codes_enabled:
            log.warning("login code for %s:%s: %s", row.platform, row.platform_user_id, row.code)

    # ---- verify -----------------------------------------------------------------------------------

    async def verify(self, code: str, client: ClientInfo) -> LoginResult:
        now = self.c.clock.now()
        async with self.c.db.transaction() as session:
            row = await codes_db.by_hash(session, self._code_hash(code))
            if row is None or not self._usable(row, client, now):
                raise AuthRequired(INVALID_CODE)
            # Claim the code before anything else: of concurrent verifies exactly one passes here (the
            # others wait on the row and then find it used), so a new identity is never signed up twice.
            # A refusal below (a restricted account) rolls the claim back and the code stays usable.
            if not await codes_db.consume(session, row.id, now):
                raise AuthRequired(INVALID_CODE)
            user, link, created = await self._account_for(session, row, now)
            user.bot_login_streak = user.bot_login_streak + 1 if row.kind == "bot" else 0
            user.last_activity_at = now
            link.last_authenticated_at = now
            if row.kind == "bot" and user.permission_level >= Level.MODERATOR:
                await self.c.audit.record(
                    session,
                    AuditEvent.USER_BOT_LOGIN,
                    actor=None,
                    on=("user", user.id),
                    bot_id=row.bot_id,
                    ip=client.ip,
                )
            new = await self.c.sessions.create(
                session, user, client_ip=client.ip, user_agent=client.user_agent, now=now
            )
            platforms = await users_db.platforms_of(session, user.id)
        me = private_view(user, platforms, now)
        body = VerifyOut(**me.model_dump(), user_created=created, subscription_level=me.subscription_tier)
        return LoginResult(body=body, session=new, max_age=new.max_age(now))

    @staticmethod
    def _usable(row: LoginCode, client: ClientInfo, now: datetime) -> bool:
        if row.used_at is not None or row.cancelled_at is not None or row.expires_at <= now:
            return False
        return row.kind != "web" or row.client_ip == (client.ip or "unknown")

    async def _account_for(
        self, session: AsyncSession, row: LoginCode, now: datetime
    ) -> tuple[User, LinkedPlatform, bool]:
        found = await users_db.user_by_identity(session, row.platform, row.platform_user_id)
        if found is None:
            user, link = await self.c.users.signup(
                session,
                platform=row.platform,
                platform_user_id=row.platform_user_id,
                platform_username=row.platform_username,
                platform_avatar_url=row.platform_avatar_url,
                now=now,
            )
            return user, link, True
        user, link = found
        user = await users_db.get_for_update(session, user.id) or user
        if is_restricted(user, now):
            raise AccountRestricted()
        if user.state != UserState.ACTIVE:  # a timeout or timed ban that has run out lifts itself
            user.state, user.state_expires_at = UserState.ACTIVE, None
        return user, link, False

    # ---- logout and strangers ---------------------------------------------------------------------

    async def logout(self, ctx: AuthContext) -> None:
        await self.c.sessions.end_sessions([ctx.session.id], reason=SessionEnd.LOGOUT)

    async def stranger(self, client: ClientInfo) -> LoginResult:
        """An anonymous level-0 account with a 24-hour session."""
        now = self.c.clock.now()
        async with self.c.db.transaction() as session:
            user = await self._new_stranger(session, now)
            new = await self.c.sessions.create(
                session,
                user,
                client_ip=client.ip,
                user_agent=client.user_agent,
                now=now,
                ttl=STRANGER_SESSION_TTL,
            )
        body = StrangerOut(
            id=user.id, username=user.username, is_stranger=True, expires_at=new.row.expires_at
        )
        return LoginResult(body=body, session=new, max_age=new.max_age(now))

    async def _new_stranger(self, session: AsyncSession, now: datetime) -> User:
        name = stranger_name()
        for attempt in range(10):
            candidate = name if attempt == 0 else f"{name}-{secrets.randbelow(10_000):04d}"
            user = new_user_row(candidate, now, is_stranger=True)
            try:
                return await users_db.insert(session, user)
            except users_db.UsernameTaken:
                continue
        raise RuntimeError("could not pick a stranger name")  # pragma: no cover
