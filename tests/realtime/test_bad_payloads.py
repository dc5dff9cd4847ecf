"""Malformed payloads on every client→server event answer ERR_BAD_REQUEST and change nothing; extra fields
are ignored; unknown events are ignored (00 §5 "Acks", 08 §1, §7)."""

from __future__ import annotations

from typing import Any

from tests.helpers import Portal
from tests.realtime.conftest import SocketProbe, online
from tests.realtime.support import join, membership, public_room, system_texts, viewer_count

BAD = {"ok": False, "error": "ERR_BAD_REQUEST"}

# Payloads that are not an object at all: every event refuses them. `(None,)` sends an explicit null.
NOT_OBJECTS: list[Any] = [(None,), "x", "", 5, 1.5, True, [], [1], ["chat_id", 1]]


def assert_bad(ack: Any, context: Any) -> None:
    assert isinstance(ack, dict), (context, ack)
    assert {k: ack.get(k) for k in BAD} == BAD, (context, ack)
    assert set(ack) <= {"ok", "error", "message"}, (context, ack)


async def call_all(probe: SocketProbe, event: str, payloads: list[Any]) -> None:
    for payload in payloads:
        assert_bad(await probe.call(event, payload), (event, payload))


async def test_room_join_refuses_malformed_payloads_and_joins_nothing(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    guest = await portal.login()
    watcher = await online(sockets, owner.client.session_token)
    await join(watcher, chat["id"])
    probe = await online(sockets, guest.client.session_token)
    chat_id, slug = chat["id"], chat["slug"]

    await call_all(
        probe,
        "room:join",
        [
            *NOT_OBJECTS,
            {},
            {"chat_id": str(chat_id)},
            {"chat_id": float(chat_id)},
            {"chat_id": True},
            {"chat_id": [chat_id]},
            {"chat_id": {"id": chat_id}},
            {"chat_id": None},
            {"slug": 5},
            {"slug": [slug]},
            {"slug": True},
            {"slug": None},
            {"chat_id": str(chat_id), "slug": slug},  # one bad field spoils the payload
            {"chat_id": chat_id, "slug": 7},
            {"token": 12345},
        ],
    )

    assert await viewer_count(portal, owner, chat_id) == 1
    assert await membership(portal, chat_id, guest.id) is None
    assert not [t for t in await system_texts(portal, chat_id) if guest.user["username"] in t]
    await probe.assert_silent("room:member_joined")
    assert watcher.pending("room:member_joined") == [
        {"chat_id": chat_id, "user": watcher.pending("room:member_joined")[0]["user"]}
    ]  # only the watcher's own arrival


async def test_room_leave_refuses_malformed_payloads_and_stays_joined(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    guest = await portal.login()
    probe = await online(sockets, guest.client.session_token)
    await join(probe, chat["id"])

    await call_all(
        probe,
        "room:leave",
        [
            *NOT_OBJECTS,
            {},
            {"chat_id": str(chat["id"])},
            {"chat_id": float(chat["id"])},
            {"chat_id": None},
            {"chat_id": [chat["id"]]},
            {"chat_id": False},
            {"slug": chat["slug"]},
        ],
    )

    assert await viewer_count(portal, owner, chat["id"]) == 1
    assert f"{guest.user['username']} left the chat" not in await system_texts(portal, chat["id"])
    assert await probe.call("room:leave", {"chat_id": chat["id"]}) == {"ok": True}
    assert await viewer_count(portal, owner, chat["id"]) == 0


async def test_room_kick_refuses_malformed_payloads_and_kicks_nobody(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    guest = await portal.login()
    owner_probe = await online(sockets, owner.client.session_token)
    await join(owner_probe, chat["id"])
    guest_probe = await online(sockets, guest.client.session_token)
    await join(guest_probe, chat["id"])
    target = {"chat_id": chat["id"], "user_id": guest.id}

    await call_all(
        owner_probe,
        "room:kick",
        [
            *NOT_OBJECTS,
            {},
            {"chat_id": chat["id"]},
            {"user_id": guest.id},
            {**target, "chat_id": str(chat["id"])},
            {**target, "user_id": str(guest.id)},
            {**target, "user_id": None},
            {**target, "user_id": [guest.id]},
            {**target, "ban": "no"},
            {**target, "ban": 0},
            {**target, "duration": "60"},
            {**target, "duration": 1.5},
            {**target, "reason": 5},
            {**target, "reason": ["spam"]},
        ],
    )

    await guest_probe.assert_silent("room:kicked")
    assert await viewer_count(portal, owner, chat["id"]) == 2
    assert await membership(portal, chat["id"], guest.id) is not None
    assert f"{guest.user['username']} was kicked" not in await system_texts(portal, chat["id"])


async def test_typing_refuses_malformed_payloads_and_sends_nothing(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    guest = await portal.login()
    watcher = await online(sockets, owner.client.session_token)
    await join(watcher, chat["id"])
    probe = await online(sockets, guest.client.session_token)
    await join(probe, chat["id"])
    portal.server.clock.advance_to_next(1)

    await call_all(
        probe,
        "typing",
        [
            *NOT_OBJECTS,
            {},
            {"chat_id": str(chat["id"])},
            {"chat_id": None},
            {"chat_id": [chat["id"]]},
            {"chat_id": float(chat["id"])},
        ],
    )

    await watcher.assert_silent("typing")
    # None of that used up the second's allowance.
    assert await probe.call("typing", {"chat_id": chat["id"]}) is None
    assert await watcher.expect("typing") == {"chat_id": chat["id"], "user_id": guest.id}


async def test_presence_ping_refuses_non_objects_and_accepts_an_empty_emit(portal: Portal, sockets) -> None:
    guest = await portal.login()
    probe = await online(sockets, guest.client.session_token)
    await call_all(probe, "presence:ping", NOT_OBJECTS)
    assert await probe.call("presence:ping", {}) == {"ok": True}
    assert await probe.call("presence:ping", None) == {"ok": True}  # an emit without data is `{}`
    assert await probe.call("presence:ping", {"anything": [1, 2]}) == {"ok": True}


async def test_extra_fields_and_extra_arguments_are_ignored(portal: Portal, sockets) -> None:
    """08 §7: Socket.IO payloads ignore extra fields."""
    owner, chat = await public_room(portal)
    guest = await portal.login()
    watcher = await online(sockets, owner.client.session_token)
    await join(watcher, chat["id"])
    probe = await online(sockets, guest.client.session_token)
    extra = {"unknown": 1, "nested": {"chat_id": "x"}, "list": [None]}

    ack = await probe.call("room:join", {"chat_id": chat["id"], **extra})
    assert ack["ok"] is True and ack["chat"]["id"] == chat["id"]
    portal.server.clock.advance_to_next(1)
    assert await probe.call("typing", {"chat_id": chat["id"], **extra}) is None
    assert await watcher.expect("typing") == {"chat_id": chat["id"], "user_id": guest.id}
    assert await probe.call("presence:ping", ({"x": 1}, "second argument")) == {"ok": True}
    assert await probe.call("room:leave", ({"chat_id": chat["id"], **extra}, 2)) == {"ok": True}
    assert await viewer_count(portal, owner, chat["id"]) == 1

    await join(probe, chat["id"])
    ack = await watcher.call("room:kick", {"chat_id": chat["id"], "user_id": guest.id, "ban": False, **extra})
    assert ack == {"ok": True}
    assert await probe.expect("room:kicked") == {"chat_id": chat["id"], "reason": None}


async def test_unknown_events_are_ignored_and_the_connection_stays_up(portal: Portal, sockets) -> None:
    guest = await portal.login()
    probe = await online(sockets, guest.client.session_token)

    for event, data in (
        ("no:such:event", {"chat_id": 1}),
        ("room:destroy", {"chat_id": 1}),
        ("chat:list", None),
        ("ROOM:JOIN", {"chat_id": 1}),
        ("message", "hello"),
    ):
        await probe.sio.emit(event, data)

    assert await probe.call("presence:ping", {}) == {"ok": True}
    assert probe.sio.connected
    assert probe.pending("chat:list") == []
