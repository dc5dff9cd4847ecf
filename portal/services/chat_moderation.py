"""Chat-scoped moderation: kick, mute, ban, timeout, warn.

Who may act is `can_moderate` (owner, or rank over the owner; Moderators never by rank in private chats);
whom they may hit is `may_target` (never themselves; as owner, levels up to their own; by rank, users they
outrank). Kicks need the target in the chat; an owner's warn or timeout needs some link to the chat;
mutes and bans may be applied in advance. Every action leaves a moderation record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import chats as chats_db
from portal.db import history as history_db
from portal.db import restrictions as restrictions_db
from portal.db import users as users_db
from portal.db.models import Chat, ChatRestriction, ModerationAction, User
from portal.db.uow import AfterCommit, on_commit
from portal.domain import LISTED, MAX_PUNISHMENT_SECONDS, ActivityAction, ModerationKind, RestrictionKind
from portal.errors import AccessDenied, BadRequest, NotFound
from portal.events import (
    Event,
    PortalKeyRemoved,
    RoomKicked,
    UserBanned,
    UserMuted,
    UserUnbanned,
    UserUnmuted,
)
from portal.services.audit import AuditEvent
from portal.services.base import Service
from portal.services.chat_access import (
    ChatContext,
    Need,
    access_chat,
    can_moderate_by_rank,
    can_target_by_rank,
    may_target,
    operator_chat,
)
from portal.services.notifier import chat_room
from portal.services.permissions import can_act_on
from portal.services.punishments import check_reason
from portal.services.restrictions import ttl_seconds


@dataclass(frozen=True)
class Kicked:
    target: User
    chat: Chat


@dataclass(frozen=True)
class Target:
    """A chat action's context: the chat, who acts (None: the CLI), the chat as the actor sees it (None for
    the CLI), the user acted on, and their link to it."""

    chat: Chat
    actor: User | None
    ctx: ChatContext | None
    user: User
    member: bool
    joined: bool

    @property
    def inside(self) -> bool:
        return self.member or self.joined


class ChatModerationService(Service):
    # ---- shared checks ----------------------------------------------------------------------------

    async def _target(
        self,
        session: AsyncSession,
        actor: User | None,
        chat_id: int,
        target_id: int,
        *,
        as_admin: bool = False,
        link: str | None = None,
    ) -> Target:
        """Actor gate (`access_chat`), target exists (404), not yourself (403), the link the action needs
        (404 "Member not found"; acting by rank only, the hierarchy's 403 first), then the hierarchy (403).
        `actor=None` (the CLI, admin actions only) skips the level rules; the chat and the link still
        count."""
        ctx: ChatContext | None = None
        if actor is None:
            chat = await operator_chat(session, chat_id, lock=True)
        else:
            ctx = await access_chat(
                session, actor, chat_id, need=Need.ADMINISTER if as_admin else Need.MODERATE, lock=True
            )
            chat = ctx.chat
        user = await users_db.get(session, target_id)
        if user is None:
            raise NotFound("User")
        if actor is not None and user.id == actor.id:
            raise AccessDenied()
        target = Target(
            chat=chat,
            actor=actor,
            ctx=ctx,
            user=user,
            member=await chats_db.membership(session, chat_id, user.id) is not None,
            joined=await self.c.presence.user_in_room(chat_id, user.id),
        )
        if actor is None or ctx is None:
            allowed = True
        else:
            allowed = can_act_on(actor, user) if as_admin else may_target(ctx, user)
        if link == "inside" and not target.inside:
            raise NotFound("Member")
        if link == "known" and ctx is not None:
            if not allowed and can_moderate_by_rank(ctx) and not ctx.is_owner:
                raise AccessDenied()  # acting by rank only, the hierarchy decides before any link
            if not can_target_by_rank(ctx, user) and not await self._known(session, target):
                raise NotFound("Member")
        if not allowed:
            raise AccessDenied()
        return target

    async def _known(self, session: AsyncSession, target: Target) -> bool:
        """A membership, a presence in the room, or any activity row."""
        if target.inside:
            return True
        return await chats_db.has_activity(session, target.chat.id, target.user.id)

    async def _record(
        self,
        session: AsyncSession,
        target: Target,
        action: ModerationKind,
        reason: str | None,
        *,
        seconds: int | None = None,
    ) -> None:
        now = self.c.clock.now()
        chat_id = target.chat.id
        await history_db.add(
            session,
            ModerationAction(
                user_id=target.user.id,
                action_type=action,
                reason=reason,
                chat_id=chat_id,
                issued_by_id=target.actor.id if target.actor is not None else None,
                is_lifted=False,
                lifted_at=None,
                expires_at=now + timedelta(seconds=seconds) if seconds else None,
                created_at=now,
            ),
        )
        await self.c.audit.record(
            session,
            AuditEvent(action),
            actor=target.actor,
            on=("chat", chat_id),
            user_id=target.user.id,
            reason=reason,
            duration=seconds,
        )

    # ---- kick -------------------------------------------------------------------------------------

    async def kick(
        self,
        chat_id: int,
        target_id: int,
        *,
        actor: User | None,
        reason: str | None = None,
        as_admin: bool = False,
    ) -> Kicked:
        """Remove a user from a chat: membership, room sockets, control; "was kicked" and a new epoch.
        `as_admin` is `/v1/admin/chats/{id}/kick` (rank over owner and target); `actor=None` (the CLI) is
        that kick without the level rules."""
        if actor is None and not as_admin:
            raise ValueError("a kick without an actor is an admin kick")
        check_reason(reason)
        async with self.c.db.transaction() as session:
            target = await self._target(session, actor, chat_id, target_id, as_admin=as_admin, link="inside")
            chat = target.chat
            await chats_db.remove_member(session, chat_id, target.user.id)
            await self.c.chats.add_activity(
                session, chat_id, target.user.id, ActivityAction.KICK, actor_id=actor.id if actor else None
            )
            await self._record(session, target, ModerationKind.CHAT_KICK, reason)
            await self.c.messages.post_system(session, chat, f"{target.user.username} was kicked")
            await self.c.e2ee.rotate(session, chat_id, leaving_user=target.user.id)  # they must not read on
            on_commit(
                session,
                self._remove_from_room(chat_id, target.user.id, RoomKicked(chat_id=chat_id, reason=reason)),
            )
            self._unlist_if_private(session, target)
        return Kicked(target=target.user, chat=chat)

    def _remove_from_room(self, chat_id: int, user_id: int, event: RoomKicked) -> AfterCommit:
        async def announce() -> None:
            await self.c.control.drop(chat_id, user_id)
            await self.c.notifier.evict(chat_id, user_id=user_id, event=event)
            await self.c.notifier.send(
                PortalKeyRemoved(chat_id=chat_id, user_id=user_id), room=chat_room(chat_id)
            )
            await self.c.rooms.announce_members(chat_id)
            await self.c.vms.kick_user(chat_id, user_id)  # last: the VM may be slow to answer

        return announce

    def _unlist_if_private(self, session: AsyncSession, target: Target) -> None:
        """A private chat's member could list it and now cannot. Someone who was never a member
        (a ban in advance, an Admin in the room) could not list it: telling them would leak the chat."""
        chat = target.chat
        if target.chat.visibility not in LISTED and target.member and target.user.id != chat.owner_id:
            self.c.chats.after_commit_unlist(session, chat.id, target.user.id)

    def _after_presence_change(self, session: AsyncSession, chat_id: int, *, rekey: bool = False) -> None:
        """A REST ban or an unban changes who counts in the room without moving a socket:
        the room hears `room:members`, everyone who can list the chat `chat:status`. With `rekey` (an
        unbanned socket still in the room) the distributor is told who lacks the key again."""

        async def announce() -> None:
            await self.c.rooms.announce_members(chat_id)
            await self.c.rooms.broadcast_status(chat_id)
            if rekey:
                await self.c.e2ee.ensure_distribution(chat_id, ask=True)

        on_commit(session, announce)

    # ---- mute -------------------------------------------------------------------------------------

    async def mute(
        self, chat_id: int, target_id: int, *, actor: User, duration: int = 300, reason: str | None = None
    ) -> None:
        """The user cannot send here for `duration` s (0 = until unmuted); may be set in advance."""
        now = self.c.clock.now()
        async with self.c.db.transaction() as session:
            target = await self._target(session, actor, chat_id, target_id)
            expires = await self._restrict(
                session, actor, target, RestrictionKind.MUTE, duration, reason, now
            )
            await self._record(session, target, ModerationKind.CHAT_MUTE, reason, seconds=duration or None)
            muted = UserMuted(
                chat_id=chat_id, user_id=target.user.id, ttl=ttl_seconds(expires, now), reason=reason
            )
            self._emit_after(session, muted, chat_id)

    async def unmute(self, chat_id: int, target_id: int, *, actor: User) -> None:
        """Idempotent; a hard mute is not touched."""
        async with self.c.db.transaction() as session:
            target = await self._target(session, actor, chat_id, target_id)
            await restrictions_db.lift(session, chat_id, target.user.id, RestrictionKind.MUTE)
            await history_db.lift_open(
                session, target.user.id, ModerationKind.CHAT_MUTE, self.c.clock.now(), chat_id=chat_id
            )
            self._emit_after(session, UserUnmuted(chat_id=chat_id, user_id=target.user.id), chat_id)

    # ---- ban --------------------------------------------------------------------------------------

    async def ban(
        self,
        chat_id: int,
        target_id: int,
        *,
        actor: User,
        duration: int = 0,
        reason: str | None = None,
        remove_now: bool = False,
    ) -> None:
        """Ban (0 = permanent): membership gone, rejoin refused. REST leaves a joined socket in place (the
        client is told `user:banned` and leaves); `room:kick {ban:true}` removes it at once."""
        if isinstance(duration, bool) or not 0 <= duration <= MAX_PUNISHMENT_SECONDS:
            raise BadRequest(f"duration must be between 0 and {MAX_PUNISHMENT_SECONDS}")
        check_reason(reason)  # after the duration: `room:kick {ban}` has always answered that one first
        now = self.c.clock.now()
        async with self.c.db.transaction() as session:
            target = await self._target(
                session, actor, chat_id, target_id, link="inside" if remove_now else None
            )
            chat = target.chat
            await self._restrict(session, actor, target, RestrictionKind.BAN, duration, reason, now)
            await chats_db.remove_member(session, chat_id, target.user.id)
            await self.c.chats.add_activity(
                session, chat_id, target.user.id, ActivityAction.BAN, actor_id=actor.id
            )
            await self._record(session, target, ModerationKind.CHAT_BAN, reason, seconds=duration or None)
            if target.joined:
                await self.c.messages.post_system(session, chat, f"{target.user.username} was banned")
            if target.inside:
                await self.c.e2ee.rotate(
                    session, chat_id, leaving_user=target.user.id
                )  # only they could read on
            self._emit_after(session, UserBanned(chat_id=chat_id, user_id=target.user.id), chat_id)
            if remove_now:
                on_commit(
                    session,
                    self._remove_from_room(
                        chat_id, target.user.id, RoomKicked(chat_id=chat_id, reason=reason)
                    ),
                )
            elif target.inside:
                self._after_presence_change(session, chat_id)
                self._drop_control(session, chat_id, target.user.id)  # a ban drops hosting
                self._set_screen_access(session, chat_id, target.user.id, visible=False)
            self._unlist_if_private(session, target)

    async def unban(self, chat_id: int, target_id: int, *, actor: User, reason: str | None = None) -> None:
        """Idempotent; membership is not restored."""
        async with self.c.db.transaction() as session:
            target = await self._target(session, actor, chat_id, target_id)
            lifted = await restrictions_db.lift(session, chat_id, target.user.id, RestrictionKind.BAN)
            await history_db.lift_open(
                session, target.user.id, ModerationKind.CHAT_BAN, self.c.clock.now(), chat_id=chat_id
            )
            await self.c.audit.record(
                session,
                AuditEvent.CHAT_UNBAN,
                actor=actor,
                on=("chat", chat_id),
                user_id=target.user.id,
                reason=reason,
            )
            self._emit_after(session, UserUnbanned(chat_id=chat_id, user_id=target.user.id), chat_id)
            if lifted and target.joined:  # a REST-banned socket still in the room counts again
                self._after_presence_change(session, chat_id, rekey=True)
                self._set_screen_access(session, chat_id, target.user.id, visible=True)

    async def lift_expired_bans(self, *, limit: int) -> int:
        """Timed bans that ran out (the janitor): a user whose socket stayed in the room gets the screen
        back, counts in the room again and is handed the key, as after an unban. No event: 04 has none for
        a ban running out, and the ban already stopped refusing them at its expiry."""
        async with self.c.db.transaction() as session:
            expired = await restrictions_db.take_expired_bans(session, self.c.clock.now(), limit=limit)
            for chat_id, user_id in expired:
                if await self.c.presence.user_in_room(chat_id, user_id):
                    self._after_presence_change(session, chat_id, rekey=True)
                    self._set_screen_access(session, chat_id, user_id, visible=True)
        return len(expired)

    # ---- platform punishments from a chat ---------------------------------------------------------

    async def timeout(
        self, chat_id: int, target_id: int, *, actor: User, duration: int, reason: str | None = None
    ) -> None:
        """A platform-wide timeout decided in a chat: every session of the user ends."""
        async with self.c.db.transaction() as session:
            target = await self._target(session, actor, chat_id, target_id, link="known")
            fresh = await users_db.get_for_update(session, target.user.id) or target.user
            await self.c.punishments.timeout(session, actor, fresh, duration, reason, chat=target.chat)

    async def warn(self, chat_id: int, target_id: int, *, actor: User, reason: str | None = None) -> None:
        """A platform warning recorded from a chat, with "was warned" posted there."""
        async with self.c.db.transaction() as session:
            target = await self._target(session, actor, chat_id, target_id, link="known")
            await self.c.punishments.warn(session, actor, target.user, reason, chat=target.chat)

    async def _restrict(
        self,
        session: AsyncSession,
        actor: User,
        target: Target,
        kind: RestrictionKind,
        duration: int,
        reason: str | None,
        now: datetime,
    ) -> datetime | None:
        """Store a chat mute or ban (0 = permanent); answers when it runs out."""
        expires = now + timedelta(seconds=duration) if duration else None
        restriction = ChatRestriction(
            chat_id=target.chat.id,
            user_id=target.user.id,
            kind=kind,
            reason=reason,
            issued_by_id=actor.id,
            expires_at=expires,
            created_at=now,
        )
        await restrictions_db.put(session, restriction)
        return expires

    def _drop_control(self, session: AsyncSession, chat_id: int, user_id: int) -> None:
        """After commit: no hosting or request, and out of the VM."""

        async def drop() -> None:
            await self.c.control.drop(chat_id, user_id)
            await self.c.vms.kick_user(chat_id, user_id)

        on_commit(session, drop)

    def _set_screen_access(self, session: AsyncSession, chat_id: int, user_id: int, *, visible: bool) -> None:
        async def change() -> None:
            await self.c.notifier.set_screen_access(chat_id, user_id, visible=visible)
            if visible:
                await self.c.vms.viewers_changed(chat_id)  # the current screen, at once

        on_commit(session, change)

    def _emit_after(self, session: AsyncSession, event: Event, chat_id: int) -> None:
        async def announce() -> None:
            await self.c.notifier.send(event, room=chat_room(chat_id))

        on_commit(session, announce)
