"""Events rooms receive from actions: typing, kick, delete, config changes (00 §5, 08 §17, §18, §61)."""

from __future__ import annotations

from typing import Any

from tests.helpers import LoggedIn, Portal
from tests.realtime.conftest import SocketProbe, online
from tests.realtime.support import (
    assert_system_message,
    join,
    membership,
    private_room,
    public_room,
    system_texts,
    user_ref,
    viewer_count,
)


async def in_room(sockets: Any, who: LoggedIn, chat_id: int) -> SocketProbe:
    probe = await online(sockets, who.client.session_token)
    await join(probe, chat_id)
    return probe


# ---- typing (00 §5, 08 §61) -----------------------------------------------------------------------------


async def test_typing_reaches_the_others_in_the_room_but_not_the_sender(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    guest = await portal.login()
    sender = await in_room(sockets, owner, chat["id"])
    sender_phone = await in_room(sockets, owner, chat["id"])
    other = await in_room(sockets, guest, chat["id"])
    portal.server.clock.advance_to_next(1)

    assert await sender.call("typing", {"chat_id": chat["id"]}) is None  # no ack payload (00 §5)

    expected = {"chat_id": chat["id"], "user_id": owner.id}
    assert await other.expect("typing") == expected
    assert await sender_phone.expect("typing") == expected  # another socket of the sender is "other"
    await sender.assert_silent("typing")


async def test_typing_is_sent_at_most_once_per_second_per_user(portal: Portal, sockets) -> None:
    """00 §5: "at most 1/s per user" — extra events are dropped, in the same chat or another one."""
    owner, chat = await public_room(portal)
    _, second_chat = await public_room(portal)
    guest, third = await portal.login(), await portal.login()
    sender = await in_room(sockets, guest, chat["id"])
    await join(sender, second_chat["id"])
    watcher = await in_room(sockets, owner, chat["id"])
    await join(watcher, second_chat["id"])
    other_typist = await in_room(sockets, third, chat["id"])
    portal.server.clock.advance_to_next(1)

    for _ in range(3):
        await sender.call("typing", {"chat_id": chat["id"]})
    await sender.call("typing", {"chat_id": second_chat["id"]})  # the same user: already spent
    await other_typist.call("typing", {"chat_id": chat["id"]})  # another user: their own allowance

    received = [await watcher.expect("typing") for _ in range(2)]
    assert sorted(received, key=lambda t: t["user_id"]) == sorted(
        [{"chat_id": chat["id"], "user_id": guest.id}, {"chat_id": chat["id"], "user_id": third.id}],
        key=lambda t: t["user_id"],
    )
    await watcher.assert_silent("typing")

    portal.server.clock.advance_to_next(1)  # the next second: allowed again, in any chat
    await sender.call("typing", {"chat_id": second_chat["id"]})
    assert await watcher.expect("typing") == {"chat_id": second_chat["id"], "user_id": guest.id}


async def test_typing_from_a_socket_that_has_not_joined_sends_nothing(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    guest = await portal.login()
    watcher = await in_room(sockets, owner, chat["id"])
    outside = await online(sockets, guest.client.session_token)  # connected, never joined
    joined_elsewhere = await in_room(sockets, guest, chat["id"])  # the same user's joined socket
    portal.server.clock.advance_to_next(1)

    assert await outside.call("typing", {"chat_id": chat["id"]}) is None
    assert await outside.call("typing", {"chat_id": 2**31 - 1}) is None
    await watcher.assert_silent("typing")

    # The refusal did not use up the user's allowance for this second.
    await joined_elsewhere.call("typing", {"chat_id": chat["id"]})
    assert await watcher.expect("typing") == {"chat_id": chat["id"], "user_id": guest.id}


async def test_typing_after_leaving_sends_nothing(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    guest = await portal.login()
    watcher = await in_room(sockets, owner, chat["id"])
    probe = await in_room(sockets, guest, chat["id"])
    await probe.call("room:leave", {"chat_id": chat["id"]})
    portal.server.clock.advance_to_next(1)

    await probe.call("typing", {"chat_id": chat["id"]})

    await watcher.assert_silent("typing")


# ---- kick (03 §3.8, 00 §5) ------------------------------------------------------------------------------


async def assert_kicked_out(
    portal: Portal,
    owner: LoggedIn,
    watcher: SocketProbe,
    chat: dict[str, Any],
    target: LoggedIn,
    target_sockets: list[SocketProbe],
    reason: str | None,
) -> None:
    """Every target socket got `room:kicked` once and left the room; the room saw the kick."""
    for probe in target_sockets:
        assert await probe.expect("room:kicked") == {"chat_id": chat["id"], "reason": reason}
    message = await watcher.expect_where("message:new", lambda m: m["content"].endswith("was kicked"))
    assert_system_message(message, chat, f"{target.user['username']} was kicked")
    status = await watcher.expect_where(
        "chat:status", lambda s: s["chat_id"] == chat["id"] and s["viewer_count"] == 1
    )
    assert status == {"chat_id": chat["id"], "running": False, "viewer_count": 1}
    assert await viewer_count(portal, owner, chat["id"]) == 1
    assert await membership(portal, chat["id"], target.id) is None
    members = await watcher.expect_where(
        "room:members", lambda m: m["chat_id"] == chat["id"] and len(m["members"]) == 1
    )
    assert [m["user"]["id"] for m in members["members"]] == [owner.id]
    # Out of the room: the next room message does not reach them.
    for probe in target_sockets:
        probe.clear()
    await owner.client.call(
        "POST", f"/v1/portal/chats/{chat['id']}/config/update", json={"wipe_preset": "1h"}
    )
    await watcher.expect_where("message:new", lambda m: m["content"] == "Auto-wipe set to 1h")
    for probe in target_sockets:
        await probe.assert_silent("message:new", chat["id"])
        assert probe.pending("room:config") == []
        assert probe.pending("room:kicked") == []  # exactly once
    assert f"{target.user['username']} left the chat" not in await system_texts(portal, chat["id"])


async def test_rest_kick_removes_every_socket_of_the_target_from_the_room(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    guest = await portal.login()
    watcher = await in_room(sockets, owner, chat["id"])
    laptop = await in_room(sockets, guest, chat["id"])
    phone = await in_room(sockets, guest, chat["id"])

    result = await owner.client.call(
        "POST", f"/v1/portal/chats/{chat['id']}/kick", json={"user_id": guest.id}
    )

    assert result == {"ok": True}
    await assert_kicked_out(portal, owner, watcher, chat, guest, [laptop, phone], reason=None)
    # A public chat may be joined again (a kick is not a ban).
    await join(laptop, chat["id"])


async def test_socket_room_kick_does_the_same_as_rest_and_carries_the_reason(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    guest = await portal.login()
    watcher = await in_room(sockets, owner, chat["id"])
    laptop = await in_room(sockets, guest, chat["id"])
    phone = await in_room(sockets, guest, chat["id"])

    ack = await watcher.call("room:kick", {"chat_id": chat["id"], "user_id": guest.id, "reason": "spam"})

    assert ack == {"ok": True}
    await assert_kicked_out(portal, owner, watcher, chat, guest, [laptop, phone], reason="spam")
    events = (await owner.client.call("GET", f"/v1/portal/chats/{chat['id']}/activity"))["events"]
    assert (events[0]["action"], events[0]["user"], events[0]["actor"]) == (
        "kick",
        user_ref(guest),
        user_ref(owner),
    )


async def test_kicked_member_of_a_private_chat_cannot_join_again(portal: Portal, sockets) -> None:
    owner, chat = await private_room(portal)
    member = await portal.login()
    await portal.invite_into(owner, chat["id"], member)
    watcher = await in_room(sockets, owner, chat["id"])
    probe = await in_room(sockets, member, chat["id"])

    assert await watcher.call("room:kick", {"chat_id": chat["id"], "user_id": member.id}) == {"ok": True}

    assert await probe.expect("room:kicked") == {"chat_id": chat["id"], "reason": None}
    ack = await probe.call("room:join", {"chat_id": chat["id"]})
    assert ack["ok"] is False and ack["error"] == "ERR_FORBIDDEN"


async def test_room_kick_with_ban_bans_and_removes_at_once(portal: Portal, sockets) -> None:
    """04 §6.5: `room:kick {ban:true}` bans and removes an online user in one step; `ban:false` is a kick."""
    owner, chat = await public_room(portal)
    guest, other = await portal.login(), await portal.login()
    watcher = await in_room(sockets, owner, chat["id"])
    probe = await in_room(sockets, guest, chat["id"])

    ack = await watcher.call(
        "room:kick", {"chat_id": chat["id"], "user_id": guest.id, "ban": True, "reason": "x"}
    )

    assert ack == {"ok": True}
    assert await probe.expect("room:kicked") == {"chat_id": chat["id"], "reason": "x"}
    assert await watcher.expect_for("user:banned", chat["id"]) == {"chat_id": chat["id"], "user_id": guest.id}
    assert await viewer_count(portal, owner, chat["id"]) == 1
    assert await membership(portal, chat["id"], guest.id) is None
    again = await probe.call("room:join", {"chat_id": chat["id"]})
    assert again["ok"] is False and again["error"] == "ERR_BANNED"
    # ban: false is a plain kick
    other_probe = await in_room(sockets, other, chat["id"])
    assert await watcher.call("room:kick", {"chat_id": chat["id"], "user_id": other.id, "ban": False}) == {
        "ok": True
    }
    assert await other_probe.expect("room:kicked") == {"chat_id": chat["id"], "reason": None}
    assert (await other_probe.call("room:join", {"chat_id": chat["id"]}))["ok"] is True


async def test_room_kick_refusals_use_the_rest_codes(portal: Portal, sockets) -> None:
    """08 §1: 403 → ERR_FORBIDDEN, 404 → ERR_NOT_FOUND; 08 §5: self → Access denied; 08 §46: the target
    must be a member or in the room."""
    owner, chat = await public_room(portal)
    guest, bystander = await portal.login(), await portal.login()
    owner_probe = await in_room(sockets, owner, chat["id"])
    guest_probe = await in_room(sockets, guest, chat["id"])

    cases = [
        (
            guest_probe,
            {"chat_id": chat["id"], "user_id": owner.id},
            "ERR_FORBIDDEN",
        ),  # a User kicks the owner
        (owner_probe, {"chat_id": chat["id"], "user_id": owner.id}, "ERR_FORBIDDEN"),  # self
        (owner_probe, {"chat_id": chat["id"], "user_id": bystander.id}, "ERR_NOT_FOUND"),  # not in the chat
        (owner_probe, {"chat_id": chat["id"], "user_id": 2**31 - 1}, "ERR_NOT_FOUND"),  # no such user
        (owner_probe, {"chat_id": 2**31 - 1, "user_id": guest.id}, "ERR_NOT_FOUND"),  # no such chat
    ]
    for probe, payload, code in cases:
        ack = await probe.call("room:kick", payload)
        assert ack["ok"] is False and ack["error"] == code, (payload, ack)

    assert await viewer_count(portal, owner, chat["id"]) == 2
    await guest_probe.assert_silent("room:kicked")
    assert owner_probe.pending("room:kicked") == []


# ---- delete (03 §3.5, 08 §18) ---------------------------------------------------------------------------


async def test_delete_sends_room_destroyed_once_to_the_room_and_to_the_lobby(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    guest, lobby = await portal.login(), await portal.login()
    owner_probe = await in_room(sockets, owner, chat["id"])
    laptop = await in_room(sockets, guest, chat["id"])
    phone = await in_room(sockets, guest, chat["id"])
    lobby_probe = await online(sockets, lobby.client.session_token)
    stranger = await portal.stranger()
    stranger_probe = await online(sockets, stranger.client.session_token)

    result = await owner.client.call("POST", f"/v1/portal/chats/{chat['id']}/delete")

    assert result == {"message": f"Chat '{chat['name']}' destroyed"}
    everyone = [owner_probe, laptop, phone, lobby_probe]
    for probe in everyone:
        assert await probe.expect_for("room:destroyed", chat["id"]) == {"chat_id": chat["id"]}
    await stranger_probe.assert_silent("room:destroyed")
    for probe in everyone:
        assert probe.pending("room:destroyed", chat["id"]) == [], "room:destroyed sent twice"
    assert await portal.container.presence.viewer_count(chat["id"]) == 0
    ack = await laptop.call("room:join", {"chat_id": chat["id"]})
    assert ack["ok"] is False and ack["error"] == "ERR_NOT_FOUND"
    fresh = await online(sockets, guest.client.session_token)
    assert chat["id"] not in {entry["chat_id"] for entry in fresh.chat_list}
    # Nobody "left the chat": the room is simply gone.
    assert owner_probe.pending("room:member_left") == []


async def test_delete_of_a_private_chat_reaches_members_and_joined_admins_only(
    portal: Portal, sockets
) -> None:
    owner, chat = await private_room(portal)
    member, lobby, admin = await portal.login(), await portal.login(), await portal.login("admin")
    await portal.invite_into(owner, chat["id"], member)
    owner_probe = await online(sockets, owner.client.session_token)  # not joined
    member_probe = await online(sockets, member.client.session_token)  # not joined
    admin_probe = await in_room(sockets, admin, chat["id"])  # joined, not a member
    lobby_probe = await online(sockets, lobby.client.session_token)

    await owner.client.call("POST", f"/v1/portal/chats/{chat['id']}/delete")

    for probe in (owner_probe, member_probe, admin_probe):
        assert await probe.expect_for("room:destroyed", chat["id"]) == {"chat_id": chat["id"]}
    await lobby_probe.assert_silent("room:destroyed", chat["id"])
    for probe in (owner_probe, member_probe, admin_probe):
        assert probe.pending("room:destroyed", chat["id"]) == []


async def test_admin_delete_also_destroys_the_room(portal: Portal, sockets) -> None:
    """08 §24: admin delete emits `room:destroyed`."""
    _owner, chat = await public_room(portal)
    admin = await portal.login("admin")
    guest_probe = await in_room(sockets, await portal.login(), chat["id"])

    await admin.client.call("POST", f"/v1/admin/chats/{chat['id']}/delete")

    assert await guest_probe.expect_for("room:destroyed", chat["id"]) == {"chat_id": chat["id"]}
    assert await portal.container.presence.viewer_count(chat["id"]) == 0


# ---- config changes (08 §18, §63) -----------------------------------------------------------------------


async def test_config_change_sends_room_config_with_the_changed_fields(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    guest, lobby = await portal.login(), await portal.login()
    probe = await in_room(sockets, guest, chat["id"])
    assert (await probe.expect_for("message:new", chat["id"]))["content"].endswith("joined the chat")  # own
    lobby_probe = await online(sockets, lobby.client.session_token)
    path = f"/v1/portal/chats/{chat['id']}/config/update"

    await owner.client.call("POST", path, json={"allow_control_requests": True, "name": "renamed-room"})
    assert await probe.expect("room:config") == {
        "chat_id": chat["id"],
        "allow_control_requests": True,
        "name": "renamed-room",
    }

    # Values that do not change are not announced; only what changed is.
    await owner.client.call(
        "POST", path, json={"allow_control_requests": True, "history_visible": False, "locked_controls": True}
    )
    assert await probe.expect("room:config") == {
        "chat_id": chat["id"],
        "history_visible": False,
        "locked_controls": True,
    }
    await owner.client.call("POST", path, json={"allow_control_requests": True})
    await owner.client.call("POST", path, json={"slug": f"{chat['slug']}-x"})
    assert await probe.expect("room:config") == {"chat_id": chat["id"], "slug": f"{chat['slug']}-x"}

    await owner.client.call("POST", path, json={"wipe_preset": "15m"})
    assert await probe.expect("room:config") == {"chat_id": chat["id"], "wipe_preset": "15m"}
    message = await probe.expect_for("message:new", chat["id"])
    assert_system_message(message, {**chat, "name": "renamed-room"}, "Auto-wipe set to 15m")

    assert probe.pending("room:config") == []
    await lobby_probe.assert_silent("room:config")  # the room only


async def test_making_a_public_chat_private_hides_it_from_the_lobby(portal: Portal, sockets) -> None:
    """08 §18: the room gets `room:config {slug:null, visibility:"private"}`; sockets that could list the
    chat and no longer can get `room:destroyed`; invited members, the owner and Admin+ stay in the room."""
    owner, chat = await public_room(portal)
    invited, lobby = await portal.login(), await portal.login()
    admin = await portal.login("admin")
    await portal.invite_into(owner, chat["id"], invited)
    owner_probe = await in_room(sockets, owner, chat["id"])
    invited_probe = await in_room(sockets, invited, chat["id"])
    admin_probe = await in_room(sockets, admin, chat["id"])
    lobby_probe = await online(sockets, lobby.client.session_token)

    await owner.client.call("POST", f"/v1/portal/chats/{chat['id']}/config/update", json={"slug": None})

    change = {"chat_id": chat["id"], "slug": None, "visibility": "private"}
    for probe in (owner_probe, invited_probe, admin_probe):
        assert await probe.expect("room:config") == change
    assert await lobby_probe.expect_for("room:destroyed", chat["id"]) == {"chat_id": chat["id"]}
    assert lobby_probe.pending("room:config") == []
    # 08 §14: the list is now the owner and the members (no longer "who is in the room").
    listed = await owner_probe.expect_where(
        "room:members", lambda m: m["chat_id"] == chat["id"] and len(m["members"]) == 2
    )
    assert [entry["user"]["id"] for entry in listed["members"]] == [owner.id, invited.id]
    for probe in (owner_probe, invited_probe, admin_probe):  # the Admin stays in the room: nothing is gone
        assert probe.pending("room:destroyed", chat["id"]) == []
        assert probe.pending("room:kicked") == []
    assert await viewer_count(portal, owner, chat["id"]) == 3
    # Everyone who stayed still gets the room's events.
    await owner.client.call(
        "POST", f"/v1/portal/chats/{chat['id']}/config/update", json={"name": "quiet-now"}
    )
    for probe in (owner_probe, invited_probe, admin_probe):
        assert await probe.expect("room:config") == {"chat_id": chat["id"], "name": "quiet-now"}
    lobby_again = await online(sockets, lobby.client.session_token)
    assert chat["id"] not in {entry["chat_id"] for entry in lobby_again.chat_list}
    ack = await lobby_again.call("room:join", {"chat_id": chat["id"]})
    assert ack["ok"] is False and ack["error"] == "ERR_FORBIDDEN"


async def test_making_a_public_chat_private_removes_joiners_who_are_not_invited_members(
    portal: Portal, sockets
) -> None:
    """08 §18: "When a chat is made private, sockets of non-members (other than Admin+) are removed with
    room:kicked {reason:"chat is private"}". Someone who merely opened a public chat (a `direct` or
    `vanity` row, 08 §19's "recent viewers") is not a member of the private chat it became."""
    owner, chat = await public_room(portal)
    joiner = await portal.login()
    watcher = await in_room(sockets, owner, chat["id"])
    probe = await in_room(sockets, joiner, chat["id"])
    phone = await in_room(sockets, joiner, chat["id"])
    await watcher.expect_where("room:member_joined", lambda m: m["user"]["id"] == joiner.id)

    await owner.client.call("POST", f"/v1/portal/chats/{chat['id']}/config/update", json={"slug": None})

    for socket in (probe, phone):
        assert await socket.expect("room:kicked") == {"chat_id": chat["id"], "reason": "chat is private"}
        assert await socket.expect_for("room:destroyed", chat["id"]) == {"chat_id": chat["id"]}
    await watcher.expect_where("room:member_left", lambda m: m["user"]["id"] == joiner.id)
    assert await viewer_count(portal, owner, chat["id"]) == 1
    listed = {c["id"] for c in await joiner.client.call("GET", "/v1/portal/chats")}
    assert chat["id"] not in listed
    ack = await probe.call("room:join", {"chat_id": chat["id"]})
    assert ack["ok"] is False and ack["error"] == "ERR_FORBIDDEN"
    for socket in (probe, phone):
        assert socket.pending("room:kicked") == [] and socket.pending("room:destroyed", chat["id"]) == []


async def test_making_a_private_chat_public_announces_it_to_the_lobby(portal: Portal, sockets) -> None:
    owner, chat = await private_room(portal)
    lobby = await portal.login()
    await in_room(sockets, owner, chat["id"])
    lobby_probe = await online(sockets, lobby.client.session_token)
    assert chat["id"] not in {entry["chat_id"] for entry in lobby_probe.chat_list}

    await owner.client.call(
        "POST", f"/v1/portal/chats/{chat['id']}/config/update", json={"slug": f"now-public-{chat['id']}"}
    )

    assert await lobby_probe.expect_for("chat:status", chat["id"]) == {
        "chat_id": chat["id"],
        "running": False,
        "viewer_count": 1,
    }


# ---- leaving a chat over REST (08 §21) and an admin kick (03 §4.6) ---------------------------------------


async def test_rest_leave_takes_every_socket_of_the_leaver_out_of_the_room(portal: Portal, sockets) -> None:
    """08 §21: the leaver's sockets leave the room; the room gets `room:member_left`, `room:members` and
    one "left the chat" message."""
    owner, chat = await private_room(portal)
    member = await portal.login()
    await portal.invite_into(owner, chat["id"], member)
    watcher = await in_room(sockets, owner, chat["id"])
    laptop = await in_room(sockets, member, chat["id"])
    phone = await in_room(sockets, member, chat["id"])
    await watcher.expect_where("room:member_joined", lambda m: m["user"]["id"] == member.id)
    watcher.clear()

    assert await member.client.call("POST", f"/v1/portal/chats/{chat['id']}/leave") == {"ok": True}

    assert await watcher.expect("room:member_left") == {"chat_id": chat["id"], "user": user_ref(member)}
    message = await watcher.expect_for("message:new", chat["id"])
    assert_system_message(message, chat, f"{member.user['username']} left the chat")
    members = await watcher.expect_where(
        "room:members", lambda m: m["chat_id"] == chat["id"] and len(m["members"]) == 1
    )
    assert members["members"] == [{"user": {**user_ref(owner), "permission_level": 0}, "online": True}]
    assert await viewer_count(portal, owner, chat["id"]) == 1
    await owner.client.call(
        "POST", f"/v1/portal/chats/{chat['id']}/config/update", json={"history_visible": False}
    )
    await watcher.expect("room:config")
    for probe in (laptop, phone):
        await probe.assert_silent("room:config")
    texts = await system_texts(portal, chat["id"])
    assert texts.count(f"{member.user['username']} left the chat") == 1
    assert watcher.pending("room:member_left") == []


async def test_rest_leave_of_a_member_with_no_socket_in_the_room_is_announced_too(
    portal: Portal, sockets
) -> None:
    """08 §21, §14: the member list changes even when the leaver is not in the room."""
    owner, chat = await private_room(portal)
    member = await portal.login()
    await portal.invite_into(owner, chat["id"], member)
    watcher = await in_room(sockets, owner, chat["id"])
    watcher.clear()

    assert await member.client.call("POST", f"/v1/portal/chats/{chat['id']}/leave") == {"ok": True}

    assert await watcher.expect("room:member_left") == {"chat_id": chat["id"], "user": user_ref(member)}
    members = await watcher.expect("room:members")
    assert [entry["user"]["id"] for entry in members["members"]] == [owner.id]
    message = await watcher.expect_for("message:new", chat["id"])
    assert_system_message(message, chat, f"{member.user['username']} left the chat")


async def test_redeeming_an_invite_sends_the_grown_member_list_to_the_room(portal: Portal, sockets) -> None:
    """08 §14: "Send room:members whenever that list changes": a private chat's list is owner + members."""
    owner, chat = await private_room(portal)
    member = await portal.login()
    watcher = await in_room(sockets, owner, chat["id"])
    watcher.clear()

    await portal.invite_into(owner, chat["id"], member)

    members = await watcher.expect("room:members")
    assert members["chat_id"] == chat["id"]
    assert [(entry["user"]["id"], entry["online"]) for entry in members["members"]] == [
        (owner.id, True),
        (member.id, False),
    ]


async def test_admin_kick_removes_the_target_from_the_room(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    guest, admin = await portal.login(), await portal.login("admin")
    watcher = await in_room(sockets, owner, chat["id"])
    probe = await in_room(sockets, guest, chat["id"])

    result = await admin.client.call("POST", f"/v1/admin/chats/{chat['id']}/kick", json={"user_id": guest.id})

    assert result["message"] == f"Kicked {guest.user['username']} from chat '{chat['name']}'"
    assert await probe.expect("room:kicked") == {"chat_id": chat["id"], "reason": None}
    members = await watcher.expect_where(
        "room:members", lambda m: m["chat_id"] == chat["id"] and len(m["members"]) == 1
    )
    assert [m["user"]["id"] for m in members["members"]] == [owner.id]
    assert await viewer_count(portal, owner, chat["id"]) == 1
