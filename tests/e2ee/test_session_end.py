"""Keys die with their session (00 §4, 08 §57): logout or revoke drops the session's key and blobs, the
rooms it joined hear `portal:key_removed {chat_id, user_id, session_id}`, and the epoch does not move."""

from __future__ import annotations

from typing import Any

from tests.e2ee.support import (
    Keyed,
    blobs,
    blobs_of,
    chat_epoch,
    fresh_key,
    keyed,
    second_session,
    session_pk,
    stored_key,
    wrapped_for,
)
from tests.helpers import Portal


async def shared_chat(portal: Portal, sockets: Any, *members: Keyed) -> tuple[dict[str, Any], bytes]:
    """A public chat all `members` joined (the first one distributes) holding the epoch-0 key."""
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    for member in members:
        await member.join(chat["id"])
    distributor = members[0]
    everyone = {m.session_id for m in members}
    while True:
        needed = await distributor.needed(chat["id"])
        if everyone <= {s["session_id"] for s in needed["sessions"]}:
            break
    key = fresh_key()
    await distributor.distribute(chat["id"], 0, wrapped_for(key, *members))
    for member in members:
        await member.received(chat["id"])
    return chat, key


async def test_logout_drops_the_key_and_blobs_and_tells_the_rooms(portal: Portal, sockets) -> None:
    leaver, stayer = await keyed(portal, sockets), await keyed(portal, sockets)
    chat, _key = await shared_chat(portal, sockets, leaver, stayer)
    other_chat, _ = await shared_chat(portal, sockets, leaver)
    assert await blobs_of(portal, leaver) == sorted([(chat["id"], 0), (other_chat["id"], 0)])

    await leaver.who.client.logout()

    removed = await stayer.sock.expect_for("portal:key_removed", chat["id"])
    assert removed == {"chat_id": chat["id"], "user_id": leaver.user_id, "session_id": leaver.session_id}
    assert await stored_key(portal, leaver) is None
    assert await blobs_of(portal, leaver) == []
    assert await stored_key(portal, stayer) == stayer.public_key
    assert (0, await session_pk(portal, stayer)) in await blobs(portal, chat["id"])
    assert await chat_epoch(portal, chat["id"]) == 0  # no rotation
    assert (await leaver.sock.expect("session:ended")) == {"reason": "logout"}


async def test_key_removed_reaches_every_room_the_session_joined(portal: Portal, sockets) -> None:
    leaver = await keyed(portal, sockets)
    first_watcher, second_watcher = await keyed(portal, sockets), await keyed(portal, sockets)
    first, _ = await shared_chat(portal, sockets, leaver, first_watcher)
    second, _ = await shared_chat(portal, sockets, leaver, second_watcher)

    await leaver.who.client.logout()

    expected = {"user_id": leaver.user_id, "session_id": leaver.session_id}
    assert await first_watcher.sock.expect_for("portal:key_removed", first["id"]) == {
        "chat_id": first["id"],
        **expected,
    }
    assert await second_watcher.sock.expect_for("portal:key_removed", second["id"]) == {
        "chat_id": second["id"],
        **expected,
    }
    assert first_watcher.sock.pending("portal:key_removed", second["id"]) == []


async def test_the_distributor_logging_out_names_another_without_rotating(portal: Portal, sockets) -> None:
    distributor, holder = await keyed(portal, sockets), await keyed(portal, sockets)
    chat, key = await shared_chat(portal, sockets, distributor, holder)

    await distributor.who.client.logout()

    changed = await holder.sock.expect_for("room:epoch_changed", chat["id"])
    assert changed == {"chat_id": chat["id"], "epoch": 0, "distributor": holder.ref()}
    assert await chat_epoch(portal, chat["id"]) == 0
    newcomer = await keyed(portal, sockets)
    ack = await newcomer.join(chat["id"])
    assert ack["distributor"] == holder.ref()
    assert ack["public_keys"] == [holder.with_key(), newcomer.with_key()]
    assert (await holder.needed(chat["id"]))["sessions"] == [newcomer.with_key()]
    await holder.distribute(chat["id"], 0, wrapped_for(key, newcomer))
    assert newcomer.pair.unwrap((await newcomer.received(chat["id"]))["blob"]) == key


async def test_revoking_another_session_drops_only_that_sessions_key(portal: Portal, sockets) -> None:
    """08 §63: a destroyed session ends with reason "revoked"; its key and blobs go with it."""
    first = await keyed(portal, sockets)
    second = await keyed(portal, sockets, await second_session(portal, first.who))
    watcher = await keyed(portal, sockets)
    chat, _key = await shared_chat(portal, sockets, first, second, watcher)

    await first.who.client.call("POST", f"/v1/users/me/sessions/{second.token[-6:]}/destroy")

    removed = await watcher.sock.expect_for("portal:key_removed", chat["id"])
    assert removed == {"chat_id": chat["id"], "user_id": second.user_id, "session_id": second.session_id}
    assert await stored_key(portal, second) is None and await blobs_of(portal, second) == []
    assert await stored_key(portal, first) == first.public_key
    assert await blobs_of(portal, first) == [(chat["id"], 0)]
    assert await chat_epoch(portal, chat["id"]) == 0
    await watcher.sock.assert_silent("room:epoch_changed", chat["id"])  # the distributor did not change
    assert await second.sock.expect("session:ended") == {"reason": "revoked"}
    ack = await (await keyed(portal, sockets)).join(chat["id"])
    sessions = {entry["session_id"] for entry in ack["public_keys"]}
    assert second.session_id not in sessions and first.session_id in sessions


async def test_a_session_in_no_room_ends_quietly(portal: Portal, sockets) -> None:
    leaver = await keyed(portal, sockets)
    watcher = await keyed(portal, sockets)
    chat, _ = await shared_chat(portal, sockets, watcher)

    await leaver.who.client.logout()

    assert await stored_key(portal, leaver) is None
    await watcher.sock.assert_silent("portal:key_removed", chat["id"])


async def test_a_keyless_session_ending_still_says_it_left(portal: Portal, sockets) -> None:
    """08 §57 speaks of any session that joined a room, key or not."""
    leaver = await keyed(portal, sockets, register=False)
    watcher = await keyed(portal, sockets)
    chat, _ = await shared_chat(portal, sockets, watcher)
    await leaver.join(chat["id"])

    await leaver.who.client.logout()

    removed = await watcher.sock.expect_for("portal:key_removed", chat["id"])
    assert removed == {"chat_id": chat["id"], "user_id": leaver.user_id, "session_id": leaver.session_id}
