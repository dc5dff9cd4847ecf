"""The SDK's E2EE pieces: primitives (portal/client/e2ee.py), the realtime client and SecureChat's
distributor logic (portal/client/secure.py)."""

from __future__ import annotations

import base64
import json

import pytest

from portal.client.e2ee import (
    E2EEError,
    KeyPair,
    decrypt,
    encrypt,
    envelope_epoch,
    new_chat_key,
    wrap,
)
from portal.client.realtime import RealtimeClient, RealtimeError
from portal.client.secure import SecureChat
from tests.e2ee.support import blobs, blobs_of, force_key, keyed, session_pk
from tests.helpers import Portal
from tests.sockets import eventually


async def distributed_count(client: SecureChat, count: int) -> None:
    """Wait until the client has had `count` answers to its `key:distribute` calls."""

    async def check() -> bool:
        return len(client.distributed) == count

    await eventually(check)


# ---- primitives -----------------------------------------------------------------------------------------


def test_a_message_is_a_ciphertext_v2_bundle() -> None:
    key = new_chat_key()
    content = encrypt(key, 7, "hello")
    bundle = json.loads(content)
    assert set(bundle) == {"v", "epoch", "ct"} and bundle["v"] == 2 and bundle["epoch"] == 7
    assert len(base64.b64decode(bundle["ct"], validate=True)) == 24 + 16 + len(b"hello")
    assert envelope_epoch(content) == 7
    assert decrypt(key, content) == "hello"
    assert encrypt(key, 7, "hello") != content  # a fresh nonce each time


def test_a_message_opens_only_with_its_key() -> None:
    content = encrypt(new_chat_key(), 0, "secret")
    with pytest.raises(E2EEError):
        decrypt(new_chat_key(), content)


@pytest.mark.parametrize("content", ["", "{}", "[1]", '{"v":2,"epoch":0,"ct":"***"}', "not json"])
def test_what_is_not_a_bundle_is_an_e2ee_error(content: str) -> None:
    with pytest.raises(E2EEError):
        decrypt(new_chat_key(), content)


@pytest.mark.parametrize("content", ["", "{}", '{"epoch":"x"}', "[]", "null"])
def test_the_epoch_of_a_broken_bundle_is_an_e2ee_error(content: str) -> None:
    with pytest.raises(E2EEError):
        envelope_epoch(content)


def test_a_blob_opens_only_for_its_key_pair() -> None:
    mine, theirs = KeyPair.generate(), KeyPair.generate()
    chat_key = new_chat_key()
    blob = wrap(chat_key, mine.public_key_b64)
    assert len(base64.b64decode(blob)) == 80
    assert mine.unwrap(blob) == chat_key
    with pytest.raises(E2EEError):
        theirs.unwrap(blob)
    with pytest.raises(E2EEError):
        mine.unwrap("not base64!")
    with pytest.raises(E2EEError):
        mine.unwrap(wrap(b"short", mine.public_key_b64))  # a sealed value that is not a chat key


def test_a_key_pair_publishes_32_bytes_of_base64() -> None:
    assert len(base64.b64decode(KeyPair.generate().public_key_b64, validate=True)) == 32


# ---- SecureChat -----------------------------------------------------------------------------------------


async def test_secure_chat_needs_a_signed_in_client(portal: Portal) -> None:
    with pytest.raises(ValueError):
        SecureChat(portal.client())


async def test_the_distributor_wraps_the_key_it_holds_for_a_newcomer(portal: Portal) -> None:
    """The distributor makes a key only when the epoch has none; otherwise it wraps the one it holds."""
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    guest = await portal.login()
    async with SecureChat(owner.client) as alice, SecureChat(guest.client) as bob:
        await alice.join(chat["id"])
        key = alice.current_key(chat["id"])
        assert key is not None
        await distributed_count(alice, 1)  # the ack comes after the key itself

        await bob.join(chat["id"])

        assert bob.current_key(chat["id"]) == key
        await distributed_count(alice, 2)
        last = alice.distributed[-1]
        assert [s["user_id"] for s in last["request"]["sessions"]] == [guest.id]
        assert last["ack"] == {"ok": True, "stored": 1}


async def test_the_distributor_makes_a_new_key_for_a_new_epoch(portal: Portal) -> None:
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    guest = await portal.login()
    async with SecureChat(owner.client) as alice, SecureChat(guest.client) as bob:
        await alice.join(chat["id"])
        await bob.join(chat["id"])
        old = alice.current_key(chat["id"])

        await owner.client.call("POST", f"/v1/portal/chats/{chat['id']}/clear")
        await bob.rt.next("room:epoch_changed")
        new = await bob.wait_for_key(chat["id"])

        assert new != old and await alice.wait_for_key(chat["id"]) == new
        assert alice.keys[chat["id"]] == {0: old, 1: new}


async def test_a_repeated_key_needed_for_a_new_epoch_still_makes_one_key(portal: Portal) -> None:
    """A join into a `history_visible=false` chat rotates and then asks again: the distributor hears
    `key:needed` twice for the new epoch at once, and must not make two keys."""
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    await owner.client.call(
        "POST", f"/v1/portal/chats/{chat['id']}/config/update", json={"history_visible": False}
    )
    async with SecureChat(owner.client) as alice:
        await alice.join(chat["id"])
        for _ in range(3):
            guest = await portal.login()
            async with SecureChat(guest.client) as bob:
                await bob.join(chat["id"])
                epoch = bob.epochs[chat["id"]]
                while alice.epochs[chat["id"]] != epoch:
                    await alice.rt.next("room:epoch_changed")
                key = await alice.wait_for_key(chat["id"])
                assert bob.current_key(chat["id"]) == key
                stored = await blobs(portal, chat["id"])
                assert {(e, pk) for e, pk in stored} == {
                    (epoch, await session_pk_of(portal, alice)),
                    (epoch, await session_pk_of(portal, bob)),
                }
                assert bob.key_pair.unwrap(stored[(epoch, await session_pk_of(portal, bob))]) == key
                assert alice.key_pair.unwrap(stored[(epoch, await session_pk_of(portal, alice))]) == key
                await bob.send(chat["id"], "one key")
                assert await alice.next_text(chat["id"]) == "one key"


async def test_a_session_with_an_unusable_key_does_not_keep_the_others_from_the_key(
    portal: Portal, sockets
) -> None:
    """A key nothing can be sealed to (the all-zero point, stored by a server that did not check keys) is
    skipped by the distributor: the other newcomers still get the chat key and read the chat."""
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    async with SecureChat(owner.client) as alice:
        await alice.join(chat["id"])
        broken = await keyed(portal, sockets)
        await force_key(portal, broken, base64.b64encode(bytes(32)).decode())
        await broken.join(chat["id"])
        guest = await portal.login()
        async with SecureChat(guest.client) as bob:
            await bob.join(chat["id"])  # waits for the key

            assert bob.current_key(chat["id"]) == alice.current_key(chat["id"])
            await alice.send(chat["id"], "still readable")
            assert await bob.next_text(chat["id"]) == "still readable"
            asked_for_bob = [
                entry
                for entry in alice.distributed
                if bob.session_id in {s["session_id"] for s in entry["request"]["sessions"]}
            ]
            assert asked_for_bob and broken.session_id in {
                s["session_id"] for s in asked_for_bob[-1]["request"]["sessions"]
            }
            assert asked_for_bob[-1]["ack"] == {"ok": True, "stored": 1}  # bob's, not the broken one's
        assert await blobs_of(portal, broken) == []


async def test_open_of_another_epochs_message_is_an_e2ee_error(portal: Portal) -> None:
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    async with SecureChat(owner.client) as alice:
        await alice.join(chat["id"])
        key = alice.current_key(chat["id"])
        assert key is not None
        message = {"chat_id": chat["id"], "type": "user", "content": encrypt(key, 5, "elsewhere")}
        with pytest.raises(E2EEError):
            alice.open(message)
        forged = {"chat_id": chat["id"], "type": "user", "content": encrypt(new_chat_key(), 0, "forged")}
        with pytest.raises(E2EEError):
            alice.open(forged)
        system = {"chat_id": chat["id"], "type": "system", "content": "someone joined the chat"}
        assert alice.open(system) == "someone joined the chat"
        assert alice.open({"chat_id": chat["id"], "type": "user", "content": encrypt(key, 0, "ok")}) == "ok"


async def test_wait_for_key_gives_up_when_nobody_delivers(portal: Portal, sockets) -> None:
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    silent = await keyed(portal, sockets)
    await silent.join(chat["id"])  # named distributor, never answers
    guest = await portal.login()
    async with SecureChat(guest.client, timeout=2) as bob:
        ack = await bob.join(chat["id"], wait_for_key=False)
        assert ack["distributor"] == silent.ref()
        with pytest.raises(TimeoutError):
            await bob.wait_for_key(chat["id"], timeout=0.3)
        with pytest.raises(TimeoutError):
            await bob.send(chat["id"], "nobody can read this")


async def test_a_refused_call_raises_realtime_error(portal: Portal) -> None:
    me = await portal.login()
    token = me.client.session_token
    assert token is not None
    async with RealtimeClient(portal.server.base_url, token) as rt:
        with pytest.raises(RealtimeError) as caught:
            await rt.call("key:distribute", {"chat_id": 2_000_000_000, "epoch": 0, "keys": []})
        assert caught.value.error == "ERR_NOT_DISTRIBUTOR"  # an outsider learns nothing of the chat
        with pytest.raises(RealtimeError) as caught:
            await rt.join(chat_id=2_000_000_000)
        assert caught.value.error == "ERR_NOT_FOUND"


async def session_pk_of(portal: Portal, client: SecureChat) -> int:
    return await session_pk(portal, client.rt.session_token)
