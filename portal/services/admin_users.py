"""Staff actions on accounts: permission levels (`POST /v1/admin/users/{id}/permission`, 00 §3.5, 08 §40)
and linking a platform identity (`portal admin users link-platform`). Punishments are in punishments.py."""

from __future__ import annotations

import re

from portal.db import history as history_db
from portal.db import users as users_db
from portal.db.models import LinkedPlatform, PermissionHistory, User
from portal.domain import MAX_REASON_LENGTH, SessionEnd
from portal.errors import AccessDenied, BadRequest, Conflict, NotFound
from portal.schemas.common import PLATFORM_PATTERN
from portal.schemas.users import UserPrivate
from portal.services.audit import AuditEvent
from portal.services.base import Service
from portal.services.permissions import Level, may_assign
from portal.services.user_views import private_view

PLATFORM_USER_ID_PATTERN = r"[A-Za-z0-9._:@-]+"


class AdminUserService(Service):
    async def set_permission(
        self, user_id: int, permission_level: int, reason: str | None = None, *, actor: User | None
    ) -> str:
        """Set a user's level. Admins give up to User, Owners up to Admin, nobody their own; `actor=None`
        (the CLI) gives any level. The same level again is a 200 that writes nothing. A change writes
        `permission_history`, a `PERMISSION_CHANGE` audit event, and ends the user's sessions (their TTL
        depends on the level)."""
        if isinstance(permission_level, bool) or permission_level not in tuple(Level):
            raise BadRequest("permission_level must be between 0 and 3")
        if reason is not None and len(reason) > MAX_REASON_LENGTH:
            raise BadRequest(f"reason must be at most {MAX_REASON_LENGTH} characters")
        now = self.now
        async with self.c.db.transaction() as session:
            target = await users_db.get_for_update(session, user_id)
            if target is None or target.is_stranger:
                raise NotFound("User")
            if actor is not None and (
                actor.id == target.id or not may_assign(actor, target, permission_level)
            ):
                raise AccessDenied()
            old_level = target.permission_level
            if old_level != permission_level:
                target.permission_level = permission_level
                target.permission_since = now
                target.updated_at = now
                await history_db.add(
                    session,
                    PermissionHistory(
                        user_id=target.id,
                        old_level=old_level,
                        new_level=permission_level,
                        reason=reason or None,
                        changed_by_id=actor.id if actor else None,
                        created_at=now,
                    ),
                )
                await self.c.audit.record(
                    session,
                    AuditEvent.PERMISSION_CHANGE,
                    actor=actor,
                    on=("user", target.id),
                    old_level=old_level,
                    new_level=permission_level,
                    reason=reason or None,
                )
                await self.c.sessions.end_user_sessions(
                    target.id, reason=SessionEnd.PERMISSION_CHANGED, session=session
                )
        return f"Permission level for user {user_id} set to {permission_level}"

    async def link_platform(
        self,
        user_id: int,
        *,
        platform: str,
        platform_user_id: str,
        platform_username: str | None = None,
        actor: User | None,
    ) -> UserPrivate:
        """Link one more platform identity to an existing account (CLI only); answers the private user."""
        if not re.fullmatch(PLATFORM_PATTERN, platform):
            raise BadRequest("platform contains invalid characters")
        if not platform_user_id:
            raise BadRequest("platform_user_id is required")
        if len(platform_user_id) > 64:
            raise BadRequest("platform_user_id must be at most 64 characters")
        if not re.fullmatch(PLATFORM_USER_ID_PATTERN, platform_user_id):
            raise BadRequest("platform_user_id contains invalid characters")
        if platform_username is not None and len(platform_username) > 100:
            raise BadRequest("platform_username must be at most 100 characters")
        now = self.now
        async with self.c.db.transaction() as session:
            target = await users_db.get_for_update(session, user_id)
            if target is None or target.is_stranger:
                raise NotFound("User")
            if actor is not None and actor.id != target.id and actor.permission_level < Level.ADMIN:
                raise AccessDenied()
            if await users_db.identity(session, platform, platform_user_id):
                raise Conflict("platform identity is already linked to another user")
            try:
                await users_db.link(
                    session,
                    LinkedPlatform(
                        user_id=target.id,
                        platform=platform,
                        platform_user_id=platform_user_id,
                        platform_username=platform_username,
                        platform_avatar_url=None,
                        linked_at=now,
                        last_authenticated_at=None,
                    ),
                )
            except users_db.IdentityTaken:
                raise Conflict("platform identity is already linked to another user") from None
            target.updated_at = now
            await self.c.audit.record(
                session,
                AuditEvent.USER_LINK_PLATFORM,
                actor=actor,
                on=("user", target.id),
                platform=platform,
                platform_user_id=platform_user_id,
            )
            platforms = await users_db.platforms_of(session, target.id)
        return private_view(target, platforms, now)
