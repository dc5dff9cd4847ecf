"""Benchmark of message sends under concurrency beside their ceiling (issue 15 item 3, docs/performance.md).

    python -m bench.message_fanout      # SQLite + memory, then PostgreSQL + Redis when they answer

A `portal serve` child (one uvicorn worker) on a fresh database; one official chat; 200 receiver sockets
(one user each, keyless) joined to its room and 10 senders (`SecureChat`, real E2EE, the key from a real
distributor). Each sender sends its messages one after another over REST, all 10 at once. Reported: sends
per second (all sends / time until the last answer) and, per message, the time from the start of its send
to its `message:new` at the last of the 200 receivers (p99). The ceiling (bench/ceilings/realtime.py) is a
bare FastAPI + python-socketio program doing one INSERT and one emit per message on the same database kind
(and Redis manager); its senders and receivers are the same code: the receivers are raw WebSockets in
two child processes (bench/farm.py). Clients and servers share the 2 cores.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from bench.farm import Farm
from bench.rest_reads import official_chat
from bench.support import (
    PUBLIC_KEY,
    Backend,
    Figure,
    ceiling_process,
    portal_process,
    run_backends,
    settings_for,
    sign_in_many,
    started,
)
from portal.client import PortalClient
from portal.client.e2ee import encrypt, new_chat_key
from portal.client.secure import SecureChat

SENDERS = 10
RECEIVERS = 200
PER_SENDER = 30


Post = Callable[[str], Awaitable[str]]


async def storm(posts: list[Post], contents: list[str], farm: Farm) -> tuple[float, float]:
    """Every sender sends its messages one after another, all at once: answers (sends/s, p99 seconds)."""
    sent: dict[str, float] = {}

    async def sender(post: Post) -> None:
        for content in contents:
            begun = time.monotonic()
            sent[await post(content)] = begun

    started_at = time.monotonic()
    await asyncio.gather(*(sender(post) for post in posts))
    elapsed = time.monotonic() - started_at
    last = await delivered(farm, list(sent))
    latencies = [last[i] - begun for i, begun in sent.items()]
    return len(sent) / elapsed, statistics.quantiles(latencies, n=100)[-1]


async def delivered(farm: Farm, ids: list[str], timeout: float = 120) -> dict[str, float]:
    """When each message reached the last of the receivers (waits until all of them have it)."""
    deadline = time.monotonic() + timeout
    while True:
        reports = await farm.command("report")
        count = Counter[str]()
        for report in reports:
            count.update(report["arrivals"])
        missing = [i for i in ids if count[i] < RECEIVERS]
        if not missing:
            return {i: max(r["last"][i] for r in reports) for i in ids}
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(missing)} messages did not reach every receiver")
        await asyncio.sleep(0.2)


async def through_portal(base: str, tokens: list[str], chat_id: int) -> tuple[float, float]:
    senders = [
        SecureChat(PortalClient(base, api_key=PUBLIC_KEY, session=t), timeout=60) for t in tokens[:SENDERS]
    ]
    farm = None
    try:
        for secure in senders:
            await secure.start()
            await secure.join(chat_id)
        farm = await Farm.start("receive", base, chat_id, tokens[SENDERS:])
        path = f"/v1/portal/chats/{chat_id}/messages"

        def poster(secure: SecureChat) -> Post:
            async def post(text: str) -> str:
                key = await secure.wait_for_key(chat_id)
                content = encrypt(key, secure.epochs[chat_id], text)
                return str((await secure.client.call("POST", path, json={"content": content}))["id"])

            return post

        posts = [poster(s) for s in senders]
        await delivered(farm, [await posts[0]("warm-up")])
        return await storm(posts, [f"message {n}" for n in range(PER_SENDER)], farm)
    finally:
        if farm is not None:
            await farm.close()
        for secure in senders:
            await secure.close()
            await secure.client.close()


async def through_ceiling(base: str, tokens: list[str], chat_id: int) -> tuple[float, float]:
    clients = [httpx.AsyncClient(base_url=base, cookies={"psession": t}) for t in tokens[:SENDERS]]
    key = new_chat_key()
    farm = None
    try:
        farm = await Farm.start("receive", base, chat_id, tokens[SENDERS:])

        def poster(client: httpx.AsyncClient) -> Post:
            async def post(text: str) -> str:
                content = encrypt(key, 1, text)  # the same work on the sender's side as through Portal
                response = await client.post(
                    f"/v1/portal/chats/{chat_id}/messages", json={"content": content}
                )
                response.raise_for_status()
                return str(response.json()["id"])

            return post

        posts = [poster(c) for c in clients]
        await delivered(farm, [await posts[0]("warm-up")])
        return await storm(posts, [f"message {n}" for n in range(PER_SENDER)], farm)
    finally:
        if farm is not None:
            await farm.close()
        for client in clients:
            await client.aclose()


async def measure(b: Backend) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(b, Path(tmp))
        async with started(settings) as container:
            tokens = await sign_in_many(container, SENDERS + RECEIVERS, in_flight=1 if b.is_sqlite else 8)
            chat_id = await official_chat(container)
        async with portal_process(settings, Path(tmp)) as portal:
            portal_rate, portal_p99 = await through_portal(portal.base, tokens, chat_id)
        tokens_file = Path(tmp) / "tokens.json"
        tokens_file.write_text(json.dumps(tokens))
        database = str(Path(tmp) / "ceiling.db") if b.is_sqlite else b.database_url.replace("+asyncpg", "")
        extra = {} if b.redis_url is None else {"redis": b.redis_url}
        async with ceiling_process(
            "realtime", tokens=str(tokens_file), database=database, **extra
        ) as ceiling:
            ceiling_rate, ceiling_p99 = await through_ceiling(ceiling.base, tokens, chat_id)
    name = f"send, {SENDERS} senders → {RECEIVERS} receivers"
    return [
        Figure(f"{name}: sends/s", b.name, portal_rate, ceiling_rate, "sends/s", ("ratio≥", 0.5)),
        Figure(
            f"{name}: send → last delivery p99",
            b.name,
            portal_p99 * 1000,
            ceiling_p99 * 1000,
            "ms",
            ("ratio≤", 2),
        ),
    ]


if __name__ == "__main__":
    asyncio.run(run_backends(measure))
