"""Hot paths stay O(1) in SQL statements (DEVELOPERS.md: performance). Speed itself is measured in bench/."""

from __future__ import annotations

from tests.helpers import Portal, counted_statements
from tests.messaging.support import public_room, secure, secure_send
from tests.realtime.support import join
from tests.sockets import online


async def test_authenticated_request_costs_two_statements_then_one(portal: Portal) -> None:
    alice = await portal.login()
    await alice.client.me()  # the first request may write last_activity_at
    portal.container.auth_cache.forget({alice.id})
    with counted_statements(portal) as statements:
        await alice.client.me()
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, statements  # the session joined with its user, then the linked platforms
    assert len(statements) == 2, statements
    with counted_statements(portal) as cached:
        await alice.client.me()
    assert cached == []  # the session, its user and the platforms now come from the auth cache


async def test_authentication_lookup_is_one_indexed_query(portal: Portal) -> None:
    alice = await portal.login()
    token = alice.client.session_token
    await portal.container.sessions.authenticate(token)
    portal.container.auth_cache.forget({alice.id})  # a miss: what the cache saves
    with counted_statements(portal) as statements:
        ctx = await portal.container.sessions.authenticate(token)
    assert ctx is not None and ctx.user.id == alice.id
    assert len(statements) == 1 and "token_hash" in statements[0]


async def test_a_message_send_costs_the_same_statements_whatever_the_room(portal: Portal) -> None:
    """Send → `message:new` is O(1) in SQL: the same statements with 1 or 4 people in the room and after
    more messages, and one UPDATE of the chat row (the message id and the activity time together)."""
    _owner, chat, sender = await public_room(portal)
    chat_id = chat["id"]
    await secure_send(sender, chat_id, "warm-up")
    with counted_statements(portal) as alone:
        await secure_send(sender, chat_id, "one listener")
    for _ in range(3):
        await secure(portal, await portal.login(), chat_id)
    for n in range(5):
        await secure_send(sender, chat_id, f"more history {n}")
    with counted_statements(portal) as crowded:
        await secure_send(sender, chat_id, "four in the room")
    assert len(crowded) == len(alone), (alone, crowded)
    updates = [s for s in crowded if s.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 1 and "last_activity_at" in updates[0], updates
    assert len(crowded) <= 5, crowded  # 5 on SQLite (BEGIN IMMEDIATE), 4 on PostgreSQL


async def test_a_room_join_costs_the_same_statements_whatever_the_room(portal: Portal, sockets) -> None:
    """`room:join` (a new member: membership row, join message, the ack's member list) is O(1) in SQL:
    the same statements whether the room holds one member or six."""
    _owner, chat, _sender = await public_room(portal)
    chat_id = chat["id"]

    async def newcomer() -> object:
        return await online(sockets, (await portal.login()).client.session_token)

    first, second = await newcomer(), await newcomer()
    await join(first, chat_id)  # warm-up (the chat's first join by a non-owner)
    with counted_statements(portal) as small:
        ack = await join(second, chat_id)
    small_members = len(ack["members"])
    for _ in range(4):
        await join(await newcomer(), chat_id)
    late = await newcomer()
    with counted_statements(portal) as crowded:
        ack = await join(late, chat_id)
    assert len(ack["members"]) == small_members + 5
    assert len(crowded) == len(small), (small, crowded)
    assert len(crowded) <= 13, crowded  # 13 on SQLite (BEGIN IMMEDIATE), 12 on PostgreSQL


async def test_history_and_the_chat_list_cost_the_same_statements_whatever_their_length(
    portal: Portal,
) -> None:
    """A history page is the access check (one statement), the page and its senders; the chat list is the
    chats and their owners: neither grows with the messages, the senders or the chats."""
    _owner, chat, sender = await public_room(portal)
    chat_id = chat["id"]
    history = f"/v1/portal/chats/{chat_id}/history?limit=100"
    await secure_send(sender, chat_id, "one")
    await sender.client.call("GET", history)
    with counted_statements(portal) as short:
        page = await sender.client.call("GET", history)
    with counted_statements(portal) as short_list:
        listed = await sender.client.call("GET", "/v1/portal/chats")
    for n in range(3):
        other = await secure(portal, await portal.login(), chat_id)
        await secure_send(other, chat_id, f"from another sender {n}")
        await portal.public_chat(await portal.login("user", tier=2))
    with counted_statements(portal) as long:
        longer = await sender.client.call("GET", history)
    with counted_statements(portal) as long_list:
        more = await sender.client.call("GET", "/v1/portal/chats")
    assert (
        len({m["sender"]["id"] for m in longer if m["sender"]})
        == len({m["sender"]["id"] for m in page if m["sender"]}) + 3
    )
    assert len(more) == len(listed) + 3
    assert len(long) == len(short) <= 3, long
    assert len(long_list) == len(short_list) <= 2, long_list
