"""Rooms over Socket.IO: join, leave, disconnect, the join ack and what the others see
(00 §5, 08 §14, §20)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from portal.db.models import ChatActivity
from tests.helpers import Portal, parse_time
from tests.realtime.conftest import online
from tests.realtime.support import (
    ACK_KEYS,
    activity,
    assert_system_message,
    join,
    membership,
    public_room,
    system_texts,
    user_ref,
    viewer_count,
)


async def join_activity_rows(portal: Portal, chat_id: int, user_id: int) -> int:
    async with portal.container.db.read() as session:
        query = (
            select(func.count())
            .select_from(ChatActivity)
            .where(
                ChatActivity.chat_id == chat_id,
                ChatActivity.user_id == user_id,
                ChatActivity.action == "join",
            )
        )
        return int((await session.execute(query)).scalar_one())


# ---- the join ack ---------------------------------------------------------------------------------------


async def test_join_by_chat_id_answers_the_full_ack(portal: Portal, sockets) -> None:
    """00 §5: `{ok, chat, epoch, history_visible, members, public_keys, key, distributor, live, vm, control}`;
    08 §9: `chat` is the one chat object; 08 §2: `epoch` is an integer; 08 §14: members of a public chat
    are the users in the room."""
    owner, chat = await public_room(portal)
    guest = await portal.login()
    listed = {c["id"]: c for c in await guest.client.call("GET", "/v1/portal/chats")}
    probe = await online(sockets, guest.client.session_token)

    ack = await join(probe, chat["id"])

    assert set(ack) == ACK_KEYS
    assert ack["chat"] == listed[chat["id"]]
    assert ack["chat"]["visibility"] == "public" and ack["chat"]["owner"]["id"] == owner.id
    assert ack["epoch"] == 0 and type(ack["epoch"]) is int
    assert ack["history_visible"] is True
    assert ack["members"] == [{"user": {**user_ref(guest), "permission_level": 0}, "online": True}]
    assert ack["public_keys"] == []
    assert ack["key"] is None
    assert ack["distributor"] is None
    assert ack["live"] == {"running": False, "viewer_count": 1}
    assert ack["vm"] is None
    assert ack["control"] == {"host_user_id": None, "queue": []}


async def test_join_by_slug_records_a_vanity_membership_and_activity(portal: Portal, sockets) -> None:
    """00 §3.8, 08 §20, §63: a `{slug}` join is method `vanity` with invite_code = the slug."""
    owner, chat = await public_room(portal)
    guest = await portal.login()
    probe = await online(sockets, guest.client.session_token)

    ack = await probe.call("room:join", {"slug": chat["slug"]})

    assert ack["ok"] is True, ack
    assert ack["chat"]["id"] == chat["id"] and ack["chat"]["slug"] == chat["slug"]
    row = await membership(portal, chat["id"], guest.id)
    assert row is not None and (row.method, row.invite_code) == ("vanity", chat["slug"])
    latest = (await activity(owner, chat["id"]))[0]
    assert latest["user"] == user_ref(guest)
    assert (latest["action"], latest["method"], latest["invite_code"]) == ("join", "vanity", chat["slug"])


async def test_join_with_slug_and_its_own_chat_id_is_accepted(portal: Portal, sockets) -> None:
    _, chat = await public_room(portal)
    guest = await portal.login()
    probe = await online(sockets, guest.client.session_token)

    ack = await probe.call("room:join", {"chat_id": chat["id"], "slug": chat["slug"]})

    assert ack["ok"] is True and ack["chat"]["id"] == chat["id"]
    row = await membership(portal, chat["id"], guest.id)
    assert row is not None and row.method == "vanity"


async def test_join_with_mismatching_slug_and_chat_id_or_unknown_slug_is_not_found(
    portal: Portal, sockets
) -> None:
    owner, chat = await public_room(portal)
    _, other = await public_room(portal)
    guest = await portal.login()
    probe = await online(sockets, guest.client.session_token)

    for payload in (
        {"chat_id": other["id"], "slug": chat["slug"]},
        {"chat_id": chat["id"], "slug": other["slug"]},
        {"slug": "no-such-slug-anywhere"},
        {"chat_id": chat["id"], "slug": "no-such-slug-anywhere"},
    ):
        ack = await probe.call("room:join", payload)
        assert ack["ok"] is False and ack["error"] == "ERR_NOT_FOUND", (payload, ack)

    assert await membership(portal, chat["id"], guest.id) is None
    assert await membership(portal, other["id"], guest.id) is None
    assert await viewer_count(portal, owner, chat["id"]) == 0
    assert await viewer_count(portal, owner, other["id"]) == 0


async def test_join_with_neither_chat_id_nor_slug_is_a_bad_request(portal: Portal, sockets) -> None:
    guest = await portal.login()
    probe = await online(sockets, guest.client.session_token)
    for payload in ({}, {"chat_id": None}, {"slug": None}, {"chat_id": None, "slug": None}, {"name": "x"}):
        ack = await probe.call("room:join", payload)
        assert ack == {"ok": False, "error": "ERR_BAD_REQUEST", "message": ack.get("message")}, payload
        assert ack["ok"] is False and ack["error"] == "ERR_BAD_REQUEST"


async def test_unknown_chat_is_not_found(portal: Portal, sockets) -> None:
    guest = await portal.login()
    probe = await online(sockets, guest.client.session_token)
    for chat_id in (2**31 - 1, 2**31, 0, -5, 2**63):
        ack = await probe.call("room:join", {"chat_id": chat_id})
        assert ack["ok"] is False and ack["error"] == "ERR_NOT_FOUND", (chat_id, ack)


async def test_slug_of_a_chat_made_private_no_longer_resolves(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    await owner.client.call("POST", f"/v1/portal/chats/{chat['id']}/config/update", json={"slug": None})
    guest = await portal.login()
    probe = await online(sockets, guest.client.session_token)
    ack = await probe.call("room:join", {"slug": chat["slug"]})
    assert ack["ok"] is False and ack["error"] == "ERR_NOT_FOUND"


# ---- membership and activity (08 §20) -----------------------------------------------------------------


async def test_first_join_writes_a_direct_membership_and_later_joins_only_refresh_joined_at(
    portal: Portal, sockets
) -> None:
    owner, chat = await public_room(portal)
    guest = await portal.login()
    probe = await online(sockets, guest.client.session_token)

    await join(probe, chat["id"])
    first = await membership(portal, chat["id"], guest.id)
    assert first is not None and (first.method, first.invite_code) == ("direct", None)
    latest = (await activity(owner, chat["id"]))[0]
    assert (latest["user"]["id"], latest["action"], latest["method"], latest["invite_code"]) == (
        guest.id,
        "join",
        "direct",
        None,
    )

    await probe.call("room:leave", {"chat_id": chat["id"]})
    portal.server.clock.advance(120)
    await join(probe, chat["id"], slug=chat["slug"])  # even by slug: the membership already exists

    again = await membership(portal, chat["id"], guest.id)
    assert again is not None and again.id == first.id
    assert (again.method, again.invite_code) == ("direct", None)
    assert 120 <= (again.joined_at - first.joined_at).total_seconds() < 130  # the fake clock keeps running
    assert await join_activity_rows(portal, chat["id"], guest.id) == 1
    members = await owner.client.call("GET", f"/v1/portal/chats/{chat['id']}/members")
    entry = next(m for m in members["members"] if m["user"]["id"] == guest.id)
    assert parse_time(entry["joined_at"]) == again.joined_at
    assert entry["online"] is True


async def test_first_join_of_an_official_chat_writes_a_direct_membership(portal: Portal, sockets) -> None:
    admin = await portal.login("admin")
    chat = await portal.official_chat(admin.id)
    guest = await portal.login()
    probe = await online(sockets, guest.client.session_token)

    await join(probe, chat["id"])

    row = await membership(portal, chat["id"], guest.id)
    assert row is not None and (row.method, row.invite_code) == ("direct", None)
    assert await join_activity_rows(portal, chat["id"], guest.id) == 1

    other = await portal.login()
    ack = await (await online(sockets, other.client.session_token)).call("room:join", {"slug": chat["slug"]})
    assert ack["ok"] is True and ack["chat"]["visibility"] == "official"
    row = await membership(portal, chat["id"], other.id)
    assert row is not None and (row.method, row.invite_code) == ("vanity", chat["slug"])


async def test_owner_joining_their_own_chat_gets_no_membership_row(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    probe = await online(sockets, owner.client.session_token)
    await join(probe, chat["id"])
    assert await membership(portal, chat["id"], owner.id) is None
    assert await join_activity_rows(portal, chat["id"], owner.id) == 0


async def test_private_chat_join_by_an_admin_writes_no_membership(portal: Portal, sockets) -> None:
    owner = await portal.login("user", tier=2)
    chat = await portal.private_chat(owner)
    admin = await portal.login("admin")
    probe = await online(sockets, admin.client.session_token)
    await join(probe, chat["id"])
    assert await membership(portal, chat["id"], admin.id) is None
    assert await join_activity_rows(portal, chat["id"], admin.id) == 0


async def test_repeated_join_of_the_same_socket_is_idempotent(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    guest, third = await portal.login(), await portal.login()
    watcher = await online(sockets, owner.client.session_token)
    await join(watcher, chat["id"])
    probe = await online(sockets, guest.client.session_token)

    await join(probe, chat["id"])
    again = await join(probe, chat["id"])

    assert again["live"] == {"running": False, "viewer_count": 2}
    assert (await watcher.expect("room:member_joined"))["user"]["id"] == owner.id  # its own arrival
    assert (await watcher.expect("room:member_joined"))["user"]["id"] == guest.id
    # A later arrival proves nothing else was announced in between.
    await join(await online(sockets, third.client.session_token), chat["id"])
    assert (await watcher.expect("room:member_joined"))["user"]["id"] == third.id
    texts = await system_texts(portal, chat["id"])
    assert texts.count(f"{guest.user['username']} joined the chat") == 1
    assert await join_activity_rows(portal, chat["id"], guest.id) == 1


# ---- what the others see --------------------------------------------------------------------------------


async def test_a_join_is_announced_to_the_room(portal: Portal, sockets) -> None:
    """00 §5: `room:member_joined {chat_id, user}`, `room:members`, `chat:status`, "joined the chat"."""
    owner, chat = await public_room(portal)
    guest = await portal.login()
    watcher = await online(sockets, owner.client.session_token)
    await join(watcher, chat["id"])
    probe = await online(sockets, guest.client.session_token)

    ack = await join(probe, chat["id"])
    assert ack["live"]["viewer_count"] == 2

    assert await watcher.expect("room:member_joined") == {"chat_id": chat["id"], "user": user_ref(owner)}
    assert await watcher.expect("room:member_joined") == {"chat_id": chat["id"], "user": user_ref(guest)}
    members = await watcher.expect_where(
        "room:members", lambda m: m["chat_id"] == chat["id"] and len(m["members"]) == 2
    )
    assert members == {
        "chat_id": chat["id"],
        "members": sorted(
            (
                {"user": {**user_ref(owner), "permission_level": 0}, "online": True},
                {"user": {**user_ref(guest), "permission_level": 0}, "online": True},
            ),
            key=lambda m: m["user"]["id"],
        ),
    }
    assert ack["members"] == members["members"]
    status = await watcher.expect_where(
        "chat:status", lambda s: s["chat_id"] == chat["id"] and s["viewer_count"] == 2
    )
    assert status == {"chat_id": chat["id"], "running": False, "viewer_count": 2}
    message = await watcher.expect_where(
        "message:new", lambda m: m["content"] == f"{guest.user['username']} joined the chat"
    )
    assert_system_message(message, chat, f"{guest.user['username']} joined the chat")


async def test_second_socket_of_a_user_announces_nothing_and_counts_once(portal: Portal, sockets) -> None:
    """00 §5: viewer_count = distinct users; "joined"/"left" only for the first socket in / last out."""
    owner, chat = await public_room(portal)
    guest, third = await portal.login(), await portal.login()
    watcher = await online(sockets, owner.client.session_token)
    await join(watcher, chat["id"])
    laptop = await online(sockets, guest.client.session_token)
    phone = await online(sockets, guest.client.session_token)
    await join(laptop, chat["id"])
    await watcher.expect_where("room:member_joined", lambda m: m["user"]["id"] == guest.id)
    await watcher.expect_where("chat:status", lambda s: s["chat_id"] == chat["id"] and s["viewer_count"] == 2)
    watcher.clear()

    ack = await join(phone, chat["id"])
    assert ack["live"]["viewer_count"] == 2
    assert await viewer_count(portal, owner, chat["id"]) == 2

    # Leaving from one of two sockets: nothing either.
    assert await phone.call("room:leave", {"chat_id": chat["id"]}) == {"ok": True}
    assert await viewer_count(portal, owner, chat["id"]) == 2
    await join(await online(sockets, third.client.session_token), chat["id"])
    assert (await watcher.expect("room:member_joined"))["user"]["id"] == third.id
    assert watcher.pending("room:member_left") == []
    messages = [m["content"] for m in watcher.pending("message:new", chat["id"])]
    assert messages == [f"{third.user['username']} joined the chat"]
    texts = await system_texts(portal, chat["id"])
    assert texts.count(f"{guest.user['username']} joined the chat") == 1
    assert f"{guest.user['username']} left the chat" not in texts
    watcher.clear()

    # The last socket out: "left the chat", member_left, a lower count.
    assert await laptop.call("room:leave", {"chat_id": chat["id"]}) == {"ok": True}
    assert await watcher.expect("room:member_left") == {"chat_id": chat["id"], "user": user_ref(guest)}
    status = await watcher.expect_for("chat:status", chat["id"])
    assert status == {"chat_id": chat["id"], "running": False, "viewer_count": 2}
    message = await watcher.expect_for("message:new", chat["id"])
    assert_system_message(message, chat, f"{guest.user['username']} left the chat")
    members = await watcher.expect_for("room:members", chat["id"])
    assert [m["user"]["id"] for m in members["members"]] == sorted([owner.id, third.id])


async def test_leave_stops_room_events_for_that_socket(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    guest, third = await portal.login(), await portal.login()
    probe = await online(sockets, guest.client.session_token)
    await join(probe, chat["id"])
    watcher = await online(sockets, owner.client.session_token)
    await join(watcher, chat["id"])
    await probe.expect("room:member_joined")

    assert await probe.call("room:leave", {"chat_id": chat["id"]}) == {"ok": True}
    assert await viewer_count(portal, owner, chat["id"]) == 1
    probe.clear()
    await join(await online(sockets, third.client.session_token), chat["id"])
    await watcher.expect_where("room:member_joined", lambda m: m["user"]["id"] == third.id)
    await probe.assert_silent("room:member_joined")
    assert probe.pending("message:new", chat["id"]) == []
    # chat:status still reaches it: it can list the chat (00 §5).
    assert await probe.expect_for("chat:status", chat["id"]) == {
        "chat_id": chat["id"],
        "running": False,
        "viewer_count": 2,
    }


async def test_leaving_a_room_never_joined_is_ok_and_changes_nothing(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    guest = await portal.login()
    watcher = await online(sockets, owner.client.session_token)
    await join(watcher, chat["id"])
    probe = await online(sockets, guest.client.session_token)

    assert await probe.call("room:leave", {"chat_id": chat["id"]}) == {"ok": True}
    assert await probe.call("room:leave", {"chat_id": 2**31 - 1}) == {"ok": True}

    await probe.assert_silent("room:member_left")
    assert watcher.pending("room:member_left") == []
    assert f"{guest.user['username']} left the chat" not in await system_texts(portal, chat["id"])
    assert await viewer_count(portal, owner, chat["id"]) == 1


async def test_disconnect_without_leave_announces_the_departure(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    guest = await portal.login()
    watcher = await online(sockets, owner.client.session_token)
    await join(watcher, chat["id"])
    probe = await online(sockets, guest.client.session_token)
    await join(probe, chat["id"])
    await watcher.expect_where("chat:status", lambda s: s["chat_id"] == chat["id"] and s["viewer_count"] == 2)

    await probe.sio.disconnect()

    assert await watcher.expect("room:member_left") == {"chat_id": chat["id"], "user": user_ref(guest)}
    status = await watcher.expect_for("chat:status", chat["id"])
    assert status == {"chat_id": chat["id"], "running": False, "viewer_count": 1}
    message = await watcher.expect_where(
        "message:new", lambda m: m["content"] == f"{guest.user['username']} left the chat"
    )
    assert_system_message(message, chat, f"{guest.user['username']} left the chat")
    assert await viewer_count(portal, owner, chat["id"]) == 1


async def test_disconnect_of_one_of_two_sockets_announces_nothing(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    guest, third = await portal.login(), await portal.login()
    watcher = await online(sockets, owner.client.session_token)
    await join(watcher, chat["id"])
    laptop = await online(sockets, guest.client.session_token)
    phone = await online(sockets, guest.client.session_token)
    await join(laptop, chat["id"])
    await join(phone, chat["id"])
    await watcher.expect_where("room:member_joined", lambda m: m["user"]["id"] == guest.id)

    await phone.sio.disconnect()
    await join(await online(sockets, third.client.session_token), chat["id"])

    await watcher.expect_where("room:member_joined", lambda m: m["user"]["id"] == third.id)
    assert watcher.pending("room:member_left") == []
    assert await viewer_count(portal, owner, chat["id"]) == 3
    assert f"{guest.user['username']} left the chat" not in await system_texts(portal, chat["id"])


# ---- chat:list and chat:status (00 §5, 03 §1.4) ----------------------------------------------------------


async def test_chat_list_on_connect_has_every_listable_chat_with_live_state(portal: Portal, sockets) -> None:
    admin = await portal.login("admin")
    official = await portal.official_chat(admin.id)
    owner, public = await public_room(portal)
    own_private = await portal.private_chat(owner)
    other_owner = await portal.login("user", tier=2)
    member_private = await portal.private_chat(other_owner)
    foreign_private = await portal.private_chat(other_owner)
    await portal.invite_into(other_owner, member_private["id"], owner)
    guest = await portal.login()
    await join(await online(sockets, guest.client.session_token), public["id"])

    probe = await online(sockets, owner.client.session_token)

    entries = {entry["chat_id"]: entry for entry in probe.chat_list}
    assert all(set(entry) == {"chat_id", "running", "viewer_count"} for entry in probe.chat_list)
    assert len(entries) == len(probe.chat_list)
    listed = {chat["id"] for chat in await owner.client.call("GET", "/v1/portal/chats")}
    assert set(entries) == listed
    assert {official["id"], public["id"], own_private["id"], member_private["id"]} <= set(entries)
    assert foreign_private["id"] not in entries
    assert entries[public["id"]] == {"chat_id": public["id"], "running": False, "viewer_count": 1}
    assert entries[official["id"]] == {"chat_id": official["id"], "running": False, "viewer_count": 0}

    # An Admin does not list other people's private chats either (00 §3.8: no rank-based listing).
    admin_probe = await online(sockets, admin.client.session_token)
    assert foreign_private["id"] not in {entry["chat_id"] for entry in admin_probe.chat_list}


async def test_stranger_gets_an_empty_chat_list(portal: Portal, sockets) -> None:
    admin = await portal.login("admin")
    await portal.official_chat(admin.id)
    stranger = await portal.stranger()
    probe = await online(sockets, stranger.client.session_token)
    assert probe.chat_list == []


async def test_chat_status_reaches_everyone_who_can_list_the_chat(portal: Portal, sockets) -> None:
    """00 §5: a lobby user who never joined sees a public chat's status, not someone else's private one;
    a private chat's members do (without joining)."""
    owner, public = await public_room(portal)
    private = await portal.private_chat(owner)
    member, lobby, guest = await portal.login(), await portal.login(), await portal.login()
    await portal.invite_into(owner, private["id"], member)
    lobby_probe = await online(sockets, lobby.client.session_token)
    member_probe = await online(sockets, member.client.session_token)
    stranger = await portal.stranger()
    stranger_probe = await online(sockets, stranger.client.session_token)
    owner_probe = await online(sockets, owner.client.session_token)

    await join(owner_probe, private["id"])
    assert await member_probe.expect_for("chat:status", private["id"]) == {
        "chat_id": private["id"],
        "running": False,
        "viewer_count": 1,
    }
    await join(await online(sockets, guest.client.session_token), public["id"])

    status = {"chat_id": public["id"], "running": False, "viewer_count": 1}
    assert await lobby_probe.expect_for("chat:status", public["id"]) == status
    assert await member_probe.expect_for("chat:status", public["id"]) == status
    # The public chat's status arrived after the private one's would have.
    assert lobby_probe.pending("chat:status", private["id"]) == []
    await stranger_probe.assert_silent("chat:status", public["id"])
    assert stranger_probe.pending("chat:status", private["id"]) == []


async def test_concurrent_joins_of_one_socket_count_once(portal: Portal, sockets) -> None:
    """A double-clicked join must not leave the user counted after they leave."""
    owner, chat = await public_room(portal)
    guest = await portal.login()
    probe = await online(sockets, guest.client.session_token)

    acks = await asyncio.gather(*(probe.call("room:join", {"chat_id": chat["id"]}) for _ in range(5)))

    assert all(ack["ok"] for ack in acks), acks
    assert await viewer_count(portal, owner, chat["id"]) == 1
    assert (await system_texts(portal, chat["id"])).count(f"{guest.user['username']} joined the chat") == 1
    assert await probe.call("room:leave", {"chat_id": chat["id"]}) == {"ok": True}
    assert await viewer_count(portal, owner, chat["id"]) == 0
    assert await portal.container.presence.user_ids_in(chat["id"]) == set()


async def test_concurrent_first_joins_of_two_sockets_announce_the_user_once(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    guest = await portal.login()
    probes = [await online(sockets, guest.client.session_token) for _ in range(4)]

    await asyncio.gather(*(join(probe, chat["id"]) for probe in probes))

    assert await viewer_count(portal, owner, chat["id"]) == 1
    assert (await system_texts(portal, chat["id"])).count(f"{guest.user['username']} joined the chat") == 1
    await asyncio.gather(*(probe.call("room:leave", {"chat_id": chat["id"]}) for probe in probes))
    assert await viewer_count(portal, owner, chat["id"]) == 0
    assert (await system_texts(portal, chat["id"])).count(f"{guest.user['username']} left the chat") == 1
