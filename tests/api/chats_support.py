"""Setup shared by the group-chat tests (03 §1–3, 00 §3.5–3.8, 08 §9–25, §43–49).

Chats, members and invites are made through the API (and Socket.IO for joins of official/public chats);
side effects that have no read endpoint (membership rows, messages, audit and moderation rows) are read
straight from the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest_asyncio
from sqlalchemy import func, select, update

from portal.db.models import (
    AuditLog,
    Chat,
    ChatActivity,
    ChatInvite,
    ChatMember,
    Message,
    ModerationAction,
    User,
)
from portal.db.uow import users_changed
from tests.helpers import LoggedIn, Portal
from tests.realtime.conftest import SocketProbe
from tests.servers import TestServer

# The one chat object (08 §9).
CHAT_FIELDS = {
    "id",
    "chat_type",
    "name",
    "owner",
    "visibility",
    "label",
    "slug",
    "description",
    "avatar_url",
    "archived",
    "secrets",
}
CONFIG_FIELDS = {
    "wipe_preset",
    "history_visible",
    "allow_control_requests",
    "locked_controls",
    "implicit_hosting",
    "inactive_cursors",
    "browser_config",
}
DEFAULT_CONFIG = {
    "wipe_preset": None,
    "history_visible": True,
    "allow_control_requests": False,
    "locked_controls": False,
    "implicit_hosting": False,
    "inactive_cursors": False,
    "browser_config": {"browser": "chromium", "start_url": None, "kiosk": False},
}
INVITE_FIELDS = {"code", "chat_id", "created_by_id", "created_at", "expires_at", "uses", "max_uses"}
MEMBER_FIELDS = {"user", "joined_at", "online", "role"}
MEMBER_USER_FIELDS = {"id", "username", "avatar_url", "permission_level"}
ACTIVITY_FIELDS = {"user", "action", "method", "invite_code", "created_at", "actor"}
USER_REF_FIELDS = {"id", "username", "avatar_url"}


def chats_path(chat_id: int | str, rest: str = "") -> str:
    return f"/v1/portal/chats/{chat_id}{rest}"


def user_ref(who: LoggedIn | dict[str, Any]) -> dict[str, Any]:
    """The `{id, username, avatar_url}` of a user made by the helpers (no avatar)."""
    user = who.user if isinstance(who, LoggedIn) else who
    return {"id": user["id"], "username": user["username"], "avatar_url": None}


def expected_chat(
    chat_id: int,
    name: str,
    owner: LoggedIn | dict[str, Any],
    *,
    visibility: str = "private",
    slug: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    return {
        "id": chat_id,
        "chat_type": "group",
        "name": name,
        "owner": user_ref(owner),
        "visibility": visibility,
        "label": None,
        "slug": slug,
        "description": description,
        "avatar_url": None,
        "archived": False,
        "secrets": [],
    }


@pytest_asyncio.fixture(name="sockets")
async def sockets_fixture(server: TestServer) -> AsyncIterator[Any]:
    """`probe = sockets()`: a new unconnected Socket.IO probe (tests/realtime/conftest.py); closed after."""
    made: list[SocketProbe] = []

    def factory() -> SocketProbe:
        probe = SocketProbe(server.base_url)
        made.append(probe)
        return probe

    try:
        yield factory
    finally:
        for probe in made:
            await probe.close()


# ---- people ---------------------------------------------------------------------------------------------


async def premium(portal: Portal, level: str = "user", *, tier: int = 2) -> LoggedIn:
    """A signed-in user with a subscription (Premium by default: 3 chat slots)."""
    return await portal.login(level, tier=tier)


async def chat_owner(portal: Portal, level: str = "user") -> LoggedIn:
    """Someone who can create chats: premium for levels below Admin, as they are for Admin and Owner."""
    if level in ("admin", "owner"):
        return await portal.login(level)
    return await premium(portal, level)


async def member_of(portal: Portal, owner: LoggedIn, chat_id: int, level: str = "user") -> LoggedIn:
    """A new user of `level` who redeemed an invite of `chat_id` (private or public chats)."""
    member = await portal.login(level)
    await portal.invite_into(owner, chat_id, member)
    return member


async def join_room(sockets: Any, who: LoggedIn, chat_id: int, *, slug: str | None = None) -> SocketProbe:
    """Connect `who` over Socket.IO and join the chat's room (a membership row for official/public)."""
    probe: SocketProbe = sockets()
    await probe.connect(token=who.client.session_token)
    await probe.expect("chat:list")
    payload: dict[str, Any] = {"chat_id": chat_id} if slug is None else {"slug": slug}
    ack = await probe.call("room:join", payload)
    assert ack["ok"] is True, ack
    return probe


async def make_chat(portal: Portal, owner: LoggedIn, kind: str, **fields: Any) -> dict[str, Any]:
    """A chat of `kind` (private, public, official) owned by `owner`."""
    if kind == "private":
        return await portal.private_chat(owner, **fields)
    if kind == "public":
        return await portal.public_chat(owner, **fields)
    assert kind == "official", kind
    return await portal.official_chat(owner.id, **fields)


# ---- the database, for side effects with no read endpoint ------------------------------------------------


async def chat_row(portal: Portal, chat_id: int) -> Chat | None:
    async with portal.container.db.read() as session:
        return await session.get(Chat, chat_id)


async def memberships(portal: Portal, chat_id: int) -> dict[int, ChatMember]:
    async with portal.container.db.read() as session:
        rows = (await session.execute(select(ChatMember).where(ChatMember.chat_id == chat_id))).scalars()
        return {row.user_id: row for row in rows}


async def invite_row(portal: Portal, code: str) -> ChatInvite | None:
    async with portal.container.db.read() as session:
        return await session.get(ChatInvite, code)


async def activity_rows(portal: Portal, chat_id: int) -> list[ChatActivity]:
    async with portal.container.db.read() as session:
        query = select(ChatActivity).where(ChatActivity.chat_id == chat_id).order_by(ChatActivity.id)
        return list((await session.execute(query)).scalars())


async def system_texts(portal: Portal, chat_id: int) -> list[str]:
    """The chat's system messages, oldest first."""
    async with portal.container.db.read() as session:
        query = (
            select(Message.content)
            .where(Message.chat_id == chat_id, Message.type == "system")
            .order_by(Message.ms, Message.seq)
        )
        return list((await session.execute(query)).scalars())


async def count_rows(portal: Portal, model: Any, chat_id: int) -> int:
    async with portal.container.db.read() as session:
        query = select(func.count()).select_from(model).where(model.chat_id == chat_id)
        return int((await session.execute(query)).scalar_one())


async def audit_rows(portal: Portal, event_type: str, chat_id: int) -> list[AuditLog]:
    async with portal.container.db.read() as session:
        query = (
            select(AuditLog)
            .where(
                AuditLog.event_type == event_type,
                AuditLog.entity_type == "chat",
                AuditLog.entity_id == chat_id,
            )
            .order_by(AuditLog.id)
        )
        return list((await session.execute(query)).scalars())


async def moderation_rows(portal: Portal, chat_id: int) -> list[ModerationAction]:
    async with portal.container.db.read() as session:
        query = (
            select(ModerationAction).where(ModerationAction.chat_id == chat_id).order_by(ModerationAction.id)
        )
        return list((await session.execute(query)).scalars())


async def set_chat_slots_override(portal: Portal, user_id: int, slots: int | None) -> None:
    """The per-user slot override (00 §3.6); its CLI command belongs to another issue."""
    async with portal.container.db.transaction() as session:
        await session.execute(update(User).where(User.id == user_id).values(chat_slots_override=slots))
        users_changed(session, [user_id])


# ---- the permission matrices (tests/api/test_chat_permissions.py, tests/moderation/…) ---------------------


@dataclass
class ChatSetup:
    """A chat of one `kind` (private, public, official) and its owner, for a permission matrix."""

    portal: Portal
    sockets: Any
    kind: str
    owner: LoggedIn
    chat: dict[str, Any]
    keep_sockets: bool = False  # official members stay in the room (rules that need a joined target)

    @property
    def chat_id(self) -> int:
        return int(self.chat["id"])

    async def add_member(self, level: str = "user") -> LoggedIn:
        """A member: by invite (private/public) or by joining the room (official)."""
        member = await self.portal.login(level)
        if self.kind == "official":
            probe = await join_room(self.sockets, member, self.chat_id)
            if not self.keep_sockets:
                await probe.close()
        else:
            await self.portal.invite_into(self.owner, self.chat_id, member)
        assert member.id in await memberships(self.portal, self.chat_id)
        return member


async def setup_chat(
    portal: Portal, sockets: Any, kind: str, owner_level: str = "user", *, keep_sockets: bool = False
) -> ChatSetup:
    owner = await chat_owner(portal, owner_level)
    chat = await make_chat(portal, owner, kind)
    return ChatSetup(portal, sockets, kind, owner, chat, keep_sockets)


async def actor_for(setup: ChatSetup, role: str) -> LoggedIn:
    """`owner`, a fresh `member`, an `outsider`, or a user of a platform level (`platform-owner` = Owner)."""
    if role == "owner":
        return setup.owner
    if role == "member":
        return await setup.add_member()
    level = {"outsider": "user", "platform-owner": "owner"}.get(role, role)
    return await setup.portal.login(level)
