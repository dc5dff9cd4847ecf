"""`POST /v1/portal/chats/{id}/messages`: the answer, `message:new`, ids, every check of 00 §4 in its
order, and the message rate limits (04 §5.1, 00 §4, 08 §2, §4, §10, §61)."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta

from sqlalchemy import update

from portal.db.models import Chat
from tests.helpers import Portal, expect_error, parse_time
from tests.messaging.support import (
    MESSAGE_KEYS,
    bundle,
    epoch_hex,
    epoch_of,
    history,
    id_key,
    messages_path,
    on_frozen_clock,
    padded_bundle,
    portal_on,
    private_room,
    public_room,
    read,
    second_session,
    secure,
    secure_send,
    send_raw,
    set_level,
    stored,
    watcher,
)
from tests.realtime.support import user_ref
from tests.servers import node_like

BAD_BUNDLE = "content must be a CiphertextV2 bundle"


# ---- the answer and message:new -----------------------------------------------------------------------


async def test_send_answers_the_id_that_message_new_carries(portal: Portal) -> None:
    """04 §5.1: `{id}` equals the `message:new` id; the event is the history object (04 §2) with
    `content` byte for byte (08 §10) and `epoch` as 16 lowercase hex digits (08 §2)."""
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    async with portal.container.db.transaction() as session:  # a two-digit hex epoch before anyone joins
        await session.execute(update(Chat).where(Chat.id == chat["id"]).values(epoch=0xAB))
    alice = await secure(portal, owner, chat["id"])
    guest = await portal.login()
    bob = await secure(portal, guest, chat["id"])
    watch = await watcher(portal, await portal.login(), chat["id"])

    message_id, content = await secure_send(alice, chat["id"], "hello bob")

    event = await watch.expect_where("message:new", lambda m: m["type"] == "user")
    assert set(event) == MESSAGE_KEYS
    assert event == {
        "chat_id": chat["id"],
        "chat_name": chat["name"],
        "id": message_id,
        "sender": user_ref(owner),
        "permission_level": 0,
        "content": content,
        "type": "user",
        "epoch": "00000000000000ab",
        "timestamp": event["timestamp"],
    }
    sent_at = parse_time(event["timestamp"])
    assert abs(sent_at - portal.server.clock.now()) < timedelta(seconds=5)
    assert await bob.next_text(chat["id"]) == "hello bob"
    assert [m for m in await history(guest, chat["id"]) if m["type"] == "user"] == [event]


async def test_content_is_stored_and_returned_byte_for_byte(portal: Portal) -> None:
    """08 §10: never re-serialised: spacing, key order and escapes all survive (extra fields are refused
    since 08 §67)."""
    owner, chat, _alice = await public_room(portal)
    epoch = await epoch_of(portal, chat["id"])
    ct = base64.b64encode(bytes(range(48))).decode()
    content = f'{{ "ct" : "{ct}",\n  "\\u0065poch":{epoch}, "v": 2 }}'
    watch = await watcher(portal, owner, chat["id"])

    message_id = await send_raw(owner, chat["id"], content)

    event = await watch.expect_where("message:new", lambda m: m["id"] == message_id)
    assert event["content"] == content
    [listed] = [m for m in await history(owner, chat["id"]) if m["id"] == message_id]
    assert listed["content"] == content


async def test_permission_level_is_frozen_at_send_time(portal: Portal) -> None:
    """04 §2: a later level change does not rewrite what was sent."""
    owner, chat, _alice = await public_room(portal)
    mod = await portal.login("moderator")
    mods = await secure(portal, mod, chat["id"])
    first, _ = await secure_send(mods, chat["id"], "as a moderator")
    await set_level(portal, mod.id, 2)
    second, _ = await secure_send(mods, chat["id"], "as an admin")

    levels = {m["id"]: m["permission_level"] for m in await history(owner, chat["id"])}
    assert (levels[first], levels[second]) == (1, 2)


@on_frozen_clock
async def test_ids_in_one_millisecond_count_the_sequence_up(portal: Portal) -> None:
    """00 §3.1: "{unix_ms}-{seq}", strictly increasing per chat: sends in the same millisecond take
    seq 0, 1, 2 …, and a clock that goes back never makes an id smaller."""
    _owner, chat, alice = await public_room(portal)
    clock = portal.server.clock
    clock.advance(1)  # past every message already in the chat; the clock stands still from here

    ids = [(await secure_send(alice, chat["id"], f"m{i}"))[0] for i in range(5)]

    ms = {id_key(i)[0] for i in ids}
    assert len(ms) == 1 and abs(ms.pop() - clock.time() * 1000) <= 1
    assert [id_key(i)[1] for i in ids] == [0, 1, 2, 3, 4]

    clock.advance(-60)  # the clock steps back a minute
    later, _ = await secure_send(alice, chat["id"], "after the step back")
    assert id_key(later) == (id_key(ids[-1])[0], 5)
    clock.advance(60)


async def test_concurrent_sends_get_distinct_increasing_ids(portal: Portal) -> None:
    owner, chat, alice = await public_room(portal)
    guest = await portal.login()
    bob = await secure(portal, guest, chat["id"])

    sent = await asyncio.gather(
        *(secure_send(who, chat["id"], f"{n}") for n in range(6) for who in (alice, bob))
    )

    ids = [message_id for message_id, _ in sent]
    assert len(set(ids)) == 12
    listed = [m["id"] for m in await history(owner, chat["id"])]
    assert set(ids) <= set(listed)
    assert listed == sorted(listed, key=id_key) and len(set(listed)) == len(listed)


# ---- the checks of 00 §4, in order --------------------------------------------------------------------


async def test_send_without_a_session_is_401_before_the_body_is_read(portal: Portal) -> None:
    _owner, chat, _alice = await public_room(portal)
    anonymous = portal.client()
    await expect_error(
        anonymous.call("POST", messages_path(chat["id"]), json={"content": bundle(0)}),
        401,
        "Authentication required",
    )
    response = await anonymous.raw(
        "POST", messages_path(chat["id"]), content=b"{broken", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401 and response.json()["error"] == "Authentication required"


async def test_the_body_is_validated_before_the_chat_is_looked_up(portal: Portal) -> None:
    """08 §4: schema 400 before 404; 08 §6 wording; 08 §7 unknown fields."""
    user = await portal.login()
    missing = messages_path(2_000_000_000)
    for body, error in (
        ({}, "content is required"),
        ({"content": 5}, "content must be a string"),
        ({"content": None}, "content must be a string"),
        ({"content": ""}, "content must be at least 1 character"),
        ({"content": padded_bundle(0, 4097)}, "content must be at most 4096 characters"),
        ({"content": bundle(0), "epoch": 0}, "epoch is not allowed"),
        ([bundle(0)], "Invalid request"),
    ):
        await expect_error(user.client.call("POST", missing, json=body), 400, error)
    response = await user.client.raw(
        "POST", missing, content=b'{"content": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["error"] == "Invalid request"
    await expect_error(user.client.call("POST", missing, json={"content": bundle(0)}), 404, "Chat not found")
    await expect_error(user.client.call("POST", messages_path(0), json={"content": bundle(0)}), 404)


async def test_outsiders_of_a_private_chat_and_strangers_get_403(portal: Portal) -> None:
    _owner, private, _alice = await private_room(portal)
    _owner2, public, _alice2 = await public_room(portal)
    outsider = await portal.login()
    stranger = await portal.stranger()
    await expect_error(send_raw(outsider, private["id"], bundle(0)), 403, "Access denied")
    for chat in (private, public):
        await expect_error(send_raw(stranger, chat["id"], bundle(0)), 403, "Access denied")


async def test_a_session_that_never_joined_gets_err_not_joined(portal: Portal) -> None:
    """00 §4: the caller's *session* must have joined over Socket.IO, not just the user."""
    owner, chat, _alice = await public_room(portal)
    guest = await portal.login()
    epoch = await epoch_of(portal, chat["id"])
    await expect_error(send_raw(guest, chat["id"], bundle(epoch)), 403, "ERR_NOT_JOINED")

    other = await second_session(portal, guest)
    guests = await secure(portal, other, chat["id"])  # the user's other session joins
    await expect_error(send_raw(guest, chat["id"], bundle(epoch)), 403, "ERR_NOT_JOINED")
    await secure_send(guests, chat["id"], "from the joined session")

    # the owner's second session, too
    owner_other = await second_session(portal, owner)
    await expect_error(send_raw(owner_other, chat["id"], bundle(epoch)), 403, "ERR_NOT_JOINED")


async def test_a_private_member_must_join_before_sending(portal: Portal) -> None:
    owner, chat, _alice = await private_room(portal)
    member = await portal.login()
    await portal.invite_into(owner, chat["id"], member)
    await expect_error(send_raw(member, chat["id"], bundle(0)), 403, "ERR_NOT_JOINED")
    members = await secure(portal, member, chat["id"])
    await secure_send(members, chat["id"], "now joined")


async def test_after_room_leave_sends_are_refused_again(portal: Portal) -> None:
    _owner, chat, _alice = await public_room(portal)
    guest = await portal.login()
    guests = await secure(portal, guest, chat["id"])
    await secure_send(guests, chat["id"], "inside")
    await guests.rt.leave(chat["id"])
    await expect_error(secure_send(guests, chat["id"], "outside"), 403, "ERR_NOT_JOINED")


@on_frozen_clock
async def test_restrictions_are_checked_ban_then_hard_mute_then_mute(portal: Portal) -> None:
    """00 §4: joined → banned → hard-muted (ttl) → muted (ttl) → bundle shape; a session that has not
    joined hears ERR_NOT_JOINED before ERR_BANNED."""
    owner, chat, _alice = await public_room(portal)
    admin = await portal.login("admin")
    guest = await portal.login()
    guests = await secure(portal, guest, chat["id"])
    path = f"/v1/portal/chats/{chat['id']}"
    await owner.client.call("POST", f"{path}/mute", json={"user_id": guest.id, "duration": 300})
    await admin.client.call("POST", "/v1/portal/hard-mute", json={"user_id": guest.id, "duration": 600})
    await owner.client.call("POST", f"{path}/ban", json={"user_id": guest.id})
    before = await stored(portal, chat["id"])
    epoch = await epoch_of(portal, chat["id"])

    error = await expect_error(send_raw(guest, chat["id"], bundle(epoch)), 403, "ERR_BANNED")
    assert "ttl" not in error.body
    unjoined = await second_session(portal, guest)
    await expect_error(send_raw(unjoined, chat["id"], bundle(epoch)), 403, "ERR_NOT_JOINED")

    await owner.client.call("POST", f"{path}/unban", json={"user_id": guest.id})
    error = await expect_error(send_raw(guest, chat["id"], bundle(epoch)), 403, "ERR_HARD_MUTED")
    assert error.body["ttl"] == 600

    portal.server.clock.advance(100)
    error = await expect_error(send_raw(guest, chat["id"], "not a bundle"), 403, "ERR_HARD_MUTED")
    assert error.body["ttl"] == 500
    await admin.client.call("POST", "/v1/portal/hard-unmute", json={"user_id": guest.id})
    error = await expect_error(send_raw(guest, chat["id"], "not a bundle"), 403, "ERR_MUTED")
    assert error.body["ttl"] == 200

    await owner.client.call("POST", f"{path}/unmute", json={"user_id": guest.id})
    await expect_error(send_raw(guest, chat["id"], "not a bundle"), 400, BAD_BUNDLE)
    assert await stored(portal, chat["id"]) == before  # nothing refused was stored
    said, _ = await secure_send(guests, chat["id"], "free again")  # the ban rotated: a new key came
    assert [m for m in await stored(portal, chat["id"]) if m[0] == said]


async def test_an_indefinite_mute_has_ttl_0_and_sending_works_after_unmute(portal: Portal) -> None:
    """04 §6.2: ttl 0 = indefinite; a mute does not rotate the key, so the sender keeps talking after."""
    owner, chat, _alice = await public_room(portal)
    guest = await portal.login()
    guests = await secure(portal, guest, chat["id"])
    path = f"/v1/portal/chats/{chat['id']}"
    await owner.client.call("POST", f"{path}/mute", json={"user_id": guest.id, "duration": 0})
    error = await expect_error(secure_send(guests, chat["id"], "muted"), 403, "ERR_MUTED")
    assert error.body["ttl"] == 0
    await owner.client.call("POST", f"{path}/unmute", json={"user_id": guest.id})
    await secure_send(guests, chat["id"], "unmuted")


@on_frozen_clock
async def test_a_timed_mute_ends_by_itself(portal: Portal) -> None:
    owner, chat, _alice = await public_room(portal)
    guest = await portal.login()
    guests = await secure(portal, guest, chat["id"])
    await owner.client.call(
        "POST", f"/v1/portal/chats/{chat['id']}/mute", json={"user_id": guest.id, "duration": 60}
    )
    portal.server.clock.advance(59)
    error = await expect_error(secure_send(guests, chat["id"], "still muted"), 403, "ERR_MUTED")
    assert error.body["ttl"] == 1
    portal.server.clock.advance(2)
    await secure_send(guests, chat["id"], "free again")


async def test_bad_bundles_are_400_and_nothing_is_stored(portal: Portal) -> None:
    """00 §4: `{"v":2,"epoch":N,"ct":base64(≥ 40 bytes)}`; the parse comes after the restrictions and
    before the epoch check (a broken bundle with a wrong epoch is still 400)."""
    owner, chat, _alice = await public_room(portal)
    epoch = await epoch_of(portal, chat["id"])
    ct = base64.b64encode(bytes(40)).decode()
    short = base64.b64encode(bytes(39)).decode()

    def raw(**fields: object) -> str:
        return json.dumps(fields)

    bad = [
        "not json",
        "",
        "[]",
        '"a string"',
        "2",
        "null",
        raw(epoch=epoch, ct=ct),  # no v
        raw(v=1, epoch=epoch, ct=ct),
        raw(v=3, epoch=epoch, ct=ct),
        raw(v="2", epoch=epoch, ct=ct),
        raw(v=2.0, epoch=epoch, ct=ct),
        raw(v=True, epoch=epoch, ct=ct),
        raw(v=2, ct=ct),  # no epoch
        raw(v=2, epoch=str(epoch), ct=ct),
        raw(v=2, epoch=epoch + 0.5, ct=ct),
        raw(v=2, epoch=float(epoch), ct=ct),
        raw(v=2, epoch=None, ct=ct),
        raw(v=2, epoch=False, ct=ct),
        raw(v=2, epoch=-1, ct=ct),
        raw(v=2, epoch=epoch),  # no ct
        raw(v=2, epoch=epoch, ct=None),
        raw(v=2, epoch=epoch, ct=12345),
        raw(v=2, epoch=epoch, ct="!!!" + ct),
        raw(v=2, epoch=epoch, ct=ct.rstrip("=")),  # unpadded
        raw(v=2, epoch=epoch, ct=ct[:20] + "\n" + ct[20:]),
        raw(v=2, epoch=epoch, ct=base64.urlsafe_b64encode(b"\xff" * 42).decode()),  # "-" and "_"
        raw(v=2, epoch=epoch, ct=short),  # 39 bytes
        raw(v=2, epoch=epoch, ct=""),
        raw(v=1, epoch=epoch + 5, ct=ct),  # broken and from another epoch: 400 first
        bundle(epoch) + " x",  # trailing garbage
        # 08 §67: exactly v, epoch and ct, so no plaintext can ride beside the ciphertext.
        raw(v=2, epoch=epoch, ct=ct, text="hello in the clear"),
        raw(v=2, epoch=epoch, ct=ct, iv=""),
        raw(v=2, epoch=epoch, ct=ct, meta={}),
        raw(v=2, epoch=epoch, ct=ct, **{"": 0}),
        raw(v=2, epoch=epoch, ct=ct, **{"V": 2}),
        f'{{"v": 2, "ct": "plain words", "epoch": {epoch}, "ct": "{ct}"}}',  # a repeated key
    ]
    before = await stored(portal, chat["id"])
    for content in [c for c in bad if c]:
        await expect_error(send_raw(owner, chat["id"], content), 400, BAD_BUNDLE)
    await expect_error(send_raw(owner, chat["id"], ""), 400, "content must be at least 1 character")
    # A `\ud800` escape decodes to a lone surrogate, which no database could store as text.
    content = raw(v=2, epoch=epoch, ct=ct)[:-1] + ', "x": "\ud800"}'  # a raw surrogate in the content
    lone = json.dumps({"content": content})  # ensure_ascii: the body carries the `\ud800` escape
    response = await owner.client.raw(
        "POST", messages_path(chat["id"]), content=lone.encode(), headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["error"]) == (400, BAD_BUNDLE)
    assert await stored(portal, chat["id"]) == before

    ok40 = await send_raw(owner, chat["id"], raw(v=2, epoch=epoch, ct=ct))
    longest = padded_bundle(epoch, 4096)
    ok4096 = await send_raw(owner, chat["id"], longest)
    await expect_error(
        send_raw(owner, chat["id"], padded_bundle(epoch, 4097)),
        400,
        "content must be at most 4096 characters",
    )
    contents = {m["id"]: m["content"] for m in await history(owner, chat["id"])}
    assert contents[ok4096] == longest and len(longest) == 4096
    assert ok40 in contents


async def test_an_old_or_future_epoch_is_err_epoch_mismatch(portal: Portal) -> None:
    """00 §4: after a rotation (here: clear) the old epoch is refused; SecureChat clients get the new key
    and keep talking."""
    owner, chat, alice = await public_room(portal)
    guest = await portal.login()
    bob = await secure(portal, guest, chat["id"])
    old = await epoch_of(portal, chat["id"])
    await owner.client.call("POST", f"/v1/portal/chats/{chat['id']}/clear")
    assert await epoch_of(portal, chat["id"]) == old + 1

    before = await stored(portal, chat["id"])
    await expect_error(send_raw(owner, chat["id"], bundle(old)), 403, "ERR_EPOCH_MISMATCH")
    await expect_error(send_raw(owner, chat["id"], bundle(old + 2)), 403, "ERR_EPOCH_MISMATCH")
    assert await stored(portal, chat["id"]) == before

    await alice.wait_for_key(chat["id"])
    assert alice.epochs[chat["id"]] == old + 1
    said, content = await secure_send(alice, chat["id"], "after the clear")
    assert json.loads(content)["epoch"] == old + 1
    assert await read(bob, chat["id"], said) == "after the clear"


async def test_a_joined_session_without_the_key_gets_err_no_room_key(portal: Portal) -> None:
    """00 §4: epoch check first, then "this session holds a blob for it"."""
    owner, chat, _alice = await public_room(portal)
    guest = await portal.login()
    await watcher(portal, guest, chat["id"])  # joined, but never registered a key: nobody wraps one for it
    epoch = await epoch_of(portal, chat["id"])
    await expect_error(send_raw(guest, chat["id"], bundle(epoch + 1)), 403, "ERR_EPOCH_MISMATCH")
    await expect_error(send_raw(guest, chat["id"], bundle(epoch)), 403, "ERR_NO_ROOM_KEY")
    assert [m for m in await history(owner, chat["id"]) if m["type"] == "user"] == []


# ---- rate limits (08 §61) ------------------------------------------------------------------------------


@on_frozen_clock
async def test_thirty_sends_per_ten_seconds_per_user_per_chat(portal: Portal) -> None:
    owner, chat, alice = await public_room(portal)
    guest = await portal.login()
    bob = await secure(portal, guest, chat["id"])
    _owner2, other_chat, _alice2 = await public_room(portal)
    await alice.join(other_chat["id"])
    epoch = await epoch_of(portal, chat["id"])
    clock = portal.server.clock
    clock.advance_to_next(10)

    for _ in range(30):
        await send_raw(owner, chat["id"], bundle(epoch))
    error = await expect_error(send_raw(owner, chat["id"], bundle(epoch)), 429, "Too many requests")
    assert 1 <= int(error.headers["retry-after"]) <= 10
    # 00 §3.3: the headers describe the limit that was spent (not the AUTH request tier's 120/min).
    assert (error.headers["x-ratelimit-limit"], error.headers["x-ratelimit-remaining"]) == ("30", "0")
    assert int(error.headers["x-ratelimit-reset"]) == int(error.headers["retry-after"])
    assert len([m for m in await history(owner, chat["id"]) if m["type"] == "user"]) == 30

    await secure_send(bob, chat["id"], "another user is not limited")
    await secure_send(alice, other_chat["id"], "the same user in another chat is not limited")

    clock.advance_to_next(10)
    await send_raw(owner, chat["id"], bundle(epoch))


@on_frozen_clock
async def test_the_per_chat_limit_counts_every_sender(portal: Portal) -> None:
    """`PORTAL_MESSAGE_RATE_CHAT` (300/10 s by default; 3/10 here)."""
    async with node_like(portal.server, message_rate_chat="3/10") as node, portal_on(node) as here:
        owner = await here.login("user", tier=2)
        chat = await here.public_chat(owner)
        alice = await secure(here, owner, chat["id"])
        guest = await here.login()
        bob = await secure(here, guest, chat["id"])
        _owner2, other, carol = await public_room(here)
        node.clock.advance_to_next(10)

        await secure_send(alice, chat["id"], "1")
        await secure_send(alice, chat["id"], "2")
        await secure_send(bob, chat["id"], "3")
        await expect_error(secure_send(bob, chat["id"], "4"), 429, "Too many requests")
        await expect_error(secure_send(alice, chat["id"], "4"), 429, "Too many requests")
        await secure_send(carol, other["id"], "another chat has its own count")

        node.clock.advance_to_next(10)
        await secure_send(bob, chat["id"], "next window")


@on_frozen_clock
async def test_the_per_user_limit_is_configurable(portal: Portal) -> None:
    """`PORTAL_MESSAGE_RATE_USER` (30/10 s by default; 2/10 here)."""
    async with node_like(portal.server, message_rate_user="2/10") as node, portal_on(node) as here:
        owner, chat, alice = await public_room(here)
        guest = await here.login()
        bob = await secure(here, guest, chat["id"])
        node.clock.advance_to_next(10)
        await secure_send(alice, chat["id"], "1")
        await secure_send(alice, chat["id"], "2")
        await expect_error(secure_send(alice, chat["id"], "3"), 429, "Too many requests")
        await secure_send(bob, chat["id"], "bob has his own count")
        node.clock.advance_to_next(10)
        await secure_send(alice, chat["id"], "3")
        assert len([m for m in await history(owner, chat["id"]) if m["type"] == "user"]) == 4


@on_frozen_clock
async def test_a_failed_check_comes_before_the_rate_limit(portal: Portal) -> None:
    """00 §4: ERR_NO_ROOM_KEY (and every other refusal) before 429; refused sends are not counted."""
    async with node_like(portal.server, message_rate_user="1/10") as node, portal_on(node) as here:
        owner, chat, alice = await public_room(here)
        keyless = await second_session(here, owner)
        await watcher(here, keyless, chat["id"])
        epoch = await epoch_of(here, chat["id"])
        node.clock.advance_to_next(10)
        await expect_error(send_raw(owner, chat["id"], bundle(epoch + 1)), 403, "ERR_EPOCH_MISMATCH")
        await secure_send(alice, chat["id"], "the one send of this window")
        await expect_error(send_raw(keyless, chat["id"], bundle(epoch)), 403, "ERR_NO_ROOM_KEY")
        await expect_error(secure_send(alice, chat["id"], "one too many"), 429, "Too many requests")


@on_frozen_clock
async def test_rate_limits_off_lifts_the_message_limits(portal: Portal) -> None:
    """00 §2: `PORTAL_RATE_LIMITS=off` disables the message-send limits too."""
    async with (
        node_like(
            portal.server, rate_limits="off", message_rate_user="2/10", message_rate_chat="3/10"
        ) as node,
        portal_on(node) as here,
    ):
        owner, chat, alice = await public_room(here)
        node.clock.advance_to_next(10)
        for n in range(6):
            await secure_send(alice, chat["id"], str(n))
        assert len([m for m in await history(owner, chat["id"]) if m["type"] == "user"]) == 6


# ---- who may send ---------------------------------------------------------------------------------------


async def test_private_members_and_admins_by_rank_may_send(portal: Portal) -> None:
    owner, chat, alice = await private_room(portal)
    member = await portal.login()
    await portal.invite_into(owner, chat["id"], member)
    admin = await portal.login("admin")
    members = await secure(portal, member, chat["id"])
    admins = await secure(portal, admin, chat["id"])
    for who, text in ((alice, "owner"), (members, "member"), (admins, "admin")):
        await secure_send(who, chat["id"], text)
    senders = [m["sender"]["id"] for m in await history(owner, chat["id"]) if m["type"] == "user"]
    assert senders == [owner.id, member.id, admin.id]


async def test_sent_messages_are_listed_in_history_in_send_order(portal: Portal) -> None:
    owner, chat, alice = await public_room(portal)
    ids = [(await secure_send(alice, chat["id"], f"m{n}"))[0] for n in range(3)]
    assert [m["id"] for m in await history(owner, chat["id"]) if m["type"] == "user"] == ids
    assert [alice.open(m) for m in await history(owner, chat["id"]) if m["type"] == "user"] == [
        "m0",
        "m1",
        "m2",
    ]
    assert epoch_hex(await epoch_of(portal, chat["id"])) == "0000000000000000"


# ---- keys (owned by services/e2ee.py) ---------------------------------------------------------------


async def test_a_session_that_replaces_its_key_pair_gets_a_key_it_can_open(portal: Portal) -> None:
    """04 §4: re-registering a different key replaces it; a browser reload keeps the session cookie and
    makes a new key pair, and must be able to read (and send in) the chat again."""
    _owner, chat, alice = await public_room(portal)
    guest = await portal.login()
    before_reload = await secure(portal, guest, chat["id"])
    await before_reload.close()

    reloaded = await secure(portal, guest, chat["id"])  # a new key pair for the same session

    said, _ = await secure_send(alice, chat["id"], "can you read me?")
    assert await read(reloaded, chat["id"], said) == "can you read me?"
    answer, _ = await secure_send(reloaded, chat["id"], "yes")
    assert await read(alice, chat["id"], answer) == "yes"
