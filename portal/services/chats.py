"""Group chats' lifecycle: create, leave, delete, and the bookkeeping other services share (activity rows,
who can list a chat). Views are in chat_views.py, settings in chat_config.py, the VM side in chat_browser.py.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from portal.browser.base import DEFAULT_SIZE
from portal.db import chats as chats_db
from portal.db import users as users_db
from portal.db.models import Chat, ChatActivity, User
from portal.db.uow import on_commit
from portal.domain import LISTED, ActivityAction, ChatType, JoinMethod, Visibility
from portal.errors import Conflict, ErrorCode, NotFound, coded
from portal.events import ChatStatus, RoomDestroyed
from portal.schemas.chats import BrowserConfigIn, ChatOut, CreateChatIn
from portal.services.audit import AuditEvent
from portal.services.base import Service
from portal.services.chat_access import (
    Need,
    access_chat,
    check_chat_slot,
    load_chat,
    may_create_private,
    operator_chat,
)
from portal.services.notifier import LOBBY_ROOM, user_room

DEFAULT_BROWSER_CONFIG = {"browser": "chromium", "start_url": None, "kiosk": False}

log = logging.getLogger(__name__)


def browser_config_dict(config: BrowserConfigIn | None) -> dict[str, Any]:
    return dict(DEFAULT_BROWSER_CONFIG) if config is None else config.model_dump()


class ChatService(Service):
    async def create_private(self, body: CreateChatIn, *, actor: User) -> ChatOut:
        """A private group chat for a premium user or Admin+, within their slots."""
        now = self.now
        if not may_create_private(actor, now):
            raise coded(ErrorCode.PREMIUM_REQUIRED, 403)
        async with self.c.db.transaction() as session:
            fresh = await users_db.get_for_update(session, actor.id) or actor  # serialises a user's creations
            await check_chat_slot(session, fresh, now=now, admin_slots=self.c.settings.admin_chat_slots)
            chat = await chats_db.insert(
                session,
                self.new_chat(
                    name=body.name,
                    owner_id=actor.id,
                    visibility=Visibility.PRIVATE,
                    slug=None,
                    description=body.description,
                    allow_control_requests=body.allow_control_requests,
                    browser_config=browser_config_dict(body.browser_config),
                    now=now,
                ),
            )
            view = await self.c.chat_views.view(session, chat)
            chat_id, owner_id = chat.id, actor.id

            async def announce() -> None:  # the owner's sockets can list one more chat
                status = ChatStatus(**await self.c.rooms.status(chat_id))
                await self.c.notifier.send(status, room=user_room(owner_id))

            on_commit(session, announce)
        return view

    @staticmethod
    def new_chat(
        *,
        name: str,
        owner_id: int | None,
        visibility: str,
        slug: str | None,
        description: str | None,
        allow_control_requests: bool,
        browser_config: dict[str, Any],
        now: datetime,
    ) -> Chat:
        return Chat(
            chat_type=ChatType.GROUP,
            name=name,
            owner_id=owner_id,
            visibility=visibility,
            label=None,
            slug=slug,
            description=description,
            avatar_source=None,
            browser_config=browser_config,
            wipe_preset=None,
            wipe_anchor_at=None,
            history_visible=True,
            allow_control_requests=allow_control_requests,
            locked_controls=False,
            implicit_hosting=False,
            inactive_cursors=False,
            screen_width=DEFAULT_SIZE[0],
            screen_height=DEFAULT_SIZE[1],
            screen_rate=DEFAULT_SIZE[2],
            epoch=0,
            last_message_ms=0,
            last_message_seq=0,
            last_activity_at=now,
            created_at=now,
            updated_at=now,
        )

    async def leave(self, chat_id: int, *, actor: User) -> None:
        """`POST …/leave`: drop the membership; the leaver's sockets leave the room."""
        async with self.c.db.transaction() as session:
            ctx = await access_chat(session, actor, chat_id, need=Need.LEAVE, group_only=True)
            if ctx.is_owner:
                raise Conflict("Chat owner cannot leave")
            if not await chats_db.remove_member(session, chat_id, actor.id):
                raise NotFound("Member")
            await self.add_activity(session, chat_id, actor.id, ActivityAction.LEAVE)
            await self.c.messages.post_system(session, ctx.chat, f"{actor.username} left the chat")

            async def announce() -> None:
                in_room = actor.id in await self.c.presence.user_ids_in(chat_id)
                await self.c.notifier.evict(chat_id, user_id=actor.id)
                if not in_room:  # otherwise their last socket out announces it
                    await self.c.rooms.announce_left(chat_id, actor)

            on_commit(session, announce)
            if not ctx.is_listed:
                self.after_commit_unlist(session, chat_id, actor.id)

    async def delete(self, chat_id: int, *, actor: User | None, by_admin: bool = False) -> str:
        """Destroy a chat: VM, live state, rows; everyone who could see it gets `room:destroyed`."""
        async with self.c.db.transaction() as session:
            if actor is None:  # the CLI (as the admin route, less the level rules) or the system
                chat = await (operator_chat if by_admin else load_chat)(session, chat_id, lock=True)
            else:
                need = Need.ADMINISTER if by_admin else Need.DESTROY
                chat = (await access_chat(session, actor, chat_id, need=need, lock=True)).chat
            listers = await self.lister_rooms(session, chat)
            await chats_db.remove(session, chat.id)
            await self.c.audit.record(
                session, AuditEvent.CHAT_DELETE, actor=actor, on=("chat", chat.id), name=chat.name
            )
            name = chat.name

            async def teardown() -> None:
                await self.c.notifier.evict(chat_id, event=RoomDestroyed(chat_id=chat_id), also_rooms=listers)
                await self.c.presence.drop_room(chat_id)
                await self.c.control.reset(chat_id)
                try:  # last: the chat is gone for everyone even if its VM does not answer
                    await self.c.vms.stop(chat_id, reason="deleted")
                except Exception:
                    log.exception("the VM of deleted chat %s did not stop", chat_id)

            on_commit(session, teardown)
        return name

    async def lister_rooms(self, session: AsyncSession, chat: Chat) -> list[str]:
        """The Socket.IO rooms of everyone who can list the chat (for `chat:status`, `room:destroyed`)."""
        if chat.visibility in LISTED and chat.chat_type == ChatType.GROUP:
            return [LOBBY_ROOM]
        members = await chats_db.member_user_ids(session, chat.id)
        owner = [chat.owner_id] if chat.owner_id is not None else []
        return [user_room(uid) for uid in sorted({*members, *owner})]

    def after_commit_unlist(self, session: AsyncSession, chat_id: int, user_id: int) -> None:
        """A private chat the user could list and no longer can (left, kicked): `room:destroyed` to all
        of their sockets, in the room or not."""

        async def unlist() -> None:
            await self.c.notifier.send(RoomDestroyed(chat_id=chat_id), room=user_room(user_id))

        on_commit(session, unlist)

    async def add_activity(
        self,
        session: AsyncSession,
        chat_id: int,
        user_id: int,
        action: ActivityAction,
        *,
        method: JoinMethod | None = None,
        invite_code: str | None = None,
        actor_id: int | None = None,
    ) -> None:
        await chats_db.add_activity(
            session,
            ChatActivity(
                chat_id=chat_id,
                user_id=user_id,
                action=action,
                method=method,
                invite_code=invite_code,
                actor_id=actor_id,
                created_at=self.now,
            ),
        )
