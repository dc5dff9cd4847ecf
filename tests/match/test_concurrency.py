"""200 users enqueueing at once over two server nodes on PostgreSQL + Redis: every pair unique, nobody
matched twice or with themselves, nobody left waiting who shares a tag with another waiting user."""

from __future__ import annotations

import asyncio
import random

import pytest

from portal.db.models import ChatMember
from tests.helpers import LoggedIn, Portal
from tests.match.support import MATCH, tag
from tests.servers import node_like

USERS = 200
TAGS = 12


async def test_two_hundred_users_over_two_nodes(portal: Portal) -> None:
    if portal.server.backend != "postgres":
        pytest.skip("PostgreSQL + Redis NOT TESTED here: the concurrency test needs two nodes on them")
    pool = [tag() for _ in range(TAGS)]
    rng = random.Random(11)
    users: list[LoggedIn] = [await portal.login() for _ in range(USERS)]
    wanted = {who.id: rng.sample(pool, rng.randint(1, 3)) for who in users}
    async with node_like(portal.server) as node_b:
        clients = []
        for n, who in enumerate(users):
            client = portal.client(base_url=node_b.base_url) if n % 2 else who.client
            client.session_token = who.client.session_token
            clients.append(client)
        gate = asyncio.Semaphore(40)  # at most 40 requests in flight (the pools of two nodes in one process)

        async def go(n: int) -> None:
            async with gate:
                answer = await clients[n].call("POST", MATCH, json={"interests": wanted[users[n].id]})
                assert answer["state"] == "searching"

        await asyncio.gather(*(go(n) for n in range(USERS)))

    ids = {who.id for who in users}
    from sqlalchemy import select

    from portal.db.models import Chat

    async with portal.container.db.read() as session:
        rows = (
            await session.execute(
                select(ChatMember.chat_id, ChatMember.user_id)
                .join(Chat, Chat.id == ChatMember.chat_id)
                .where(Chat.chat_type == "direct", ChatMember.user_id.in_(ids))
            )
        ).all()
    chats: dict[int, list[int]] = {}
    for chat_id, user_id in rows:
        chats.setdefault(chat_id, []).append(user_id)
    pairs = list(chats.values())
    assert all(len(pair) == 2 and pair[0] != pair[1] for pair in pairs)
    matched = [uid for pair in pairs for uid in pair]
    assert len(matched) == len(set(matched)), "somebody was matched twice"
    assert len({frozenset(p) for p in pairs}) == len(pairs)
    for a, b in pairs:
        assert set(wanted[a]) & set(wanted[b]), "paired without a shared tag"
    waiting = [uid for uid in ids if await portal.container.live.match_entry(uid) is not None]
    assert not set(waiting) & set(matched)
    assert len(waiting) + len(matched) == USERS
    for a in waiting:
        for b in waiting:
            assert a == b or not set(wanted[a]) & set(wanted[b]), "two waiting users share a tag"
    assert len(pairs) >= USERS // 4  # with 12 tags and up to 3 each, most users find someone
