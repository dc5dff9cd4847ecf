"""Benchmark of the authentication hot path (see bench/README.md)."""

from __future__ import annotations

import asyncio
import time

import httpx
from sqlalchemy import event

from bench.support import serving, sign_in

USERS = 50
LOOKUPS = 3000
REQUESTS = 2000
CONCURRENCY = 16


async def main() -> None:
    async with serving() as (container, base):
        tokens = await sign_in(container, USERS)
        print(f"backend: {container.db.dialect} + {container.live.kind}")

        statements: list[str] = []
        event.listen(
            container.db.engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2])
        )
        async with httpx.AsyncClient(base_url=base, cookies={"psession": tokens[0]}) as client:
            await client.get("/v1/users/me")
            statements.clear()
            await client.get("/v1/users/me")
        print(f"SQL statements per GET /v1/users/me: {len(statements)}")

        started = time.perf_counter()
        for i in range(LOOKUPS):
            assert await container.sessions.authenticate(tokens[i % USERS]) is not None
        elapsed = time.perf_counter() - started
        print(f"authenticate: {LOOKUPS / elapsed:,.0f}/s ({elapsed / LOOKUPS * 1e6:,.0f} µs each)")

        async def worker(index: int, count: int) -> None:
            async with httpx.AsyncClient(
                base_url=base, cookies={"psession": tokens[index % USERS]}
            ) as client:
                for _ in range(count):
                    response = await client.get("/v1/users/me")
                    assert response.status_code == 200

        started = time.perf_counter()
        await asyncio.gather(*(worker(i, REQUESTS // CONCURRENCY) for i in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
        print(f"GET /v1/users/me over HTTP, {CONCURRENCY} clients: {REQUESTS / elapsed:,.0f} req/s")


if __name__ == "__main__":
    asyncio.run(main())
