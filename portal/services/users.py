"""Users: accounts, profiles by viewer, self-service updates, search. The shapes a user is shown in are
built in user_views.py."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import bots as bots_db
from portal.db import history as history_db
from portal.db import sessions as sessions_db
from portal.db import users as users_db
from portal.db.models import LinkedPlatform, PermissionHistory, User
from portal.domain import UserState
from portal.errors import AuthRequired, BadRequest, Conflict, NotFound
from portal.schemas.common import PLATFORM_PATTERN, USERNAME_PATTERN
from portal.schemas.users import (
    ModerationActionOut,
    OwnedChatOut,
    PermissionHistoryOut,
    SessionHistoryOut,
    SubscriptionHistoryOut,
    SubscriptionOut,
    UpdateMeOut,
    UserDetail,
    UserPrivate,
    UserPublic,
    UserSearchDetail,
    UserSearchOut,
)
from portal.services.audit import AuditEvent
from portal.services.base import Service
from portal.services.bots import bot_private
from portal.services.permissions import Level, can_act_on
from portal.services.sessions import session_history_view
from portal.services.subscriptions import effective_expiry, effective_tier
from portal.services.user_views import DEFAULT_AVATARS, private_view, public_view, staff_fields

SESSION_HISTORY_LIMIT = 50
WELCOME_TITLE = "Welcome to Portal"
WELCOME_BODY = "Your account has been created."


class _DetailArrays(TypedDict):
    """UserDetail's arrays: each filled only for viewers of a high enough level."""

    moderation_actions: list[ModerationActionOut]
    chats: list[OwnedChatOut]
    bots: list[dict[str, Any]]
    subscription_history: list[SubscriptionHistoryOut]
    permission_history: list[PermissionHistoryOut]
    session_history: list[SessionHistoryOut]


def new_user_row(username: str, now: datetime, *, level: int = 0, is_stranger: bool = False) -> User:
    """A fresh account row: active, Basic, no bot logins yet."""
    return User(
        username=username,
        permission_level=level,
        permission_since=now if level > Level.USER else None,
        state=UserState.ACTIVE,
        subscription_tier=0,
        trial_used=False,
        is_stranger=is_stranger,
        bot_login_streak=0,
        last_activity_at=now,
        created_at=now,
        updated_at=now,
    )


def new_username() -> str:
    return f"user_{secrets.token_hex(4)}"


# ---- validation of self-service fields -------------------------------------------------------------


def username_problem(value: Any) -> str | None:
    import re

    if not isinstance(value, str):
        return "username must be a string"
    if len(value) < 3:
        return "username must be at least 3 characters"
    if len(value) > 32:
        return "username must be at most 32 characters"
    if not re.fullmatch(USERNAME_PATTERN, value):
        return "username contains invalid characters"
    return None


def avatar_source_problem(value: Any, platforms: Sequence[LinkedPlatform]) -> str | None:
    if not isinstance(value, str):
        return "avatar_source must be a string"
    if value == "" or value in DEFAULT_AVATARS:
        return None
    if any(link.platform == value for link in platforms):
        return None
    return "avatar_source must be a linked platform or one of: " + ", ".join(DEFAULT_AVATARS)


class UserService(Service):
    # ---- accounts ---------------------------------------------------------------------------------

    async def signup(
        self,
        session: AsyncSession,
        *,
        platform: str,
        platform_user_id: str,
        platform_username: str | None,
        platform_avatar_url: str | None,
        now: datetime,
        username: str | None = None,
        level: int = Level.USER,
    ) -> tuple[User, LinkedPlatform]:
        """Create an account for a new platform identity, link it and send the welcome notification."""
        user = new_user_row(username or new_username(), now, level=level)
        for _attempt in range(5):
            try:
                await users_db.insert(session, user)
                break
            except users_db.UsernameTaken:
                if username is not None:
                    raise Conflict("username is already taken") from None
                user.username = new_username()
        else:  # pragma: no cover - 5 clashes of 32 random bits
            raise Conflict("could not pick a free username")
        try:
            link = await users_db.link(
                session,
                LinkedPlatform(
                    user_id=user.id,
                    platform=platform,
                    platform_user_id=platform_user_id,
                    platform_username=platform_username,
                    platform_avatar_url=platform_avatar_url,
                    linked_at=now,
                    last_authenticated_at=None,
                ),
            )
        except users_db.IdentityTaken:
            raise Conflict("platform identity is already linked to another user") from None
        await self.c.notifications.create(
            session,
            user_id=user.id,
            title=WELCOME_TITLE,
            body=WELCOME_BODY,
            type="success",
            created_by=None,
        )
        return user, link

    async def create(
        self,
        *,
        username: str,
        level: int,
        platform: str,
        platform_user_id: str,
        platform_username: str | None = None,
    ) -> UserPrivate:
        """`portal admin users create`: an account with a chosen name and level, linked to one identity."""
        import re

        problem = username_problem(username)
        if problem:
            raise BadRequest(problem)
        if not re.fullmatch(PLATFORM_PATTERN, platform):
            raise BadRequest("platform contains invalid characters")
        if not platform_user_id:
            raise BadRequest("platform_user_id is required")
        if len(platform_user_id) > 64:
            raise BadRequest("platform_user_id must be at most 64 characters")
        if level not in tuple(Level):
            raise BadRequest("permission_level must be one of: 0, 1, 2, 3")
        now = self.now
        async with self.c.db.transaction() as session:
            if await users_db.identity(session, platform, platform_user_id):
                raise Conflict("platform identity is already linked to another user")
            user, link = await self.signup(
                session,
                platform=platform,
                platform_user_id=platform_user_id,
                platform_username=platform_username,
                platform_avatar_url=None,
                now=now,
                username=username,
                level=level,
            )
            if level > Level.USER:
                await history_db.add(
                    session,
                    PermissionHistory(
                        user_id=user.id,
                        old_level=0,
                        new_level=level,
                        reason="created with the admin CLI",
                        changed_by_id=None,
                        created_at=now,
                    ),
                )
                await self.c.audit.record(
                    session,
                    AuditEvent.PERMISSION_CHANGE,
                    actor=None,
                    on=("user", user.id),
                    old_level=0,
                    new_level=level,
                )
        return private_view(user, [link], now)

    # ---- self-service -----------------------------------------------------------------------------

    async def me(self, user: User) -> UserPrivate:
        platforms = await self.c.auth_cache.platforms(user.id)
        return private_view(user, platforms, self.now)

    async def update_me(self, user: User, changes: dict[str, Any]) -> UpdateMeOut:
        """Each field is applied on its own; failures are reported per field."""
        errors: dict[str, str] = {}
        now = self.now
        async with self.c.db.transaction() as session:
            fresh = await users_db.get_for_update(session, user.id)
            if fresh is None:
                raise NotFound("User")
            platforms = await users_db.platforms_of(session, fresh.id)
            if "username" in changes:
                await self._change_username(session, fresh, changes["username"], errors, now)
            if "avatar_source" in changes:
                value = changes["avatar_source"]
                problem = avatar_source_problem(value, platforms)
                if problem:
                    errors["avatar_source"] = problem
                elif (value or None) != fresh.avatar_source:
                    fresh.avatar_source = value or None
                    fresh.updated_at = now
        return UpdateMeOut(user=private_view(fresh, platforms, now), errors=errors or None)

    async def _change_username(
        self, session: AsyncSession, user: User, value: Any, errors: dict[str, str], now: datetime
    ) -> None:
        problem = username_problem(value)
        if problem:
            errors["username"] = problem
            return
        if value == user.username:
            return
        holder = await users_db.by_username(session, value)
        if holder is not None and holder.id != user.id:
            errors["username"] = "username is already taken"
            return
        try:
            await users_db.rename(session, user, value, now)
        except users_db.UsernameTaken:
            errors["username"] = "username is already taken"

    async def subscription(self, user: User) -> SubscriptionOut:
        now = self.now
        async with self.c.db.read() as session:
            history = await history_db.subscription_history(session, user.id)
        tier = effective_tier(user, now)
        return SubscriptionOut(
            subscription_tier=tier,
            expires_at=effective_expiry(user, now),
            is_active=tier > 0,
            history=[SubscriptionHistoryOut.model_validate(h, from_attributes=True) for h in history],
            created_at=user.created_at,
            updated_at=user.updated_at,
        )

    async def punishments(self, user: User, *, offset: int, limit: int) -> list[ModerationActionOut]:
        async with self.c.db.read() as session:
            rows = await history_db.moderation_actions(session, user.id, offset=offset, limit=limit)
        return [ModerationActionOut.model_validate(r, from_attributes=True) for r in rows]

    async def owned_chats(self, user: User) -> list[OwnedChatOut]:
        """Group chats the user owns."""
        return await self.c.chat_views.owned_chats(user)

    # ---- profiles ---------------------------------------------------------------------------------

    async def lookup_actor(self, user_id: int) -> User:
        """The current row of a socket's user (names and levels change while a socket is open)."""
        async with self.c.db.read() as session:
            user = await users_db.get(session, user_id)
        if user is None:
            raise AuthRequired()
        return user

    async def lookup_target(self, *, user_id: int | None = None, username: str | None = None) -> User:
        async with self.c.db.read() as session:
            if user_id is not None:
                target = await users_db.get(session, user_id)
            else:
                target = await users_db.by_username(session, username or "")
        if target is None or target.is_stranger:
            raise NotFound("User")
        return target

    async def profile(
        self, viewer: User | None, *, user_id: int | None = None, username: str | None = None
    ) -> UserPublic | UserDetail:
        """Public shape, or the detail shape when the viewer can act on the user."""
        target = await self.lookup_target(user_id=user_id, username=username)
        now = self.now
        async with self.c.db.read() as session:
            platforms = await users_db.platforms_of(session, target.id)
            if viewer is None or not can_act_on(viewer, target):
                return public_view(target, platforms, now)
            return await self._detail(session, viewer.permission_level, target, platforms, now)

    async def detail(self, user_id: int) -> UserDetail:
        """`portal admin users show`: the detail an Owner sees (every array), for the operator."""
        target = await self.lookup_target(user_id=user_id)
        now = self.now
        async with self.c.db.read() as session:
            platforms = await users_db.platforms_of(session, target.id)
            return await self._detail(session, Level.OWNER, target, platforms, now)

    async def _detail(
        self,
        session: AsyncSession,
        level: int,
        target: User,
        platforms: Sequence[LinkedPlatform],
        now: datetime,
    ) -> UserDetail:
        arrays: _DetailArrays = {
            "moderation_actions": [],
            "chats": [],
            "bots": [],
            "subscription_history": [],
            "permission_history": [],
            "session_history": [],
        }
        if level >= Level.MODERATOR:
            arrays["moderation_actions"] = [
                ModerationActionOut.model_validate(r, from_attributes=True)
                for r in await history_db.moderation_actions(session, target.id)
            ]
        if level >= Level.ADMIN:
            arrays["chats"] = await self.owned_chats(target)
            arrays["bots"] = [
                bot_private(b).model_dump(mode="json") for b in await bots_db.owned_by(session, target.id)
            ]
            arrays["subscription_history"] = [
                SubscriptionHistoryOut.model_validate(r, from_attributes=True)
                for r in await history_db.subscription_history(session, target.id)
            ]
            arrays["permission_history"] = [
                PermissionHistoryOut.model_validate(r, from_attributes=True)
                for r in await history_db.permission_history(session, target.id)
            ]
        if level >= Level.OWNER:
            arrays["session_history"] = [
                session_history_view(s)
                for s in await sessions_db.history_of(session, target.id, now, SESSION_HISTORY_LIMIT)
            ]
        return UserDetail(**staff_fields(target, platforms, now), **arrays)

    async def search(self, viewer: User | None, *, q: str, offset: int, limit: int) -> UserSearchOut:
        """`viewer=None` is the operator (`portal admin users list`): every row in the detail shape."""
        now = self.now
        async with self.c.db.read() as session:
            rows, total = await users_db.search(session, q, offset=offset, limit=limit)
            platforms = await users_db.platforms_of_many(session, [u.id for u in rows])
        users: list[UserSearchDetail | UserPublic] = []
        for user in rows:
            if viewer is None or can_act_on(viewer, user):
                users.append(UserSearchDetail(**staff_fields(user, platforms[user.id], now)))
            else:
                users.append(public_view(user, platforms[user.id], now))
        return UserSearchOut(users=users, total=total, offset=offset, limit=limit)
