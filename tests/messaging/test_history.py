"""`GET /v1/portal/chats/{id}/history?limit=&before=`: paging, the message object, access and
`history_visible=false` (00 §3.8, 04 §2, §5.2, 08 §10, §15)."""

from __future__ import annotations

from typing import Any

from tests.helpers import LoggedIn, Portal, expect_error
from tests.messaging.support import (
    MESSAGE_KEYS,
    bundle,
    epoch_of,
    history,
    id_key,
    private_room,
    public_room,
    second_session,
    secure,
    secure_send,
    send_raw,
    set_config,
    texts,
    user_ids,
)
from tests.realtime.support import assert_system_message

BAD_BEFORE = "before must be a message id"


def history_path(chat_id: int) -> str:
    return f"/v1/portal/chats/{chat_id}/history"


async def send_many(portal: Portal, who: LoggedIn, chat_id: int, count: int) -> list[str]:
    """`count` messages from a joined key holder, moving the clock past the per-user message limit
    (30 / 10 s) and the caller's AUTH tier (120 / min) as needed."""
    epoch = await epoch_of(portal, chat_id)
    ids = []
    for n in range(count):
        if n % 25 == 0:
            portal.server.clock.advance_to_next(60)
        ids.append(await send_raw(who, chat_id, bundle(epoch)))
    return ids


# ---- paging (00 §3.8) -----------------------------------------------------------------------------------


async def test_no_parameters_answer_the_latest_100_oldest_first(portal: Portal) -> None:
    owner, chat, _alice = await public_room(portal)
    sent = await send_many(portal, owner, chat["id"], 110)

    everything = await history(owner, chat["id"], limit=500)
    latest = await history(owner, chat["id"])

    assert user_ids(everything) == sent
    assert texts(everything) == [f"{owner.user['username']} joined the chat"]
    assert len(everything) == 111
    assert latest == everything[-100:]
    assert [m["id"] for m in everything] == sorted((m["id"] for m in everything), key=id_key)


async def test_limit_is_1_to_500(portal: Portal) -> None:
    owner, chat, _alice = await public_room(portal)
    sent = await send_many(portal, owner, chat["id"], 3)
    assert [m["id"] for m in await history(owner, chat["id"], limit=1)] == sent[-1:]
    assert [m["id"] for m in await history(owner, chat["id"], limit=2)] == sent[-2:]
    assert len(await history(owner, chat["id"], limit=500)) == 4
    for limit in (0, 501, -1, 10**12):
        await expect_error(
            owner.client.call("GET", history_path(chat["id"]), params={"limit": limit}),
            400,
            "limit must be between 1 and 500",
        )
    for limit in ("abc", "1.5", ""):
        await expect_error(
            owner.client.call("GET", history_path(chat["id"]), params={"limit": limit}),
            400,
            "limit must be an integer",
        )


async def test_before_pages_back_without_gaps_or_duplicates(portal: Portal) -> None:
    owner, chat, _alice = await public_room(portal)
    await send_many(portal, owner, chat["id"], 23)
    everything = await history(owner, chat["id"], limit=500)

    pages: list[list[dict[str, Any]]] = [await history(owner, chat["id"], limit=7)]
    while True:
        page = await history(owner, chat["id"], limit=7, before=pages[-1][0]["id"])
        if not page:
            break
        assert len(page) <= 7
        pages.append(page)

    walked = [m for page in reversed(pages) for m in page]
    assert walked == everything
    assert [len(p) for p in pages] == [7, 7, 7, 3]


async def test_before_is_a_cursor_not_a_lookup(portal: Portal) -> None:
    """`before` need not name a stored message: strictly older messages are listed."""
    owner, chat, _alice = await public_room(portal)
    await send_many(portal, owner, chat["id"], 3)
    everything = await history(owner, chat["id"], limit=500)
    first_ms, first_seq = id_key(everything[0]["id"])
    last_ms, last_seq = id_key(everything[-1]["id"])

    assert await history(owner, chat["id"], before=everything[0]["id"]) == []
    assert await history(owner, chat["id"], before=f"{first_ms}-{first_seq + 1}") == everything[:1]
    assert await history(owner, chat["id"], before=f"{last_ms}-{last_seq + 1}") == everything
    assert await history(owner, chat["id"], before="999999999999999-0") == everything
    assert await history(owner, chat["id"], before="0-0") == []
    assert await history(owner, chat["id"], before=everything[-1]["id"]) == everything[:-1]


async def test_a_malformed_before_is_400(portal: Portal) -> None:
    owner, chat, _alice = await public_room(portal)
    for before in ("", "abc", "1", "1-", "-1", "1-2-3", "a-1", "1-a", " 1-2", "1-2 ", "+1-2", "²-1", "١-٢"):
        await expect_error(
            owner.client.call("GET", history_path(chat["id"]), params={"before": before}), 400, BAD_BEFORE
        )
    for before in ("1234567890123456-0", "1-1234567890"):  # too many digits to be an id
        await expect_error(
            owner.client.call("GET", history_path(chat["id"]), params={"before": before}), 400, BAD_BEFORE
        )


# ---- the message objects ----------------------------------------------------------------------------------


async def test_system_and_user_messages_have_their_documented_shapes(portal: Portal) -> None:
    """04 §2, 00 §4: system messages have `sender:null, permission_level:null`, epoch all zeros."""
    owner, chat, alice = await public_room(portal)
    message_id, content = await secure_send(alice, chat["id"], "secret")
    [joined, sent] = await history(owner, chat["id"])

    assert_system_message(joined, chat, f"{owner.user['username']} joined the chat")
    assert set(sent) == MESSAGE_KEYS
    assert sent["id"] == message_id and sent["content"] == content and sent["type"] == "user"
    assert sent["epoch"] == "0000000000000000"  # epoch 0: the same digits as a system message's
    assert sent["sender"]["id"] == owner.id and sent["permission_level"] == 0
    assert alice.open(sent) == "secret"


async def test_chat_name_is_the_name_at_retrieval_time(portal: Portal) -> None:
    """04 §2: `chat_name` is the chat's name when history is read, not when the message was sent."""
    owner, chat, alice = await public_room(portal)
    await secure_send(alice, chat["id"], "before the rename")
    await set_config(owner, chat["id"], name="Renamed room")
    assert {m["chat_name"] for m in await history(owner, chat["id"])} == {"Renamed room"}


# ---- access -----------------------------------------------------------------------------------------------


async def test_history_gates_401_400_404_403(portal: Portal) -> None:
    """08 §4: 401, then validation, then 404, then 403 for private-chat outsiders and strangers."""
    owner, private, _alice = await private_room(portal)
    anonymous = portal.client()
    await expect_error(anonymous.call("GET", history_path(private["id"])), 401, "Authentication required")
    outsider = await portal.login()
    await expect_error(
        outsider.client.call("GET", history_path(2_000_000_000), params={"limit": 0}),
        400,
        "limit must be between 1 and 500",
    )
    await expect_error(outsider.client.call("GET", history_path(2_000_000_000)), 404, "Chat not found")
    await expect_error(outsider.client.call("GET", history_path(private["id"])), 403, "Access denied")
    stranger = await portal.stranger()
    await expect_error(stranger.client.call("GET", history_path(private["id"])), 403, "Access denied")
    _owner2, public, _alice2 = await public_room(portal)
    await expect_error(stranger.client.call("GET", history_path(public["id"])), 403, "Access denied")
    assert len(await history(owner, private["id"])) == 1


async def test_who_may_read_a_chat(portal: Portal) -> None:
    """04 §5.2: public chats are open to every registered user (no join needed); private chats to the
    owner, members (joined or not) and Admin+."""
    owner, private, alice = await private_room(portal)
    await secure_send(alice, private["id"], "private words")
    member = await portal.login()
    await portal.invite_into(owner, private["id"], member)
    admin = await portal.login("admin")
    moderator = await portal.login("moderator")
    expected = await history(owner, private["id"])
    assert await history(member, private["id"]) == expected
    assert await history(admin, private["id"]) == expected
    await expect_error(moderator.client.call("GET", history_path(private["id"])), 403, "Access denied")

    owner2, public, alice2 = await public_room(portal)
    await secure_send(alice2, public["id"], "public words")
    passer_by = await portal.login()
    assert await history(passer_by, public["id"]) == await history(owner2, public["id"])


# ---- history_visible=false (08 §15) -----------------------------------------------------------------------


async def test_hidden_history_shows_non_managers_only_what_came_after_their_latest_join(
    portal: Portal,
) -> None:
    owner, chat, alice = await public_room(portal)
    await set_config(owner, chat["id"], history_visible=False)
    early, _ = await secure_send(alice, chat["id"], "before bob")
    guest = await portal.login()
    name = guest.user["username"]
    assert await history(guest, chat["id"]) == []  # never joined: nothing

    bob = await secure(portal, guest, chat["id"])
    after, _ = await secure_send(alice, chat["id"], "after bob joined")
    seen = await history(guest, chat["id"])
    assert texts(seen) == [f"{name} joined the chat"] and user_ids(seen) == [after]

    other = await second_session(portal, guest)  # a further session does not move the start
    await secure(portal, other, chat["id"])
    assert await history(other, chat["id"]) == seen
    await secure_send(bob, chat["id"], "bob speaks")
    assert len(await history(guest, chat["id"])) == 3

    await bob.rt.leave(chat["id"])
    full = await history(owner, chat["id"])
    assert early in user_ids(full) and after in user_ids(full)  # the owner sees everything
    mod = await portal.login("moderator")  # a manager of a User-owned public chat, too
    assert await history(mod, chat["id"]) == full


async def test_hidden_history_restarts_at_a_rejoin(portal: Portal) -> None:
    owner, chat, alice = await public_room(portal)
    await set_config(owner, chat["id"], history_visible=False)
    guest = await portal.login()
    name = guest.user["username"]
    bob = await secure(portal, guest, chat["id"])
    first, _ = await secure_send(alice, chat["id"], "while bob is in")
    await bob.rt.leave(chat["id"])
    missed, _ = await secure_send(alice, chat["id"], "while bob is away")
    assert user_ids(await history(guest, chat["id"])) == [first, missed]

    portal.server.clock.advance(1)
    await bob.join(chat["id"])
    again, _ = await secure_send(alice, chat["id"], "bob is back")
    seen = await history(guest, chat["id"])
    assert texts(seen) == [f"{name} joined the chat"] and user_ids(seen) == [again]
    assert bob.open(seen[-1]) == "bob is back"


async def test_hidden_history_for_an_admin_in_a_private_chat_starts_at_their_socket(portal: Portal) -> None:
    """An Admin reading a private chat by rank is no manager there (config is owner-only) and has no
    membership: their history starts when their socket joined."""
    owner, chat, alice = await private_room(portal)
    await set_config(owner, chat["id"], history_visible=False)
    await secure_send(alice, chat["id"], "before the admin")
    admin = await portal.login("admin")
    assert await history(admin, chat["id"]) == []
    await secure(portal, admin, chat["id"])
    later, _ = await secure_send(alice, chat["id"], "after the admin joined")
    seen = await history(admin, chat["id"])
    assert user_ids(seen) == [later]
    assert texts(seen) == [f"{admin.user['username']} joined the chat"]
    assert len(await history(owner, chat["id"])) == len(seen) + 2  # owner: its own join + "before"
