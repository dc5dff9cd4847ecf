"""Shared set-up for the direct-chat lifecycle tests: a pair in a direct chat, their tokens and sockets."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal.db.models import Chat, ChatMember, User
from portal.security import match_token
from tests.helpers import LoggedIn, Portal
from tests.sockets import SocketProbe, online


async def pair(portal: Portal) -> tuple[LoggedIn, LoggedIn, int]:
    a, b = await portal.login(), await portal.login()
    return a, b, await portal.direct_chat(a, b)


def token_for(portal: Portal, chat_id: int, who: LoggedIn) -> str:
    return match_token(portal.server.settings.resolved_secret_key, chat_id, who.id)


async def join_by_token(probe: SocketProbe, portal: Portal, chat_id: int, who: LoggedIn) -> dict[str, Any]:
    ack = await probe.call("room:join", {"token": token_for(portal, chat_id, who)})
    assert ack["ok"] is True, ack
    return dict(ack)


async def in_room(
    portal: Portal, sockets: Any, who: LoggedIn, chat_id: int, base_url: str | None = None
) -> SocketProbe:
    """A new socket of `who`, joined to the direct chat with their token."""
    probe = await online(sockets, who.client.session_token, base_url)
    await join_by_token(probe, portal, chat_id, who)
    return probe


async def chat_row(portal: Portal, chat_id: int) -> Chat | None:
    async with portal.container.db.read() as session:
        return await session.get(Chat, chat_id)


async def away_until(portal: Portal, chat_id: int, user_id: int) -> Any:
    async with portal.container.db.read() as session:
        query = select(ChatMember.away_until).where(
            ChatMember.chat_id == chat_id, ChatMember.user_id == user_id
        )
        return (await session.execute(query)).scalar_one_or_none()


async def user_row(portal: Portal, who: LoggedIn) -> User:
    async with portal.container.db.read() as session:
        user = await session.get(User, who.id)
    assert user is not None
    return user


def order_of(probe: SocketProbe, chat_id: int, names: tuple[str, ...]) -> list[tuple[str, Any]]:
    """The events of these names about `chat_id` this socket received, in arrival order."""
    return [
        (name, data)
        for name, data in probe.received
        if name in names and isinstance(data, dict) and data.get("chat_id") == chat_id
    ]


ENDING = ("message:new", "room:peer_left", "room:destroyed")
