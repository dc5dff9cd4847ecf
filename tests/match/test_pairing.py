"""Pairing: who is matched with whom, the direct chat it opens, `match:found`, slots and the status."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from portal.db import chats as chats_db
from portal.db.models import Chat
from portal.security import match_token
from tests.events import capture_events
from tests.helpers import LoggedIn, Portal, expect_error, parse_time
from tests.match.support import dequeue, enqueue, status, tag
from tests.realtime.support import system_texts
from tests.sockets import online

DAY = timedelta(days=1)


def token_of(portal: Portal, chat_id: int, who: LoggedIn) -> str:
    return match_token(portal.container.settings.resolved_secret_key, chat_id, who.id)


def peer_of(who: LoggedIn) -> dict[str, Any]:
    return {
        "id": who.id,
        "username": who.user["username"],
        "avatar_url": who.user["avatar_url"],
        "is_stranger": False,
        "country_code": None,
    }


async def pair(portal: Portal, first: LoggedIn, second: LoggedIn, *tags: str) -> int:
    """`first` waits on `tags`, `second` pairs with it; answers the new chat's id."""
    tags = tags or (tag(),)
    await enqueue(first, *tags)
    await enqueue(second, *tags)
    chats = (await status(second))["chats"]
    return int(chats[0]["chat_id"])


async def test_shared_tag_pairs_opens_a_direct_chat_and_tells_both(portal: Portal, sockets: Any) -> None:
    alice, bob = await portal.login(), await portal.login()
    music, chess, cards = tag(), tag(), tag()
    on_alice = await online(sockets, alice.client.session_token)
    on_bob = await online(sockets, bob.client.session_token)
    await enqueue(alice, music, chess)
    async with capture_events(portal.container) as sent:
        answer = await enqueue(bob, cards, chess)

    # The enqueue answers `searching` even though it paired at once; the chat shows in `chats`.
    assert answer["state"] == "searching" and answer["interests"] == [cards, chess]
    [listed] = answer["chats"]
    chat_id = listed["chat_id"]
    assert sent.named("match:found") and sent.about(chat_id).names()[:1] == ["message:new"]

    found_alice = await on_alice.expect("match:found")
    found_bob = await on_bob.expect("match:found")
    expires = parse_time(found_alice["expires_at"])
    assert abs(expires - (portal.server.clock.now() + DAY)) < timedelta(seconds=2)
    assert found_alice == {
        "chat_id": chat_id,
        "token": token_of(portal, chat_id, alice),
        "matched_on": [chess],
        "expires_at": found_alice["expires_at"],
        "peer": peer_of(bob),
    }
    assert found_bob == {**found_alice, "token": token_of(portal, chat_id, bob), "peer": peer_of(alice)}
    assert found_alice["token"] != found_bob["token"]
    await on_alice.assert_silent("match:found")

    async with portal.container.db.read() as session:
        chat = await chats_db.get(session, chat_id)
        assert chat is not None
        members = sorted(await chats_db.member_user_ids(session, chat_id))
    assert chat.chat_type == "direct" and chat.owner_id is None and chat.visibility == "private"
    assert re.fullmatch(r"[a-z]+-[a-z]+", chat.name)
    assert chat.archived_at is None and chat.expires_at is not None and chat.epoch == 0
    assert members == sorted([alice.id, bob.id])
    username = bob.user["username"]
    assert await system_texts(portal, chat_id) == [
        f"Chat started — say hi to {username}! Matched on: {chess}"
    ]

    for who in (alice, bob):
        current = await status(who)
        assert current == {
            "state": "matched",
            "token": token_of(portal, chat_id, who),
            "expires_at": found_alice["expires_at"],
            "chats": [
                {
                    "chat_id": chat_id,
                    "token": token_of(portal, chat_id, who),
                    "expires_at": current["expires_at"],
                }
            ],
        }
        listing = await who.client.call("GET", "/v1/portal/chats")
        [entry] = [c for c in listing if c["id"] == chat_id]
        assert entry == {
            "id": chat_id,
            "chat_type": "direct",
            "name": chat.name,
            "owner": None,
            "visibility": "private",
            "label": None,
            "slug": None,
            "description": None,
            "avatar_url": None,
            "archived": False,
            "secrets": [],
        }


async def test_matched_on_lists_every_shared_tag_in_the_first_users_order(portal: Portal) -> None:
    alice, bob = await portal.login(), await portal.login()
    x, y, z = tag(), tag(), tag()
    await enqueue(alice, x, y, z)
    await enqueue(bob, z, y)
    chat_id = (await status(bob))["chats"][0]["chat_id"]
    assert (await system_texts(portal, chat_id))[0].endswith(f"Matched on: {y}, {z}")


async def test_disjoint_tags_do_not_pair(portal: Portal) -> None:
    alice, bob = await portal.login(), await portal.login()
    await enqueue(alice, tag(), tag())
    await enqueue(bob, tag())
    assert (await status(alice))["state"] == "searching"
    assert (await status(bob))["state"] == "searching"


async def test_three_on_one_tag_make_one_pair_and_one_waits(portal: Portal) -> None:
    first, second, third = await portal.login(), await portal.login(), await portal.login()
    t = tag()
    for who in (first, second, third):
        await enqueue(who, t)
    assert (await status(first))["state"] == "matched"
    assert (await status(second))["state"] == "matched"
    waiting = await status(third)
    assert waiting["state"] == "searching" and waiting["interests"] == [t] and "chats" not in waiting
    assert (await status(first))["chats"] == [
        {**(await status(second))["chats"][0], "token": (await status(first))["token"]}
    ]


async def test_fifo_the_earliest_waiting_user_is_taken(portal: Portal) -> None:
    early, late, newcomer = await portal.login(), await portal.login(), await portal.login()
    a, b = tag(), tag()
    await enqueue(early, a)
    await enqueue(late, b)
    await enqueue(newcomer, b, a)
    assert (await status(early))["state"] == "matched"
    assert (await status(late))["state"] == "searching"


async def test_free_users_have_one_slot(portal: Portal) -> None:
    alice, bob = await portal.login(), await portal.login()
    await pair(portal, alice, bob)
    for who in (alice, bob):
        await expect_error(enqueue(who, tag()), 409, "ERR_MATCH_SLOT_LIMIT")
        assert (await status(who))["state"] == "matched"


async def test_premium_users_have_three_slots_and_search_while_matched(portal: Portal) -> None:
    vip = await portal.login(tier=2)
    chats = []
    for _ in range(3):
        other = await portal.login()
        t = tag()
        await enqueue(vip, t)
        searching = await status(vip)  # searching wins over matched, and lists the chats so far
        assert searching["state"] == "searching" and len(searching.get("chats", [])) == len(chats)
        await enqueue(other, t)
        chats.append((await status(other))["chats"][0]["chat_id"])
    current = await status(vip)
    assert current["state"] == "matched"
    assert [c["chat_id"] for c in current["chats"]] == chats[::-1]  # newest first
    assert current["token"] == token_of(portal, chats[-1], vip)
    await expect_error(enqueue(vip, tag()), 409, "ERR_MATCH_SLOT_LIMIT")


async def test_an_expired_trial_is_a_free_user(portal: Portal) -> None:
    trial = await portal.login(tier=2, duration_days=1)
    await pair(portal, trial, await portal.login())
    portal.server.clock.advance(DAY.total_seconds() + 60)  # premium over; that chat expired as well
    await pair(portal, trial, await portal.login())
    await expect_error(enqueue(trial, tag()), 409, "ERR_MATCH_SLOT_LIMIT")


async def test_never_paired_again_with_an_active_peer(portal: Portal) -> None:
    p, q, r = await portal.login(tier=2), await portal.login(tier=2), await portal.login()
    t = tag()
    first_chat = await pair(portal, p, q, t)
    await enqueue(p, t)
    await enqueue(q, t)
    assert (await status(p))["state"] == "searching" and (await status(q))["state"] == "searching"
    await enqueue(r, t)  # takes p, the earliest
    assert len((await status(p))["chats"]) == 2 and (await status(q))["state"] == "searching"
    assert first_chat in [c["chat_id"] for c in (await status(q))["chats"]]


async def test_archived_and_expired_chats_hold_no_slot(portal: Portal) -> None:
    alice, bob = await portal.login(), await portal.login()
    chat_id = await pair(portal, alice, bob)
    async with portal.container.db.transaction() as session:
        await session.execute(
            update(Chat).where(Chat.id == chat_id).values(archived_at=portal.server.clock.now())
        )
    assert await status(alice) == {"state": "idle"}
    listing = await alice.client.call("GET", "/v1/portal/chats")
    assert [c["archived"] for c in listing if c["id"] == chat_id] == [True]  # listed for 24 h
    second = await pair(portal, alice, bob)  # the archived chat excludes nobody either
    assert second != chat_id
    portal.server.clock.advance(DAY.total_seconds())
    assert await status(alice) == {"state": "idle"}
    assert [c["id"] for c in await alice.client.call("GET", "/v1/portal/chats") if c["id"] == chat_id] == []


async def test_status_precedence_and_dequeue_leaves_chats_alone(portal: Portal) -> None:
    vip, other = await portal.login(tier=2), await portal.login()
    assert await status(vip) == {"state": "idle"}
    t = tag()
    await enqueue(vip, t)
    assert (await status(vip))["state"] == "searching"
    await enqueue(other, t)
    matched = await status(vip)
    assert matched["state"] == "matched"
    await enqueue(vip, tag())
    searching = await status(vip)
    assert searching["state"] == "searching" and searching["chats"] == matched["chats"]
    assert "token" not in searching
    assert await dequeue(vip) == matched
    assert await dequeue(vip) == matched
