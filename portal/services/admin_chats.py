"""`/v1/admin/chats/*`: operators' view and control of every group chat."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import chats as chats_db
from portal.db import users as users_db
from portal.db.models import Chat, ChatMember, User
from portal.db.uow import on_commit
from portal.domain import LISTED, ChatType, Visibility
from portal.errors import BadRequest, Conflict, ErrorCode, NotFound, coded
from portal.events import ChatStatus
from portal.schemas.chats import (
    AdminChatDetailOut,
    AdminChatOut,
    AdminCreateChatIn,
    AdminMemberOut,
    BrowserConfigIn,
    BrowserConfigOut,
    LiveStateOut,
)
from portal.services.audit import AuditEvent
from portal.services.base import Service
from portal.services.chat_access import Need, access_chat, check_chat_slot, load_chat, operator_chat
from portal.services.chat_views import member_user
from portal.services.chats import browser_config_dict
from portal.services.notifier import LOBBY_ROOM
from portal.services.permissions import Level

# Fields that take no null in an admin update (the usual type wording); `label`, `description` and
# `slug` clear on null.
NOT_NULL = {
    "name": "must be a string",
    "visibility": "must be a string",
    "browser_config": "must be an object",
}


NO_OWNER = "There is no Owner to own the chat: give owner_id"


def admin_view(chat: Chat) -> AdminChatOut:
    return AdminChatOut(
        id=chat.id,
        name=chat.name,
        owner_id=chat.owner_id,
        is_public=chat.visibility in LISTED,
        visibility=chat.visibility,
        label=chat.label,
        slug=chat.slug,
        description=chat.description,
        avatar_source=chat.avatar_source,
        last_activity_at=chat.last_activity_at,
        created_at=chat.created_at,
        updated_at=chat.updated_at,
    )


def transferred(name: str, new_owner_id: int) -> str:
    """The documented transfer answer: "Chat 'main-lobby' transferred to user 42"."""
    return f"Chat '{name}' transferred to user {new_owner_id}"


def _sent_keys(config: BrowserConfigIn | dict[str, Any]) -> dict[str, Any]:
    if isinstance(config, BrowserConfigIn):
        return config.model_dump(include=config.model_fields_set)
    return dict(config)


def _visibility_and_slug(chat: Chat, changes: dict[str, Any]) -> tuple[str, str | None]:
    """The chat's visibility and slug after an update.

    `slug: null` without `visibility` makes the chat private; a slug without `visibility` makes a private
    chat public (as config/update does) and leaves a listed chat as it is. `visibility: "private"` clears
    the slug; a public or official chat must end up with one.
    """
    visibility = changes.get("visibility", chat.visibility)
    slug = changes.get("slug", chat.slug)
    if "slug" in changes and "visibility" not in changes:
        if slug is None:
            visibility = Visibility.PRIVATE
        elif chat.visibility == Visibility.PRIVATE:
            visibility = Visibility.PUBLIC
    if visibility == Visibility.PRIVATE:
        return visibility, None
    if slug is None:
        raise BadRequest("slug is required for public chats")
    return visibility, slug


class AdminChatService(Service):
    async def list(self) -> list[AdminChatOut]:
        async with self.c.db.read() as session:
            return [admin_view(chat) for chat in await chats_db.all_groups(session)]

    async def create_official(
        self, body: AdminCreateChatIn, *, actor: User | None, owner_id: int | None = None
    ) -> LiveStateOut:
        """An official chat owned by the caller, or from the CLI by `owner_id` (default: the Owner with the
        lowest id, 08 §62); the slug must be free."""
        now = self.c.clock.now()
        async with self.c.db.transaction() as session:
            if actor is not None:
                owner_id = actor.id
            elif owner_id is None:
                owner_id = await users_db.lowest_id_at_level(session, Level.OWNER)
                if owner_id is None:
                    raise BadRequest(NO_OWNER)
            # The row lock serialises one owner's creations, so two at once cannot both take the last slot.
            owner = await users_db.get_for_update(session, owner_id)
            if owner is None or owner.is_stranger:
                raise NotFound("User")
            await check_chat_slot(session, owner, now=now, admin_slots=self.c.settings.admin_chat_slots)
            try:
                chat = await chats_db.insert(
                    session,
                    self.c.chats.new_chat(
                        name=body.name,
                        owner_id=owner.id,
                        visibility=Visibility.OFFICIAL,
                        slug=body.slug,
                        description=body.description,
                        allow_control_requests=body.allow_control_requests,
                        browser_config=browser_config_dict(body.browser_config),
                        now=now,
                    ),
                )
            except chats_db.SlugTaken:
                raise coded(ErrorCode.SLUG_TAKEN, 409) from None
            await self.c.audit.record(
                session,
                AuditEvent.CHAT_CREATE_OFFICIAL,
                actor=actor,
                on=("chat", chat.id),
                name=chat.name,
                slug=chat.slug,
                user_id=owner.id,
            )
            chat_id = chat.id

            async def announce() -> None:
                await self.c.notifier.send(ChatStatus(**await self.c.rooms.status(chat_id)), room=LOBBY_ROOM)

            on_commit(session, announce)
        return LiveStateOut(
            chat_id=chat.id,
            chat_name=chat.name,
            username=owner.username,
            browser=chat.browser_config["browser"],
            allow_control_requests=chat.allow_control_requests,
            visibility=chat.visibility,
            label=chat.label,
            slug=chat.slug,
            description=chat.description,
            avatar_source=chat.avatar_source,
            running=False,
            viewer_count=0,
        )

    async def detail(self, chat_id: int, *, actor: User | None) -> AdminChatDetailOut:
        async with self.c.db.read() as session:
            if actor is None:
                chat = await load_chat(session, chat_id)
            else:
                chat = (await access_chat(session, actor, chat_id, need=Need.INSPECT)).chat
            rows = [m for m in await chats_db.members(session, chat_id) if m.user_id != chat.owner_id]
            users, platforms = await users_db.users_with_platforms(session, [m.user_id for m in rows])
        in_room = await self.c.presence.user_ids_in(chat_id)
        members = [
            AdminMemberOut(
                user=member_user(users[m.user_id], platforms.get(m.user_id, [])),
                is_online=m.user_id in in_room,
                joined_at=m.joined_at,
            )
            for m in rows
            if m.user_id in users
        ]
        return AdminChatDetailOut(
            **admin_view(chat).model_dump(),
            browser_config=BrowserConfigOut.model_validate(chat.browser_config),
            member_count=len(members),
            members=members,
        )

    async def update(self, chat_id: int, changes: dict[str, Any], *, actor: User | None) -> AdminChatOut:
        """Partial update; `slug: null` makes the chat private unless `visibility` comes with it."""
        now = self.c.clock.now()
        async with self.c.db.transaction() as session:
            chat = await self._administered(session, actor, chat_id, lock=True)
            was_listed = chat.visibility in LISTED
            changed = self._apply(chat, changes)
            if changed:
                chat.updated_at = now
                try:
                    await chats_db.flush_slug(session)
                except chats_db.SlugTaken:
                    raise coded(ErrorCode.SLUG_TAKEN, 409) from None
                await self.c.chat_config.audit_update(session, actor, chat, changed)
            await self.c.chat_config.announce_config(session, chat, changed, was_listed)
        return admin_view(chat)

    @staticmethod
    def _apply(chat: Chat, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply the fields sent; answer the ones whose value changed (the `room:config` payload)."""
        for name, text in NOT_NULL.items():
            if name in changes and changes[name] is None:
                raise BadRequest(f"{name} {text}")
        changed: dict[str, Any] = {}
        for name in ("name", "label", "description"):
            if name in changes and getattr(chat, name) != changes[name]:
                setattr(chat, name, changes[name])
                changed[name] = changes[name]
        if "browser_config" in changes:
            # Only the keys sent change: `{"kiosk": true}` keeps the browser and the start URL.
            config = {**chat.browser_config, **_sent_keys(changes["browser_config"])}
            if config != chat.browser_config:
                chat.browser_config = config
                changed["browser_config"] = config
        visibility, slug = _visibility_and_slug(chat, changes)
        for name, value in (("slug", slug), ("visibility", visibility)):
            if getattr(chat, name) != value:
                setattr(chat, name, value)
                changed[name] = value
        return changed

    async def delete(self, chat_id: int, *, actor: User | None) -> str:
        name = await self.c.chats.delete(chat_id, by_admin=True, actor=actor)
        return f"Chat '{name}' deleted"

    async def transfer(self, chat_id: int, new_owner_id: int, *, actor: User | None) -> str:
        """Hand a chat to another registered user (Owner only): slots are ignored; in a private chat
        the old owner stays as a member."""
        now = self.c.clock.now()
        async with self.c.db.transaction() as session:
            chat = await load_chat(session, chat_id, lock=True)  # Owner-only: every rule would allow it
            if chat.chat_type != ChatType.GROUP:
                raise NotFound("Chat")
            new_owner = await users_db.get(session, new_owner_id)
            if new_owner is None or new_owner.is_stranger:
                raise NotFound("User")
            if chat.owner_id == new_owner.id:
                return transferred(chat.name, new_owner.id)
            old_owner_id = chat.owner_id
            await chats_db.remove_member(session, chat_id, new_owner.id)
            if chat.visibility == Visibility.PRIVATE and old_owner_id is not None:
                await chats_db.add_member(
                    session,
                    ChatMember(
                        chat_id=chat_id,
                        user_id=old_owner_id,
                        method=None,
                        invite_code=None,
                        joined_at=now,
                        created_at=now,
                    ),
                    gone=NotFound("Chat"),
                )
            chat.owner_id, chat.updated_at = new_owner.id, now
            await self.c.audit.record(
                session,
                AuditEvent.CHAT_TRANSFER,
                actor=actor,
                on=("chat", chat_id),
                user_id=new_owner.id,
                old_owner_id=old_owner_id,
            )

            async def announce() -> None:
                await self.c.rooms.announce_members(chat_id)

            on_commit(session, announce)
        return transferred(chat.name, new_owner.id)

    async def kick(self, chat_id: int, target_id: int, *, actor: User | None) -> str:
        kicked = await self.c.chat_moderation.kick(chat_id, target_id, as_admin=True, actor=actor)
        return f"Kicked {kicked.target.username} from chat '{kicked.chat.name}'"

    async def start(self, chat_id: int, *, actor: User | None) -> str:
        """Admin start: not idempotent (409 "Chat is already running"), no credential push."""
        chat = await self._vm_gate(actor, chat_id)
        if not await self.c.vms.start_chat(chat, push_credentials=False):
            raise Conflict("Chat is already running")
        return f"Chat '{chat.name}' started"

    async def stop(self, chat_id: int, *, actor: User | None) -> str:
        chat = await self._vm_gate(actor, chat_id)
        if not await self.c.vms.stop_chat(chat_id):
            raise Conflict("Chat is not running")
        return f"Chat '{chat.name}' stopped"

    async def _vm_gate(self, actor: User | None, chat_id: int) -> Chat:
        async with self.c.db.read() as session:
            return await self._administered(session, actor, chat_id)

    @staticmethod
    async def _administered(
        session: AsyncSession, actor: User | None, chat_id: int, *, lock: bool = False
    ) -> Chat:
        """The chat an admin action may act on (`Need.ADMINISTER`); from the CLI, without the level rules."""
        if actor is None:
            return await operator_chat(session, chat_id, lock=lock)
        return (await access_chat(session, actor, chat_id, need=Need.ADMINISTER, lock=lock)).chat
