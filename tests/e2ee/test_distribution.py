"""Key distribution over Socket.IO: the join ack's E2EE fields, `key:needed`, `key:distribute`,
`key:received` (00 §4, §5, 08 §2, §13, §14)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from portal.client.e2ee import KeyPair
from tests.e2ee.support import (
    Keyed,
    blobs,
    fake_blob,
    fresh_key,
    keyed,
    second_session,
    session_id_of,
    session_pk,
    wrapped_for,
)
from tests.helpers import LoggedIn, Portal
from tests.sockets import eventually


def by_session(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entries, key=lambda e: e["session_id"])


async def keyless_chat(portal: Portal) -> tuple[LoggedIn, dict[str, Any]]:
    owner = await portal.login("user", tier=2)
    return owner, await portal.public_chat(owner)


async def keyed_chat(portal: Portal, sockets: Any) -> tuple[dict[str, Any], Keyed, bytes]:
    """A public chat whose first joiner has made the epoch-0 key and holds its blob."""
    _owner, chat = await keyless_chat(portal)
    first = await keyed(portal, sockets)
    await first.join(chat["id"])
    await first.needed(chat["id"])
    key = fresh_key()
    assert await first.distribute(chat["id"], 0, wrapped_for(key, first)) == {"ok": True, "stored": 1}
    await first.received(chat["id"])
    return chat, first, key


# ---- the join ack ---------------------------------------------------------------------------------------


async def test_the_join_ack_lists_joined_sessions_with_keys(portal: Portal, sockets) -> None:
    """08 §14: `public_keys` are the sessions joined to the room now that have a key, as
    `{user_id, session_id, public_key}`; `session_id` is the first 16 hex of SHA-256(token) (00 §5)."""
    _owner, chat = await keyless_chat(portal)
    first = await keyed(portal, sockets)
    keyless = await keyed(portal, sockets, register=False)
    absent = await keyed(portal, sockets)  # has a key, never joins
    await first.join(chat["id"])
    await keyless.join(chat["id"])

    me = await keyed(portal, sockets)
    ack = await me.join(chat["id"])

    assert first.session_id == session_id_of(first.token) and len(first.session_id) == 16
    assert ack["public_keys"] == [first.with_key(), me.with_key()]
    assert absent.ref() not in [{k: e[k] for k in ("user_id", "session_id")} for e in ack["public_keys"]]
    assert ack["epoch"] == 0 and type(ack["epoch"]) is int
    assert ack["key"] is None  # nobody made a key yet
    assert ack["distributor"] == first.ref()


async def test_a_keyless_joiner_alone_gets_no_distributor(portal: Portal, sockets) -> None:
    _owner, chat = await keyless_chat(portal)
    me = await keyed(portal, sockets, register=False)

    ack = await me.join(chat["id"])

    assert (ack["public_keys"], ack["key"], ack["distributor"]) == ([], None, None)
    await me.sock.assert_silent("key:needed")


async def test_the_join_ack_carries_the_callers_blob_when_it_holds_one(portal: Portal, sockets) -> None:
    """00 §5: `key: {epoch, blob}` for the caller's session when it holds the current epoch's blob."""
    chat, first, key = await keyed_chat(portal, sockets)
    stored = await blobs(portal, chat["id"])
    blob = stored[(0, await session_pk(portal, first))]

    await first.sock.call("room:leave", {"chat_id": chat["id"]})
    ack = await first.join(chat["id"])

    assert ack["key"] == {"epoch": 0, "blob": blob}
    assert type(ack["key"]["epoch"]) is int
    assert first.pair.unwrap(ack["key"]["blob"]) == key
    assert ack["distributor"] == first.ref()
    # Another session joining sees no key of its own.
    other = await keyed(portal, sockets)
    other_ack = await other.join(chat["id"])
    assert other_ack["key"] is None
    assert other_ack["distributor"] == first.ref()


# ---- the first distributor ------------------------------------------------------------------------------


async def test_the_first_keyed_session_is_named_and_asked_for_itself(portal: Portal, sockets) -> None:
    """00 §4, 08 §13: in a chat with no key the earliest-joined session with a key is the distributor, and
    `key:needed` lists its own session."""
    _owner, chat = await keyless_chat(portal)
    first = await keyed(portal, sockets)

    ack = await first.join(chat["id"])

    assert ack["distributor"] == first.ref()
    needed = await first.needed(chat["id"])
    assert needed == {"chat_id": chat["id"], "epoch": 0, "sessions": [first.with_key()]}
    assert type(needed["epoch"]) is int


async def test_the_distributor_stores_blobs_and_each_session_receives_its_own(
    portal: Portal, sockets
) -> None:
    """`key:distribute {chat_id, epoch, keys:[{user_id, session_id, blob}]}` → `{ok, stored}`; each
    recipient session gets `key:received {chat_id, epoch, blob}`."""
    _owner, chat = await keyless_chat(portal)
    first = await keyed(portal, sockets)
    await first.join(chat["id"])
    await first.needed(chat["id"])
    key = fresh_key()
    keys = wrapped_for(key, first)

    ack = await first.distribute(chat["id"], 0, keys)

    assert ack == {"ok": True, "stored": 1}
    received = await first.received(chat["id"])
    assert received == {"chat_id": chat["id"], "epoch": 0, "blob": keys[0]["blob"]}
    assert first.pair.unwrap(received["blob"]) == key
    assert await blobs(portal, chat["id"]) == {(0, await session_pk(portal, first)): keys[0]["blob"]}


async def test_a_newcomer_is_listed_to_the_distributor_and_receives_the_key(portal: Portal, sockets) -> None:
    chat, first, key = await keyed_chat(portal, sockets)
    newcomer = await keyed(portal, sockets)

    ack = await newcomer.join(chat["id"])

    assert ack["key"] is None and ack["distributor"] == first.ref()
    needed = await first.needed(chat["id"])
    assert needed == {"chat_id": chat["id"], "epoch": 0, "sessions": [newcomer.with_key()]}
    assert await first.distribute(chat["id"], 0, wrapped_for(key, newcomer)) == {"ok": True, "stored": 1}
    received = await newcomer.received(chat["id"])
    assert newcomer.pair.unwrap(received["blob"]) == key
    await first.sock.assert_silent("key:received")  # only the recipient hears it
    await first.sock.assert_silent("key:needed")  # everyone has the key now


async def test_blobs_for_sessions_that_have_not_joined_are_skipped_and_not_counted(
    portal: Portal, sockets
) -> None:
    """08 §13: blobs for sessions not joined to the room are skipped, not counted in `stored`."""
    chat, first, key = await keyed_chat(portal, sockets)
    newcomer = await keyed(portal, sockets)
    await newcomer.join(chat["id"])
    await first.needed(chat["id"])
    outsider = await keyed(portal, sockets)  # has a key, never joined
    before = await blobs(portal, chat["id"])

    entries = [
        *wrapped_for(key, outsider),
        {"user_id": outsider.user_id, "session_id": "0" * 16, "blob": fake_blob()},  # no such session
        {**newcomer.ref(), "user_id": outsider.user_id, "blob": fake_blob()},  # user and session disagree
        *wrapped_for(key, newcomer),
    ]
    ack = await first.distribute(chat["id"], 0, entries)

    assert ack == {"ok": True, "stored": 1}
    after = await blobs(portal, chat["id"])
    assert set(after) - set(before) == {(0, await session_pk(portal, newcomer))}
    assert newcomer.pair.unwrap(after[(0, await session_pk(portal, newcomer))]) == key
    await outsider.sock.assert_silent("key:received")


async def test_the_first_blob_stored_for_a_session_wins(portal: Portal, sockets) -> None:
    """08 §13: a blob is never overwritten; a second one counts 0 and is not delivered."""
    chat, first, key = await keyed_chat(portal, sockets)
    newcomer = await keyed(portal, sockets)
    await newcomer.join(chat["id"])
    await first.needed(chat["id"])
    original = wrapped_for(key, newcomer)
    await first.distribute(chat["id"], 0, original)
    await newcomer.received(chat["id"])

    again = await first.distribute(chat["id"], 0, wrapped_for(fresh_key(), newcomer, first))

    assert again == {"ok": True, "stored": 0}
    stored = await blobs(portal, chat["id"])
    assert stored[(0, await session_pk(portal, newcomer))] == original[0]["blob"]
    assert first.pair.unwrap(stored[(0, await session_pk(portal, first))]) == key
    await newcomer.sock.assert_silent("key:received")


async def test_an_empty_distribution_stores_nothing(portal: Portal, sockets) -> None:
    chat, first, _key = await keyed_chat(portal, sockets)
    assert await first.distribute(chat["id"], 0, []) == {"ok": True, "stored": 0}


# ---- who may distribute ---------------------------------------------------------------------------------


async def test_a_session_neither_named_nor_holding_is_not_the_distributor(portal: Portal, sockets) -> None:
    """00 §4, 08 §13: blobs are accepted only from the named distributor or a holder of the epoch's blob."""
    chat, first, _key = await keyed_chat(portal, sockets)
    second = await keyed(portal, sockets)
    await second.join(chat["id"])
    await first.needed(chat["id"])
    before = await blobs(portal, chat["id"])

    ack = await second.distribute(chat["id"], 0, wrapped_for(fresh_key(), second))

    assert ack["ok"] is False and ack["error"] == "ERR_NOT_DISTRIBUTOR"
    assert await blobs(portal, chat["id"]) == before
    await second.sock.assert_silent("key:received")


async def test_a_session_outside_the_room_is_not_the_distributor(portal: Portal, sockets) -> None:
    chat, first, key = await keyed_chat(portal, sockets)
    outsider = await keyed(portal, sockets)

    ack = await outsider.distribute(chat["id"], 0, wrapped_for(key, first))

    assert ack["ok"] is False and ack["error"] == "ERR_NOT_DISTRIBUTOR"
    # Whatever epoch it names: a session outside the room cannot probe the chat's epoch.
    for epoch in (1, 7):
        ack = await outsider.distribute(chat["id"], epoch, wrapped_for(key, first))
        assert ack["ok"] is False and ack["error"] == "ERR_NOT_DISTRIBUTOR"


async def test_the_named_distributor_that_left_is_no_longer_accepted(portal: Portal, sockets) -> None:
    _owner, chat = await keyless_chat(portal)
    first = await keyed(portal, sockets)
    await first.join(chat["id"])
    await first.needed(chat["id"])
    await first.sock.call("room:leave", {"chat_id": chat["id"]})

    ack = await first.distribute(chat["id"], 0, wrapped_for(fresh_key(), first))

    assert ack["ok"] is False and ack["error"] == "ERR_NOT_DISTRIBUTOR"
    assert await blobs(portal, chat["id"]) == {}


async def test_a_holder_of_the_epochs_blob_may_distribute(portal: Portal, sockets) -> None:
    chat, first, key = await keyed_chat(portal, sockets)
    holder = await keyed(portal, sockets)
    await holder.join(chat["id"])
    await first.needed(chat["id"])
    await first.distribute(chat["id"], 0, wrapped_for(key, holder))
    await holder.received(chat["id"])
    newcomer = await keyed(portal, sockets)
    await newcomer.join(chat["id"])
    await first.needed(chat["id"])

    ack = await holder.distribute(chat["id"], 0, wrapped_for(key, newcomer))

    assert ack == {"ok": True, "stored": 1}
    assert newcomer.pair.unwrap((await newcomer.received(chat["id"]))["blob"]) == key


@pytest.mark.parametrize("epoch", [1, -1, 7])
async def test_another_epoch_is_refused(portal: Portal, sockets, epoch: int) -> None:
    chat, first, key = await keyed_chat(portal, sockets)
    newcomer = await keyed(portal, sockets)
    await newcomer.join(chat["id"])
    await first.needed(chat["id"])

    ack = await first.distribute(chat["id"], epoch, wrapped_for(key, newcomer))

    assert ack["ok"] is False and ack["error"] == "ERR_EPOCH_MISMATCH"
    assert (0, await session_pk(portal, newcomer)) not in await blobs(portal, chat["id"])


async def test_outsiders_learn_nothing_of_a_chat(portal: Portal, sockets) -> None:
    """An unknown chat, a private chat the session cannot see and a chat it can see but has not joined all
    answer the same, whatever the epoch, and the refusal does not wait for the chat's lock."""
    chat, first, key = await keyed_chat(portal, sockets)
    owner = await portal.login("user", tier=2)
    hidden = await portal.private_chat(owner)
    me = await keyed(portal, sockets)
    answers = [
        await me.distribute(chat_id, epoch, wrapped_for(key, first))
        for chat_id in (2_000_000_000, hidden["id"], chat["id"])
        for epoch in (0, 5)
    ]
    assert all(a["ok"] is False and a["error"] == "ERR_NOT_DISTRIBUTOR" for a in answers), answers
    async with portal.container.e2ee._locked(chat["id"]):  # someone holds the chat's lock meanwhile
        ack = await me.distribute(chat["id"], 0, wrapped_for(key, first))
    assert ack["error"] == "ERR_NOT_DISTRIBUTOR"


@pytest.mark.parametrize(
    "blob",
    [fake_blob(79), fake_blob(81), fake_blob(32), "not base64!", "", None, 5],
    ids=["79-bytes", "81-bytes", "32-bytes", "not-base64", "empty", "null", "integer"],
)
async def test_a_malformed_blob_is_a_bad_request_and_nothing_is_stored(
    portal: Portal, sockets, blob: object
) -> None:
    chat, first, key = await keyed_chat(portal, sockets)
    newcomer = await keyed(portal, sockets)
    late = await keyed(portal, sockets)
    await newcomer.join(chat["id"])
    await late.join(chat["id"])
    await first.needed(chat["id"])
    before = await blobs(portal, chat["id"])

    entries = [*wrapped_for(key, newcomer), {**late.ref(), "blob": blob}]
    ack = await first.distribute(chat["id"], 0, entries)

    assert ack["ok"] is False and ack["error"] == "ERR_BAD_REQUEST"
    assert await blobs(portal, chat["id"]) == before  # the good entry was not kept either
    await newcomer.sock.assert_silent("key:received")


async def test_a_malformed_blob_for_a_session_outside_the_room_is_still_a_bad_request(
    portal: Portal, sockets
) -> None:
    chat, first, key = await keyed_chat(portal, sockets)
    newcomer = await keyed(portal, sockets)
    await newcomer.join(chat["id"])
    await first.needed(chat["id"])

    entries = [*wrapped_for(key, newcomer), {"user_id": 1, "session_id": "f" * 16, "blob": "junk"}]
    ack = await first.distribute(chat["id"], 0, entries)

    assert ack["ok"] is False and ack["error"] == "ERR_BAD_REQUEST"
    assert (0, await session_pk(portal, newcomer)) not in await blobs(portal, chat["id"])


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "x",
        {"epoch": 0, "keys": []},
        {"chat_id": "1", "epoch": 0, "keys": []},
        {"chat_id": 1, "keys": []},
        {"chat_id": 1, "epoch": "0", "keys": []},
        {"chat_id": 1, "epoch": 0.5, "keys": []},
        {"chat_id": 1, "epoch": 0},
        {"chat_id": 1, "epoch": 0, "keys": {}},
        {"chat_id": 1, "epoch": 0, "keys": [{"user_id": 1, "session_id": "a" * 16}]},
        {"chat_id": 1, "epoch": 0, "keys": [{"user_id": "1", "session_id": "a" * 16, "blob": "x"}]},
        {"chat_id": 1, "epoch": 0, "keys": ["blob"]},
    ],
)
async def test_malformed_payloads_are_bad_requests(portal: Portal, sockets, payload: object) -> None:
    me = await keyed(portal, sockets)
    data = dict(payload) if isinstance(payload, dict) else payload
    ack = await me.sock.call("key:distribute", data)
    assert ack["ok"] is False and ack["error"] == "ERR_BAD_REQUEST"


# ---- member sessions ------------------------------------------------------------------------------------


async def test_a_second_session_of_the_same_user_gets_its_own_blob(portal: Portal, sockets) -> None:
    """08 §14: distribution works per session; another session of a user already in the room is
    a member session of its own."""
    chat, first, key = await keyed_chat(portal, sockets)
    member = await keyed(portal, sockets)
    await member.join(chat["id"])
    await first.needed(chat["id"])
    await first.distribute(chat["id"], 0, wrapped_for(key, member))
    await member.received(chat["id"])
    sibling = await keyed(portal, sockets, await second_session(portal, member.who))
    assert sibling.session_id != member.session_id

    ack = await sibling.join(chat["id"])

    assert ack["key"] is None
    assert sibling.with_key() in ack["public_keys"] and member.with_key() in ack["public_keys"]
    needed = await first.needed(chat["id"])
    assert needed["sessions"] == [sibling.with_key()]
    assert await first.distribute(chat["id"], 0, wrapped_for(key, sibling)) == {"ok": True, "stored": 1}
    assert sibling.pair.unwrap((await sibling.received(chat["id"]))["blob"]) == key
    await member.sock.assert_silent("key:received")


async def test_a_second_socket_of_a_session_that_holds_the_key_needs_nothing(portal: Portal, sockets) -> None:
    chat, first, key = await keyed_chat(portal, sockets)
    from tests.sockets import online

    extra = Keyed(first.who, first.pair, await online(sockets, first.token))

    ack = await extra.join(chat["id"])

    assert first.pair.unwrap(ack["key"]["blob"]) == key
    assert ack["public_keys"] == [first.with_key()]  # one session, however many sockets
    await first.sock.assert_silent("key:needed")


async def test_registering_a_key_after_joining_asks_the_distributor_again(portal: Portal, sockets) -> None:
    """08 §13: `key:needed` is sent again when a joined session registers a key."""
    chat, first, key = await keyed_chat(portal, sockets)
    late = await keyed(portal, sockets, register=False)
    ack = await late.join(chat["id"])
    assert late.ref() not in [
        {"user_id": e["user_id"], "session_id": e["session_id"]} for e in ack["public_keys"]
    ]
    await first.sock.assert_silent("key:needed")  # nothing to wrap for yet

    await late.register()

    assert await first.sock.expect("portal:key_added") == {"chat_id": chat["id"], **late.with_key()}
    needed = await first.needed(chat["id"])
    assert needed == {"chat_id": chat["id"], "epoch": 0, "sessions": [late.with_key()]}
    await first.distribute(chat["id"], 0, wrapped_for(key, late))
    assert late.pair.unwrap((await late.received(chat["id"]))["blob"]) == key


async def test_a_keyless_first_joiner_hands_the_role_to_the_first_keyed_session(
    portal: Portal, sockets
) -> None:
    """The distributor must have a registered key: an earlier keyless session is passed over, and named
    once it registers only if nobody else is."""
    _owner, chat = await keyless_chat(portal)
    keyless = await keyed(portal, sockets, register=False)
    await keyless.join(chat["id"])
    second = await keyed(portal, sockets)

    ack = await second.join(chat["id"])

    assert ack["distributor"] == second.ref()
    assert (await second.needed(chat["id"]))["sessions"] == [second.with_key()]
    await keyless.register()
    # The named distributor stays; it is asked for the newly keyed session too (and still for itself).
    needed = await second.needed(chat["id"])
    assert by_session(needed["sessions"]) == by_session([second.with_key(), keyless.with_key()])
    await keyless.sock.assert_silent("key:needed")


async def test_a_session_that_changes_its_key_is_keyed_again(portal: Portal, sockets) -> None:
    """04 §4: a different key replaces the stored one (a page reload keeps the session and makes a new key
    pair). The blobs sealed for the old key are useless to it: they are dropped and the distributor is asked
    for the session again, with its new key."""
    chat, first, key = await keyed_chat(portal, sockets)
    other = await keyed(portal, sockets)
    await other.join(chat["id"])
    await first.needed(chat["id"])
    await first.distribute(chat["id"], 0, wrapped_for(key, other))
    await other.received(chat["id"])

    other.pair = KeyPair.generate()
    assert await other.register() == {"status": "registered"}

    assert (await first.sock.expect("portal:key_added"))["public_key"] == other.public_key
    assert (0, await session_pk(portal, other)) not in await blobs(portal, chat["id"])
    assert (await first.needed(chat["id"]))["sessions"] == [other.with_key()]
    assert await first.distribute(chat["id"], 0, wrapped_for(key, other)) == {"ok": True, "stored": 1}
    assert other.pair.unwrap((await other.received(chat["id"]))["blob"]) == key


async def test_a_distributor_with_a_new_key_hands_over_to_a_holder(portal: Portal, sockets) -> None:
    """The distributor lost its blob (new key pair) while another session holds the key: that one is named
    (the room hears it) and wraps the key for the distributor's new key."""
    chat, first, key = await keyed_chat(portal, sockets)
    holder = await keyed(portal, sockets)
    await holder.join(chat["id"])
    await first.needed(chat["id"])
    await first.distribute(chat["id"], 0, wrapped_for(key, holder))
    await holder.received(chat["id"])

    first.pair = KeyPair.generate()
    await first.register()

    changed = await holder.sock.expect_for("room:epoch_changed", chat["id"])
    assert changed == {"chat_id": chat["id"], "epoch": 0, "distributor": holder.ref()}
    assert (await holder.needed(chat["id"]))["sessions"] == [first.with_key()]
    await holder.distribute(chat["id"], 0, wrapped_for(key, first))
    assert first.pair.unwrap((await first.received(chat["id"]))["blob"]) == key


async def test_a_lone_distributor_with_a_new_key_is_asked_for_itself(portal: Portal, sockets) -> None:
    chat, first, key = await keyed_chat(portal, sockets)

    first.pair = KeyPair.generate()
    await first.register()

    assert (await first.needed(chat["id"]))["sessions"] == [first.with_key()]
    assert await first.distribute(chat["id"], 0, wrapped_for(key, first)) == {"ok": True, "stored": 1}
    assert first.pair.unwrap((await first.received(chat["id"]))["blob"]) == key


async def test_joins_while_an_election_waits_leave_it_to_that_one(portal: Portal, sockets: Any) -> None:
    """A storm of joins queues at most one election per node behind the running one: while one waits for
    the chat's lock, another join's request returns at once (None), and the waiting one, which reads the
    room only once it holds the lock, asks the distributor for every session that lacks the key."""
    _owner, chat = await keyless_chat(portal)
    first = await keyed(portal, sockets)
    await first.join(chat["id"])
    await first.needed(chat["id"])
    e2ee = portal.container.e2ee
    lock = portal.container.live.lock(f"e2ee:{chat['id']}", ttl=10, wait=1)
    async with lock:  # an election running elsewhere
        waiting = asyncio.create_task(e2ee.ensure_distribution(chat["id"]))
        await eventually(lambda: _queued(e2ee, chat["id"]))
        assert await e2ee.ensure_distribution(chat["id"]) is None  # left to the waiting one
    keys = await waiting
    assert keys is not None and len(keys.joined) == 1  # it read the room: the one joined session
    assert chat["id"] not in e2ee._election_queued
    assert await e2ee.ensure_distribution(chat["id"]) is not None  # nothing queued: it runs itself


async def _queued(e2ee: Any, chat_id: int) -> bool:
    return chat_id in e2ee._election_queued
