"""Platform punishments: timeout, warning, hard mute.

They are applied from a chat (`POST /v1/portal/chats/{id}/timeout|warn`, where the chat rules decide who
may act and a system message is posted) or globally (`POST /v1/portal/hard-mute`, `POST /v1/admin/users/{id}/
ban|unban|timeout|warn`, `portal admin users ...`). Every one writes a moderation record, so
`GET /v1/users/me/punishments` shows it, and `GET /v1/admin/punishments/search` finds them all.
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
    MAX_BAN_SECONDS,
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
from portal.schemas.admin_users import PunishmentOut, PunishmentSearchOut, UnbanOut
from portal.services.audit import AuditEvent
from portal.services.base import Service
from portal.services.permissions import can_act_on
from portal.services.restrictions import ttl_seconds
from portal.services.sessions import is_restricted

TIMEOUT_RANGE = (MIN_TIMEOUT_SECONDS, MAX_PUNISHMENT_SECONDS)
SEARCH_LIMIT_RANGE = (1, 100)
LIFTED_BY_UNBAN = (ModerationKind.PLATFORM_BAN, ModerationKind.PLATFORM_TIMEOUT)


def punishment_view(record: ModerationAction) -> PunishmentOut:
    return PunishmentOut.model_validate(record, from_attributes=True)


def check_timeout_duration(duration: int) -> None:
    low, high = TIMEOUT_RANGE
    if isinstance(duration, bool) or not isinstance(duration, int) or not low <= duration <= high:
        raise BadRequest(f"duration must be between {low} and {high}")


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
        self,
        session: AsyncSession,
        actor: User | None,
        target_id: int,
        *,
        strangers: bool = False,
        lock: bool = False,
    ) -> User:
        """The user acted on: must exist (404), not be the actor and be below them (403). Strangers are
        "not found" unless the action is meant for them too (`strangers`). `lock` for a state change."""
        target = await (users_db.get_for_update if lock else users_db.get)(session, target_id)
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
        check_timeout_duration(duration)
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
            if lifted:
                await self.c.audit.record(
                    session, AuditEvent.USER_HARD_UNMUTE, actor=actor, on=("user", user_id)
                )

            async def announce() -> None:
                await self.c.notifier.send(UserHardUnmuted(user_id=user_id), room=None)

            if lifted:
                on_commit(session, announce)
        return lifted

    # ---- admin actions on a user (`/v1/admin/users/{id}/...`, `portal admin users ...`, 08 §37) ----------

    async def ban(
        self, target_id: int, *, reason: str, duration: int = 0, actor: User | None
    ) -> PunishmentOut:
        """A platform ban (0 = permanent, else it lifts itself): every session ends, every socket goes."""
        check_reason(reason, required=True)
        if (
            isinstance(duration, bool)
            or not isinstance(duration, int)
            or not 0 <= duration <= MAX_BAN_SECONDS
        ):
            raise BadRequest(f"duration must be between 0 and {MAX_BAN_SECONDS}")
        now = self.now
        async with self.c.db.transaction() as session:
            target = await self._target(session, actor, target_id, lock=True)
            target.state = UserState.BANNED
            target.state_expires_at = now + timedelta(seconds=duration) if duration else None
            target.updated_at = now
            record = await self._log(
                session,
                target,
                ModerationKind.PLATFORM_BAN,
                AuditEvent.USER_BAN,
                actor,
                reason,
                seconds=duration or None,
                duration=duration,
            )
            await self.c.sessions.end_user_sessions(target.id, reason=SessionEnd.BANNED, session=session)
        return punishment_view(record)

    async def timeout_user(
        self, target_id: int, *, reason: str, duration: int, actor: User | None
    ) -> PunishmentOut:
        check_reason(reason, required=True)
        check_timeout_duration(duration)
        async with self.c.db.transaction() as session:
            target = await self._target(session, actor, target_id, lock=True)
            record = await self.timeout(session, actor, target, duration, reason)
        return punishment_view(record)

    async def warn_user(self, target_id: int, *, reason: str, actor: User | None) -> PunishmentOut:
        check_reason(reason, required=True)
        async with self.c.db.transaction() as session:
            target = await self._target(session, actor, target_id)
            record = await self.warn(session, actor, target, reason)
        return punishment_view(record)

    async def unban(self, target_id: int, *, reason: str, actor: User | None) -> UnbanOut:
        """Lift a platform ban or timeout (state back to active). Idempotent: with nothing in force the
        answer's record fields are null, and nothing is written."""
        check_reason(reason, required=True)
        now = self.now
        async with self.c.db.transaction() as session:
            target = await self._target(session, actor, target_id, lock=True)
            restricted = is_restricted(target, now)
            lifted = 0
            for kind in LIFTED_BY_UNBAN:
                lifted += await history_db.lift_open(session, target.id, kind, now)
            if target.state != UserState.ACTIVE:
                target.state, target.state_expires_at, target.updated_at = UserState.ACTIVE, None, now
            record = await history_db.latest_lifted(session, target.id, LIFTED_BY_UNBAN) if lifted else None
            if lifted or restricted:
                await self.c.audit.record(
                    session,
                    AuditEvent.USER_UNBAN,
                    actor=actor,
                    on=("user", target.id),
                    reason=reason,
                    lifted=record.action_type if record else None,
                )
            user_id = target.id
        if record is None:
            return UnbanOut(
                user_id=user_id,
                id=None,
                action_type=None,
                reason=None,
                is_lifted=None,
                expires_at=None,
                lifted_at=None,
                created_at=None,
                chat_id=None,
                issued_by_id=None,
            )
        return UnbanOut.model_validate(record, from_attributes=True)

    # ---- search -----------------------------------------------------------------------------------

    async def search(
        self,
        *,
        user_id: int | None = None,
        issued_by: int | None = None,
        action_type: str | None = None,
        chat_id: int | None = None,
        active_only: bool = False,
        offset: int = 0,
        limit: int = 25,
    ) -> PunishmentSearchOut:
        """Every moderation record matching the filters, newest first (08 §38)."""
        kinds = [k.value for k in ModerationKind]
        if action_type is not None and action_type not in kinds:
            raise BadRequest("action_type must be one of: " + ", ".join(kinds))
        low, high = SEARCH_LIMIT_RANGE
        if not low <= limit <= high:
            raise BadRequest(f"limit must be between {low} and {high}")
        if offset < 0:
            raise BadRequest("offset must be between 0 and 1000000000")
        async with self.c.db.read() as session:
            rows, total = await history_db.search_actions(
                session,
                now=self.now,
                user_id=user_id,
                issued_by=issued_by,
                action_type=action_type,
                chat_id=chat_id,
                active_only=active_only,
                offset=offset,
                limit=limit,
            )
        return PunishmentSearchOut(
            punishments=[punishment_view(r) for r in rows], total=total, limit=limit, offset=offset
        )
