"""Group chats: create, list, read, members, leave, config, delete, directory (03 §3, 00 §3.6–3.8, 08)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from portal.browser.base import ALLOWED_SIZES
from portal.db import chats as chats_db
from portal.db import users as users_db
from portal.db.models import Chat, ChatActivity, User
from portal.db.uow import on_commit
from portal.errors import BadRequest, Conflict, ErrorCode, NotFound, coded
from portal.schemas.chats import (
    ActivityEventOut,
    ActivityOut,
    BrowserConfigIn,
    ChatConfigOut,
    ChatDetailOut,
    ChatOut,
    ChatStatisticsOut,
    CreateChatIn,
    LiveOut,
    MemberOut,
    MembersOut,
    MemberUser,
    UserRef,
)
from portal.schemas.users import OwnedChatOut
from portal.services.audit import AuditEvent
from portal.services.chat_access import (
    LISTED,
    ChatContext,
    Need,
    access_chat,
    can_manage,
    chat_context,
    check_chat_slot,
    may_create_private,
)
from portal.services.notifier import LOBBY_ROOM, chat_room, user_room
from portal.services.permissions import Level
from portal.services.users import DEFAULT_AVATARS, avatar_url
from portal.services.vms import allowed_sizes

if TYPE_CHECKING:
    from portal.container import Container

MEMBERS_CAP = 100
RECENT_VIEWERS = timedelta(hours=24)
CONFIG_FLAGS = (
    "history_visible",
    "allow_control_requests",
    "locked_controls",
    "implicit_hosting",
    "inactive_cursors",
)
CONTROL_FLAGS = {"allow_control_requests", "locked_controls", "implicit_hosting", "inactive_cursors"}
DEFAULT_BROWSER_CONFIG = {"browser": "chromium", "start_url": None, "kiosk": False}

log = logging.getLogger(__name__)


def chat_avatar_url(source: str | None) -> str | None:
    """03 §2.1: `avatar_url` is the resolved URL of the stored key (`"discord_0"`); an uploaded avatar's
    stored value is already a URL."""
    if source is None:
        return None
    return DEFAULT_AVATARS.get(source, source if source.startswith("https://") else None)


def screen_size_error(width: int, height: int, rate: int) -> str | None:
    """A size not in the list (08 §27), in the 08 §6 template naming the first field, in body order, that
    no allowed size with the fields before it has."""
    fits = list(ALLOWED_SIZES)
    for position, (field, value) in enumerate((("width", width), ("height", height), ("rate", rate))):
        allowed = sorted({size[position] for size in fits})
        if value not in allowed:
            return f"{field} must be one of: " + ", ".join(str(v) for v in allowed)
        fits = [size for size in fits if size[position] == value]
    return None


def browser_config_dict(config: BrowserConfigIn | None) -> dict[str, Any]:
    return dict(DEFAULT_BROWSER_CONFIG) if config is None else config.model_dump()


def user_ref(user: User, platforms: Sequence[Any] = ()) -> UserRef:
    return UserRef(id=user.id, username=user.username, avatar_url=avatar_url(user, platforms))


def member_user(user: User, platforms: Sequence[Any] = ()) -> MemberUser:
    return MemberUser(
        id=user.id,
        username=user.username,
        avatar_url=avatar_url(user, platforms),
        permission_level=user.permission_level,
    )


class ChatService:
    def __init__(self, container: Container) -> None:
        self.c = container

    @property
    def now(self) -> datetime:
        return self.c.clock.now()

    # ---- views ------------------------------------------------------------------------------------

    async def views(self, session: AsyncSession, chats: Sequence[Chat]) -> list[ChatOut]:
        """Chat objects with their owners in two queries, whatever the number of chats."""
        owner_ids = [c.owner_id for c in chats if c.owner_id is not None]
        owners = await chats_db.users_by_id(session, owner_ids)
        platforms = await users_db.platforms_of_many(session, list(owners))
        return [self._view(chat, owners.get(chat.owner_id or 0), platforms) for chat in chats]

    @staticmethod
    def _view(chat: Chat, owner: User | None, platforms: dict[int, list[Any]]) -> ChatOut:
        return ChatOut(
            id=chat.id,
            chat_type=chat.chat_type,
            name=chat.name,  # type: ignore[arg-type]
            owner=user_ref(owner, platforms.get(owner.id, [])) if owner else None,
            visibility=chat.visibility,
            label=chat.label,
            slug=chat.slug,
            description=chat.description,
            avatar_url=chat_avatar_url(chat.avatar_source),
            archived=chat.archived_at is not None,
            secrets=[],
        )

    async def view(self, session: AsyncSession, chat: Chat) -> ChatOut:
        return (await self.views(session, [chat]))[0]

    async def live(self, chat_id: int) -> LiveOut:
        return LiveOut(
            running=await self.c.vms.is_running(chat_id),
            viewer_count=await self.c.rooms.viewer_count(chat_id),
        )

    @staticmethod
    def config(chat: Chat) -> ChatConfigOut:
        return ChatConfigOut(
            wipe_preset=chat.wipe_preset,
            history_visible=chat.history_visible,
            allow_control_requests=chat.allow_control_requests,
            locked_controls=chat.locked_controls,
            implicit_hosting=chat.implicit_hosting,
            inactive_cursors=chat.inactive_cursors,
            browser_config=chat.browser_config,  # type: ignore[arg-type]
        )

    # ---- create -----------------------------------------------------------------------------------

    async def create_private(self, actor: User, body: CreateChatIn) -> ChatOut:
        """A private group chat for a premium user or Admin+, within their slots (03 §3.1)."""
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
                    visibility="private",
                    slug=None,
                    description=body.description,
                    allow_control_requests=body.allow_control_requests,
                    browser_config=browser_config_dict(body.browser_config),
                    now=now,
                ),
            )
            view = await self.view(session, chat)
            chat_id, owner_id = chat.id, actor.id

            async def announce() -> None:  # the owner's sockets can list one more chat (00 §5)
                await self.c.notifier.emit(
                    "chat:status", await self.c.rooms.status(chat_id), room=user_room(owner_id)
                )

            on_commit(session, announce)
        return view

    @staticmethod
    def new_chat(
        *,
        name: str,
        owner_id: int,
        visibility: str,
        slug: str | None,
        description: str | None,
        allow_control_requests: bool,
        browser_config: dict[str, Any],
        now: datetime,
    ) -> Chat:
        return Chat(
            chat_type="group",
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
            screen_width=1280,
            screen_height=720,
            screen_rate=30,
            epoch=0,
            last_message_ms=0,
            last_message_seq=0,
            last_activity_at=now,
            created_at=now,
            updated_at=now,
        )

    # ---- read -------------------------------------------------------------------------------------

    async def list_for(self, actor: User) -> list[ChatOut]:
        """`GET /v1/portal/chats` (00 §3.8): official first, then by last activity."""
        async with self.c.db.read() as session:
            chats = [] if actor.is_stranger else await chats_db.listed_for(session, actor.id)
            return await self.views(session, chats)

    async def directory(self) -> list[ChatOut]:
        async with self.c.db.read() as session:
            return await self.views(session, await chats_db.directory(session))

    async def directory_entry(self, slug: str) -> ChatOut:
        async with self.c.db.read() as session:
            chat = await chats_db.by_slug(session, slug)
            if chat is None or chat.visibility not in LISTED:
                raise NotFound("Chat")
            return await self.view(session, chat)

    async def detail(self, actor: User, chat_id: int) -> ChatDetailOut:
        """One chat with its live state, plus its config for those who manage it (00 §6)."""
        async with self.c.db.read() as session:
            ctx = await access_chat(session, actor, chat_id)
            view = await self.view(session, ctx.chat)
        extra = self.config(ctx.chat).model_dump() if can_manage(ctx) else {}
        return ChatDetailOut(**view.model_dump(), live=await self.live(chat_id), **extra)

    async def owned_chats(self, user: User) -> list[OwnedChatOut]:
        async with self.c.db.read() as session:
            chats = await chats_db.owned_by(session, user.id)
        return [
            OwnedChatOut(
                id=c.id,
                name=c.name,
                is_public=c.visibility in LISTED,
                visibility=c.visibility,
                created_at=c.created_at,
            )
            for c in chats
        ]

    async def statistics(self) -> ChatStatisticsOut:
        async with self.c.db.read() as session:
            listed, private = await chats_db.group_counts(session)
        return ChatStatisticsOut(total_count=listed + private, public_count=listed, private_count=private)

    # ---- members ----------------------------------------------------------------------------------

    async def members(self, actor: User, chat_id: int) -> MembersOut:
        """Private: the owner then the members; listed: the owner then recent viewers (08 §19)."""
        async with self.c.db.read() as session:
            ctx = await access_chat(session, actor, chat_id)
            since = None if ctx.chat.visibility == "private" else self.now - RECENT_VIEWERS
            rows = [
                m
                for m in await chats_db.members(session, chat_id, since=since)
                if m.user_id != ctx.chat.owner_id
            ]
            users = await chats_db.users_by_id(session, [m.user_id for m in rows])
            platforms = await users_db.platforms_of_many(
                session, [*users, *([ctx.owner.id] if ctx.owner else [])]
            )
        in_room = await self.c.presence.user_ids_in(chat_id)
        entries: list[MemberOut] = []
        if ctx.owner is not None:
            entries.append(
                MemberOut(
                    user=member_user(ctx.owner, platforms.get(ctx.owner.id, [])),
                    joined_at=ctx.chat.created_at,
                    online=ctx.owner.id in in_room,
                    role="owner",
                )
            )
        for row in rows:
            user = users.get(row.user_id)
            if user is not None:
                entries.append(
                    MemberOut(
                        user=member_user(user, platforms.get(user.id, [])),
                        joined_at=row.joined_at,
                        online=user.id in in_room,
                        role="member",
                    )
                )
        return MembersOut(members=entries[:MEMBERS_CAP], total=len(entries))

    async def leave(self, actor: User, chat_id: int) -> None:
        """`POST …/leave` (08 §21): drop the membership; the leaver's sockets leave the room."""
        async with self.c.db.transaction() as session:
            ctx = await access_chat(session, actor, chat_id, need=Need.LEAVE, group_only=True)
            if ctx.is_owner:
                raise Conflict("Chat owner cannot leave")
            if not await chats_db.remove_member(session, chat_id, actor.id):
                raise NotFound("Member")
            await chats_db.add_activity(
                session,
                ChatActivity(
                    chat_id=chat_id,
                    user_id=actor.id,
                    action="leave",
                    method=None,
                    invite_code=None,
                    actor_id=None,
                    created_at=self.now,
                ),
            )
            await self.c.messages.post_system(session, ctx.chat, f"{actor.username} left the chat")

            async def announce() -> None:
                in_room = actor.id in await self.c.presence.user_ids_in(chat_id)
                await self.c.notifier.evict(chat_id, user_id=actor.id, event="", payload={})
                if not in_room:  # otherwise their last socket out announces it
                    await self.c.rooms.announce_left(chat_id, actor)

            on_commit(session, announce)
            if not ctx.is_listed:
                self.after_commit_unlist(session, chat_id, actor.id)

    # ---- activity ---------------------------------------------------------------------------------

    async def activity(self, actor: User, chat_id: int, *, offset: int, limit: int) -> ActivityOut:
        async with self.c.db.read() as session:
            await access_chat(session, actor, chat_id, need=Need.MODERATE)
            rows, total = await chats_db.activity(session, chat_id, offset=offset, limit=limit)
            users = await chats_db.users_by_id(
                session, [r.user_id for r in rows] + [r.actor_id for r in rows if r.actor_id]
            )
            platforms = await users_db.platforms_of_many(session, list(users))
        events = [
            ActivityEventOut(
                user=user_ref(users[r.user_id], platforms.get(r.user_id, [])),
                action=r.action,
                method=r.method,
                invite_code=r.invite_code,
                created_at=r.created_at,
                actor=user_ref(users[r.actor_id], platforms.get(r.actor_id, []))
                if r.actor_id in users
                else None,
            )
            for r in rows
            if r.user_id in users
        ]
        return ActivityOut(events=events, total=total, offset=offset, limit=limit)

    # ---- config -----------------------------------------------------------------------------------

    async def update_config(self, actor: User, chat_id: int, changes: dict[str, Any]) -> None:
        """`POST …/config/update`: only the fields present (03 §3.6, 08 §18, §23)."""
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
            if chat.visibility == "official":
                raise BadRequest("slug is required for public chats")
            if chat.slug is None and chat.visibility == "private":
                return {}
            chat.slug, chat.visibility = None, "private"
            return {"slug": None, "visibility": "private"}
        changed: dict[str, Any] = {}
        if chat.slug != slug:
            chat.slug = slug
            changed["slug"] = slug
        if chat.visibility == "private":
            chat.visibility = "public"
            changed["visibility"] = "public"
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
        self, session: AsyncSession, actor: User, chat: Chat, changed: dict[str, Any]
    ) -> None:
        """`CHAT_UPDATE` in the audit log, naming the fields a config or admin update changed."""
        await self.c.audit.record(
            session, AuditEvent.CHAT_UPDATE, actor=actor, on=("chat", chat.id), fields=sorted(changed)
        )

    async def announce_config(
        self, session: AsyncSession, chat: Chat, changed: dict[str, Any], was_listed: bool
    ) -> None:
        """After a config/visibility change (portal or admin update): `room:config` to the room, and when the
        chat turned private, it disappears for everyone but its owner and invited members (08 §18)."""
        payload = {"chat_id": chat.id, **changed}
        now_listed = chat.visibility in LISTED
        if was_listed and not now_listed:
            # Joining a listed chat records a membership (00 §3.8): those joiners are viewers, not members
            # of the private chat it becomes (only invitees are, 03 §1.2), so they lose it too.
            await chats_db.remove_uninvited_members(session, chat.id)
        members = set(await chats_db.member_user_ids(session, chat.id)) | {chat.owner_id}

        async def announce() -> None:
            if changed:
                await self.c.notifier.emit("room:config", payload, room=chat_room(chat.id))
            if was_listed and not now_listed:
                await self.hide_from_non_members(chat.id, members)
            if now_listed and not was_listed:
                await self.c.rooms.broadcast_status(chat.id)
            if now_listed != was_listed:  # "users in the room" ↔ "owner and members" (08 §14)
                await self.c.rooms.announce_members(chat.id)
            if set(changed) & CONTROL_FLAGS:
                await self.c.vms.apply_settings(chat)  # a running VM follows the new settings at once

        on_commit(session, announce)

    async def hide_from_non_members(self, chat_id: int, members: set[int | None]) -> None:
        """A chat turned private: non-members lose it (08 §18). Admin+ users in the room stay there, so
        for them the chat has not gone."""
        async with self.c.db.read() as session:
            in_room = await chats_db.users_by_id(session, list(await self.c.presence.user_ids_in(chat_id)))
        staying = {user.id for user in in_room.values() if user.permission_level >= Level.ADMIN}
        online = set(await self.c.presence.online_user_ids()) - members - staying
        if online:
            await self.c.notifier.emit(
                "room:destroyed", {"chat_id": chat_id}, room=[user_room(uid) for uid in sorted(online)]
            )
        for user in in_room.values():
            if user.id not in members and user.id not in staying:
                await self.c.notifier.evict(
                    chat_id,
                    user_id=user.id,
                    event="room:kicked",
                    payload={"chat_id": chat_id, "reason": "chat is private"},
                )

    # ---- browser VM (the VM issue brings the machines; the permission rules are here already) ---------

    async def start_vm(self, actor: User, chat_id: int) -> None:
        """Portal start: idempotent, pushes credentials to everyone already in the room (03 §3.3)."""
        ctx = await self._vm_context(actor, chat_id)
        await self.c.vms.start_chat(ctx.chat, push_credentials=True)

    async def stop_vm(self, actor: User, chat_id: int) -> None:
        """Idempotent: stopping a stopped VM answers ok."""
        await self._vm_context(actor, chat_id)
        await self.c.vms.stop_chat(chat_id)

    # ---- clipboard, screen, screenshot (00 §6, 08 §27) ---------------------------------------------

    async def _clipboard_context(self, actor: User, chat_id: int) -> ChatContext:
        is_host = await self.c.control.is_host(chat_id, actor.id)
        async with self.c.db.read() as session:
            return await access_chat(session, actor, chat_id, need=Need.CLIPBOARD, is_host=is_host)

    async def clipboard(self, actor: User, chat_id: int) -> str:
        await self._clipboard_context(actor, chat_id)
        return await self.c.vms.clipboard_get(chat_id)

    async def set_clipboard(self, actor: User, chat_id: int, text: str) -> None:
        await self._clipboard_context(actor, chat_id)
        await self.c.vms.clipboard_set(chat_id, text)

    async def screen(self, actor: User, chat_id: int) -> dict[str, Any]:
        """Any viewer: the current size and the allowed ones."""
        async with self.c.db.read() as session:
            ctx = await access_chat(session, actor, chat_id, group_only=True)
        return self._screen_view(ctx.chat)

    @staticmethod
    def _screen_view(chat: Chat) -> dict[str, Any]:
        return {
            "width": chat.screen_width,
            "height": chat.screen_height,
            "rate": chat.screen_rate,
            "sizes": allowed_sizes(),
        }

    async def set_screen(
        self, actor: User, chat_id: int, width: int, height: int, rate: int
    ) -> dict[str, Any]:
        """Chat managers; a size not in the list is 400; a stopped VM gets it at its next start."""
        refusal = screen_size_error(width, height, rate)
        if refusal is not None:
            raise BadRequest(refusal)
        async with self.c.db.transaction() as session:
            ctx = await access_chat(session, actor, chat_id, need=Need.MANAGE, lock=True)
            chat = ctx.chat
            chat.screen_width, chat.screen_height, chat.screen_rate = width, height, rate
            chat.updated_at = self.now
        if await self.c.vms.is_running(chat_id):
            await self.c.vms.set_screen(chat_id, width, height, rate)
        return self._screen_view(chat)

    async def screenshot(self, actor: User, chat_id: int) -> bytes:
        """Anyone who may view the chat; 409 ERR_VM_NOT_RUNNING while stopped."""
        async with self.c.db.read() as session:
            await access_chat(session, actor, chat_id, group_only=True)
        return await self.c.vms.screenshot(chat_id)

    async def manages(self, user_id: int, chat: Chat) -> bool:
        """Is the user a manager of the chat (`can_manage_chat`)? For VM roles and control."""
        async with self.c.db.read() as session:
            user = await users_db.get(session, user_id)
            return user is not None and can_manage(await chat_context(session, chat, user))

    async def _vm_context(self, actor: User, chat_id: int) -> ChatContext:
        async with self.c.db.read() as session:
            return await access_chat(session, actor, chat_id, need=Need.DESTROY)

    # ---- delete -----------------------------------------------------------------------------------

    async def delete(self, actor: User | None, chat_id: int, *, by_admin: bool = False) -> str:
        """Destroy a chat: VM, live state, rows; everyone who could see it gets `room:destroyed`."""
        async with self.c.db.transaction() as session:
            if actor is not None:
                need = Need.ADMINISTER if by_admin else Need.DESTROY
                chat = (await access_chat(session, actor, chat_id, need=need, lock=True)).chat
            else:
                chat = await chats_db.get_for_update(session, chat_id)
                if chat is None:
                    raise NotFound("Chat")
            listers = await self.lister_rooms(session, chat)
            await chats_db.remove(session, chat.id)
            await self.c.audit.record(
                session, AuditEvent.CHAT_DELETE, actor=actor, on=("chat", chat.id), name=chat.name
            )
            name = chat.name

            async def teardown() -> None:
                await self.c.notifier.evict(
                    chat_id, event="room:destroyed", payload={"chat_id": chat_id}, also_rooms=listers
                )
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
        if chat.visibility in LISTED and chat.chat_type == "group":
            return [LOBBY_ROOM]
        members = await chats_db.member_user_ids(session, chat.id)
        owner = [chat.owner_id] if chat.owner_id is not None else []
        return [user_room(uid) for uid in sorted({*members, *owner})]

    def after_commit_unlist(self, session: AsyncSession, chat_id: int, user_id: int) -> None:
        """A private chat the user could list and no longer can (left, kicked): `room:destroyed` to all
        of their sockets, in the room or not (08 §18)."""

        async def unlist() -> None:
            await self.c.notifier.emit("room:destroyed", {"chat_id": chat_id}, room=user_room(user_id))

        on_commit(session, unlist)

    # ---- helpers for other services -----------------------------------------------------------------

    async def add_activity(
        self,
        session: AsyncSession,
        chat_id: int,
        user_id: int,
        action: str,
        *,
        method: str | None = None,
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
