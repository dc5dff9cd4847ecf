"""Benchmark of matchmaking: N users enqueueing at once over two server processes (bench/README.md).

    PORTAL_BENCH_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1/portal_bench \\
    PORTAL_BENCH_REDIS_URL=redis://127.0.0.1:6379/0 python -m bench.match_pairing

Two `portal serve` processes share one PostgreSQL + Redis (rate limits off). N signed-in users (default 400,
`PORTAL_BENCH_USERS`) each queue on 1-3 tags drawn from a pool (one tag per 16 users), half of them through
each process, all at once (64 requests in flight). Pairing happens inside the enqueue (one Redis script),
the direct chat is written and `match:found` sent before the answer, so when every enqueue has answered,
everyone who can be paired is. It reports pairs per second and the time to pair everyone, and checks the
result: every pair unique, nobody twice or with themselves, everyone matched or still searching, and nobody
searching who shares a tag with another searching user.

Its ceiling, run the same way on the same Redis: the bare pairing step alone (`LiveStore.match_enqueue`,
the same script, no HTTP, no database, no chat) for the same users and tags.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import select

from bench.support import PUBLIC_KEY, portal_processes, settings_for_run, sign_in
from portal.client import PortalClient
from portal.container import Container
from portal.db.migrate import upgrade_async
from portal.db.models import Chat, ChatMember
from portal.live.redis import RedisLiveStore

USERS = int(os.environ.get("PORTAL_BENCH_USERS", "400"))
IN_FLIGHT = 64
SEED = 7


def interests(n: int) -> list[list[str]]:
    rng = random.Random(SEED)
    pool = [f"tag{uuid.uuid4().hex[:6]}" for _ in range(max(2, n // 16))]
    return [rng.sample(pool, rng.randint(1, 3)) for _ in range(n)]


async def through_the_api(
    bases: list[str], tokens: list[str], wanted: list[list[str]]
) -> tuple[float, list[str]]:
    clients = [
        PortalClient(bases[n % len(bases)], api_key=PUBLIC_KEY, session=token)
        for n, token in enumerate(tokens)
    ]
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def enqueue(n: int) -> None:
        async with gate:
            answer = await clients[n].call("POST", "/v1/portal/match", json={"interests": wanted[n]})
            assert answer["state"] == "searching", answer

    started = time.perf_counter()
    await asyncio.gather(*(enqueue(n) for n in range(len(tokens))))
    elapsed = time.perf_counter() - started
    states = [str((await c.call("GET", "/v1/portal/match/status"))["state"]) for c in clients]
    for client in clients:
        await client.close()
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
    assert all(a == b or not set(tags[a]) & set(tags[b]) for a in searching for b in searching), (
        "two searching users share a tag"
    )
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


async def main() -> None:
    database, redis_url = (
        os.environ.get("PORTAL_BENCH_DATABASE_URL"),
        os.environ.get("PORTAL_BENCH_REDIS_URL"),
    )
    if not database or not redis_url or database.startswith("sqlite"):
        sys.exit(
            "match_pairing needs PostgreSQL + Redis: set PORTAL_BENCH_DATABASE_URL and PORTAL_BENCH_REDIS_URL"
        )
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for_run(Path(tmp), browser_backend="none")
        await upgrade_async(settings.database_url)
        container = Container(settings)
        await container.start()
        try:
            tokens = await sign_in(container, USERS)
            user_ids = []
            for token in tokens:
                ctx = await container.sessions.authenticate(token)
                assert ctx is not None
                user_ids.append(ctx.user.id)
            wanted = interests(USERS)
            async with portal_processes(settings, 2, Path(tmp)) as bases:
                elapsed, states = await through_the_api(bases, tokens, wanted)
            pairs = await check(container, user_ids, wanted, states)
        finally:
            await container.close()
    bare_elapsed, bare_pairs = await bare_pairing(redis_url, wanted)
    print(
        f"{USERS} users over 2 processes, {IN_FLIGHT} enqueues in flight, "
        f"{len({t for tags in wanted for t in tags})} tags"
    )
    print(
        f"  through the API : {pairs} pairs in {elapsed:.2f} s = {pairs / elapsed:7.1f} pairs/s "
        f"({USERS / elapsed:.0f} enqueues/s); {USERS - 2 * pairs} still searching; checks passed"
    )
    print(
        f"  ceiling (Redis) : {bare_pairs} pairs in {bare_elapsed:.2f} s = "
        f"{bare_pairs / bare_elapsed:7.1f} pairs/s (the atomic pairing step alone)"
    )


if __name__ == "__main__":
    asyncio.run(main())
