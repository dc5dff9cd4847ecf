"""`POST /v1/portal/chats/{id}/ban` and `/unban`, and `room:kick {ban:true}` (04 §6.5–6.6, §7, §8, §9.2;
00 §4, §5; 08 §14, §17, §18, §22, §38, §46, §50).

Who may ban whom is in test_moderation_permissions.py; here: the effects, the events, the refusals a ban
causes (join, send, invite redeem), the ban's end and the records.
"""

from __future__ import annotations

from typing import Any

import pytest

from portal.client import PortalAPIError
from portal.client.secure import SecureChat
from tests.api.chats_support import invite_row
from tests.events import capture_events
from tests.helpers import Portal, expect_error, parse_time
from tests.moderation.support import (
    act,
    action_path,
    activity_rows,
    audit_of,
    chat_row,
    chats_path,
    in_room,
    lobby,
    member_of,
    memberships,
    premium,
    records_of,
    refused_with,
    restriction,
    system_texts,
)

BAN_MAX = 2_592_000


async def viewer_count(who: Any, chat_id: int) -> int:
    return int((await who.client.call("GET", chats_path(chat_id)))["live"]["viewer_count"])


async def joined_setup(portal: Portal, sockets: Any, kind: str = "public") -> tuple[Any, ...]:
    """A premium owner, their chat, a member, and both joined (owner socket first)."""
    owner = await premium(portal)
    chat = await (portal.public_chat(owner) if kind == "public" else portal.private_chat(owner))
    member = await member_of(portal, owner, chat["id"])
    watcher = await in_room(sockets, owner, chat["id"])
    target = await in_room(sockets, member, chat["id"])
    return owner, chat, member, watcher, target


# ---- a REST ban ---------------------------------------------------------------------------------------


async def test_rest_ban_of_a_joined_member(portal: Portal, sockets: Any) -> None:
    """04 §6.5, 08 §17, §50: `{ok:true}`; `user:banned` to the room (the target too); membership gone;
    "<username> was banned"; a new epoch; the socket stays but no longer counts as a viewer."""
    owner, chat, member, watcher, target = await joined_setup(portal, sockets)
    epoch = (await chat_row(portal, chat["id"])).epoch
    assert await viewer_count(owner, chat["id"]) == 2
    await watcher.expect_where("chat:status", lambda s: s["chat_id"] == chat["id"] and s["viewer_count"] == 2)

    async with capture_events(portal.container) as sent:
        assert await act(owner, chat["id"], "ban", member.id, reason="abuse") == {"ok": True}

    # no room:kicked: the socket stays
    assert sent.names() == ["message:new", "room:epoch_changed", "user:banned", "room:members", "chat:status"]
    banned = {"chat_id": chat["id"], "user_id": member.id}
    assert await watcher.expect_for("user:banned", chat["id"]) == banned
    assert await target.expect_for("user:banned", chat["id"]) == banned
    message = await watcher.expect_where(
        "message:new", lambda m: m["type"] == "system" and "banned" in m["content"]
    )
    assert (message["content"], message["sender"]) == (f"{member.user['username']} was banned", None)
    changed = await watcher.expect_for("room:epoch_changed", chat["id"])
    assert changed["epoch"] == epoch + 1
    assert (await chat_row(portal, chat["id"])).epoch == epoch + 1
    assert member.id not in await memberships(portal, chat["id"])
    row = await restriction(portal, chat["id"], member.id, "ban")
    assert (
        row is not None and row.expires_at is None and row.reason == "abuse" and row.issued_by_id == owner.id
    )
    # the socket stays, but the banned user is not counted
    assert target.sio.connected
    assert await viewer_count(owner, chat["id"]) == 1
    status = await watcher.expect_where(
        "chat:status", lambda s: s["chat_id"] == chat["id"] and s["viewer_count"] == 1
    )
    assert status == {"chat_id": chat["id"], "running": False, "viewer_count": 1}
    # the activity row and the audit event name the actor
    last = (await activity_rows(portal, chat["id"]))[-1]
    assert (last.user_id, last.action, last.actor_id) == (member.id, "ban", owner.id)
    [audit] = await audit_of(portal, "CHAT_BAN", chat["id"])
    assert (audit.actor_id, audit.event_metadata["user_id"]) == (owner.id, member.id)


async def test_a_banned_user_cannot_send_or_join_again(portal: Portal, sockets: Any) -> None:
    """00 §4, §5: the socket left in the room gets ERR_BANNED on send; a new join gets ERR_BANNED."""
    owner, chat, member, _, target = await joined_setup(portal, sockets)
    await act(owner, chat["id"], "ban", member.id)
    assert await refused_with(member, chat["id"]) == ("ERR_BANNED", None)
    other_socket = await lobby(sockets, member)
    ack = await other_socket.call("room:join", {"chat_id": chat["id"]})
    assert (ack["ok"], ack["error"]) == (False, "ERR_BANNED")
    # the socket that stayed may leave and is then refused too
    assert (await target.call("room:leave", {"chat_id": chat["id"]}))["ok"] is True
    ack = await target.call("room:join", {"chat_id": chat["id"]})
    assert (ack["ok"], ack["error"]) == (False, "ERR_BANNED")
    assert await viewer_count(owner, chat["id"]) == 1


async def test_ban_in_advance_of_a_user_with_no_link(portal: Portal, sockets: Any) -> None:
    """08 §46, §50: a ban may be set in advance; no epoch change, no "was banned", no room event but
    `user:banned`; the user is then refused at join."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    watcher = await in_room(sockets, owner, chat["id"])
    visitor = await portal.login()
    epoch = (await chat_row(portal, chat["id"])).epoch
    texts = await system_texts(portal, chat["id"])

    async with capture_events(portal.container) as sent:
        assert await act(owner, chat["id"], "ban", visitor.id, duration=0) == {"ok": True}

    assert sent.names() == ["user:banned"]
    assert await watcher.expect_for("user:banned", chat["id"]) == {
        "chat_id": chat["id"],
        "user_id": visitor.id,
    }
    assert (await chat_row(portal, chat["id"])).epoch == epoch
    assert await system_texts(portal, chat["id"]) == texts
    probe = await lobby(sockets, visitor)
    ack = await probe.call("room:join", {"chat_id": chat["id"]})
    assert (ack["ok"], ack["error"]) == (False, "ERR_BANNED")
    assert visitor.id not in await memberships(portal, chat["id"])


async def test_ban_of_a_member_who_is_not_joined_rotates_without_a_message(
    portal: Portal, sockets: Any
) -> None:
    """08 §17, §50: the epoch moves for a member (they held keys); "was banned" only for a joined user.
    The member of a private chat loses it: `room:destroyed` to their sockets, 403 on the chat (08 §18)."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    member_lobby = await lobby(sockets, member)
    epoch = (await chat_row(portal, chat["id"])).epoch
    texts = await system_texts(portal, chat["id"])

    await act(owner, chat["id"], "ban", member.id)

    assert (await chat_row(portal, chat["id"])).epoch == epoch + 1
    assert await system_texts(portal, chat["id"]) == texts
    assert await member_lobby.expect("room:destroyed") == {"chat_id": chat["id"]}
    await expect_error(member.client.call("GET", chats_path(chat["id"])), 403, "Access denied")
    assert chat["id"] not in [c["id"] for c in await member.client.call("GET", "/v1/portal/chats")]


async def test_ban_in_advance_in_a_private_chat_tells_the_stranger_to_it_nothing(portal: Portal) -> None:
    """Someone who never could list a private chat gets no `room:destroyed` about it (08 §18)."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    outsider = await portal.login()
    async with capture_events(portal.container) as sent:
        await act(owner, chat["id"], "ban", outsider.id)
    # the room hears of the ban; nothing goes to the outsider's sockets
    assert [(e.name, e.rooms) for e in sent] == [("user:banned", (f"chat:{chat['id']}",))]


async def test_invite_redeem_by_a_banned_user_is_refused_without_using_the_invite(portal: Portal) -> None:
    """08 §22: 403 ERR_BANNED and no use counted; after an unban the same invite works."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    visitor = await portal.login()
    invite = await owner.client.call("POST", chats_path(chat["id"], "/invites"), json={"max_uses": 1})
    await act(owner, chat["id"], "ban", visitor.id)

    await expect_error(visitor.client.call("POST", f"/v1/portal/resolve/{invite['code']}"), 403, "ERR_BANNED")

    assert (await invite_row(portal, invite["code"])).uses == 0
    assert visitor.id not in await memberships(portal, chat["id"])
    assert [r.action for r in await activity_rows(portal, chat["id"]) if r.user_id == visitor.id] == ["ban"]
    await act(owner, chat["id"], "unban", visitor.id)
    assert (await visitor.client.call("POST", f"/v1/portal/resolve/{invite['code']}"))["id"] == chat["id"]
    assert (await invite_row(portal, invite["code"])).uses == 1


async def test_a_kicked_then_banned_member_cannot_come_back_by_invite(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    invite = await owner.client.call("POST", chats_path(chat["id"], "/invites"), json={})
    await act(owner, chat["id"], "ban", member.id)
    await expect_error(member.client.call("POST", f"/v1/portal/resolve/{invite['code']}"), 403, "ERR_BANNED")
    await expect_error(
        member.client.call("POST", "/v1/portal/resolve/" + "z" * 16), 404, "ERR_INVITE_INVALID"
    )
    assert (await invite_row(portal, invite["code"])).uses == 0


async def test_a_timed_ban_ends_by_itself(portal: Portal, sockets: Any) -> None:
    """04 §6.5: TTL = duration; the expired record keeps `is_lifted:false` (08 §38)."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    visitor = await portal.login()
    await act(owner, chat["id"], "ban", visitor.id, duration=60)
    probe = await lobby(sockets, visitor)
    portal.server.clock.advance(59)
    assert (await probe.call("room:join", {"chat_id": chat["id"]}))["error"] == "ERR_BANNED"
    portal.server.clock.advance(1)
    assert (await probe.call("room:join", {"chat_id": chat["id"]}))["ok"] is True
    assert await refused_with(visitor, chat["id"]) == ("", None)
    [record] = await visitor.client.punishments()
    assert (record["action_type"], record["is_lifted"], record["lifted_at"]) == ("CHAT_BAN", False, None)
    assert parse_time(record["expires_at"]) <= portal.server.clock.now()


async def test_a_permanent_ban_outlasts_any_time(portal: Portal, sockets: Any) -> None:
    """04 §6.5: duration 0 (the default) = permanent."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    visitor = await portal.login()
    await act(owner, chat["id"], "ban", visitor.id)
    assert (await restriction(portal, chat["id"], visitor.id, "ban")).expires_at is None
    portal.server.clock.advance(BAN_MAX + 86400)
    probe = await lobby(sockets, await portal.login())  # the clock moved past everyone's session
    assert probe.sio.connected
    async with portal.container.db.read() as session:
        from portal.services.restrictions import RestrictionService

        assert await RestrictionService(portal.container).banned_user_ids(
            session, chat["id"], [visitor.id]
        ) == {visitor.id}
    [record] = await records_of(portal, visitor.id)
    assert (record.action_type, record.expires_at, record.is_lifted) == ("CHAT_BAN", None, False)


async def test_ban_record_in_the_targets_punishments(portal: Portal) -> None:
    """08 §38: CHAT_BAN with chat_id, issued_by_id, reason, expires_at."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    now = portal.server.clock.now()
    await act(owner, chat["id"], "ban", member.id, duration=BAN_MAX, reason="r" * 500)
    [record] = await member.client.punishments()
    assert (record["action_type"], record["chat_id"], record["issued_by_id"], record["reason"]) == (
        "CHAT_BAN",
        chat["id"],
        owner.id,
        "r" * 500,
    )
    assert abs((parse_time(record["expires_at"]) - now).total_seconds() - BAN_MAX) < 2
    assert (record["is_lifted"], record["lifted_at"]) == (False, None)


# ---- unban --------------------------------------------------------------------------------------------


async def test_unban_lifts_the_ban_but_does_not_restore_membership(portal: Portal, sockets: Any) -> None:
    """04 §6.6: `{ok:true}`; `user:unbanned` to the room; the record is lifted (08 §38); a private-chat
    member must be invited again."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    watcher = await in_room(sockets, owner, chat["id"])
    await act(owner, chat["id"], "ban", member.id, duration=3600)
    portal.server.clock.advance(10)
    lifted_at = portal.server.clock.now()

    assert await act(owner, chat["id"], "unban", member.id, reason="appeal accepted") == {"ok": True}

    assert await watcher.expect_for("user:unbanned", chat["id"]) == {
        "chat_id": chat["id"],
        "user_id": member.id,
    }
    assert await restriction(portal, chat["id"], member.id, "ban") is None
    assert member.id not in await memberships(portal, chat["id"])
    await expect_error(member.client.call("GET", chats_path(chat["id"])), 403, "Access denied")
    [record] = await member.client.punishments()
    assert (record["action_type"], record["is_lifted"]) == ("CHAT_BAN", True)
    assert abs((parse_time(record["lifted_at"]) - lifted_at).total_seconds()) < 2
    [audit] = await audit_of(portal, "CHAT_UNBAN", chat["id"])
    assert (audit.actor_id, audit.event_metadata["user_id"]) == (owner.id, member.id)
    await portal.invite_into(owner, chat["id"], member)
    assert member.id in await memberships(portal, chat["id"])


async def test_unban_of_a_public_viewer_lets_them_join_again(portal: Portal, sockets: Any) -> None:
    owner, chat, member, _, _ = await joined_setup(portal, sockets)
    await act(owner, chat["id"], "ban", member.id)
    assert await viewer_count(owner, chat["id"]) == 1
    async with capture_events(portal.container) as sent:
        await act(owner, chat["id"], "unban", member.id)
    # the socket that stayed in the room counts again: the member list and the viewer count change
    assert sent.names() == ["user:unbanned", "room:members", "chat:status"]
    assert await viewer_count(owner, chat["id"]) == 2
    assert await refused_with(member, chat["id"]) == ("", None)
    assert (await (await lobby(sockets, member)).call("room:join", {"chat_id": chat["id"]}))["ok"] is True


async def test_unban_is_idempotent(portal: Portal, sockets: Any) -> None:
    """04 §6.6: 200 even when the user was not banned; nothing is recorded."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    visitor = await portal.login()
    watcher = await in_room(sockets, owner, chat["id"])
    for _ in range(2):
        assert await act(owner, chat["id"], "unban", visitor.id) == {"ok": True}
        assert await watcher.expect_for("user:unbanned", chat["id"]) == {
            "chat_id": chat["id"],
            "user_id": visitor.id,
        }
    assert await records_of(portal, visitor.id) == []
    assert await restriction(portal, chat["id"], visitor.id, "ban") is None


async def test_a_new_ban_replaces_the_old_ttl(portal: Portal, sockets: Any) -> None:
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    visitor = await portal.login()
    await act(owner, chat["id"], "ban", visitor.id)
    await act(owner, chat["id"], "ban", visitor.id, duration=60)
    probe = await lobby(sockets, visitor)
    assert (await probe.call("room:join", {"chat_id": chat["id"]}))["error"] == "ERR_BANNED"
    portal.server.clock.advance(60)
    assert (await probe.call("room:join", {"chat_id": chat["id"]}))["ok"] is True


# ---- E2EE and the banned socket (08 §50) --------------------------------------------------------------


async def test_a_rest_banned_secure_client_gets_no_new_key_and_cannot_send(portal: Portal) -> None:
    """08 §50: the banned user's session is left out of key distribution; the others keep talking."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    guest, third = await portal.login(), await portal.login()
    async with (
        SecureChat(owner.client) as alice,
        SecureChat(guest.client) as bob,
        SecureChat(third.client) as carol,
    ):
        await alice.join(chat["id"])
        await bob.join(chat["id"])
        await carol.join(chat["id"])
        old_epoch = alice.epochs[chat["id"]]

        await act(owner, chat["id"], "ban", guest.id)

        await alice.send(chat["id"], "after the ban")  # waits for the new epoch's key
        assert alice.epochs[chat["id"]] == old_epoch + 1
        assert await carol.next_text(chat["id"]) == "after the ban"
        assert bob.rt.connected
        assert bob.keys[chat["id"]].get(old_epoch + 1) is None
        with pytest.raises(PortalAPIError) as refused:
            await bob.client.call("POST", chats_path(chat["id"], "/messages"), json={"content": "still here"})
        assert (refused.value.status, refused.value.error) == (403, "ERR_BANNED")


async def test_a_kicked_secure_client_is_left_out_of_the_new_epoch(portal: Portal) -> None:
    """04 §6.1, 00 §4: a kick rotates the epoch; the others get the new key and keep talking, the kicked
    session gets `room:kicked` and never the new key."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    guest, third = await portal.login(), await portal.login()
    async with (
        SecureChat(owner.client) as alice,
        SecureChat(guest.client) as bob,
        SecureChat(third.client) as carol,
    ):
        await alice.join(chat["id"])
        await bob.join(chat["id"])
        await carol.join(chat["id"])
        old_epoch = alice.epochs[chat["id"]]

        assert await act(owner, chat["id"], "kick", guest.id) == {"ok": True}

        assert await bob.rt.next("room:kicked") == {"chat_id": chat["id"], "reason": None}
        await alice.send(chat["id"], "after the kick")
        assert alice.epochs[chat["id"]] == old_epoch + 1
        assert await carol.next_text(chat["id"]) == "after the kick"
        assert bob.keys[chat["id"]].get(old_epoch + 1) is None
        with pytest.raises(PortalAPIError) as refused:
            await bob.client.call("POST", chats_path(chat["id"], "/messages"), json={"content": "hi"})
        assert (refused.value.status, refused.value.error) == (403, "ERR_NOT_JOINED")
    [record] = await records_of(portal, guest.id)
    assert (record.action_type, record.chat_id, record.issued_by_id) == ("CHAT_KICK", chat["id"], owner.id)


# ---- room:kick {ban:true} -----------------------------------------------------------------------------


async def test_room_kick_with_ban_removes_at_once_and_rotates(portal: Portal, sockets: Any) -> None:
    """04 §6.5, §9.2: the socket is removed (`room:kicked`), "was banned" posted, a new epoch, timed ban."""
    owner, chat, member, watcher, target = await joined_setup(portal, sockets)
    epoch = (await chat_row(portal, chat["id"])).epoch

    ack = await watcher.call(
        "room:kick",
        {"chat_id": chat["id"], "user_id": member.id, "ban": True, "duration": 120, "reason": "x"},
    )

    assert ack == {"ok": True}
    assert await target.expect_for("user:banned", chat["id"]) == {"chat_id": chat["id"], "user_id": member.id}
    assert await target.expect("room:kicked") == {"chat_id": chat["id"], "reason": "x"}
    assert (await chat_row(portal, chat["id"])).epoch == epoch + 1
    assert f"{member.user['username']} was banned" in await system_texts(portal, chat["id"])
    assert await viewer_count(owner, chat["id"]) == 1
    row = await restriction(portal, chat["id"], member.id, "ban")
    assert row is not None and row.expires_at is not None
    assert (await target.call("room:join", {"chat_id": chat["id"]}))["error"] == "ERR_BANNED"
    [record] = await records_of(portal, member.id)
    assert (record.action_type, record.chat_id, record.issued_by_id) == ("CHAT_BAN", chat["id"], owner.id)
    portal.server.clock.advance(120)
    assert (await target.call("room:join", {"chat_id": chat["id"]}))["ok"] is True


async def test_room_kick_with_ban_refusals(portal: Portal, sockets: Any) -> None:
    """The REST rules and texts as ack codes (08 §1): a target not in the chat, bad duration or reason."""
    owner, chat, member, watcher, _ = await joined_setup(portal, sockets)
    outsider = await portal.login()
    cases = [
        ({"user_id": outsider.id}, "ERR_NOT_FOUND"),  # a kick needs the target in the chat (08 §46)
        ({"user_id": member.id, "duration": -1}, "ERR_BAD_REQUEST"),
        ({"user_id": member.id, "duration": BAN_MAX + 1}, "ERR_BAD_REQUEST"),
        ({"user_id": member.id, "reason": "r" * 501}, "ERR_BAD_REQUEST"),
        ({"user_id": member.id, "duration": "60"}, "ERR_BAD_REQUEST"),
        ({"user_id": owner.id}, "ERR_FORBIDDEN"),
    ]
    for extra, code in cases:
        ack = await watcher.call("room:kick", {"chat_id": chat["id"], "ban": True, **extra})
        assert (ack["ok"], ack["error"]) == (False, code), (extra, ack)
    assert await restrictions_none(portal, chat["id"], (member.id, outsider.id))
    assert await viewer_count(owner, chat["id"]) == 2


async def restrictions_none(portal: Portal, chat_id: int, user_ids: tuple[int, ...]) -> bool:
    return all([await restriction(portal, chat_id, uid, "ban") is None for uid in user_ids])


# ---- validation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("duration", [0, 1, BAN_MAX])
async def test_ban_duration_edges_accepted(portal: Portal, duration: int) -> None:
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    visitor = await portal.login()
    now = portal.server.clock.now()
    assert await act(owner, chat["id"], "ban", visitor.id, duration=duration) == {"ok": True}
    row = await restriction(portal, chat["id"], visitor.id, "ban")
    if duration == 0:
        assert row.expires_at is None
    else:
        assert abs((row.expires_at - now).total_seconds() - duration) < 2


BAD_BAN_BODIES: list[tuple[str, Any, str]] = [
    ("ban", {}, "user_id is required"),
    ("ban", {"user_id": "5"}, "user_id must be an integer"),
    ("ban", {"user_id": [5]}, "user_id must be an integer"),
    ("ban", {"user_id": 5, "duration": -1}, f"duration must be between 0 and {BAN_MAX}"),
    ("ban", {"user_id": 5, "duration": BAN_MAX + 1}, f"duration must be between 0 and {BAN_MAX}"),
    ("ban", {"user_id": 5, "duration": "0"}, "duration must be an integer"),
    ("ban", {"user_id": 5, "duration": 0.0}, "duration must be an integer"),
    ("ban", {"user_id": 5, "reason": "r" * 501}, "reason must be at most 500 characters"),
    ("ban", {"user_id": 5, "reason": ["spam"]}, "reason must be a string"),
    ("ban", {"user_id": 5, "permanent": True}, "permanent is not allowed"),
    ("ban", 5, "Invalid request"),
    ("unban", {}, "user_id is required"),
    ("unban", {"user_id": True}, "user_id must be an integer"),
    ("unban", {"user_id": 5, "reason": ""}, "reason must be at least 1 character"),
    ("unban", {"user_id": 5, "reason": "r" * 501}, "reason must be at most 500 characters"),
    ("unban", {"user_id": 5, "duration": 0}, "duration is not allowed"),
    ("unban", None, "user_id is required"),
]


@pytest.mark.parametrize(
    ("action", "body", "error"), BAD_BAN_BODIES, ids=[str(i) for i in range(len(BAD_BAN_BODIES))]
)
async def test_bad_ban_bodies_are_400_and_change_nothing(
    portal: Portal, action: str, body: Any, error: str
) -> None:
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    if action == "unban":
        await act(owner, chat["id"], "ban", member.id)
    if isinstance(body, dict) and body.get("user_id") == 5 and type(body["user_id"]) is int:
        body = {**body, "user_id": member.id}
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    await expect_error(owner.client.call("POST", action_path(chat["id"], action), **kwargs), 400, error)
    banned = await restriction(portal, chat["id"], member.id, "ban")
    assert (banned is not None) is (action == "unban")
    assert (member.id in await memberships(portal, chat["id"])) is (action == "ban")
    assert len(await records_of(portal, member.id)) == (1 if action == "unban" else 0)


@pytest.mark.parametrize("action", ["ban", "unban"])
async def test_ban_broken_json_and_errors(portal: Portal, action: str) -> None:
    """08 §4–6: 401 first, broken JSON 400, unknown chat/user 404, yourself 403."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    path = action_path(chat["id"], action)
    response = await owner.client.raw(
        "POST", path, content=b"{user_id: 1}", headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["error"]) == (400, "Invalid request")
    response = await portal.client().raw(
        "POST", path, content=b"{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401
    await expect_error(
        owner.client.call("POST", action_path(999_999, action), json={"user_id": member.id}),
        404,
        "Chat not found",
    )
    await expect_error(owner.client.call("POST", path, json={"user_id": 999_999}), 404, "User not found")
    await expect_error(owner.client.call("POST", path, json={"user_id": owner.id}), 403, "Access denied")
    assert member.id in await memberships(portal, chat["id"])
    assert await records_of(portal, member.id) == []


# ---- a banned user and the chat's content ---------------------------------------------------------------


async def test_a_banned_user_cannot_read_history_members_or_activity(portal: Portal) -> None:
    """A user banned from a chat gets 403 ERR_BANNED on its history, members and activity, whatever their
    right to the route; the chat object stays readable (docs/decisions.md). A timed ban's end, or an unban,
    opens them again."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    visitor = await portal.login()
    reads = [chats_path(chat["id"], path) for path in ("/history", "/members", "/activity")]
    await act(owner, chat["id"], "ban", visitor.id, duration=60)

    for path in reads:
        await expect_error(visitor.client.call("GET", path), 403, "ERR_BANNED")
    assert (await visitor.client.call("GET", chats_path(chat["id"])))["id"] == chat["id"]

    portal.server.clock.advance(61)
    assert isinstance(await visitor.client.call("GET", reads[0]), list)
    assert (await visitor.client.call("GET", reads[1]))["total"] >= 1
    # activity needs the right to moderate: without it, the answer is the usual refusal
    await expect_error(visitor.client.call("GET", reads[2]), 403, None)

    await act(owner, chat["id"], "ban", visitor.id)
    await expect_error(visitor.client.call("GET", reads[0]), 403, "ERR_BANNED")
    await act(owner, chat["id"], "unban", visitor.id)
    assert isinstance(await visitor.client.call("GET", reads[0]), list)


async def test_visibility_comes_before_the_ban(portal: Portal) -> None:
    """A private chat's banned ex-member no longer sees the chat: 403 "Access denied" first, as for a join."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    await act(owner, chat["id"], "ban", member.id)
    for path in ("/history", "/members", "/activity"):
        await expect_error(member.client.call("GET", chats_path(chat["id"], path)), 403, "Access denied")
