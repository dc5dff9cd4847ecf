"""A REST ban leaves the banned user's socket in the room, but their sessions are left out of
`public_keys`, key distribution and the distributor choice (08 §50)."""

from __future__ import annotations

from portal.client.e2ee import KeyPair
from tests.e2ee.support import blobs, chat_epoch, fresh_key, keyed, session_pk, wrapped_for
from tests.helpers import Portal


async def banned_room(portal: Portal, sockets):
    """Owner (keyed, joined second) and a member (joined first, so the first distributor), then the
    member is REST-banned. Answers (chat, owner, banned) after the rotation settled."""
    owner_login = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner_login)
    banned = await keyed(portal, sockets)
    owner = await keyed(portal, sockets, owner_login)
    await banned.join(chat["id"])
    await owner.join(chat["id"])
    await owner.who.client.call(
        "POST", f"/v1/portal/chats/{chat['id']}/ban", json={"user_id": banned.user_id}
    )
    changed = await owner.sock.expect_for("room:epoch_changed", chat["id"])
    assert changed == {"chat_id": chat["id"], "epoch": 1, "distributor": owner.ref()}
    assert await banned.sock.expect_for("user:banned", chat["id"]) == {
        "chat_id": chat["id"],
        "user_id": banned.user_id,
    }
    banned.drain("key:needed")  # from when it was the first distributor, before the ban
    return chat, owner, banned


async def test_banned_sessions_are_not_in_public_keys(portal: Portal, sockets) -> None:
    chat, owner, banned = await banned_room(portal, sockets)
    newcomer = await keyed(portal, sockets)

    ack = await newcomer.join(chat["id"])

    assert ack["public_keys"] == [owner.with_key(), newcomer.with_key()]
    assert ack["distributor"] == owner.ref()
    assert banned.user_id not in {entry["user_id"] for entry in ack["public_keys"]}


async def test_banned_sessions_are_never_listed_and_never_receive_a_key(portal: Portal, sockets) -> None:
    chat, owner, banned = await banned_room(portal, sockets)
    needed = await owner.needed(chat["id"])
    assert needed["sessions"] == [owner.with_key()]

    key = fresh_key()
    ack = await owner.distribute(chat["id"], 1, wrapped_for(key, owner, banned))

    assert ack == {"ok": True, "stored": 1}
    assert set(await blobs(portal, chat["id"])) == {(1, await session_pk(portal, owner))}
    await banned.sock.assert_silent("key:received")


async def test_a_banned_session_is_not_a_distributor_even_holding_a_blob(portal: Portal, sockets) -> None:
    """A blob from before the ban does not make the banned session a holder of anything now."""
    chat, _owner, banned = await banned_room(portal, sockets)
    newcomer = await keyed(portal, sockets)
    await newcomer.join(chat["id"])

    refused = await banned.distribute(chat["id"], 1, wrapped_for(fresh_key(), newcomer))

    assert refused["ok"] is False and refused["error"] == "ERR_NOT_DISTRIBUTOR"
    assert (1, await session_pk(portal, newcomer)) not in await blobs(portal, chat["id"])


async def test_a_banned_sessions_new_key_is_not_announced(portal: Portal, sockets) -> None:
    chat, owner, banned = await banned_room(portal, sockets)
    await owner.needed(chat["id"])

    banned.pair = KeyPair.generate()
    assert await banned.register() == {"status": "registered"}

    await owner.sock.assert_silent("portal:key_added", chat["id"])
    await owner.sock.assert_silent("key:needed", chat["id"])


async def test_the_distributor_leaving_never_hands_over_to_a_banned_session(portal: Portal, sockets) -> None:
    chat, owner, banned = await banned_room(portal, sockets)

    await owner.sock.call("room:leave", {"chat_id": chat["id"]})

    await banned.sock.assert_silent("key:needed")
    newcomer = await keyed(portal, sockets)
    ack = await newcomer.join(chat["id"])
    assert ack["distributor"] == newcomer.ref()
    assert await chat_epoch(portal, chat["id"]) == 1


async def test_an_unbanned_session_still_in_the_room_is_keyed_again(portal: Portal, sockets) -> None:
    """08 §14: distribution covers the joined sessions with a key; after an unban the REST-banned socket
    that stayed counts again (08 §50 leaves out banned users only)."""
    chat, owner, banned = await banned_room(portal, sockets)
    await owner.needed(chat["id"])
    key = fresh_key()
    await owner.distribute(chat["id"], 1, wrapped_for(key, owner))

    await owner.who.client.call(
        "POST", f"/v1/portal/chats/{chat['id']}/unban", json={"user_id": banned.user_id, "reason": "ok"}
    )

    needed = await owner.needed(chat["id"])
    assert needed["sessions"] == [banned.with_key()]
