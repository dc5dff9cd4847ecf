"""Seating at match time (08 §54): every connected socket of both members joins the new chat's room, on
whichever node holds it, as a `room:join` would — presence, members, and the key distribution."""

from __future__ import annotations

from typing import Any

import pytest

from tests.direct.support import join_by_token, pair
from tests.e2ee.support import Keyed, keyed
from tests.helpers import Portal
from tests.realtime.support import system_texts
from tests.servers import another_node
from tests.sockets import eventually, online


async def seated(portal: Portal, chat_id: int, count: int) -> bool:
    return len(await portal.container.presence.sockets_in(chat_id)) == count


async def test_seat_joins_every_connected_socket_of_both_members(portal: Portal, sockets) -> None:
    a, b, chat_id = await pair(portal)
    first_a = await online(sockets, a.client.session_token)
    second_a = await online(sockets, a.client.session_token)
    on_b = await online(sockets, b.client.session_token)
    bystander = await online(sockets, (await portal.login()).client.session_token)

    await portal.container.direct_lifecycle.seat(chat_id, [a.id, b.id])

    await eventually(lambda: seated(portal, chat_id, 3))
    assert await portal.container.presence.user_ids_in(chat_id) == {a.id, b.id}
    members = await on_b.expect_where(
        "room:members", lambda e: e["chat_id"] == chat_id and all(m["online"] for m in e["members"])
    )
    assert sorted(m["user"]["id"] for m in members["members"]) == sorted([a.id, b.id])
    for probe in (first_a, second_a):
        assert await probe.expect_for("room:members", chat_id)
    await bystander.assert_silent("room:members", chat_id)
    assert await system_texts(portal, chat_id) == []

    # an explicit join afterwards is still allowed and changes nothing
    ack = await join_by_token(first_a, portal, chat_id, a)
    assert ack["live"]["viewer_count"] == 2
    assert await seated(portal, chat_id, 3)


async def test_seating_asks_a_distributor_for_the_new_chats_first_key(portal: Portal, sockets) -> None:
    a, b, chat_id = await pair(portal)
    key_a = await keyed(portal, sockets, a)
    key_b = await keyed(portal, sockets, b)

    await portal.container.direct_lifecycle.seat(chat_id, [a.id, b.id])

    await eventually(lambda: seated(portal, chat_id, 2))
    needed = await _first_needed(key_a, key_b, chat_id)
    assert needed["epoch"] == 0
    assert {s["user_id"] for s in needed["sessions"]} <= {a.id, b.id}


async def _first_needed(key_a: Keyed, key_b: Keyed, chat_id: int) -> dict[str, Any]:
    """Whichever session was named distributor hears `key:needed` (it makes the chat's first key)."""

    async def either() -> dict[str, Any] | None:
        for member in (key_a, key_b):
            pending = member.sock.pending("key:needed", chat_id)
            if pending:
                return dict(pending[-1])
        return None

    found: dict[str, Any] = await eventually(either)
    return found


async def test_seat_reaches_sockets_on_another_node(portal: Portal, sockets) -> None:
    if portal.server.backend != "postgres":
        pytest.skip("several nodes need PostgreSQL + Redis; the sqlite backend is one process by design")
    a, b, chat_id = await pair(portal)
    async with another_node(portal.server) as node_b:
        on_a = await online(sockets, a.client.session_token)
        on_b = await online(sockets, b.client.session_token, node_b.base_url)

        await portal.container.direct_lifecycle.seat(chat_id, [a.id, b.id])  # node A's action

        await eventually(lambda: seated(portal, chat_id, 2))
        for probe in (on_a, on_b):
            assert await probe.expect_where(
                "room:members", lambda e: e["chat_id"] == chat_id and all(m["online"] for m in e["members"])
            )
        await on_b.close()  # the socket on node B drops: its node arms the grace
        left = await on_a.expect_for("room:peer_left", chat_id)
        assert left["user_id"] == b.id and left["grace_until_ms"] > 0
