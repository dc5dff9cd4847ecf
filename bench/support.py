"""What every benchmark needs: settings for a throw-away server, the server itself, signed-in users."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn

from portal.app import create_app
from portal.config import Settings
from portal.container import Container
from portal.db import users as users_db
from portal.db.migrate import upgrade_async

PUBLIC_KEY = "bench-key"


def settings_for_run(var_dir: Path, **overrides: Any) -> Settings:
    """SQLite + memory unless PORTAL_BENCH_DATABASE_URL / PORTAL_BENCH_REDIS_URL say otherwise; no limits."""
    database = os.environ.get("PORTAL_BENCH_DATABASE_URL", f"sqlite+aiosqlite:///{var_dir / 'bench.db'}")
    fields: dict[str, Any] = {
        "var_dir": var_dir,
        "database_url": database,
        "redis_url": os.environ.get("PORTAL_BENCH_REDIS_URL"),
        "redis_prefix": f"bench_{uuid.uuid4().hex[:8]}",
        "public_api_key": PUBLIC_KEY,
        "secret_key": "bench-secret",
        "rate_limits": "off",
        "console_codes": "off",
        **overrides,
    }
    return Settings(**fields)


@contextlib.asynccontextmanager
async def serving(**overrides: Any) -> AsyncIterator[tuple[Container, str]]:
    """A migrated, running server on a free loopback port: answers (container, base URL)."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for_run(Path(tmp), **overrides)
        await upgrade_async(settings.database_url)
        container = Container(settings)
        server = uvicorn.Server(
            uvicorn.Config(create_app(container), host="127.0.0.1", port=0, log_level="warning")
        )
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no "started" event
            await asyncio.sleep(0.01)
        try:
            yield container, f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        finally:
            server.should_exit = True
            await task


@contextlib.asynccontextmanager
async def portal_processes(settings: Settings, count: int, var_root: Path) -> AsyncIterator[list[str]]:
    """`count` `portal serve` processes sharing `settings`' database, Redis and keys; answers base URLs."""
    import socket
    import sys

    inherited = {key: value for key, value in os.environ.items() if not key.startswith("PORTAL_")}
    env = {
        **inherited,
        "PORTAL_DATABASE_URL": settings.database_url,
        "PORTAL_REDIS_URL": settings.redis_url or "",
        "PORTAL_REDIS_PREFIX": settings.redis_prefix,
        "PORTAL_PUBLIC_API_KEY": settings.resolved_public_api_key,
        "PORTAL_SECRET_KEY": settings.resolved_secret_key,
        "PORTAL_RATE_LIMITS": "off",
        "PORTAL_BROWSER_BACKEND": "none",
        "PORTAL_LOG_LEVEL": "WARNING",
    }
    processes, bases = [], []
    for n in range(count):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        var_dir = var_root / f"node{n}"
        var_dir.mkdir(parents=True, exist_ok=True)
        processes.append(
            await asyncio.create_subprocess_exec(
                str(Path(sys.executable).parent / "portal"),
                "serve",
                "--port",
                str(port),
                env={**env, "PORTAL_VAR_DIR": str(var_dir)},
                stdout=asyncio.subprocess.DEVNULL,
            )
        )
        bases.append(f"http://127.0.0.1:{port}")
    try:
        import httpx

        async with httpx.AsyncClient(timeout=2) as client:
            for base in bases:
                for _ in range(300):
                    with contextlib.suppress(httpx.TransportError):
                        if (await client.get(f"{base}/health")).status_code == 200:
                            break
                    await asyncio.sleep(0.1)
                else:
                    raise RuntimeError(f"portal serve at {base} did not start")
        yield bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            await process.wait()


async def sign_in(container: Container, n: int) -> list[str]:
    """`n` users made with the CLI action, each with a session made by the service (no HTTP for set-up)."""
    tokens = []
    for i in range(n):
        user = await container.users.create(
            username=f"bench_{uuid.uuid4().hex[:10]}",
            level=0,
            platform="discord",
            platform_user_id=f"{i}{uuid.uuid4().int % 10**9}",
        )
        async with container.db.transaction() as session:
            row = await users_db.get(session, user.id)
            assert row is not None
            new = await container.sessions.create(
                session, row, client_ip="127.0.0.1", user_agent="bench", now=container.clock.now()
            )
        tokens.append(new.token)
    return tokens
