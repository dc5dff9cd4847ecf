"""Platform punishments: timeout, warning, hard mute.

They are applied from a chat (`POST /v1/portal/chats/{id}/timeout|warn`, where the chat rules decide who
may act and a system message is posted) or globally (`POST /v1/portal/hard-mute`; `/v1/admin/users/*` is not
built yet). Every one writes a moderation record, so `GET /v1/users/me/punishments` shows it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import history as history_db
from portal.db import restrictions as restrictions_db
from portal.db import users as users_db
from portal.db.models import Chat, HardMute, ModerationAction, User
from portal.db.uow import on_commit
from portal.domain import (
    MAX_MUTE_SECONDS,
    MAX_PUNISHMENT_SECONDS,
    MAX_REASON_LENGTH,
    MIN_TIMEOUT_SECONDS,
    ModerationKind,
    SessionEnd,
    UserState,
)
from portal.errors import AccessDenied, BadRequest, NotFound
from portal.events import UserHardMuted, UserHardUnmuted
from portal.services.audit import AuditEvent
from portal.services.base import Service
from portal.services.permissions import can_act_on
from portal.services.restrictions import ttl_seconds
from portal.services.sessions import is_restricted

TIMEOUT_RANGE = (MIN_TIMEOUT_SECONDS, MAX_PUNISHMENT_SECONDS)


def check_reason(reason: str | None, *, required: bool = False) -> None:
    if reason is None:
        if required:
            raise BadRequest("reason is required")
        return
    if len(reason) > MAX_REASON_LENGTH:
        raise BadRequest(f"reason must be at most {MAX_REASON_LENGTH} characters")
    if required and not reason:
        raise BadRequest("reason must be at least 1 character")


class PunishmentService(Service):
    async def _target(
        self, session: AsyncSession, actor: User | None, target_id: int, *, strangers: bool = False
    ) -> User:
        """The user acted on: must exist (404), not be the actor and be below them (403). Strangers are
        "not found" unless the action is meant for them too (`strangers`)."""
        target = await users_db.get(session, target_id)
        if target is None or (target.is_stranger and not strangers):
            raise NotFound("User")
        if actor is not None and (target.id == actor.id or not can_act_on(actor, target)):
            raise AccessDenied()
        return target

    async def _log(
        self,
        session: AsyncSession,
        target: User,
        action: ModerationKind,
        event: AuditEvent,
        actor: User | None,
        reason: str | None,
        *,
        seconds: int | None,
        **metadata: Any,
    ) -> ModerationAction:
        """The moderation record (what `GET /v1/users/me/punishments` shows) and its audit row, inside the
        caller's transaction. `seconds` is the record's duration; `metadata` goes to the audit row only."""
        now = self.c.clock.now()
        record = ModerationAction(
            user_id=target.id,
            action_type=action,
            reason=reason,
            chat_id=metadata.get("chat_id"),
            issued_by_id=actor.id if actor else None,
            is_lifted=False,
            lifted_at=None,
            expires_at=now + timedelta(seconds=seconds) if seconds else None,
            created_at=now,
        )
        await history_db.add(session, record)
        await self.c.audit.record(
            session, event, actor=actor, on=("user", target.id), reason=reason, **metadata
        )
        return record

    # ---- timeout and warning ----------------------------------------------------------------------

    async def timeout(
        self,
        session: AsyncSession,
        actor: User | None,
        target: User,
        duration: int,
        reason: str | None,
        *,
        chat: Chat | None = None,
    ) -> ModerationAction:
        """The user cannot use the platform until it ends: every session ends, every socket goes."""
        low, high = TIMEOUT_RANGE
        if isinstance(duration, bool) or not low <= duration <= high:
            raise BadRequest(f"duration must be between {low} and {high}")
        now = self.c.clock.now()
        ends = now + timedelta(seconds=duration)
        banned_longer = (
            target.state == UserState.BANNED
            and is_restricted(target, now)
            and (target.state_expires_at is None or target.state_expires_at >= ends)
        )
        if not banned_longer:  # a timeout never shortens a platform ban that lasts longer
            target.state, target.state_expires_at = UserState.TIMED_OUT, ends
        target.updated_at = now
        record = await self._log(
            session,
            target,
            ModerationKind.PLATFORM_TIMEOUT,
            AuditEvent.USER_TIMEOUT,
            actor,
            reason,
            seconds=duration,
            duration=duration,
            chat_id=chat.id if chat else None,
        )
        await self.c.sessions.end_user_sessions(target.id, reason=SessionEnd.TIMEOUT, session=session)
        if chat is not None:
            await self.c.messages.post_system(session, chat, f"{target.username} was timed out")
        return record

    async def warn(
        self,
        session: AsyncSession,
        actor: User | None,
        target: User,
        reason: str | None,
        *,
        chat: Chat | None = None,
    ) -> ModerationAction:
        record = await self._log(
            session,
            target,
            ModerationKind.PLATFORM_WARNING,
            AuditEvent.USER_WARN,
            actor,
            reason,
            seconds=None,
            chat_id=chat.id if chat else None,
        )
        if chat is not None:
            await self.c.messages.post_system(session, chat, f"{target.username} was warned")
        return record

    # ---- hard mute --------------------------------------------------------------------------------

    async def hard_mute(
        self, target_id: int, duration: int = 300, reason: str | None = None, *, actor: User | None
    ) -> ModerationAction:
        """A mute in every chat, direct ones included; a new one replaces the old TTL."""
        if isinstance(duration, bool) or not 0 <= duration <= MAX_MUTE_SECONDS:
            raise BadRequest(f"duration must be between 0 and {MAX_MUTE_SECONDS}")
        check_reason(reason)
        now = self.c.clock.now()
        async with self.c.db.transaction() as session:
            # Strangers too: the hard mute is how staff silence someone in a direct chat.
            target = await self._target(session, actor, target_id, strangers=True)
            expires = now + timedelta(seconds=duration) if duration else None
            await restrictions_db.put_hard_mute(
                session,
                HardMute(
                    user_id=target.id,
                    reason=reason,
                    issued_by_id=actor.id if actor else None,
                    expires_at=expires,
                    created_at=now,
                ),
            )
            record = await self._log(
                session,
                target,
                ModerationKind.PLATFORM_HARD_MUTE,
                AuditEvent.USER_HARD_MUTE,
                actor,
                reason,
                seconds=duration or None,
                duration=duration,
            )
            event = UserHardMuted(user_id=target.id, ttl=ttl_seconds(expires, now))

            async def announce() -> None:
                await self.c.notifier.send(event, room=None)

            on_commit(session, announce)
        return record

    async def hard_unmute(self, target_id: int, *, actor: User | None) -> bool:
        """Lift a hard mute (idempotent); answers whether one was in force."""
        now = self.c.clock.now()
        async with self.c.db.transaction() as session:
            target = await self._target(session, actor, target_id, strangers=True)
            lifted = await restrictions_db.lift_hard_mute(session, target.id)
            await history_db.lift_open(session, target.id, ModerationKind.PLATFORM_HARD_MUTE, now)
            user_id = target.id

            async def announce() -> None:
                await self.c.notifier.send(UserHardUnmuted(user_id=user_id), room=None)

            if lifted:
                on_commit(session, announce)
        return lifted
