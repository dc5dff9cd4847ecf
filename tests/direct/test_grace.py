"""The disconnect grace of a direct chat (08 §54, §28, 05 §6.3): a member with no socket left in the room
arms it (`room:peer_left` with the absolute deadline in ms), a re-join in time cancels it
(`room:peer_back`), and a grace that runs out archives the chat in the contract's order. The deadline is
stored, so another node (or the node after a restart) still acts on it."""

from __future__ import annotations

from portal.events import RoomDestroyed
from tests.direct.support import ENDING, away_until, chat_row, in_room, order_of, pair, token_for
from tests.events import capture_events
from tests.helpers import Portal
from tests.messaging.support import frozen
from tests.realtime.support import system_texts
from tests.servers import node_like
from tests.sockets import SocketProbe, eventually, online


def deadline_ms(portal: Portal) -> int:
    return int((portal.server.clock.time() + portal.server.settings.match_disconnect_grace) * 1000)


async def test_a_dropped_socket_arms_the_grace_and_a_rejoin_in_time_cancels_it(
    portal: Portal, sockets
) -> None:
    a, b, chat_id = await pair(portal)
    grace = portal.server.settings.match_disconnect_grace
    with frozen(portal.server.clock) as clock:
        on_a = await in_room(portal, sockets, a, chat_id)
        on_b = await in_room(portal, sockets, b, chat_id)
        expected = deadline_ms(portal)

        await on_a.close()  # the socket drops

        left = await on_b.expect_for("room:peer_left", chat_id)
        assert left["user_id"] == a.id and set(left) == {"chat_id", "user_id", "grace_until_ms"}
        assert abs(left["grace_until_ms"] - expected) <= 1, (left, expected)
        assert await away_until(portal, chat_id, a.id) is not None

        clock.advance(grace - 1)
        back = await in_room(portal, sockets, a, chat_id)  # a new socket, with the token

        assert await on_b.expect_for("room:peer_back", chat_id) == {"chat_id": chat_id, "user_id": a.id}
        assert await away_until(portal, chat_id, a.id) is None
        clock.advance(grace * 3)
        await portal.container.janitor.run_once()
        await portal.container.direct_lifecycle.check_due()

    chat = await chat_row(portal, chat_id)
    assert chat is not None and chat.archived_at is None
    assert await system_texts(portal, chat_id) == []
    for probe in (on_b, back):
        await probe.assert_silent("room:destroyed", chat_id)
    await back.assert_silent("room:peer_left", chat_id)


async def test_room_leave_of_the_last_socket_arms_it_too_and_a_second_socket_does_not(
    portal: Portal, sockets
) -> None:
    a, b, chat_id = await pair(portal)
    first = await in_room(portal, sockets, a, chat_id)
    second = await in_room(portal, sockets, a, chat_id)
    on_b = await in_room(portal, sockets, b, chat_id)

    assert await first.call("room:leave", {"chat_id": chat_id}) == {"ok": True}
    await on_b.assert_silent("room:peer_left", chat_id)  # a still has a socket in the room
    assert await second.call("room:leave", {"chat_id": chat_id}) == {"ok": True}

    left = await on_b.expect_for("room:peer_left", chat_id)
    assert left["user_id"] == a.id and left["grace_until_ms"] > 0


async def test_a_grace_that_runs_out_archives_in_the_contracts_order(portal: Portal, sockets) -> None:
    a, b, chat_id = await pair(portal)
    grace = portal.server.settings.match_disconnect_grace
    with frozen(portal.server.clock) as clock:
        on_a = await in_room(portal, sockets, a, chat_id)
        on_b = await in_room(portal, sockets, b, chat_id)
        outside = await online(sockets, b.client.session_token)  # b's socket not in the room
        await on_a.close()
        await on_b.expect_for("room:peer_left", chat_id)

        async with capture_events(portal.container) as sent:
            clock.advance(grace + 1)
            await portal.container.janitor.run_once()
            await on_b.expect_for("room:destroyed", chat_id)

    ending = [e for e in sent.about(chat_id) if e.name in ENDING]
    assert [e.name for e in ending] == list(ENDING), sent.about(chat_id).names()
    said, peer_left, destroyed = ending
    assert said.payload["content"] == f"{a.user['username']} left the chat"
    assert said.payload["type"] == "system" and said.rooms == (f"chat:{chat_id}",)
    assert peer_left.payload == {"chat_id": chat_id, "user_id": a.id, "grace_until_ms": 0}
    assert peer_left.rooms == (f"user:{b.id}",)
    assert destroyed.payload == RoomDestroyed(chat_id=chat_id, archived=True).payload()
    assert destroyed.payload == {"chat_id": chat_id, "archived": True}

    # the remaining member's socket saw them in that order, then left the room
    seen = order_of(on_b, chat_id, ENDING)
    assert [name for name, _ in seen][-3:] == list(ENDING), seen
    assert seen[-3][1]["content"] == f"{a.user['username']} left the chat"
    assert seen[-2][1]["grace_until_ms"] == 0
    await eventually(lambda: _empty(portal, chat_id))
    assert await outside.expect_for("room:peer_left", chat_id)  # every socket of the peer hears it
    await outside.assert_silent("room:destroyed", chat_id)  # the chat stays listed (archived)

    chat = await chat_row(portal, chat_id)
    assert chat is not None and chat.archived_at is not None
    assert await system_texts(portal, chat_id) == [f"{a.user['username']} left the chat"]
    ack = await on_b.call("room:join", {"token": token_for(portal, chat_id, b)})
    assert ack["ok"] is False and ack["error"] == "ERR_CHAT_ARCHIVED", ack


async def _empty(portal: Portal, chat_id: int) -> bool:
    return not await portal.container.presence.sockets_in(chat_id)


async def test_with_both_away_the_first_deadline_archives(portal: Portal, sockets) -> None:
    a, b, chat_id = await pair(portal)
    grace = portal.server.settings.match_disconnect_grace
    with frozen(portal.server.clock) as clock:
        on_a = await in_room(portal, sockets, a, chat_id)
        on_b = await in_room(portal, sockets, b, chat_id)
        watcher = await online(sockets, a.client.session_token)  # a's socket outside the room
        await on_b.close()
        await on_a.expect_for("room:peer_left", chat_id)
        clock.advance(5)
        await on_a.close()
        await eventually(lambda: _away(portal, chat_id, a.id))

        clock.advance(grace - 4)  # b's deadline passed, a's not yet
        await portal.container.janitor.run_once()

    chat = await chat_row(portal, chat_id)
    assert chat is not None and chat.archived_at is not None
    assert await system_texts(portal, chat_id) == [f"{b.user['username']} left the chat"]
    ended = await watcher.expect_where("room:peer_left", lambda e: e["grace_until_ms"] == 0)
    assert ended == {"chat_id": chat_id, "user_id": b.id, "grace_until_ms": 0}


async def _away(portal: Portal, chat_id: int, user_id: int) -> bool:
    return await away_until(portal, chat_id, user_id) is not None


async def test_a_late_rejoin_before_any_pass_finds_the_chat_ended(portal: Portal, sockets) -> None:
    """The grace is over at its deadline even if no pass ran yet: the re-join archives it and is refused."""
    a, b, chat_id = await pair(portal)
    grace = portal.server.settings.match_disconnect_grace
    with frozen(portal.server.clock) as clock:
        on_a = await in_room(portal, sockets, a, chat_id)
        on_b = await in_room(portal, sockets, b, chat_id)
        await on_a.close()
        await on_b.expect_for("room:peer_left", chat_id)
        clock.advance(grace + 1)
        late = await online(sockets, a.client.session_token)
        ack = await late.call("room:join", {"token": token_for(portal, chat_id, a)})

    assert ack["ok"] is False and ack["error"] == "ERR_CHAT_ARCHIVED", ack
    assert (await on_b.expect_for("room:destroyed", chat_id))["archived"] is True
    await on_b.assert_silent("room:peer_back", chat_id)


async def test_a_deadline_armed_by_a_node_that_stopped_is_archived_by_another(
    portal: Portal, sockets
) -> None:
    a, b, chat_id = await pair(portal)
    grace = portal.server.settings.match_disconnect_grace
    with frozen(portal.server.clock) as clock:
        async with node_like(portal.server) as node_b:
            on_a = SocketProbe(node_b.base_url)
            on_b = SocketProbe(node_b.base_url)
            try:
                for probe, who in ((on_a, a), (on_b, b)):
                    await probe.connect(token=who.client.session_token)
                    await probe.expect("chat:list")
                    ack = await probe.call("room:join", {"token": token_for(portal, chat_id, who)})
                    assert ack["ok"] is True, ack
                await on_a.close()
                await on_b.expect_for("room:peer_left", chat_id)
            finally:
                await on_a.close()
                await on_b.close()
            await eventually(lambda: _away(portal, chat_id, b.id))
        # node B is gone (its in-process timers with it); the deadline is in the database
        clock.advance(grace + 1)
        report = await portal.container.janitor.run_once()

    assert report.direct_chats_archived >= 1  # other tests' chats share the server
    chat = await chat_row(portal, chat_id)
    assert chat is not None and chat.archived_at is not None
    assert await system_texts(portal, chat_id) == [f"{a.user['username']} left the chat"]
