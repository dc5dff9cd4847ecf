"""Setup shared by the `/v1/admin/chats*` tests: chats owned by each level, audit rows, sockets in a room."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from sqlalchemy import select

from portal.db.models import AuditLog, ChatMember
from tests.helpers import LoggedIn, Portal, unique_name
from tests.realtime.conftest import SocketProbe
from tests.servers import TestServer

ADMIN_CHAT_FIELDS = {
    "id",
    "name",
    "owner_id",
    "is_public",
    "visibility",
    "label",
    "slug",
    "description",
    "avatar_source",
    "last_activity_at",
    "created_at",
    "updated_at",
}
DETAIL_FIELDS = ADMIN_CHAT_FIELDS | {"browser_config", "member_count", "members"}
LIVE_STATE_FIELDS = {
    "chat_id",
    "chat_name",
    "username",
    "browser",
    "allow_control_requests",
    "visibility",
    "label",
    "slug",
    "description",
    "avatar_source",
    "running",
    "viewer_count",
}
DEFAULT_BROWSER_CONFIG = {"browser": "chromium", "start_url": None, "kiosk": False}
BASE = "/v1/admin/chats"


def unique_slug(prefix: str = "s") -> str:
    return f"{prefix}-{secrets.token_hex(5)}"


@pytest_asyncio.fixture(name="sockets")
async def sockets_fixture(server: TestServer) -> AsyncIterator[Any]:
    """`probe = sockets()`: a new unconnected Socket.IO probe (as in tests/realtime); closed afterwards."""
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


async def in_room(sockets: Any, who: LoggedIn, chat_id: int) -> SocketProbe:
    """A socket of `who`, connected and joined to `chat_id`'s room."""
    probe: SocketProbe = sockets()
    await probe.connect(token=who.client.session_token)
    await probe.expect("chat:list")
    ack = await probe.call("room:join", {"chat_id": chat_id})
    assert ack["ok"] is True, ack
    return probe


async def next_event(probe: SocketProbe, event: str, **match: Any) -> Any:
    """The next `event` whose payload has the `match` items (earlier ones of other chats are skipped)."""
    while True:
        payload = await probe.expect(event)
        if all(payload.get(k) == v for k, v in match.items()):
            return payload


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
        return list((await session.execute(query)).scalars().all())


async def member_ids(portal: Portal, chat_id: int) -> set[int]:
    async with portal.container.db.read() as session:
        query = select(ChatMember.user_id).where(ChatMember.chat_id == chat_id)
        return set((await session.execute(query)).scalars().all())


async def admin_chat(admin: LoggedIn, chat_id: int) -> dict[str, Any]:
    """The chat as it appears in `GET /v1/admin/chats`."""
    listed = await admin.client.call("GET", BASE)
    [entry] = [c for c in listed if c["id"] == chat_id]
    return dict(entry)


async def chat_of(
    portal: Portal, level: str, *, visibility: str = "public"
) -> tuple[LoggedIn, dict[str, Any]]:
    """A logged-in user of `level` and a chat of `visibility` they own (Users get a premium tier)."""
    tier = 2 if level in ("user", "moderator") else None
    owner = await portal.login(level, tier=tier)
    if visibility == "official":
        chat = await portal.official_chat(owner.id)
    elif visibility == "public":
        chat = await portal.public_chat(owner)
    else:
        chat = await portal.private_chat(owner, name=unique_name("priv"))
    return owner, chat
