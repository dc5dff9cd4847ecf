"""Benchmark of matchmaking: N users enqueueing at once over two server processes (bench/README.md).

    python -m bench.match_pairing       # PostgreSQL + Redis (a fresh database); PORTAL_BENCH_USERS=10000

Two `portal serve` processes share one PostgreSQL + Redis (rate limits off). N signed-in users (default
10,000, `PORTAL_BENCH_USERS`) each queue on 1-3 tags drawn from a pool (one tag per 16 users), half of
them through each process, all at once (64 requests in flight). Pairing happens inside the enqueue (one
Redis script), the direct chat is written and `match:found` sent before the answer, so when every enqueue
has answered, everyone who can be paired is. It reports pairs per second and the time to pair everyone,
and checks the result: every pair unique, nobody twice or with themselves, everyone matched or still
searching, and nobody searching who shares a tag with another searching user.

Its ceiling, run the same way on the same Redis: the bare pairing step alone (`LiveStore.match_enqueue`,
the same script, no HTTP, no database, no chat) for the same users and tags.
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bench.support import (
    PUBLIC_KEY,
    Backend,
    Figure,
    portal_processes,
    run_backends,
    settings_for,
    signed_in_users,
    started,
)
from portal.container import Container
from portal.db.models import Chat, ChatMember
from portal.live.redis import RedisLiveStore

USERS = int(os.environ.get("PORTAL_BENCH_USERS", "10000"))
IN_FLIGHT = 64
SEED = 7


def interests(n: int) -> list[list[str]]:
    rng = random.Random(SEED)
    pool = [f"tag{uuid.uuid4().hex[:6]}" for _ in range(max(2, n // 16))]
    return [rng.sample(pool, rng.randint(1, 3)) for _ in range(n)]


async def through_the_api(
    bases: list[str], tokens: list[str], wanted: list[list[str]]
) -> tuple[float, list[str]]:
    """Every user enqueues (IN_FLIGHT at a time, one HTTP connection pool per slot, half the users on each
    node); answers the time until every enqueue answered and each user's state afterwards."""
    # A pool of connections per node, IN_FLIGHT in all; user n talks to node n % 2.
    free: list[asyncio.Queue[httpx.AsyncClient]] = [asyncio.Queue() for _ in bases]
    for n in range(IN_FLIGHT):
        free[n % len(bases)].put_nowait(httpx.AsyncClient(base_url=bases[n % len(bases)], timeout=120))

    async def call(n: int, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        client = await free[n % len(bases)].get()
        try:
            client.cookies.clear()  # the session is the request's own Cookie header
            headers = {"X-API-Key": PUBLIC_KEY, "Cookie": f"psession={tokens[n]}"}
            response = await client.request(method, path, headers=headers, **kwargs)
            assert response.status_code == 200, response.text
            answer: dict[str, Any] = response.json()
            return answer
        finally:
            free[n % len(bases)].put_nowait(client)

    async def enqueue(n: int) -> None:
        answer = await call(n, "POST", "/v1/portal/match", json={"interests": wanted[n]})
        assert answer["state"] == "searching", answer

    started = time.perf_counter()
    await asyncio.gather(*(enqueue(n) for n in range(len(tokens))))
    elapsed = time.perf_counter() - started
    states = [
        str(a["state"])
        for a in await asyncio.gather(
            *(call(n, "GET", "/v1/portal/match/status") for n in range(len(tokens)))
        )
    ]
    for queue in free:
        while not queue.empty():
            await queue.get_nowait().aclose()
    return elapsed, states


async def check(container: Container, user_ids: list[int], wanted: list[list[str]], states: list[str]) -> int:
    """Every rule of a correct pairing; answers the number of pairs."""
    tags = dict(zip(user_ids, wanted, strict=True))
    async with container.db.read() as session:
        rows = (
            await session.execute(
                select(ChatMember.chat_id, ChatMember.user_id)
                .join(Chat, Chat.id == ChatMember.chat_id)
                .where(Chat.chat_type == "direct", ChatMember.user_id.in_(user_ids))
            )
        ).all()
    chats: dict[int, list[int]] = {}
    for chat_id, user_id in rows:
        chats.setdefault(chat_id, []).append(user_id)
    pairs = list(chats.values())
    assert all(len(p) == 2 and p[0] != p[1] for p in pairs), "a chat not of two different users"
    matched = [uid for pair in pairs for uid in pair]
    assert len(matched) == len(set(matched)), "somebody was matched twice"
    assert all(set(tags[a]) & set(tags[b]) for a, b in pairs), "paired without a shared tag"
    searching = {uid for uid, state in zip(user_ids, states, strict=True) if state == "searching"}
    assert not searching & set(matched) and len(searching) + len(matched) == len(user_ids)
    searching_by_tag: dict[str, int] = {}
    for uid in searching:
        for tag in tags[uid]:
            assert searching_by_tag.setdefault(tag, uid) == uid, "two searching users share a tag"
    return len(pairs)


async def bare_pairing(redis_url: str, wanted: list[list[str]]) -> tuple[float, int]:
    """The ceiling: the same atomic step straight on Redis, for the same users and tags."""
    store = RedisLiveStore(redis_url, prefix=f"bench_bare_{uuid.uuid4().hex[:8]}")
    await store.start()
    gate = asyncio.Semaphore(IN_FLIGHT)
    now = int(time.time() * 1000)
    pairs = 0

    async def enqueue(user_id: int) -> None:
        nonlocal pairs
        async with gate:
            outcome = await store.match_enqueue(
                user_id,
                wanted[user_id],
                now_ms=now,
                deadline_ms=now + 600_000,
                excluded=[],
                free_slots=1,
                generation=0,
                pending_ttl_ms=60_000,
            )
            pairs += outcome.kind == "paired"

    try:
        started = time.perf_counter()
        await asyncio.gather(*(enqueue(n) for n in range(len(wanted))))
        return time.perf_counter() - started, pairs
    finally:
        await store.close()


async def measure(b: Backend) -> list[Figure]:
    if b.redis_url is None:
        return []  # two nodes need a shared PostgreSQL + Redis
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(b, Path(tmp))
        async with started(settings) as container:
            signed_in = await signed_in_users(container, USERS, in_flight=16)
            tokens, user_ids = [token for token, _ in signed_in], [uid for _, uid in signed_in]
            wanted = interests(USERS)
            async with portal_processes(settings, 2, Path(tmp)) as bases:
                elapsed, states = await through_the_api(bases, tokens, wanted)
            pairs = await check(container, user_ids, wanted, states)
    bare_elapsed, bare_pairs = await bare_pairing(b.redis_url, wanted)
    print(
        f"{USERS} users over 2 processes, {IN_FLIGHT} enqueues in flight, "
        f"{len({t for tags in wanted for t in tags})} tags: {pairs} pairs in {elapsed:.2f} s "
        f"({USERS - 2 * pairs} still searching), no double match; the Redis step alone: {bare_pairs} pairs "
        f"in {bare_elapsed:.2f} s",
        flush=True,
    )
    return [
        Figure(
            f"match pairing, {USERS:,} users over 2 nodes: time to pair all",
            b.name,
            elapsed,
            bare_elapsed,
            "s",
            ("≤", 10),
            f"{pairs} pairs, no double match",
        )
    ]


if __name__ == "__main__":
    asyncio.run(run_backends(measure, sqlite=False))
