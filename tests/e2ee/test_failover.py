"""Distributor failover: silence past `PORTAL_KEY_DISTRIBUTOR_TIMEOUT` (5 s) or leaving names the next
session (00 §4, 08 §13)."""

from __future__ import annotations

import asyncio
from typing import Any

from portal.client.secure import SecureChat
from portal.services.e2ee import DEADLINES
from tests.e2ee.support import Keyed, blobs, fresh_key, keyed, session_pk, wrapped_for
from tests.helpers import LoggedIn, Portal
from tests.sockets import eventually

TIMEOUT = 5.0


def by_session(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entries, key=lambda e: e["session_id"])


async def two_waiting(portal: Portal, sockets: Any) -> tuple[dict[str, Any], Keyed, Keyed]:
    """A keyless chat with two keyed sessions; the first is named and has been asked (and stays silent)."""
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    first = await keyed(portal, sockets)
    second = await keyed(portal, sockets)
    await first.join(chat["id"])
    await first.needed(chat["id"])
    await second.join(chat["id"])
    needed = await first.needed(chat["id"])
    assert by_session(needed["sessions"]) == by_session([first.with_key(), second.with_key()])
    return chat, first, second


async def test_a_silent_distributor_is_replaced_after_five_seconds(portal: Portal, sockets) -> None:
    """08 §13: on failover the room hears `room:epoch_changed` again (same epoch, new distributor) and the
    new distributor gets `key:needed`."""
    chat, first, second = await two_waiting(portal, sockets)
    clock = portal.server.clock
    e2ee = portal.container.e2ee

    # The fake clock runs on with real time; a second and a half of margin covers the set-up.
    clock.advance(TIMEOUT - 1.5)
    await e2ee.check_deadlines()
    await first.sock.assert_silent("room:epoch_changed", chat["id"])
    assert second.sock.pending("key:needed", chat["id"]) == []

    clock.advance(1.6)
    await e2ee.check_deadlines()

    changed = {"chat_id": chat["id"], "epoch": 0, "distributor": second.ref()}
    assert await first.sock.expect_for("room:epoch_changed", chat["id"]) == changed
    assert await second.sock.expect_for("room:epoch_changed", chat["id"]) == changed
    needed = await second.needed(chat["id"])
    assert needed["epoch"] == 0
    assert by_session(needed["sessions"]) == by_session([first.with_key(), second.with_key()])
    # The old one is no longer accepted; the new one is.
    late = await first.distribute(chat["id"], 0, wrapped_for(fresh_key(), first, second))
    assert late["ok"] is False and late["error"] == "ERR_NOT_DISTRIBUTOR"
    key = fresh_key()
    assert await second.distribute(chat["id"], 0, wrapped_for(key, first, second)) == {
        "ok": True,
        "stored": 2,
    }
    assert first.pair.unwrap((await first.received(chat["id"]))["blob"]) == key
    # A joiner now sees the new distributor in the ack.
    third = await keyed(portal, sockets)
    assert (await third.join(chat["id"]))["distributor"] == second.ref()


async def test_a_distributor_that_answers_in_time_is_kept(portal: Portal, sockets) -> None:
    chat, first, second = await two_waiting(portal, sockets)
    clock = portal.server.clock

    clock.advance(TIMEOUT - 2)
    key = fresh_key()
    assert await first.distribute(chat["id"], 0, wrapped_for(key, first, second)) == {"ok": True, "stored": 2}
    clock.advance(TIMEOUT * 2)
    await portal.container.e2ee.check_deadlines()

    await second.sock.assert_silent("room:epoch_changed", chat["id"])
    assert second.sock.pending("key:needed", chat["id"]) == []
    assert second.pair.unwrap((await second.received(chat["id"]))["blob"]) == key


async def test_a_newcomer_does_not_give_a_silent_distributor_more_time(portal: Portal, sockets) -> None:
    """Asking again (someone joined) does not restart a silent distributor's 5 s."""
    chat, first, second = await two_waiting(portal, sockets)
    clock = portal.server.clock
    clock.advance(3)
    third = await keyed(portal, sockets)
    await third.join(chat["id"])
    assert len((await first.needed(chat["id"]))["sessions"]) == 3

    clock.advance(2.5)
    await portal.container.e2ee.check_deadlines()

    assert (await third.sock.expect_for("room:epoch_changed", chat["id"]))["distributor"] == second.ref()


async def test_a_distributor_that_covered_everyone_gets_fresh_time_for_a_newcomer(
    portal: Portal, sockets
) -> None:
    chat, first, second = await two_waiting(portal, sockets)
    clock = portal.server.clock
    await first.distribute(chat["id"], 0, wrapped_for(fresh_key(), first, second))
    clock.advance(TIMEOUT - 1.5)
    third = await keyed(portal, sockets)
    await third.join(chat["id"])
    assert (await first.needed(chat["id"]))["sessions"] == [third.with_key()]

    clock.advance(3)  # past the first ask's 5 s, within the newcomer's
    await portal.container.e2ee.check_deadlines()

    await third.sock.assert_silent("room:epoch_changed", chat["id"])
    clock.advance(3)
    await portal.container.e2ee.check_deadlines()
    assert (await third.sock.expect_for("room:epoch_changed", chat["id"]))["distributor"] == second.ref()


async def test_a_partial_distribution_is_silence_for_the_rest(portal: Portal, sockets) -> None:
    """08 §13: silent = no `key:distribute` covering every listed session within 5 s. When the next
    distributor has to make the key, there is still one key per epoch: whatever the silent one stored is
    dropped and re-sent by the new one."""
    chat, first, second = await two_waiting(portal, sockets)
    clock = portal.server.clock
    assert await first.distribute(chat["id"], 0, wrapped_for(fresh_key(), first)) == {"ok": True, "stored": 1}
    await first.received(chat["id"])
    await first.needed(chat["id"])  # asked again for the rest

    clock.advance(TIMEOUT + 0.1)
    await portal.container.e2ee.check_deadlines()

    changed = await second.sock.expect_for("room:epoch_changed", chat["id"])
    assert changed == {"chat_id": chat["id"], "epoch": 0, "distributor": second.ref()}
    needed = await second.needed(chat["id"])
    assert by_session(needed["sessions"]) == by_session([first.with_key(), second.with_key()])
    key = fresh_key()
    assert await second.distribute(chat["id"], 0, wrapped_for(key, first, second)) == {
        "ok": True,
        "stored": 2,
    }
    stored = await blobs(portal, chat["id"])
    assert {first.pair.unwrap(stored[(0, await session_pk(portal, first))])} == {key}
    assert second.pair.unwrap(stored[(0, await session_pk(portal, second))]) == key


async def test_a_silent_distributor_alone_is_asked_again(portal: Portal, sockets) -> None:
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    alone = await keyed(portal, sockets)
    await alone.join(chat["id"])
    await alone.needed(chat["id"])

    portal.server.clock.advance(TIMEOUT + 0.1)
    await portal.container.e2ee.check_deadlines()

    assert await alone.sock.expect_for("room:epoch_changed", chat["id"]) == {
        "chat_id": chat["id"],
        "epoch": 0,
        "distributor": alone.ref(),
    }
    assert (await alone.needed(chat["id"]))["sessions"] == [alone.with_key()]


async def test_failover_walks_down_the_list(portal: Portal, sockets) -> None:
    """Two silent distributors in a row: the third session is named, not the first one again."""
    chat, first, second = await two_waiting(portal, sockets)
    third = await keyed(portal, sockets)
    await third.join(chat["id"])
    await first.needed(chat["id"])
    clock, e2ee = portal.server.clock, portal.container.e2ee

    clock.advance(TIMEOUT + 0.1)
    await e2ee.check_deadlines()
    assert (await third.sock.expect_for("room:epoch_changed", chat["id"]))["distributor"] == second.ref()
    await second.needed(chat["id"])
    clock.advance(TIMEOUT + 0.1)
    await e2ee.check_deadlines()

    assert (await third.sock.expect_for("room:epoch_changed", chat["id"]))["distributor"] == third.ref()
    needed = await third.needed(chat["id"])
    assert len(needed["sessions"]) == 3


async def test_failover_happens_once_per_deadline_however_many_nodes_check(portal: Portal, sockets) -> None:
    """Every node runs `check_deadlines()` each second; two runs at once must not skip a distributor."""
    import asyncio

    chat, first, second = await two_waiting(portal, sockets)
    third = await keyed(portal, sockets)
    await third.join(chat["id"])
    await first.needed(chat["id"])
    e2ee = portal.container.e2ee

    portal.server.clock.advance(TIMEOUT + 0.1)
    await asyncio.gather(e2ee.check_deadlines(), e2ee.check_deadlines(), e2ee.check_deadlines())

    assert (await third.sock.expect_for("room:epoch_changed", chat["id"]))["distributor"] == second.ref()
    await third.sock.assert_silent("room:epoch_changed", chat["id"])
    assert third.sock.pending("key:needed", chat["id"]) == []


async def test_a_distributor_that_leaves_is_replaced_at_once(portal: Portal, sockets) -> None:
    chat, first, second = await two_waiting(portal, sockets)

    await first.sock.call("room:leave", {"chat_id": chat["id"]})

    assert await second.sock.expect_for("room:epoch_changed", chat["id"]) == {
        "chat_id": chat["id"],
        "epoch": 0,
        "distributor": second.ref(),
    }
    assert (await second.needed(chat["id"]))["sessions"] == [second.with_key()]


async def test_the_distributor_leaving_hands_over_to_a_holder(portal: Portal, sockets) -> None:
    """After the first key exists, the next distributor is the earliest-joined session holding it."""
    chat, first, second = await two_waiting(portal, sockets)
    key = fresh_key()
    await first.distribute(chat["id"], 0, wrapped_for(key, first, second))
    await second.received(chat["id"])
    await first.sock.call("room:leave", {"chat_id": chat["id"]})
    assert (await second.sock.expect_for("room:epoch_changed", chat["id"]))["distributor"] == second.ref()

    newcomer = await keyed(portal, sockets)
    ack = await newcomer.join(chat["id"])

    assert ack["distributor"] == second.ref()
    assert (await second.needed(chat["id"]))["sessions"] == [newcomer.with_key()]
    await second.distribute(chat["id"], 0, wrapped_for(key, newcomer))
    assert newcomer.pair.unwrap((await newcomer.received(chat["id"]))["blob"]) == key


# ---- with SDK clients -----------------------------------------------------------------------------------


async def three_secure(portal: Portal) -> tuple[dict[str, Any], list[LoggedIn], list[SecureChat]]:
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    users = [owner, await portal.login(), await portal.login()]
    clients = [SecureChat(user.client) for user in users]
    for client in clients:
        await client.start()
    for client in clients:
        await client.join(chat["id"])
    return chat, users, clients


async def close_all(clients: list[SecureChat]) -> None:
    for client in clients:
        await client.close()


async def test_a_distributor_disconnecting_mid_rotation_is_replaced_and_everyone_gets_the_key(
    portal: Portal,
) -> None:
    """The issue's must-show: the named distributor goes away before wrapping the new epoch's key; another
    member is named and every remaining member ends up with the new key."""
    chat, users, clients = await three_secure(portal)
    owner = users[0]
    alice, bob, carol = clients
    try:
        alice.rt.handlers["key:needed"].clear()  # alice will not answer any more
        old_key = alice.current_key(chat["id"])
        assert old_key is not None and bob.current_key(chat["id"]) == old_key

        await owner.client.call("POST", f"/v1/portal/chats/{chat['id']}/clear")
        changed = await bob.rt.next("room:epoch_changed")
        assert changed["epoch"] == 1 and changed["distributor"]["user_id"] == owner.id  # alice is named
        await alice.rt.close()  # and goes away before distributing

        new_key = await bob.wait_for_key(chat["id"])
        assert await carol.wait_for_key(chat["id"]) == new_key != old_key
        assert (await bob.rt.next("room:epoch_changed"))["distributor"]["user_id"] == users[1].id
        await bob.send(chat["id"], "after the handover")
        assert await carol.next_text(chat["id"]) == "after the handover"
        await carol.send(chat["id"], "received")
        assert await bob.next_text(chat["id"]) in ("after the handover", "received")
        assert await blob_epochs_of(portal, chat["id"]) == {1}
    finally:
        await close_all(clients)


async def test_a_silent_distributor_mid_rotation_is_replaced_after_five_seconds(portal: Portal) -> None:
    """Same, with the distributor still connected but silent: after 5 s the next member is named, and it
    wraps the new key for the silent one too."""
    chat, users, clients = await three_secure(portal)
    owner = users[0]
    alice, bob, carol = clients
    try:
        silenced = alice.rt.handlers["key:needed"][:]
        alice.rt.handlers["key:needed"].clear()
        await owner.client.call("POST", f"/v1/portal/chats/{chat['id']}/clear")
        await bob.rt.next("room:epoch_changed")
        alice.rt.handlers["key:needed"].extend(silenced)  # too late: the server is not waiting for it

        portal.server.clock.advance(TIMEOUT + 0.1)
        await portal.container.e2ee.check_deadlines()

        new_key = await bob.wait_for_key(chat["id"])
        assert await carol.wait_for_key(chat["id"]) == new_key
        assert await alice.wait_for_key(chat["id"]) == new_key
        await alice.send(chat["id"], "still here")
        assert await carol.next_text(chat["id"]) == "still here"
    finally:
        await close_all(clients)


async def blob_epochs_of(portal: Portal, chat_id: int) -> set[int]:
    return {epoch for epoch, _pk in await blobs(portal, chat_id)}


async def test_a_distributor_that_skips_one_session_leaves_only_that_one_to_the_next(
    portal: Portal, sockets
) -> None:
    """Issue 14 item 1: a distributor that wraps for some sessions and never for one (its key failed) does
    not stall the others; after its 5 s the next distributor, a holder, is asked only for the one missing."""
    chat, first, second = await two_waiting(portal, sockets)
    third = await keyed(portal, sockets)
    await third.join(chat["id"])
    assert len((await first.needed(chat["id"]))["sessions"]) == 3
    key = fresh_key()

    # A partial batch is accepted: the sessions it covers get their key at once.
    assert await first.distribute(chat["id"], 0, wrapped_for(key, first, second)) == {"ok": True, "stored": 2}
    assert second.pair.unwrap((await second.received(chat["id"]))["blob"]) == key
    assert (await first.needed(chat["id"]))["sessions"] == [third.with_key()]

    portal.server.clock.advance(TIMEOUT + 0.1)
    await portal.container.e2ee.check_deadlines()

    assert (await third.sock.expect_for("room:epoch_changed", chat["id"]))["distributor"] == second.ref()
    assert (await second.needed(chat["id"]))["sessions"] == [third.with_key()]
    assert await second.distribute(chat["id"], 0, wrapped_for(key, third)) == {"ok": True, "stored": 1}
    assert third.pair.unwrap((await third.received(chat["id"]))["blob"]) == key
    # Nothing the first one stored was dropped: one key for the epoch, held by all three.
    stored = await blobs(portal, chat["id"])
    assert len(stored) == 3 and {
        m.pair.unwrap(stored[(0, await session_pk(portal, m))]) for m in (first, second, third)
    } == {key}


async def test_an_answer_waiting_for_the_lock_is_not_taken_for_silence(portal: Portal, sockets) -> None:
    """Under load the named distributor's `key:distribute` can wait for the chat's lock past its 5 s: an
    answer that covers everyone asked restarts its clock when it arrives, so no failover names another;
    an answer that leaves someone out does not."""
    chat, first, second = await two_waiting(portal, sockets)
    live, clock, e2ee = portal.container.live, portal.server.clock, portal.container.e2ee
    member = str(chat["id"])
    deadline = await live.zscore(DEADLINES, member)
    assert deadline is not None
    key = fresh_key()
    assert await first.distribute(chat["id"], 0, wrapped_for(key, first)) == {"ok": True, "stored": 1}
    assert await live.zscore(DEADLINES, member) == deadline  # it left the second out: its clock runs on
    assert (await first.needed(chat["id"]))["sessions"] == [second.with_key()]

    clock.advance(TIMEOUT - 0.5)
    async with live.lock(f"e2ee:{chat['id']}", ttl=10, wait=5):  # the chat's lock, busy elsewhere
        answer = asyncio.create_task(first.distribute(chat["id"], 0, wrapped_for(key, second)))

        async def restarted() -> bool:
            return (await live.zscore(DEADLINES, member) or 0) > deadline

        await eventually(restarted)
    assert await answer == {"ok": True, "stored": 1}
    clock.advance(1.0)  # past the first deadline
    assert await e2ee.check_deadlines() == 0
    await first.sock.assert_silent("room:epoch_changed", chat["id"])
    assert second.pair.unwrap((await second.received(chat["id"]))["blob"]) == key
