"""Invites: create, list, revoke, redeem."""

from __future__ import annotations

import secrets
import string
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import chats as chats_db
from portal.db.models import ChatInvite, ChatMember, User
from portal.db.uow import on_commit
from portal.domain import ActivityAction, JoinMethod, Visibility
from portal.errors import BadRequest, Conflict, ErrorCode, NotFound, coded
from portal.events import ChatStatus
from portal.schemas.chats import ChatOut, InviteIn, InviteOut, InvitesOut
from portal.services.base import Service
from portal.services.chat_access import Need, access_chat
from portal.services.notifier import user_room

ACTIVE_INVITE_LIMIT = 20
CODE_ALPHABET = string.ascii_lowercase + string.digits
CODE_LENGTH = 16


def new_invite_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def invite_view(invite: ChatInvite) -> InviteOut:
    return InviteOut.model_validate(invite, from_attributes=True)


class InviteService(Service):
    async def create(self, chat_id: int, body: InviteIn, *, actor: User) -> InviteOut:
        now = self.c.clock.now()
        if body.expires_at is not None and body.expires_at <= now:
            # A validation error, so it comes before the lookup and the permissions.
            raise BadRequest("expires_at must be in the future")
        async with self.c.db.transaction() as session:
            ctx = await access_chat(session, actor, chat_id, need=Need.MANAGE, lock=True)
            if ctx.chat.visibility == Visibility.OFFICIAL:
                raise Conflict("Invites are for private and public chats")
            if await chats_db.count_active_invites(session, chat_id, now) >= ACTIVE_INVITE_LIMIT:
                raise coded(ErrorCode.INVITE_LIMIT, 409)
            for _attempt in range(5):
                try:
                    invite = await chats_db.insert_invite(
                        session,
                        ChatInvite(
                            code=new_invite_code(),
                            chat_id=chat_id,
                            created_by_id=actor.id,
                            created_at=now,
                            expires_at=body.expires_at,
                            uses=0,
                            max_uses=body.max_uses,
                        ),
                    )
                    break
                except chats_db.InviteCodeTaken:
                    continue
            else:  # pragma: no cover - five clashes of 82 random bits
                raise Conflict("could not pick a free invite code")
        return invite_view(invite)

    async def list(self, chat_id: int, *, actor: User) -> InvitesOut:
        async with self.c.db.read() as session:
            await access_chat(session, actor, chat_id, need=Need.MANAGE)
            invites = await chats_db.active_invites(session, chat_id, self.c.clock.now())
        return InvitesOut(invites=[invite_view(i) for i in invites])

    async def revoke(self, chat_id: int, code: str, *, actor: User) -> str:
        async with self.c.db.transaction() as session:
            await access_chat(session, actor, chat_id, need=Need.MANAGE)
            invite = await chats_db.invite(session, code)
            if invite is None or invite.chat_id != chat_id:
                raise NotFound("Invite")
            await chats_db.delete_invite(session, code)
        return f"Invite '{code}' revoked"

    async def resolve(self, code: str, *, actor: User) -> ChatOut:
        """Redeem an invite: a membership (method `invite`) and one use, unless already in."""
        now = self.c.clock.now()
        async with self.c.db.transaction() as session:
            invite = await chats_db.live_invite(session, code, now)
            # Locked: redeems of one chat are serialised (and on SQLite the transaction really begins here,
            # so the membership's savepoint below is not committed on its own).
            chat = await chats_db.get_for_update(session, invite.chat_id) if invite else None
            if invite is None or chat is None:
                raise coded(ErrorCode.INVITE_INVALID, 404)
            # A user banned from the chat: 403 ERR_BANNED, and no use is counted.
            await self.c.restrictions.refuse_banned(session, chat.id, actor.id)
            joined = chat.owner_id != actor.id and await self._join(session, invite, actor.id, now)
            view = await self.c.chat_views.view(session, chat)
            if joined:
                chat_id = chat.id

                async def announce() -> None:
                    status = ChatStatus(**await self.c.rooms.status(chat_id))
                    await self.c.notifier.send(status, room=user_room(actor.id))
                    await self.c.rooms.announce_members(chat_id)  # a private chat's list has grown

                on_commit(session, announce)
        return view

    async def _join(self, session: AsyncSession, invite: ChatInvite, user_id: int, now: datetime) -> bool:
        """Add the membership and count the use; False when the user was already a member.

        The membership goes in first: its unique key decides between concurrent redeems by the same user,
        so only the one that created it counts a use."""
        if await chats_db.membership(session, invite.chat_id, user_id) is not None:
            return False
        added = await chats_db.add_member(
            session,
            ChatMember(
                chat_id=invite.chat_id,
                user_id=user_id,
                method=JoinMethod.INVITE,
                invite_code=invite.code,
                joined_at=now,
                created_at=now,
            ),
            gone=NotFound("Chat"),
        )
        if not added:
            return False  # a concurrent redeem of the same user won
        if not await chats_db.use_invite(session, invite.code, now):
            raise coded(ErrorCode.INVITE_INVALID, 404)  # exhausted by a concurrent redeem
        await self.c.chats.add_activity(
            session,
            invite.chat_id,
            user_id,
            ActivityAction.JOIN,
            method=JoinMethod.INVITE,
            invite_code=invite.code,
        )
        return True
