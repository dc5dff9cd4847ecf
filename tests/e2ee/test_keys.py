"""`POST /v1/portal/keys`: a session's X25519 public key (04 §4, 00 §4, §5, 08 §13)."""

from __future__ import annotations

import base64
import secrets

import pytest

from portal.client.e2ee import KeyPair
from tests.e2ee.support import Keyed, keyed, raw_public_key, second_session, stored_key
from tests.helpers import Portal, expect_error
from tests.sockets import online

BAD_KEY = "public_key must be 32 bytes, base64-encoded"
NOT_A_POINT = "public_key must be a valid X25519 public key"
P = 2**255 - 19  # the field prime of Curve25519


def u_coordinate(value: int) -> str:
    """A public key given as its Montgomery u-coordinate (32 bytes, little-endian, base64)."""
    return base64.b64encode(value.to_bytes(32, "little")).decode()


# The small-order points of Curve25519 (libsodium's blocklist): nothing can be sealed to them.
SMALL_ORDER = {
    "all-zero": u_coordinate(0),
    "identity": u_coordinate(1),
    "order-2": u_coordinate(P - 1),
    "order-8": u_coordinate(325606250916557431795983626356110631294008115727848805560023387167927233504),
    "order-8-other": u_coordinate(
        39382357235489614581723060781553021112529911719440698176882885853963445705823
    ),
    "p-non-canonical-zero": u_coordinate(P),
    "p-plus-1-non-canonical-identity": u_coordinate(P + 1),
    "all-zero-high-bit": u_coordinate(1 << 255),
}


async def test_register_then_same_key_is_unchanged(portal: Portal) -> None:
    me = Keyed(await portal.login())

    assert await me.register() == {"status": "registered"}
    assert await me.register() == {"status": "unchanged"}
    assert await stored_key(portal, me) == me.public_key


async def test_a_different_key_replaces_the_stored_one(portal: Portal) -> None:
    me = Keyed(await portal.login())
    await me.register()
    first = me.public_key

    me.pair = KeyPair.generate()
    assert await me.register() == {"status": "registered"}
    assert await stored_key(portal, me) == me.public_key != first
    me.pair = KeyPair.generate()
    assert await me.register() == {"status": "registered"}
    assert await stored_key(portal, me) == me.public_key


async def test_keys_belong_to_the_session_not_the_user(portal: Portal) -> None:
    """00 §4: each session registers its own key; a second session's key leaves the first one alone."""
    first = Keyed(await portal.login())
    second = Keyed(await second_session(portal, first.who))
    await first.register()

    assert await second.register() == {"status": "registered"}  # not "unchanged": another session
    assert await stored_key(portal, first) == first.public_key
    assert await stored_key(portal, second) == second.public_key


async def test_key_added_goes_to_the_rooms_the_session_joined_and_only_those(portal: Portal, sockets) -> None:
    """04 §3.3, 00 §5: `portal:key_added {chat_id, user_id, session_id, public_key}` to every chat the session
    is joined in; the same key again is "unchanged" and says nothing."""
    owner = await portal.login("user", tier=2)
    joined_chat = await portal.public_chat(owner)
    other_chat = await portal.public_chat(owner)
    me = await keyed(portal, sockets)
    watcher = await keyed(portal, sockets, register=False)
    elsewhere = await keyed(portal, sockets, register=False)
    await me.join(joined_chat["id"])
    await watcher.join(joined_chat["id"])
    await elsewhere.join(other_chat["id"])
    # Another session of the same user that joined the other chat: the key is not its key.
    sibling = await keyed(portal, sockets, await second_session(portal, me.who), register=False)
    await sibling.join(other_chat["id"])

    me.pair = KeyPair.generate()
    assert await me.register() == {"status": "registered"}

    expected = {"chat_id": joined_chat["id"], **me.with_key()}
    assert await watcher.sock.expect("portal:key_added") == expected
    assert await me.sock.expect("portal:key_added") == expected
    await elsewhere.sock.assert_silent("portal:key_added")
    assert sibling.sock.pending("portal:key_added") == []

    assert await me.register() == {"status": "unchanged"}
    await watcher.sock.assert_silent("portal:key_added")


async def test_first_registration_after_joining_announces_the_key(portal: Portal, sockets) -> None:
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    me = await keyed(portal, sockets, register=False)
    watcher = await keyed(portal, sockets, register=False)
    await me.join(chat["id"])
    await watcher.join(chat["id"])

    assert await me.register() == {"status": "registered"}

    assert await watcher.sock.expect("portal:key_added") == {"chat_id": chat["id"], **me.with_key()}


async def test_a_session_in_no_room_registers_silently(portal: Portal, sockets) -> None:
    me = Keyed(await portal.login())
    me.probe = await online(sockets, me.token)

    assert await me.register() == {"status": "registered"}
    await me.sock.assert_silent("portal:key_added")


@pytest.mark.parametrize(
    "value",
    [
        raw_public_key(31),
        raw_public_key(33),
        "AAAA",  # three bytes
        "not base64 at all!",
        base64.b64encode(secrets.token_bytes(32)).decode().rstrip("="),  # padding missing
        base64.urlsafe_b64encode(b"\xfb" * 32).decode(),  # the URL-safe alphabet is not base64
        raw_public_key(32) + " ",
        raw_public_key(64),
    ],
    ids=[
        "31-bytes",
        "33-bytes",
        "3-bytes",
        "not-base64",
        "unpadded",
        "urlsafe",
        "trailing-space",
        "64-bytes",
    ],
)
async def test_a_key_that_is_not_32_bytes_of_base64_is_400(portal: Portal, value: str) -> None:
    me = Keyed(await portal.login())
    await me.register()

    await expect_error(me.who.client.call("POST", "/v1/portal/keys", json={"public_key": value}), 400)
    assert await stored_key(portal, me) == me.public_key  # nothing changed


@pytest.mark.parametrize("value", list(SMALL_ORDER.values()), ids=list(SMALL_ORDER))
async def test_a_small_order_point_is_400_and_nothing_is_stored(portal: Portal, value: str) -> None:
    """Nothing can be sealed to such a key, so a distributor could not key the session: it is refused."""
    me = Keyed(await portal.login())

    await expect_error(
        me.who.client.call("POST", "/v1/portal/keys", json={"public_key": value}), 400, NOT_A_POINT
    )
    assert await stored_key(portal, me) is None


async def test_a_small_order_point_leaves_the_registered_key_alone(portal: Portal) -> None:
    me = Keyed(await portal.login())
    await me.register()

    for value in (SMALL_ORDER["all-zero"], SMALL_ORDER["order-8"]):
        await expect_error(
            me.who.client.call("POST", "/v1/portal/keys", json={"public_key": value}), 400, NOT_A_POINT
        )
    assert await stored_key(portal, me) == me.public_key
    assert await me.register() == {"status": "unchanged"}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "public_key is required"),
        ({"public_key": 5}, "public_key must be a string"),
        ({"public_key": None}, "public_key must be a string"),
        ({"public_key": raw_public_key(31)}, BAD_KEY),
        ({"public_key": raw_public_key(33)}, BAD_KEY),
        ({"public_key": "!!!!"}, BAD_KEY),
        ({"public_key": ""}, "public_key must be at least 1 character"),
        ({"public_key": raw_public_key(32), "extra": 1}, "extra is not allowed"),
        ([raw_public_key(32)], "Invalid request"),
    ],
)
async def test_bad_bodies_are_400_with_the_field_named(portal: Portal, body: object, error: str) -> None:
    me = Keyed(await portal.login())
    await me.register()

    await expect_error(me.who.client.call("POST", "/v1/portal/keys", json=body), 400, error)
    assert await stored_key(portal, me) == me.public_key


async def test_broken_json_is_400_invalid_request(portal: Portal) -> None:
    me = Keyed(await portal.login())
    response = await me.who.client.raw(
        "POST", "/v1/portal/keys", content=b'{"public_key": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid request"
    assert await stored_key(portal, me) is None


async def test_without_a_session_it_is_401(portal: Portal) -> None:
    client = portal.client()
    await expect_error(
        client.call("POST", "/v1/portal/keys", json={"public_key": raw_public_key()}),
        401,
        "Authentication required",
    )
    await expect_error(  # 401 comes before validation (08 §4)
        client.call("POST", "/v1/portal/keys", json={"public_key": "bad"}), 401, "Authentication required"
    )


async def test_an_ended_session_cannot_register(portal: Portal) -> None:
    me = Keyed(await portal.login())
    token = me.token
    await me.who.client.logout()
    stale = portal.client(session=token)

    await expect_error(
        stale.call("POST", "/v1/portal/keys", json={"public_key": me.public_key}),
        401,
        "Authentication required",
    )


async def test_strangers_may_register_keys(portal: Portal) -> None:
    """00 §3.3: strangers may use keys."""
    me = Keyed(await portal.stranger())

    assert await me.register() == {"status": "registered"}
    assert await me.register() == {"status": "unchanged"}
    assert await stored_key(portal, me) == me.public_key
