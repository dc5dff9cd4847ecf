"""A chat's settings: `POST …/config/update` and the admin update share the announcement of a change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import chats as chats_db
from portal.db.models import Chat, User
from portal.db.uow import on_commit
from portal.domain import LISTED, Visibility
from portal.errors import BadRequest, ErrorCode, coded
from portal.events import RoomConfig, RoomDestroyed, RoomKicked
from portal.services.audit import AuditEvent
from portal.services.base import Service
from portal.services.chat_access import Need, access_chat
from portal.services.notifier import chat_room, user_room
from portal.services.permissions import Level

CONFIG_FLAGS = (
    "history_visible",
    "allow_control_requests",
    "locked_controls",
    "implicit_hosting",
    "inactive_cursors",
)
CONTROL_FLAGS = {"allow_control_requests", "locked_controls", "implicit_hosting", "inactive_cursors"}


class ChatConfigService(Service):
    async def update_config(self, chat_id: int, changes: dict[str, Any], *, actor: User) -> None:
        """`POST …/config/update`: only the fields present."""
        now = self.now
        async with self.c.db.transaction() as session:
            ctx = await access_chat(session, actor, chat_id, need=Need.MANAGE, lock=True)
            chat = ctx.chat
            was_listed = chat.visibility in LISTED
            changed = self._apply_config(chat, changes, now)
            if "slug" in changes:
                changed.update(self._apply_slug(chat, changes["slug"]))
            if changed:
                # The unique slug is written first: any later flush (the wipe message) would otherwise
                # meet the clash as a bare IntegrityError.
                try:
                    await chats_db.flush_slug(session)
                except chats_db.SlugTaken:
                    raise coded(ErrorCode.SLUG_TAKEN, 409) from None
            if "wipe_preset" in changes:
                await self._restart_wipe(session, chat, changes["wipe_preset"], now)
                changed["wipe_preset"] = changes["wipe_preset"]
            if changed:
                chat.updated_at = now
                await self.audit_update(session, actor, chat, changed)
            await self.announce_config(session, chat, changed, was_listed)

    @staticmethod
    def _apply_config(chat: Chat, changes: dict[str, Any], now: datetime) -> dict[str, Any]:
        changed: dict[str, Any] = {}
        for name in (*CONFIG_FLAGS, "name"):  # never null here: ConfigUpdateIn refuses that (400)
            if name in changes and getattr(chat, name) != changes[name]:
                setattr(chat, name, changes[name])
                changed[name] = changes[name]
        return changed

    @staticmethod
    def _apply_slug(chat: Chat, slug: str | None) -> dict[str, Any]:
        """A slug makes a private chat public; null makes it private again (not on official chats)."""
        if slug is None:
            if chat.visibility == Visibility.OFFICIAL:
                raise BadRequest("slug is required for public chats")
            if chat.slug is None and chat.visibility == Visibility.PRIVATE:
                return {}
            chat.slug, chat.visibility = None, Visibility.PRIVATE
            return {"slug": None, "visibility": Visibility.PRIVATE}
        changed: dict[str, Any] = {}
        if chat.slug != slug:
            chat.slug = slug
            changed["slug"] = slug
        if chat.visibility == Visibility.PRIVATE:
            chat.visibility = Visibility.PUBLIC
            changed["visibility"] = Visibility.PUBLIC
        return changed

    async def _restart_wipe(
        self, session: AsyncSession, chat: Chat, preset: str | None, now: datetime
    ) -> None:
        """Setting a preset (even the same one) restarts the wipe timer and posts a system message."""
        chat.wipe_preset = preset
        chat.wipe_anchor_at = now if preset else None
        text = f"Auto-wipe set to {preset}" if preset else "Auto-wipe turned off"
        await self.c.messages.post_system(session, chat, text)

    async def audit_update(
        self, session: AsyncSession, actor: User | None, chat: Chat, changed: dict[str, Any]
    ) -> None:
        """`CHAT_UPDATE` in the audit log, naming the fields a config or admin update changed."""
        await self.c.audit.record(
            session, AuditEvent.CHAT_UPDATE, actor=actor, on=("chat", chat.id), fields=sorted(changed)
        )

    async def announce_config(
        self, session: AsyncSession, chat: Chat, changed: dict[str, Any], was_listed: bool
    ) -> None:
        """After a config/visibility change (portal or admin update): `room:config` to the room, and when the
        chat turned private, it disappears for everyone but its owner and invited members."""
        event = RoomConfig.model_validate({"chat_id": chat.id, **changed})
        now_listed = chat.visibility in LISTED
        if was_listed and not now_listed:
            # Joining a listed chat records a membership: those joiners are viewers, not members
            # of the private chat it becomes (only invitees are), so they lose it too.
            await chats_db.remove_uninvited_members(session, chat.id)
        members = set(await chats_db.member_user_ids(session, chat.id)) | {chat.owner_id}

        async def announce() -> None:
            if changed:
                await self.c.notifier.send(event, room=chat_room(chat.id))
            if was_listed and not now_listed:
                await self.hide_from_non_members(chat.id, members)
            if now_listed and not was_listed:
                await self.c.rooms.broadcast_status(chat.id)
            if now_listed != was_listed:  # "users in the room" ↔ "owner and members"
                await self.c.rooms.announce_members(chat.id)
            if set(changed) & CONTROL_FLAGS:
                await self.c.vms.apply_settings(chat)  # a running VM follows the new settings at once

        on_commit(session, announce)

    async def hide_from_non_members(self, chat_id: int, members: set[int | None]) -> None:
        """A chat turned private: non-members lose it. Admin+ users in the room stay there, so
        for them the chat has not gone."""
        async with self.c.db.read() as session:
            in_room = await chats_db.users_by_id(session, list(await self.c.presence.user_ids_in(chat_id)))
        staying = {user.id for user in in_room.values() if user.permission_level >= Level.ADMIN}
        online = set(await self.c.presence.online_user_ids()) - members - staying
        if online:
            rooms = [user_room(uid) for uid in sorted(online)]
            await self.c.notifier.send(RoomDestroyed(chat_id=chat_id), room=rooms)
        for user in in_room.values():
            if user.id not in members and user.id not in staying:
                kicked = RoomKicked(chat_id=chat_id, reason="chat is private")
                await self.c.notifier.evict(chat_id, user_id=user.id, event=kicked)
