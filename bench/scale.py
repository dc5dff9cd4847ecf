"""Benchmark of one node's scale beside its ceiling (issue 15 item 5, docs/performance.md).

    python -m bench.scale               # SQLite + memory, then PostgreSQL + Redis when they answer

A `portal serve` child (one uvicorn worker, socket caps raised) and, in turn, idle authenticated sockets
added in steps (raw WebSockets answering pings, in farm processes: bench/farm.py). At each step `wrk`
reads `GET /v1/users/me` for a few seconds. Reported: memory per idle socket (the server's RSS growth over
the sockets added between the first and the last step, target ≤ 30 KB) and the most sockets held while the
read's p99 stays under twice its p99 with none (target ≥ 5,000; "≥ N" when it never doubled up to N).
The ceiling is bench/ceilings/realtime.py (bare python-socketio: the token looked up in a dict) with the same
JSON for the read.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

import httpx
import psutil

from bench.farm import Farm
from bench.support import (
    PUBLIC_KEY,
    Backend,
    Child,
    Figure,
    ceiling_process,
    portal_process,
    run_backends,
    settings_for,
    sign_in_many,
    started,
    wrk,
)

USERS = 50
STEPS = (0, 1000, 2500, 5000, 7500)
SECONDS = 3
CAPS = {"PORTAL_SOCKET_MAX_PER_SESSION": "100000", "PORTAL_SOCKET_MAX_PER_USER": "100000"}


def rss(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


async def climb(server: Child, tokens: list[str]) -> tuple[float, int, int]:
    """Add idle sockets step by step: answers (bytes per socket between the first step and the last,
    sockets held while p99 stayed under twice the idle server's, last step)."""
    farms: list[Farm] = []
    p99: dict[int, float] = {}
    memory: dict[int, int] = {}
    held = 0
    try:
        for previous, step in zip((0, *STEPS), STEPS, strict=False):
            if step > previous:
                wanted = [tokens[n % len(tokens)] for n in range(step - previous)]
                farms.append(await Farm.start("idle", server.base, 0, wanted, api_key=PUBLIC_KEY))
            await asyncio.sleep(1)  # let the connects' garbage go before reading the RSS
            memory[step] = rss(server.pid)
            await wrk(server.base + "/v1/users/me", tokens[0], seconds=1, connections=8)
            p99[step] = (
                await wrk(server.base + "/v1/users/me", tokens[0], seconds=SECONDS, connections=8)
            ).p99_ms
            print(
                f"  {step:>5} idle sockets: RSS {memory[step] / 2**20:7.1f} MiB, p99 {p99[step]:7.1f} ms",
                flush=True,
            )
            # Held: every step up to this one kept p99 under twice the idle server's. The climb goes on
            # for the memory figure.
            if held == previous and p99[step] < 2 * p99[0]:
                held = step
    finally:
        for farm in farms:
            await farm.close()
    first, last = STEPS[1], max(memory)
    per_socket = (memory[last] - memory[first]) / (last - first) if last > first else 0.0
    return per_socket, held, last


async def measure(b: Backend) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(b, Path(tmp))
        async with started(settings) as container:
            tokens = await sign_in_many(container, USERS, in_flight=1 if b.is_sqlite else 8)
        async with portal_process(settings, Path(tmp), **CAPS) as portal:
            async with httpx.AsyncClient(cookies={"psession": tokens[0]}) as client:
                me = (
                    await client.get(portal.base + "/v1/users/me", headers={"X-API-Key": PUBLIC_KEY})
                ).json()
            print(f"Portal ({b.name}):", flush=True)
            portal_bytes, portal_held, _ = await climb(portal, tokens)
        tokens_file, bodies_file = Path(tmp) / "tokens.json", Path(tmp) / "bodies.json"
        tokens_file.write_text(json.dumps(tokens))
        bodies_file.write_text(json.dumps({"/v1/users/me": me}))
        database = str(Path(tmp) / "ceiling.db") if b.is_sqlite else b.database_url.replace("+asyncpg", "")
        extra = {} if b.redis_url is None else {"redis": b.redis_url}
        async with ceiling_process(
            "realtime", tokens=str(tokens_file), database=database, bodies=str(bodies_file), **extra
        ) as ceiling:
            print(f"ceiling ({b.name}):", flush=True)
            ceiling_bytes, ceiling_held, _ = await climb(ceiling, tokens)
    never = "p99 never doubled up to the last step"
    return [
        Figure(
            "idle socket: memory each", b.name, portal_bytes / 1024, ceiling_bytes / 1024, "KB", ("≤", 30)
        ),
        Figure(
            "idle sockets held before a read's p99 doubles",
            b.name,
            portal_held,
            ceiling_held,
            "sockets",
            ("≥", 5000),
            never if portal_held == STEPS[-1] else "",
        ),
    ]


if __name__ == "__main__":
    asyncio.run(run_backends(measure))
