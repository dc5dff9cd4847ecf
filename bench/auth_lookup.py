"""Benchmark of the authentication hot path (see bench/README.md)."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import event

from portal.app import create_app
from portal.config import Settings
from portal.container import Container
from portal.db.migrate import upgrade_async

USERS = 50
LOOKUPS = 3000
REQUESTS = 2000
CONCURRENCY = 16


def settings_for_run(var_dir: Path) -> Settings:
    database = os.environ.get("PORTAL_BENCH_DATABASE_URL", f"sqlite+aiosqlite:///{var_dir / 'bench.db'}")
    return Settings(
        var_dir=var_dir,
        database_url=database,
        redis_url=os.environ.get("PORTAL_BENCH_REDIS_URL"),
        redis_prefix=f"bench_{uuid.uuid4().hex[:8]}",
        public_api_key="bench-key",
        secret_key="bench-secret",
        rate_limits="off",
        console_codes="off",
    )


async def sign_in(container: Container, n: int) -> list[str]:
    """Users created with the CLI action and sessions through the service (no HTTP for set-up)."""
    tokens = []
    for i in range(n):
        user = await container.users.create(
            username=f"bench_{uuid.uuid4().hex[:10]}",
            level=0,
            platform="discord",
            platform_user_id=f"{i}{uuid.uuid4().int % 10**9}",
        )
        async with container.db.transaction() as session:
            from portal.db import users as users_db

            row = await users_db.get(session, user.id)
            assert row is not None
            new = await container.sessions.create(
                session, row, client_ip="127.0.0.1", user_agent="bench", now=container.clock.now()
            )
        tokens.append(new.token)
    return tokens


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for_run(Path(tmp))
        await upgrade_async(settings.database_url)
        container = Container(settings)
        server = uvicorn.Server(
            uvicorn.Config(create_app(container), host="127.0.0.1", port=0, log_level="warning")
        )
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no "started" event
            await asyncio.sleep(0.01)
        base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
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

        server.should_exit = True
        await task


if __name__ == "__main__":
    asyncio.run(main())
