"""Shared set-up for the room tests: chats, joins and reading side effects from the database."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from portal.db.models import ChatMember, Message
from tests.helpers import LoggedIn, Portal
from tests.realtime.conftest import SocketProbe

MESSAGE_ID = re.compile(r"^\d{13}-\d+$")
SYSTEM_EPOCH = "0000000000000000"
ACK_KEYS = {
    "ok",
    "chat",
    "epoch",
    "history_visible",
    "members",
    "public_keys",
    "key",
    "distributor",
    "live",
    "vm",
    "control",
}


async def public_room(portal: Portal) -> tuple[LoggedIn, dict[str, Any]]:
    """A premium owner and their public chat."""
    owner = await portal.login("user", tier=2)
    return owner, await portal.public_chat(owner)


async def private_room(portal: Portal) -> tuple[LoggedIn, dict[str, Any]]:
    owner = await portal.login("user", tier=2)
    return owner, await portal.private_chat(owner)


async def join(probe: SocketProbe, chat_id: int, **extra: Any) -> dict[str, Any]:
    ack = await probe.call("room:join", {"chat_id": chat_id, **extra})
    assert ack["ok"] is True, ack
    return ack


async def membership(portal: Portal, chat_id: int, user_id: int) -> ChatMember | None:
    async with portal.container.db.read() as session:
        query = select(ChatMember).where(ChatMember.chat_id == chat_id, ChatMember.user_id == user_id)
        return (await session.execute(query)).scalar_one_or_none()


async def system_texts(portal: Portal, chat_id: int) -> list[str]:
    """The chat's system messages, oldest first."""
    async with portal.container.db.read() as session:
        query = (
            select(Message.content)
            .where(Message.chat_id == chat_id, Message.type == "system")
            .order_by(Message.ms, Message.seq)
        )
        return list((await session.execute(query)).scalars().all())


async def activity(owner: LoggedIn, chat_id: int) -> list[dict[str, Any]]:
    """The chat's activity through the API, newest first."""
    return list((await owner.client.call("GET", f"/v1/portal/chats/{chat_id}/activity"))["events"])


def user_ref(who: LoggedIn) -> dict[str, Any]:
    """`{id, username, avatar_url}` of a user (no avatar_source: the earliest platform's avatar)."""
    links = who.user["linked_platforms"]
    avatar = links[0]["platform_avatar_url"] if links else None
    return {"id": who.id, "username": who.user["username"], "avatar_url": avatar}


def assert_system_message(message: dict[str, Any], chat: dict[str, Any], content: str) -> None:
    """A system message object as history and `message:new` carry it (00 §4, 04 §2)."""
    assert set(message) == {
        "chat_id",
        "chat_name",
        "id",
        "sender",
        "permission_level",
        "content",
        "type",
        "epoch",
        "timestamp",
    }, message
    assert message["chat_id"] == chat["id"]
    assert message["chat_name"] == chat["name"]
    assert MESSAGE_ID.match(message["id"]), message["id"]
    assert message["sender"] is None
    assert message["permission_level"] is None
    assert message["content"] == content
    assert message["type"] == "system"
    assert message["epoch"] == SYSTEM_EPOCH
    assert isinstance(message["timestamp"], str) and message["timestamp"].endswith("Z")


async def viewer_count(portal: Portal, who: LoggedIn, chat_id: int) -> int:
    """`live.viewer_count` of `GET /v1/portal/chats/{id}`."""
    detail = await who.client.call("GET", f"/v1/portal/chats/{chat_id}")
    return int(detail["live"]["viewer_count"])
