"""Epoch rotation: clear, wipe, kick, ban of a joined user, admin kick, a join into a
`history_visible=false` chat (00 §4, 04 §3.4, 08 §15, §16, §50)."""

from __future__ import annotations

from typing import Any

from tests.e2ee.support import Keyed, blob_epochs, chat_epoch, fresh_key, keyed, second_session, wrapped_for
from tests.helpers import Portal
from tests.sockets import online


def refs(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(({"user_id": e["user_id"], "session_id": e["session_id"]} for e in entries), key=str)


def sorted_refs(*members: Keyed) -> list[dict[str, Any]]:
    return sorted((m.ref() for m in members), key=str)


async def keyed_room(portal: Portal, sockets: Any, *, first_is_owner: bool = True, others: int = 2):
    """A public chat with keyed sessions that all hold the epoch-0 key. Answers (chat, owner, members in
    join order); the earliest joiner is the distributor."""
    owner_login = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner_login)
    owner = await keyed(portal, sockets, owner_login)
    rest = [await keyed(portal, sockets) for _ in range(others)]
    order = [owner, *rest] if first_is_owner else [*rest, owner]
    await settle(order, chat["id"], epoch=0)
    return chat, owner, order


async def settle(members: list[Keyed], chat_id: int, *, epoch: int) -> bytes:
    """Join everyone (if not yet); once the first member (the distributor) is asked for all of them, it
    makes the epoch's key and wraps it for all. Answers the key."""
    for member in members:
        if chat_id not in member.joined:
            await member.join(chat_id)
            member.joined.add(chat_id)
    distributor = members[0]
    everyone = {m.session_id for m in members}
    while True:
        needed = await distributor.needed(chat_id)
        if needed["epoch"] == epoch and everyone <= {s["session_id"] for s in needed["sessions"]}:
            break
    key = fresh_key()
    ack = await distributor.distribute(chat_id, epoch, wrapped_for(key, *members))
    assert ack == {"ok": True, "stored": len(members)}, ack
    for member in members:
        assert member.pair.unwrap((await member.received(chat_id))["blob"]) == key
    distributor.drain("key:needed")
    return key


async def expect_rotation(members: list[Keyed], chat_id: int, epoch: int) -> dict[str, Any]:
    """Every member hears `room:epoch_changed {chat_id, epoch, distributor}`; answers the distributor."""
    seen = [await m.sock.expect_for("room:epoch_changed", chat_id) for m in members]
    assert all(s == seen[0] for s in seen), seen
    assert set(seen[0]) == {"chat_id", "epoch", "distributor"}
    assert seen[0]["chat_id"] == chat_id and seen[0]["epoch"] == epoch and type(seen[0]["epoch"]) is int
    return dict(seen[0]["distributor"])


def member(members: list[Keyed], ref: dict[str, Any]) -> Keyed:
    return next(m for m in members if m.ref() == ref)


# ---- clear and wipe -------------------------------------------------------------------------------------


async def test_clear_rotates_drops_old_blobs_and_names_a_distributor(portal: Portal, sockets) -> None:
    chat, owner, members = await keyed_room(portal, sockets)
    assert await blob_epochs(portal, chat["id"]) == {0}

    await owner.who.client.call("POST", f"/v1/portal/chats/{chat['id']}/clear")

    assert await chat_epoch(portal, chat["id"]) == 1
    assert await blob_epochs(portal, chat["id"]) == set()
    distributor = await expect_rotation(members, chat["id"], 1)
    assert distributor == owner.ref()  # the earliest-joined session with a key
    needed = await owner.needed(chat["id"])
    assert needed["epoch"] == 1 and refs(needed["sessions"]) == sorted_refs(*members)
    # The old epoch is gone for good: blobs for it are refused.
    stale = await owner.distribute(chat["id"], 0, wrapped_for(fresh_key(), *members))
    assert stale["ok"] is False and stale["error"] == "ERR_EPOCH_MISMATCH"
    key = fresh_key()
    assert await owner.distribute(chat["id"], 1, wrapped_for(key, *members)) == {"ok": True, "stored": 3}
    for each in members:
        assert each.pair.unwrap((await each.received(chat["id"]))["blob"]) == key
    assert await blob_epochs(portal, chat["id"]) == {1}


async def test_every_clear_moves_the_epoch_by_one(portal: Portal, sockets) -> None:
    chat, owner, members = await keyed_room(portal, sockets, others=1)
    for epoch in (1, 2, 3):
        await owner.who.client.call("POST", f"/v1/portal/chats/{chat['id']}/clear")
        assert await chat_epoch(portal, chat["id"]) == epoch
        await expect_rotation(members, chat["id"], epoch)
        await settle(members, chat["id"], epoch=epoch)
        assert await blob_epochs(portal, chat["id"]) == {epoch}
    rejoin = await keyed(portal, sockets)
    assert (await rejoin.join(chat["id"]))["epoch"] == 3


async def test_a_wipe_rotates(portal: Portal, sockets) -> None:
    """08 §16: a wipe clears the chat and rotates the epoch."""
    chat, owner, members = await keyed_room(portal, sockets)
    await owner.who.client.call(
        "POST", f"/v1/portal/chats/{chat['id']}/config/update", json={"wipe_preset": "1m"}
    )

    portal.server.clock.advance(61)
    assert await portal.container.messaging.run_wipes() >= 1

    assert await chat_epoch(portal, chat["id"]) == 1
    assert await blob_epochs(portal, chat["id"]) == set()
    assert await expect_rotation(members, chat["id"], 1) == owner.ref()


# ---- kick and ban ---------------------------------------------------------------------------------------


async def test_a_kick_rotates_and_never_names_the_kicked_user(portal: Portal, sockets) -> None:
    """The kicked user was the distributor (earliest joined): someone else is named, and the kicked
    session is not listed for the new key."""
    chat, owner, members = await keyed_room(portal, sockets, first_is_owner=False)
    target, other = members[0], members[1]
    assert (await keyed(portal, sockets)).ref() != target.ref()

    await owner.who.client.call(
        "POST", f"/v1/portal/chats/{chat['id']}/kick", json={"user_id": target.user_id}
    )

    assert await chat_epoch(portal, chat["id"]) == 1
    assert await blob_epochs(portal, chat["id"]) == set()
    stayed = [m for m in members if m is not target]
    distributor = await expect_rotation(stayed, chat["id"], 1)
    assert distributor["user_id"] != target.user_id
    assert distributor == other.ref()  # the earliest-joined remaining session
    assert await target.sock.expect_for("room:kicked", chat["id"])
    needed = await other.needed(chat["id"])
    assert refs(needed["sessions"]) == sorted_refs(*stayed)
    refused = await target.distribute(chat["id"], 1, wrapped_for(fresh_key(), target))
    assert refused["ok"] is False and refused["error"] == "ERR_NOT_DISTRIBUTOR"


async def test_a_rest_ban_of_a_joined_user_rotates_and_leaves_them_out(portal: Portal, sockets) -> None:
    """08 §50: the banned user's socket stays, but they are not named, not listed, and cannot distribute."""
    chat, owner, members = await keyed_room(portal, sockets, first_is_owner=False)
    target, other = members[0], members[1]

    await owner.who.client.call(
        "POST", f"/v1/portal/chats/{chat['id']}/ban", json={"user_id": target.user_id}
    )

    assert await chat_epoch(portal, chat["id"]) == 1
    assert await blob_epochs(portal, chat["id"]) == set()
    distributor = await expect_rotation(members, chat["id"], 1)  # the banned socket is still in the room
    assert distributor == other.ref()
    needed = await other.needed(chat["id"])
    stayed = [m for m in members if m is not target]
    assert refs(needed["sessions"]) == sorted_refs(*stayed)
    refused = await target.distribute(chat["id"], 1, wrapped_for(fresh_key(), target))
    assert refused["ok"] is False and refused["error"] == "ERR_NOT_DISTRIBUTOR"
    # The distributor's blob for the banned session is skipped.
    key = fresh_key()
    ack = await other.distribute(chat["id"], 1, wrapped_for(key, *stayed, target))
    assert ack == {"ok": True, "stored": len(stayed)}
    await target.sock.assert_silent("key:received")


async def test_a_ban_through_room_kick_rotates(portal: Portal, sockets) -> None:
    chat, owner, members = await keyed_room(portal, sockets, first_is_owner=False)
    target = members[0]

    ack = await owner.sock.call("room:kick", {"chat_id": chat["id"], "user_id": target.user_id, "ban": True})

    assert ack == {"ok": True}
    assert await chat_epoch(portal, chat["id"]) == 1
    stayed = [m for m in members if m is not target]
    distributor = await expect_rotation(stayed, chat["id"], 1)
    assert distributor["user_id"] != target.user_id


async def test_an_admin_kick_rotates(portal: Portal, sockets) -> None:
    chat, _owner, members = await keyed_room(portal, sockets, first_is_owner=False)
    target = members[0]
    admin = await portal.login("admin")

    await admin.client.call("POST", f"/v1/admin/chats/{chat['id']}/kick", json={"user_id": target.user_id})

    assert await chat_epoch(portal, chat["id"]) == 1
    assert await blob_epochs(portal, chat["id"]) == set()
    distributor = await expect_rotation([m for m in members if m is not target], chat["id"], 1)
    assert distributor["user_id"] != target.user_id


async def test_a_ban_of_a_user_outside_the_chat_does_not_rotate(portal: Portal, sockets) -> None:
    """08 §50: for kick and ban, the epoch rotates only if the target was a member or joined."""
    chat, owner, members = await keyed_room(portal, sockets, others=1)
    stranger = await portal.login()

    await owner.who.client.call("POST", f"/v1/portal/chats/{chat['id']}/ban", json={"user_id": stranger.id})

    assert await chat_epoch(portal, chat["id"]) == 0
    assert await blob_epochs(portal, chat["id"]) == {0}
    await members[1].sock.assert_silent("room:epoch_changed", chat["id"])


async def test_leaving_does_not_rotate(portal: Portal, sockets) -> None:
    """08 §21: leaving is not a rotation trigger."""
    chat, _owner, members = await keyed_room(portal, sockets)

    await members[2].sock.call("room:leave", {"chat_id": chat["id"]})

    assert await chat_epoch(portal, chat["id"]) == 0
    assert await blob_epochs(portal, chat["id"]) == {0}
    await members[1].sock.assert_silent("room:epoch_changed", chat["id"])


# ---- history_visible=false ------------------------------------------------------------------------------


async def hidden_history_room(portal: Portal, sockets: Any) -> tuple[dict[str, Any], Keyed]:
    owner_login = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner_login)
    await owner_login.client.call(
        "POST", f"/v1/portal/chats/{chat['id']}/config/update", json={"history_visible": False}
    )
    owner = await keyed(portal, sockets, owner_login)
    return chat, owner


async def test_a_join_into_a_hidden_history_chat_rotates(portal: Portal, sockets) -> None:
    """00 §4, 08 §15: each user's first socket in a `history_visible=false` chat starts a new epoch."""
    chat, owner = await hidden_history_room(portal, sockets)
    ack = await owner.join(chat["id"])
    owner.joined.add(chat["id"])
    assert ack["epoch"] == 1 and ack["history_visible"] is False
    assert await expect_rotation([owner], chat["id"], 1) == owner.ref()  # the owner's own first join
    await settle([owner], chat["id"], epoch=1)

    newcomer = await keyed(portal, sockets)
    ack = await newcomer.join(chat["id"])
    newcomer.joined.add(chat["id"])

    assert ack["epoch"] == 2 and ack["key"] is None
    assert await chat_epoch(portal, chat["id"]) == 2
    assert await blob_epochs(portal, chat["id"]) == set()
    assert await expect_rotation([owner], chat["id"], 2) == owner.ref()
    assert ack["distributor"] == owner.ref()
    await settle([owner, newcomer], chat["id"], epoch=2)
    assert await blob_epochs(portal, chat["id"]) == {2}


async def test_another_socket_or_session_of_a_present_user_does_not_rotate(portal: Portal, sockets) -> None:
    """08 §15: a further session of a user already present just receives the current key."""
    chat, owner = await hidden_history_room(portal, sockets)
    await owner.join(chat["id"])
    owner.joined.add(chat["id"])
    await expect_rotation([owner], chat["id"], 1)
    key = await settle([owner], chat["id"], epoch=1)

    extra_socket = Keyed(owner.who, owner.pair, await online(sockets, owner.token))
    ack = await extra_socket.join(chat["id"])
    assert ack["epoch"] == 1 and owner.pair.unwrap(ack["key"]["blob"]) == key

    sibling = await keyed(portal, sockets, await second_session(portal, owner.who))
    ack = await sibling.join(chat["id"])

    assert ack["epoch"] == 1 and ack["key"] is None
    assert await chat_epoch(portal, chat["id"]) == 1
    await owner.sock.assert_silent("room:epoch_changed", chat["id"])
    needed = await owner.needed(chat["id"])
    assert needed == {"chat_id": chat["id"], "epoch": 1, "sessions": [sibling.with_key()]}
    await owner.distribute(chat["id"], 1, wrapped_for(key, sibling))
    assert sibling.pair.unwrap((await sibling.received(chat["id"]))["blob"]) == key


async def test_a_visible_history_chat_does_not_rotate_on_join(portal: Portal, sockets) -> None:
    chat, _owner, members = await keyed_room(portal, sockets, others=1)
    newcomer = await keyed(portal, sockets)

    ack = await newcomer.join(chat["id"])

    assert ack["epoch"] == 0
    await members[0].sock.assert_silent("room:epoch_changed", chat["id"])
    assert await blob_epochs(portal, chat["id"]) == {0}
