"""200 users enqueueing at once over two `portal serve` processes on one PostgreSQL + Redis: every pair
unique, nobody matched twice or with themselves, nobody left waiting who shares a tag with another waiting
user. The processes run on the real clock (the test server's clock is a FakeClock other tests move), so the
test server only signs the users in and reads the database afterwards."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.db.models import Chat, ChatMember
from tests.helpers import LoggedIn, Portal
from tests.match.support import MATCH, tag
from tests.servers import process_env, serve_process

USERS = 200
TAGS = 12


async def test_two_hundred_users_over_two_processes(portal: Portal, tmp_path: Path) -> None:
    if portal.server.backend != "postgres":
        pytest.skip("PostgreSQL + Redis NOT TESTED here: the concurrency test needs two processes on them")
    pool = [tag() for _ in range(TAGS)]
    rng = random.Random(11)
    users: list[LoggedIn] = [await portal.login() for _ in range(USERS)]
    wanted = {who.id: rng.sample(pool, rng.randint(1, 3)) for who in users}
    env = {"PORTAL_RATE_LIMITS": "off", "PORTAL_BROWSER_BACKEND": "none"}
    async with (
        serve_process(process_env(portal.server, tmp_path / "a", **env), tmp_path / "a.log") as node_a,
        serve_process(process_env(portal.server, tmp_path / "b", **env), tmp_path / "b.log") as node_b,
    ):
        clients = []
        for n, who in enumerate(users):
            client = portal.client(base_url=node_b if n % 2 else node_a, session=who.client.session_token)
            clients.append(client)

        gate = asyncio.Semaphore(50)  # all at once, but within what two processes on 2 cores serve in time

        async def go(n: int) -> None:
            async with gate:
                answer = await clients[n].call("POST", MATCH, json={"interests": wanted[users[n].id]})
            assert answer["state"] == "searching"

        await asyncio.gather(*(go(n) for n in range(USERS)))
        # Who still waits, as the processes (on the real clock) see it.
        states = await asyncio.gather(*(c.call("GET", f"{MATCH}/status") for c in clients))
        waiting = {who.id for who, state in zip(users, states, strict=True) if state["state"] == "searching"}

    ids = {who.id for who in users}
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
    assert all(len(pair) == 2 and pair[0] != pair[1] for pair in pairs), "a chat not of two different users"
    matched = [uid for pair in pairs for uid in pair]
    assert len(matched) == len(set(matched)), "somebody was matched twice"
    assert len({frozenset(p) for p in pairs}) == len(pairs)
    for a, b in pairs:
        assert set(wanted[a]) & set(wanted[b]), "paired without a shared tag"
    assert not waiting & set(matched), "matched and still searching"
    assert len(waiting) + len(matched) == USERS, "somebody is neither matched nor searching"
    for a in waiting:
        for b in waiting:
            assert a == b or not set(wanted[a]) & set(wanted[b]), "two waiting users share a tag"
    assert len(pairs) >= USERS // 4  # with 12 tags and up to 3 each, most users find someone
