"""Presence: viewer counts follow sockets, dead sockets are dropped, sessions ending leave rooms, and
`/v1/portal/status` counts registered users with a socket (00 §5, 03 §1.4, 08 §43, §57)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from typing import Any

import pytest

from portal.config import Settings
from portal.container import Container
from portal.errors import SocketGone
from portal.realtime.server import create_socket_server
from portal.services.rooms import SocketUser
from tests.helpers import LoggedIn, Portal
from tests.realtime.conftest import EVENT_TIMEOUT, SocketProbe, eventually, online
from tests.realtime.support import assert_system_message, join, public_room, user_ref, viewer_count
from tests.servers import node_like

DEAD_SOCKET_LIMIT = 30  # seconds within which a silently dead socket must stop counting (issue 3)


# ---- dead sockets ---------------------------------------------------------------------------------------


def test_default_ping_settings_drop_a_silent_socket_within_30_seconds() -> None:
    """engine.io closes a websocket that sent nothing (no pong) for ping_interval + ping_timeout."""
    interval = Settings.model_fields["socket_ping_interval"].default
    timeout = Settings.model_fields["socket_ping_timeout"].default
    assert (interval, timeout) == (10, 10)
    assert interval + timeout < DEAD_SOCKET_LIMIT


def test_ping_settings_come_from_the_environment_and_reach_the_socket_server(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PORTAL_SOCKET_PING_INTERVAL", "7")
    monkeypatch.setenv("PORTAL_SOCKET_PING_TIMEOUT", "3.5")
    settings = Settings(var_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    assert (settings.socket_ping_interval, settings.socket_ping_timeout) == (7, 3.5)
    sio = create_socket_server(Container(settings))
    assert (sio.eio.ping_interval, sio.eio.ping_timeout) == (7, 3.5)


def stop_answering_pings(probe: SocketProbe) -> None:
    """The client keeps its connection open but never sends another packet (no pong): a dead peer."""

    async def swallow(_packet: Any) -> None:
        return None

    probe.sio.eio._send_packet = swallow  # type: ignore[method-assign]


def cut_transport(probe: SocketProbe) -> None:
    """Drop the TCP connection under the websocket without a close frame (a crashed browser)."""
    ws = probe.sio.eio.ws
    connection = getattr(ws, "_conn", None) or ws._response.connection
    connection.transport.abort()


async def assert_dropped_within(
    node_client: Any, watcher: SocketProbe, chat: dict[str, Any], gone: LoggedIn, limit: float
) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await watcher.expect("room:member_left", timeout=limit) == {
        "chat_id": chat["id"],
        "user": user_ref(gone),
    }
    elapsed = loop.time() - started
    status = await watcher.expect_for("chat:status", chat["id"])
    assert status == {"chat_id": chat["id"], "running": False, "viewer_count": 1}
    message = await watcher.expect_where(
        "message:new", lambda m: m["content"] == f"{gone.user['username']} left the chat"
    )
    assert_system_message(message, chat, f"{gone.user['username']} left the chat")
    detail = await node_client.call("GET", f"/v1/portal/chats/{chat['id']}")
    assert detail["live"]["viewer_count"] == 1
    return elapsed


async def test_socket_that_stops_answering_pings_is_dropped_from_rooms(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    guest = await portal.login()
    # Short pings (detection within interval + timeout = 1.5 s); the timeout leaves the healthy watcher
    # some slack on a busy machine.
    async with node_like(portal.server, socket_ping_interval=0.5, socket_ping_timeout=1) as node:
        node_client = portal.client(base_url=node.base_url)
        node_client.session_token = owner.client.session_token
        watcher = await online(sockets, owner.client.session_token, node.base_url)
        await join(watcher, chat["id"])
        dead = await online(sockets, guest.client.session_token, node.base_url)
        await join(dead, chat["id"])
        await watcher.expect_where(
            "chat:status", lambda s: s["chat_id"] == chat["id"] and s["viewer_count"] == 2
        )
        # The watcher keeps answering pings for a few rounds and stays.
        stop_answering_pings(dead)

        elapsed = await assert_dropped_within(node_client, watcher, chat, guest, limit=EVENT_TIMEOUT)

        assert elapsed < 4  # interval + timeout = 1.5 s, plus scheduling
        # The healthy client was told a usable interval (engine.io announces whole seconds) and stayed.
        assert watcher.sio.eio.ping_interval >= 0.5
        assert watcher.sio.connected
        status = await node_client.call("GET", "/v1/portal/status")
        assert guest.id not in [u["user_id"] for u in status["users"]]


async def test_socket_whose_transport_dies_is_dropped_from_rooms_at_once(portal: Portal, sockets) -> None:
    """A connection that breaks (no close frame) is noticed by the transport, well before any ping."""
    owner, chat = await public_room(portal)
    guest = await portal.login()
    watcher = await online(sockets, owner.client.session_token)
    await join(watcher, chat["id"])
    dead = await online(sockets, guest.client.session_token)
    await join(dead, chat["id"])
    await watcher.expect_where("chat:status", lambda s: s["chat_id"] == chat["id"] and s["viewer_count"] == 2)

    cut_transport(dead)

    elapsed = await assert_dropped_within(owner.client, watcher, chat, guest, limit=EVENT_TIMEOUT)
    assert elapsed < portal.server.settings.socket_ping_interval  # not the ping timeout


# ---- sessions ending (00 §5, 08 §57) --------------------------------------------------------------------


async def test_logout_ends_only_that_sessions_sockets_and_they_leave_their_rooms(
    portal: Portal, sockets
) -> None:
    owner, chat = await public_room(portal)
    alice, third = await portal.login(), await portal.login()
    phone_client = portal.client()
    identity = alice.user["linked_platforms"][0]
    await portal.web_login(phone_client, identity["platform"], identity["platform_user_id"])
    watcher = await online(sockets, owner.client.session_token)
    await join(watcher, chat["id"])
    laptop = await online(sockets, alice.client.session_token)
    phone = await online(sockets, phone_client.session_token)
    await join(laptop, chat["id"])
    await join(phone, chat["id"])
    await watcher.expect_where("room:member_joined", lambda m: m["user"]["id"] == alice.id)

    await alice.client.logout()

    assert await laptop.expect("session:ended") == {"reason": "logout"}
    await laptop.wait_disconnected()
    assert phone.sio.connected and phone.pending("session:ended") == []
    # Alice is still in the room through her phone: nothing announced.
    await join(await online(sockets, third.client.session_token), chat["id"])
    await watcher.expect_where("room:member_joined", lambda m: m["user"]["id"] == third.id)
    assert watcher.pending("room:member_left") == []
    assert await viewer_count(portal, owner, chat["id"]) == 3
    assert await phone.expect_where("room:member_joined", lambda m: m["user"]["id"] == third.id)
    await watcher.expect_where("chat:status", lambda s: s["chat_id"] == chat["id"] and s["viewer_count"] == 3)
    watcher.clear()

    await phone_client.logout()

    assert await phone.expect("session:ended") == {"reason": "logout"}
    assert await watcher.expect("room:member_left") == {"chat_id": chat["id"], "user": user_ref(alice)}
    await watcher.expect_where(
        "message:new", lambda m: m["content"] == f"{alice.user['username']} left the chat"
    )
    status = await watcher.expect_for("chat:status", chat["id"])
    assert status == {"chat_id": chat["id"], "running": False, "viewer_count": 2}


async def test_revoked_session_leaves_its_rooms(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    alice = await portal.login()
    phone_client = portal.client()
    identity = alice.user["linked_platforms"][0]
    await portal.web_login(phone_client, identity["platform"], identity["platform_user_id"])
    watcher = await online(sockets, owner.client.session_token)
    await join(watcher, chat["id"])
    phone = await online(sockets, phone_client.session_token)
    await join(phone, chat["id"])

    await alice.client.destroy_session(phone_client.session_token[-6:])

    assert await phone.expect("session:ended") == {"reason": "revoked"}
    assert await watcher.expect_where("room:member_left", lambda m: m["user"]["id"] == alice.id)
    assert await viewer_count(portal, owner, chat["id"]) == 1


# ---- /v1/portal/status (08 §43) -------------------------------------------------------------------------


async def online_ids(who: LoggedIn) -> list[int]:
    status = await who.client.call("GET", "/v1/portal/status")
    return [entry["user_id"] for entry in status["users"]]


async def test_status_counts_distinct_registered_users_with_a_socket(portal: Portal, sockets) -> None:
    alice, bob, carol = await portal.login(), await portal.login(), await portal.login()
    stranger = await portal.stranger()
    first = await online(sockets, alice.client.session_token)
    second = await online(sockets, alice.client.session_token)
    await online(sockets, bob.client.session_token)
    await online(sockets, stranger.client.session_token)

    status = await carol.client.call("GET", "/v1/portal/status")

    assert set(status) == {"online", "users", "muted"}
    ids = [entry["user_id"] for entry in status["users"]]
    assert ids.count(alice.id) == 1 and ids.count(bob.id) == 1
    assert stranger.id not in ids and carol.id not in ids  # carol has no socket
    assert status["online"] == len(status["users"]) == len(set(ids))
    assert status["muted"] is False
    entry = next(e for e in status["users"] if e["user_id"] == alice.id)
    assert entry == {"user_id": alice.id, "username": alice.user["username"]}
    names = [e["username"].lower() for e in status["users"]]
    assert names == sorted(names)

    await first.sio.disconnect()
    await asyncio.sleep(0.1)
    assert alice.id in await online_ids(carol)  # her second socket is still connected
    await second.sio.disconnect()
    await eventually(lambda: _absent(carol, alice.id))


async def _absent(viewer: LoggedIn, user_id: int) -> bool:
    return user_id not in await online_ids(viewer)


async def test_strangers_socket_is_not_online_but_does_not_hide_anyone(portal: Portal, sockets) -> None:
    viewer = await portal.login()
    stranger = await portal.stranger()
    before = await viewer.client.call("GET", "/v1/portal/status")
    probe = await online(sockets, stranger.client.session_token)
    after = await viewer.client.call("GET", "/v1/portal/status")
    assert after["online"] == before["online"]
    assert stranger.id not in [entry["user_id"] for entry in after["users"]]
    await probe.sio.disconnect()


async def test_presence_counts_a_socket_once_under_concurrent_joins(portal: Portal) -> None:
    """The room bookkeeping itself (shared through Redis by every node): racing joins of one socket
    record one socket, and one leave empties the room."""
    presence = portal.container.presence
    chat_id, sid = 2**31 - 7, f"race-{portal.server.clock.time()}"

    results = await asyncio.gather(*(presence.join(chat_id, sid, 42, "hash", 1) for _ in range(8)))

    recorded = [r for r in results if r is not None]
    assert len(recorded) == 1 and recorded[0].user_first and recorded[0].session_first
    assert await presence.viewer_count(chat_id) == 1
    assert await presence.leave(chat_id, sid) is not None
    assert await presence.viewer_count(chat_id) == 0
    assert await presence.chats_of_socket(sid) == []


def token_hash(token: str | None) -> str:
    assert token is not None
    return hashlib.sha256(token.encode()).hexdigest()


async def test_presence_knows_which_sessions_joined_which_rooms(portal: Portal, sockets) -> None:
    """What messaging and E2EE ask per session (00 §4: a joined session sends; 08 §15: history since the
    session joined): follows room:join / room:leave / disconnect / deletion of the chat."""
    _, chat = await public_room(portal)
    other_owner, other_chat = await public_room(portal)
    alice = await portal.login()
    phone_client = portal.client()
    identity = alice.user["linked_platforms"][0]
    await portal.web_login(phone_client, identity["platform"], identity["platform_user_id"])
    laptop, phone = token_hash(alice.client.session_token), token_hash(phone_client.session_token)
    presence = portal.container.presence
    first = await online(sockets, alice.client.session_token)
    second = await online(sockets, alice.client.session_token)
    await online(sockets, phone_client.session_token)
    joined_at = portal.server.clock.now()

    await join(first, chat["id"])
    portal.server.clock.advance(30)
    await join(second, chat["id"])
    await join(second, other_chat["id"])

    assert await presence.session_in_room(chat["id"], laptop) is True
    assert await presence.session_in_room(chat["id"], phone) is False
    assert await presence.chats_of_session(laptop) == sorted([chat["id"], other_chat["id"]])
    assert await presence.chats_of_session(phone) == []
    since = await presence.session_joined_at(chat["id"], laptop)
    assert since is not None and 0 <= (since - joined_at).total_seconds() < 5  # the earlier socket's join
    assert await presence.session_joined_at(chat["id"], phone) is None

    await first.call("room:leave", {"chat_id": chat["id"]})
    assert await presence.session_in_room(chat["id"], laptop) is True  # the second socket is still in
    later = await presence.session_joined_at(chat["id"], laptop)
    assert later is not None and (later - joined_at).total_seconds() >= 30
    await second.sio.disconnect()
    await eventually(lambda: _no_chats(presence, laptop))
    assert await presence.session_in_room(chat["id"], laptop) is False

    await join(first, other_chat["id"])
    await other_owner.client.call("POST", f"/v1/portal/chats/{other_chat['id']}/delete")
    await eventually(lambda: _no_chats(presence, laptop))


async def _no_chats(presence, session: str) -> bool:
    return await presence.chats_of_session(session) == []


# ---- a join racing its socket's disconnect --------------------------------------------------------------


async def test_a_join_for_a_socket_already_gone_is_refused_and_records_nothing(
    portal: Portal, sockets
) -> None:
    """The socket disconnected while its join was being checked: a clean refusal (no KeyError from
    python-socketio, no ERR_INTERNAL in the log) and no trace of it in the room."""
    _, chat = await public_room(portal)
    guest = await portal.login()
    probe = await online(sockets, guest.client.session_token)
    sid = probe.sio.get_sid("/")
    manager = portal.container.notifier.sio.manager  # type: ignore[attr-defined]
    await probe.sio.disconnect()
    await eventually(lambda: _gone(manager, sid))
    who = SocketUser(user_id=guest.id, token_hash=token_hash(guest.client.session_token), is_stranger=False)

    with pytest.raises(SocketGone):
        await portal.container.rooms.join(who, sid, chat_id=chat["id"])
    assert [r.sid for r in await portal.container.presence.sockets_in(chat["id"])] == []
    assert await portal.container.presence.chats_of_socket(sid) == []


async def test_a_socket_that_disconnects_while_its_join_is_recorded_leaves_no_ghost(
    portal: Portal, sockets
) -> None:
    """The worst order: the disconnect handler looks for the socket's rooms (none yet) and finishes, then the
    join records the socket in the room. The join must notice and take it out again, or the room would
    count a viewer that no longer exists until the node stops."""
    owner, chat = await public_room(portal)
    watcher = await online(sockets, owner.client.session_token)
    await join(watcher, chat["id"])
    guest = await portal.login()
    probe = await online(sockets, guest.client.session_token)
    sid = probe.sio.get_sid("/")
    presence = portal.container.presence
    manager = portal.container.notifier.sio.manager  # type: ignore[attr-defined]
    record = presence.join

    async def disconnect_first(*args: Any, **kwargs: Any) -> Any:
        await probe.sio.eio.disconnect(abort=True)
        await eventually(lambda: _gone(manager, sid))  # the disconnect handler is done
        return await record(*args, **kwargs)

    presence.join = disconnect_first  # type: ignore[method-assign]
    try:
        with contextlib.suppress(Exception):  # the client is gone before its ack
            await probe.call("room:join", {"chat_id": chat["id"]}, timeout=2)
        await eventually(lambda: _gone(manager, sid))
        await eventually(lambda: _room_sids(presence, chat["id"], {watcher.sio.get_sid("/")}))
    finally:
        presence.join = record  # type: ignore[method-assign]
    assert await presence.chats_of_socket(sid) == []
    assert await viewer_count(portal, owner, chat["id"]) == 1


async def _room_sids(presence, chat_id: int, expected: set[str]) -> bool:
    return {r.sid for r in await presence.sockets_in(chat_id)} == expected


async def _gone(manager: Any, sid: str) -> bool:
    return sid not in manager.rooms.get("/", {}).get(None, {})
