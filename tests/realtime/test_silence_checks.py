"""`SocketProbe.assert_silent` waits for markers instead of a fixed time: an event sent the instant before
the check, on either path events take, must still be caught (tests/sockets.py)."""

from __future__ import annotations

from typing import Any

import pytest

from portal.events import RoomDestroyed, RoomKicked
from tests.helpers import Portal
from tests.realtime.conftest import online
from tests.servers import another_node

UNKNOWN_CHAT = 2**31 - 1


async def test_an_event_sent_just_before_the_check_is_caught(portal: Portal, sockets: Any) -> None:
    probe = await online(sockets, (await portal.login()).client.session_token)
    sid = probe.sio.get_sid("/")
    notifier = portal.container.notifier

    await notifier.send(RoomDestroyed(chat_id=UNKNOWN_CHAT), room=sid)  # a room emit
    with pytest.raises(AssertionError, match="room:destroyed"):
        await probe.assert_silent("room:destroyed")

    kicked = RoomKicked(chat_id=UNKNOWN_CHAT, reason=None)
    await notifier.evict(UNKNOWN_CHAT, event=kicked, also_rooms=[sid])  # over the LiveStore bus
    with pytest.raises(AssertionError, match="room:kicked"):
        await probe.assert_silent("room:kicked")
    assert probe.pending("room:destroyed") == [{"chat_id": UNKNOWN_CHAT}]  # once each
    assert probe.pending("room:kicked") == [kicked.payload()]


async def test_an_event_another_node_sent_just_before_the_check_is_caught(
    portal: Portal, sockets: Any
) -> None:
    if portal.server.backend != "postgres":
        pytest.skip("several nodes need PostgreSQL + Redis; the sqlite backend is one process by design")
    who = await portal.login()
    async with another_node(portal.server) as node_b:
        on_b = await online(sockets, who.client.session_token, node_b.base_url)
        sid = on_b.sio.get_sid("/")

        await portal.container.notifier.send(RoomDestroyed(chat_id=UNKNOWN_CHAT), room=sid)  # through Redis
        with pytest.raises(AssertionError, match="room:destroyed"):
            await on_b.assert_silent("room:destroyed")
