"""Shared set-up for the chat-moderation and platform-punishment tests (04 §6–8, 08 §37–38, §44–50, §59).

Everything is driven through the API and Socket.IO; rows with no read endpoint (restrictions, records of
a user who can no longer sign in, audit rows) are read straight from the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from portal.client import PortalAPIError
from portal.db.models import AuditLog, ChatRestriction, HardMute, ModerationAction, User
from tests.api.chats_support import (  # noqa: F401  (re-exported for the test modules)
    activity_rows,
    chat_owner,
    chat_row,
    chats_path,
    join_room,
    make_chat,
    member_of,
    memberships,
    premium,
    system_texts,
)
from tests.helpers import LoggedIn, Portal, identity_of
from tests.sockets import SocketProbe

# What every moderation record of `GET /v1/users/me/punishments` carries (04 §2, 08 §38).
RECORD_FIELDS = {
    "id",
    "action_type",
    "reason",
    "is_lifted",
    "expires_at",
    "lifted_at",
    "created_at",
    "chat_id",
    "issued_by_id",
}
NOT_A_BUNDLE = "content must be a CiphertextV2 bundle"


def action_path(chat_id: int | str, action: str) -> str:
    """`/v1/portal/chats/{id}/{action}` for a chat action, `/v1/portal/{action}` for hard-(un)mute."""
    if action in ("hard-mute", "hard-unmute"):
        return f"/v1/portal/{action}"
    return chats_path(chat_id, f"/{action}")


async def act(actor: LoggedIn, chat_id: int, action: str, user_id: int, **body: Any) -> Any:
    """POST a moderation action; answers the body (raises PortalAPIError on an error)."""
    return await actor.client.call("POST", action_path(chat_id, action), json={"user_id": user_id, **body})


# ---- the database -------------------------------------------------------------------------------------


async def restriction(portal: Portal, chat_id: int, user_id: int, kind: str) -> ChatRestriction | None:
    async with portal.container.db.read() as session:
        return await session.get(ChatRestriction, (chat_id, user_id, kind))


async def restrictions_of_chat(portal: Portal, chat_id: int) -> list[ChatRestriction]:
    async with portal.container.db.read() as session:
        query = select(ChatRestriction).where(ChatRestriction.chat_id == chat_id)
        return list((await session.execute(query)).scalars())


async def hard_mute_row(portal: Portal, user_id: int) -> HardMute | None:
    async with portal.container.db.read() as session:
        return await session.get(HardMute, user_id)


async def records_of(portal: Portal, user_id: int) -> list[ModerationAction]:
    """A user's moderation records, oldest first (also for users who cannot sign in right now)."""
    async with portal.container.db.read() as session:
        query = (
            select(ModerationAction).where(ModerationAction.user_id == user_id).order_by(ModerationAction.id)
        )
        return list((await session.execute(query)).scalars())


async def audit_of(portal: Portal, event_type: str, entity_id: int) -> list[AuditLog]:
    async with portal.container.db.read() as session:
        query = (
            select(AuditLog)
            .where(AuditLog.event_type == event_type, AuditLog.entity_id == entity_id)
            .order_by(AuditLog.id)
        )
        return list((await session.execute(query)).scalars())


async def user_row(portal: Portal, user_id: int) -> User:
    async with portal.container.db.read() as session:
        row = await session.get(User, user_id)
    assert row is not None
    return row


# ---- sending ------------------------------------------------------------------------------------------


async def try_send(who: LoggedIn, chat_id: int) -> tuple[int, dict[str, Any]]:
    """Send a message that is not a CiphertextV2 bundle from a joined session.

    The send checks run joined → banned → hard-muted → muted → bundle shape (00 §4), so a session that
    may send gets 400 "content must be a CiphertextV2 bundle" and a restricted one gets its `ERR_*` code.
    Answers (status, body)."""
    try:
        await who.client.call("POST", chats_path(chat_id, "/messages"), json={"content": "hello"})
    except PortalAPIError as exc:
        return exc.status, exc.body
    raise AssertionError("a message that is not a bundle was accepted")


async def refused_with(who: LoggedIn, chat_id: int) -> tuple[str, int | None]:
    """The `ERR_*` code (and `ttl`) refusing a send, or ("", None) when only the bundle shape was wrong."""
    status, body = await try_send(who, chat_id)
    if status == 400:
        assert body["error"] == NOT_A_BUNDLE, body
        return "", None
    assert status == 403, (status, body)
    return body["error"], body.get("ttl")


# ---- people -------------------------------------------------------------------------------------------


async def try_login(portal: Portal, who: LoggedIn) -> tuple[int, str] | dict[str, Any]:
    """Sign `who` in again through the web flow: the verify answer, or (status, error) when refused."""
    platform, platform_user_id = identity_of(who.user)
    client = portal.client()
    try:
        return await portal.web_login(client, platform, platform_user_id)
    except PortalAPIError as exc:
        return exc.status, exc.error


async def in_room(sockets: Any, who: LoggedIn, chat_id: int) -> SocketProbe:
    """`who`'s session connected over Socket.IO and joined to the chat's room."""
    return await join_room(sockets, who, chat_id)


async def lobby(sockets: Any, who: LoggedIn) -> SocketProbe:
    """`who` connected over Socket.IO, in no chat room."""
    probe: SocketProbe = sockets()
    await probe.connect(token=who.client.session_token)
    await probe.expect("chat:list")
    return probe


def seconds_until(value: datetime | None, now: datetime) -> float | None:
    return None if value is None else (value - now).total_seconds()
