"""The issue's must-show with three SDK clients in one chat (00 §4, 04 §3): everyone reads everyone; a
kicked client cannot read what follows; clear and wipe move the epoch; a newcomer to a
`history_visible=false` chat cannot read what was said before it came."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from portal.client.e2ee import E2EEError, decrypt, encrypt
from portal.client.secure import SecureChat
from tests.e2ee.support import blob_epochs, blobs_of, chat_epoch
from tests.helpers import LoggedIn, Portal, expect_error


class Trio:
    def __init__(self, chat: dict[str, Any], users: list[LoggedIn], clients: list[SecureChat]) -> None:
        self.chat = chat
        self.chat_id = int(chat["id"])
        self.users = users
        self.clients = clients


@pytest_asyncio.fixture
async def trio(portal: Portal) -> AsyncIterator[Trio]:
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    users = [owner, await portal.login(), await portal.login()]
    clients = [SecureChat(user.client) for user in users]
    try:
        for client in clients:
            await client.start()
        for client in clients:
            await client.join(chat["id"])
        yield Trio(chat, users, clients)
    finally:
        for client in clients:
            await client.close()


async def new_epoch(client: SecureChat, chat_id: int, epoch: int) -> bytes:
    """Wait until the client has heard of `epoch` and holds its key."""
    while client.epochs.get(chat_id) != epoch:
        changed = await client.rt.next("room:epoch_changed")
        assert changed["epoch"] <= epoch
    assert client.epochs[chat_id] == epoch
    return await client.wait_for_key(chat_id)


async def test_three_members_read_each_other(trio: Trio) -> None:
    alice, bob, carol = trio.clients
    key = alice.current_key(trio.chat_id)
    assert key is not None and bob.current_key(trio.chat_id) == key == carol.current_key(trio.chat_id)

    for sender, text in ((alice, "from alice"), (bob, "from bob"), (carol, "from carol")):
        await sender.send(trio.chat_id, text)
        for reader in trio.clients:
            assert await reader.next_text(trio.chat_id) == text


async def test_a_kicked_client_cannot_read_new_messages(portal: Portal, trio: Trio) -> None:
    alice, bob, carol = trio.clients
    owner, _, carol_user = trio.users
    old_key = carol.current_key(trio.chat_id)
    assert old_key is not None

    await owner.client.call("POST", f"/v1/portal/chats/{trio.chat_id}/kick", json={"user_id": carol_user.id})

    new_key = await new_epoch(alice, trio.chat_id, 1)
    assert await new_epoch(bob, trio.chat_id, 1) == new_key != old_key
    await alice.send(trio.chat_id, "carol must not read this")
    message = await bob.next_message(trio.chat_id)
    assert bob.open(message) == "carol must not read this"
    assert alice.open(await alice.next_message(trio.chat_id)) == "carol must not read this"
    # Carol never got the new epoch's key, and her cached key does not open the ciphertext.
    assert 1 not in carol.keys[trio.chat_id]
    with pytest.raises(E2EEError):
        carol.open(message)
    with pytest.raises(E2EEError):
        decrypt(old_key, message["content"])
    assert (trio.chat_id, 1) not in await blobs_of(portal, carol.rt.session_token)
    assert await blob_epochs(portal, trio.chat_id) == {1}
    # Carol's own sends fail: she is out of the room.
    await expect_error(
        carol_user.client.call(
            "POST",
            f"/v1/portal/chats/{trio.chat_id}/messages",
            json={"content": encrypt(old_key, 1, "let me in")},
        ),
        403,
        "ERR_NOT_JOINED",
    )
    # The others go on.
    await bob.send(trio.chat_id, "bye carol")
    assert await alice.next_text(trio.chat_id) == "bye carol"


async def test_after_clear_the_old_epoch_is_refused(portal: Portal, trio: Trio) -> None:
    alice, bob, carol = trio.clients
    owner, bob_user, _ = trio.users
    old_key = bob.current_key(trio.chat_id)
    assert old_key is not None

    await owner.client.call("POST", f"/v1/portal/chats/{trio.chat_id}/clear")

    assert await chat_epoch(portal, trio.chat_id) == 1
    new_key = await new_epoch(bob, trio.chat_id, 1)
    assert new_key != old_key
    assert await new_epoch(carol, trio.chat_id, 1) == new_key
    await expect_error(
        bob_user.client.call(
            "POST",
            f"/v1/portal/chats/{trio.chat_id}/messages",
            json={"content": encrypt(old_key, 0, "stale")},
        ),
        403,
        "ERR_EPOCH_MISMATCH",
    )
    await bob.send(trio.chat_id, "fresh")
    assert await carol.next_text(trio.chat_id) == "fresh"
    assert await alice.next_text(trio.chat_id) == "fresh"


async def test_after_a_wipe_the_old_epoch_is_refused(portal: Portal, trio: Trio) -> None:
    alice, bob, carol = trio.clients
    owner, _, carol_user = trio.users
    await owner.client.call(
        "POST", f"/v1/portal/chats/{trio.chat_id}/config/update", json={"wipe_preset": "1m"}
    )
    await carol.send(trio.chat_id, "to be wiped")
    old_key = carol.current_key(trio.chat_id)
    assert old_key is not None

    portal.server.clock.advance(61)
    await portal.container.messaging.run_wipes()

    assert await chat_epoch(portal, trio.chat_id) == 1
    new_key = await new_epoch(carol, trio.chat_id, 1)
    assert new_key != old_key
    await expect_error(
        carol_user.client.call(
            "POST",
            f"/v1/portal/chats/{trio.chat_id}/messages",
            json={"content": encrypt(old_key, 0, "stale")},
        ),
        403,
        "ERR_EPOCH_MISMATCH",
    )
    await new_epoch(bob, trio.chat_id, 1)
    await carol.send(trio.chat_id, "after the wipe")
    texts = [await bob.next_text(trio.chat_id), await bob.next_text(trio.chat_id)]
    assert texts == ["to be wiped", "after the wipe"]
    history = await owner.client.call("GET", f"/v1/portal/chats/{trio.chat_id}/history")
    assert [alice.open(m) for m in history if m["type"] == "user"] == ["after the wipe"]


async def test_a_newcomer_to_a_hidden_history_chat_cannot_read_earlier_messages(portal: Portal) -> None:
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    chat_id = int(chat["id"])
    await owner.client.call(
        "POST", f"/v1/portal/chats/{chat_id}/config/update", json={"history_visible": False}
    )
    bob_user, dave_user = await portal.login(), await portal.login()
    alice, bob, dave = SecureChat(owner.client), SecureChat(bob_user.client), SecureChat(dave_user.client)
    try:
        for client in (alice, bob, dave):
            await client.start()
        await alice.join(chat_id)
        await bob.join(chat_id)
        before_epoch = bob.epochs[chat_id]
        await alice.send(chat_id, "said before dave came")
        earlier = await bob.next_message(chat_id)
        assert bob.open(earlier) == "said before dave came"

        ack = await dave.join(chat_id)

        assert ack["epoch"] == before_epoch + 1
        # The key may already be in the ack (the distributor is quick), but only the new epoch's.
        assert ack["key"] is None or ack["key"]["epoch"] == before_epoch + 1
        assert before_epoch not in dave.keys[chat_id]
        with pytest.raises(E2EEError):
            dave.open(earlier)
        for key in dave.keys[chat_id].values():
            with pytest.raises(E2EEError):
                decrypt(key, earlier["content"])
        await new_epoch(bob, chat_id, before_epoch + 1)
        await alice.send(chat_id, "said after dave came")
        assert await dave.next_text(chat_id) == "said after dave came"
        assert await bob.next_text(chat_id) == "said after dave came"
        # The server does not hand dave the earlier message either (08 §15).
        history = await dave_user.client.call("GET", f"/v1/portal/chats/{chat_id}/history")
        assert [dave.open(m) for m in history if m["type"] == "user"] == ["said after dave came"]
        assert await blob_epochs(portal, chat_id) == {before_epoch + 1}
    finally:
        for client in (alice, bob, dave):
            await client.close()


async def test_a_joined_session_without_the_key_cannot_send(portal: Portal, trio: Trio) -> None:
    """00 §4: a session holding no blob for the current epoch gets 403 ERR_NO_ROOM_KEY."""
    outsider = await portal.login()
    keyless = SecureChat(outsider.client)
    keyless.rt.handlers.clear()
    try:
        await keyless.rt.connect()  # no key registered: nobody can wrap the chat key for it
        await keyless.rt.join(chat_id=trio.chat_id)
        key = trio.clients[0].current_key(trio.chat_id)
        assert key is not None
        await expect_error(
            outsider.client.call(
                "POST",
                f"/v1/portal/chats/{trio.chat_id}/messages",
                json={"content": encrypt(key, 0, "guessing")},
            ),
            403,
            "ERR_NO_ROOM_KEY",
        )
    finally:
        await keyless.close()
