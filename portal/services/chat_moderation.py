"""Chat-scoped moderation (03 §3.8, §4.6, 04 §6, 08 §44–47): kick now; mute and ban come with messaging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from portal.db import audit as audit_db
from portal.db import chats as chats_db
from portal.db import history as history_db
from portal.db import users as users_db
from portal.db.models import Chat, ModerationAction, User
from portal.db.uow import on_commit, unit_of_work
from portal.errors import AccessDenied, NotFound
from portal.services.chat_access import ChatContext, can_moderate, may_target
from portal.services.notifier import chat_room
from portal.services.permissions import can_act_on

if TYPE_CHECKING:
    from portal.container import Container


@dataclass(frozen=True)
class Kicked:
    target: User
    chat: Chat


class ChatModerationService:
    def __init__(self, container: Container) -> None:
        self.c = container

    async def kick(
        self, actor: User, chat_id: int, target_id: int, *, reason: str | None = None, as_admin: bool = False
    ) -> Kicked:
        """Remove a user from a chat: membership, room sockets, control; a "was kicked" message and a new
        epoch when they were in (08 §46, §50). `as_admin` is `/v1/admin/chats/{id}/kick` (rank over owner
        and target)."""
        now = self.c.clock.now()
        async with unit_of_work(self.c.db) as session:
            ctx = await self.c.chats.context(session, actor, chat_id, lock=True)
            self._check_actor(ctx, as_admin=as_admin)
            self.c.chats.refuse_direct(ctx)
            target = await users_db.get(session, target_id) if 1 <= target_id <= chats_db.MAX_ID else None
            if target is None:
                raise NotFound("User")
            if target.id == actor.id:
                raise AccessDenied()
            was_member = await chats_db.membership(session, chat_id, target.id) is not None
            was_joined = await self.c.presence.user_in_room(chat_id, target.id)
            if not (was_member or was_joined):
                raise NotFound("Member")
            allowed = can_act_on(actor, target) if as_admin else may_target(ctx, target)
            if not allowed:
                raise AccessDenied()
            chat = ctx.chat
            await chats_db.remove_member(session, chat_id, target.id)
            await self.c.chats.add_activity(session, chat_id, target.id, "kick", actor_id=actor.id)
            await history_db.add(
                session,
                ModerationAction(
                    user_id=target.id,
                    action_type="CHAT_KICK",
                    reason=reason,
                    chat_id=chat_id,
                    issued_by_id=actor.id,
                    is_lifted=False,
                    lifted_at=None,
                    expires_at=None,
                    created_at=now,
                ),
            )
            await audit_db.record(
                session,
                event_type="CHAT_KICK",
                entity_type="chat",
                entity_id=chat_id,
                actor_id=actor.id,
                metadata={"user_id": target.id, "reason": reason},
                now=now,
            )
            await self.c.messages.post_system(session, chat, f"{target.username} was kicked")
            chat.epoch += (
                1  # kicking someone who was in rotates the key (00 §4); distribution: messaging issue
            )
            epoch = chat.epoch
            on_commit(session, self._after_kick(chat_id, target.id, epoch, reason))
            if not ctx.is_listed and target.id != chat.owner_id:  # they could list it, and now cannot
                self.c.chats.after_commit_unlist(session, chat_id, target.id)
        return Kicked(target=target, chat=chat)

    @staticmethod
    def _check_actor(ctx: ChatContext, *, as_admin: bool) -> None:
        if as_admin:
            if not (ctx.is_owner or ctx.owner is None or can_act_on(ctx.actor, ctx.owner)):
                raise AccessDenied()
        elif not can_moderate(ctx):
            raise AccessDenied()

    def _after_kick(self, chat_id: int, target_id: int, epoch: int, reason: str | None):
        async def announce() -> None:
            notifier = self.c.notifier
            await notifier.evict(
                chat_id,
                user_id=target_id,
                event="room:kicked",
                payload={"chat_id": chat_id, "reason": reason},
            )
            await notifier.emit(
                "portal:key_removed", {"chat_id": chat_id, "user_id": target_id}, room=chat_room(chat_id)
            )
            await notifier.emit(
                "room:epoch_changed",
                {"chat_id": chat_id, "epoch": epoch, "distributor": None},
                room=chat_room(chat_id),
            )
            await notifier.emit(
                "room:members",
                {"chat_id": chat_id, "members": await self.c.rooms.members(chat_id)},
                room=chat_room(chat_id),
            )

        return announce
