"""`POST /v1/portal/chats/{id}/kick` (03 §3.8, 00 §3.5, §4, 08 §4, §5, §17, §20, §38, §39, §44–47, §50).

The who-may-kick-whom matrix is in tests/api/test_chat_permissions.py; here: the effects and the errors.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.chats_support import (  # noqa: F401  (the `sockets` fixture)
    activity_rows,
    audit_rows,
    chat_row,
    chats_path,
    join_room,
    member_of,
    memberships,
    moderation_rows,
    premium,
    sockets_fixture,
    system_texts,
    user_ref,
)
from tests.helpers import Portal, expect_error


def kick_path(chat_id: int | str) -> str:
    return chats_path(chat_id, "/kick")


async def test_kick_removes_a_member_and_records_it(portal: Portal) -> None:
    """`{ok:true}`; membership gone; a kick activity row with the actor; CHAT_KICK moderation action and
    audit row; "<username> was kicked"; the epoch moves on."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    epoch = (await chat_row(portal, chat["id"])).epoch

    assert await owner.client.call("POST", kick_path(chat["id"]), json={"user_id": member.id}) == {"ok": True}

    assert member.id not in await memberships(portal, chat["id"])
    last = (await activity_rows(portal, chat["id"]))[-1]
    assert (last.user_id, last.action, last.method, last.invite_code, last.actor_id) == (
        member.id,
        "kick",
        None,
        None,
        owner.id,
    )
    [action] = await moderation_rows(portal, chat["id"])
    assert (action.user_id, action.action_type, action.issued_by_id, action.is_lifted, action.expires_at) == (
        member.id,
        "CHAT_KICK",
        owner.id,
        False,
        None,
    )
    [audit] = await audit_rows(portal, "CHAT_KICK", chat["id"])
    assert audit.actor_id == owner.id
    assert audit.event_metadata["user_id"] == member.id
    assert (await system_texts(portal, chat["id"]))[-1] == f"{member.user['username']} was kicked"
    assert (await chat_row(portal, chat["id"])).epoch == epoch + 1
    # the kicked member lost the private chat
    await expect_error(member.client.call("GET", chats_path(chat["id"])), 403, "Access denied")
    # and the activity endpoint shows it with the actor
    events = (await owner.client.call("GET", chats_path(chat["id"], "/activity")))["events"]
    assert events[0] == {
        "user": user_ref(member),
        "action": "kick",
        "method": None,
        "invite_code": None,
        "created_at": events[0]["created_at"],
        "actor": user_ref(owner),
    }


async def test_kick_appears_in_the_targets_punishments(portal: Portal) -> None:
    """08 §38: the CHAT_KICK record carries chat_id and issued_by_id."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    await owner.client.call("POST", kick_path(chat["id"]), json={"user_id": member.id})
    [record] = await member.client.punishments()
    assert (record["action_type"], record["chat_id"], record["issued_by_id"]) == (
        "CHAT_KICK",
        chat["id"],
        owner.id,
    )


async def test_kick_of_a_viewer_in_the_room_tells_the_room(portal: Portal, sockets: Any) -> None:
    """00 §5, 03 §3.8: the target's sockets get `room:kicked` and leave; the room hears about it."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    viewer = await portal.login()
    watcher = await join_room(sockets, owner, chat["id"])
    target = await join_room(sockets, viewer, chat["id"])
    epoch = (await chat_row(portal, chat["id"])).epoch

    await owner.client.call("POST", kick_path(chat["id"]), json={"user_id": viewer.id})

    kicked = await target.expect("room:kicked")
    assert kicked["chat_id"] == chat["id"]
    removed = await watcher.expect("portal:key_removed")
    assert (removed["chat_id"], removed["user_id"]) == (chat["id"], viewer.id)
    changed = await watcher.expect("room:epoch_changed")
    assert (changed["chat_id"], changed["epoch"]) == (chat["id"], epoch + 1)
    message = await watcher.expect("message:new")
    while message["content"] != f"{viewer.user['username']} was kicked":
        message = await watcher.expect("message:new")
    assert (message["type"], message["sender"]) == ("system", None)
    left = await watcher.expect("room:member_left")
    while left["user"]["id"] != viewer.id:
        left = await watcher.expect("room:member_left")
    detail = await owner.client.call("GET", chats_path(chat["id"]))
    assert detail["live"]["viewer_count"] == 1
    assert viewer.id not in await memberships(portal, chat["id"])


async def test_a_kicked_user_may_rejoin_a_public_chat(portal: Portal, sockets: Any) -> None:
    """A kick is not a ban: the membership is gone, the chat stays open to them."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    viewer = await portal.login()
    await join_room(sockets, viewer, chat["id"])
    await owner.client.call("POST", kick_path(chat["id"]), json={"user_id": viewer.id})
    await join_room(sockets, viewer, chat["id"])
    assert viewer.id in await memberships(portal, chat["id"])


async def test_kick_errors(portal: Portal) -> None:
    """08 §4–5, §46: unknown user 404, yourself 403, not a member nor in the room 404 "Member not found"."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    outsider = await portal.login()
    path = kick_path(chat["id"])
    await expect_error(owner.client.call("POST", path, json={"user_id": 999_999}), 404, "User not found")
    await expect_error(owner.client.call("POST", path, json={"user_id": 2**40}), 404, "User not found")
    await expect_error(owner.client.call("POST", path, json={"user_id": 0}), 404, "User not found")
    await expect_error(owner.client.call("POST", path, json={"user_id": owner.id}), 403, "Access denied")
    await expect_error(
        owner.client.call("POST", path, json={"user_id": outsider.id}), 404, "Member not found"
    )
    await expect_error(member.client.call("POST", path, json={"user_id": member.id}), 403, "Access denied")
    await expect_error(
        owner.client.call("POST", kick_path(999_999), json={"user_id": member.id}), 404, "Chat not found"
    )
    await expect_error(
        owner.client.call("POST", kick_path("x"), json={"user_id": member.id}),
        400,
        "chat_id must be an integer",
    )
    assert member.id in await memberships(portal, chat["id"])
    assert await moderation_rows(portal, chat["id"]) == []


async def test_an_admin_kicking_a_non_member_gets_member_not_found(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    admin = await portal.login("admin")
    visitor = await portal.login()
    await expect_error(
        admin.client.call("POST", kick_path(chat["id"]), json={"user_id": visitor.id}),
        404,
        "Member not found",
    )


async def test_kicking_the_owner_in_the_room_needs_rank_over_them(portal: Portal, sockets: Any) -> None:
    """00 §3.5: never the chat owner unless can_act_on(actor, owner)."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    owner_socket = await join_room(sockets, owner, chat["id"])
    member = await member_of(portal, owner, chat["id"])
    await expect_error(
        member.client.call("POST", kick_path(chat["id"]), json={"user_id": owner.id}), 403, "Access denied"
    )
    moderator = await portal.login("moderator")
    watcher = await join_room(sockets, moderator, chat["id"])
    assert await moderator.client.call("POST", kick_path(chat["id"]), json={"user_id": owner.id}) == {
        "ok": True
    }
    assert (await owner_socket.expect("room:kicked"))["chat_id"] == chat["id"]
    left = await watcher.expect("room:member_left")
    assert left["user"]["id"] == owner.id
    assert (await moderator.client.call("GET", chats_path(chat["id"])))["live"]["viewer_count"] == 1
    # still the owner: a kick changes presence, not ownership
    assert (await owner.client.call("GET", chats_path(chat["id"])))["owner"]["id"] == owner.id


BAD_BODIES: list[tuple[Any, str]] = [
    ({}, "user_id is required"),
    ({"user_id": "5"}, "user_id must be an integer"),
    ({"user_id": None}, "user_id must be an integer"),
    ({"user_id": 1.0}, "user_id must be an integer"),
    ({"user_id": True}, "user_id must be an integer"),
    ({"user_id": 5, "reason": "spam"}, "reason is not allowed"),
    ({"user_id": 5, "ban": True}, "ban is not allowed"),
    ([5], "Invalid request"),
    (5, "Invalid request"),
]


@pytest.mark.parametrize(("body", "error"), BAD_BODIES, ids=[str(i) for i in range(len(BAD_BODIES))])
async def test_kick_refuses_bad_bodies(portal: Portal, body: Any, error: str) -> None:
    """08 §6, §7: 400 before anything else (after the session); nothing changes."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    if (
        isinstance(body, dict)
        and "user_id" in body
        and isinstance(body["user_id"], int)
        and body["user_id"] == 5
    ):
        body = {**body, "user_id": member.id}
    await expect_error(owner.client.call("POST", kick_path(chat["id"]), json=body), 400, error)
    await expect_error(owner.client.call("POST", kick_path(999_999), json=body), 400, error)
    assert member.id in await memberships(portal, chat["id"])


async def test_kick_refuses_broken_json(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    response = await owner.client.raw(
        "POST", kick_path(chat["id"]), content=b'{"user_id": ', headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["error"]) == (400, "Invalid request")


async def test_kick_gates(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    await expect_error(
        portal.client().call("POST", kick_path(chat["id"]), json={"user_id": member.id}),
        401,
        "Authentication required",
    )
    response = await portal.client().raw(
        "POST", kick_path(chat["id"]), content=b"{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401  # 08 §4: the session before the body
    stranger = await portal.stranger()
    await expect_error(
        stranger.client.call("POST", kick_path(chat["id"]), json={"user_id": member.id}), 403, "Access denied"
    )
    assert member.id in await memberships(portal, chat["id"])


async def test_a_member_kicked_from_a_private_chat_loses_it_on_every_socket(
    portal: Portal, sockets: Any
) -> None:
    """08 §18: `room:destroyed` to the sockets that could list the chat and no longer can."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    lobby = sockets()
    await lobby.connect(token=member.client.session_token)
    assert chat["id"] in [entry["chat_id"] for entry in await lobby.expect("chat:list")]
    in_room = await join_room(sockets, member, chat["id"])
    await owner.client.call("POST", kick_path(chat["id"]), json={"user_id": member.id})
    assert await lobby.expect("room:destroyed") == {"chat_id": chat["id"]}
    assert (await in_room.expect("room:kicked"))["chat_id"] == chat["id"]
    assert chat["id"] not in [c["id"] for c in await member.client.call("GET", "/v1/portal/chats")]


async def test_a_viewer_kicked_from_a_public_chat_keeps_it_listed(portal: Portal, sockets: Any) -> None:
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    viewer = await portal.login()
    lobby = sockets()
    await lobby.connect(token=viewer.client.session_token)
    await lobby.expect("chat:list")
    in_room = await join_room(sockets, viewer, chat["id"])
    await owner.client.call("POST", kick_path(chat["id"]), json={"user_id": viewer.id})
    await in_room.expect("room:kicked")
    assert lobby.events["room:destroyed"].empty()
    assert chat["id"] in [c["id"] for c in await viewer.client.call("GET", "/v1/portal/chats")]
