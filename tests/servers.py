"""Real Portal servers for tests: settings, backends (SQLite, or PostgreSQL + Redis) and extra nodes.

`tests/conftest.py` turns these into the session-scoped `server` fixture; tests that need a server with
other settings, or a second node on the same backend, use `node_like` / `serving` directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import secrets
import signal
import socket
import uuid
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import redis.asyncio as aioredis
import uvicorn

from portal.app import create_app
from portal.clock import FakeClock
from portal.config import Settings
from portal.container import Container
from portal.db.migrate import upgrade_async
from portal.realtime.server import WS_MAX_MESSAGE_BYTES

PG_ADMIN_URL = os.environ.get("PORTAL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PUBLIC_KEY = "ppub_test_" + secrets.token_urlsafe(16)
RUN_ID = uuid.uuid4().hex[:10]


def _answers(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def _address(url: str, default_port: int) -> tuple[str, int]:
    parsed = urlsplit(url)
    return parsed.hostname or "127.0.0.1", parsed.port or default_port


PG_ADDRESS = _address(PG_ADMIN_URL, 5432)
REDIS_ADDRESS = _address(REDIS_URL, 6379)
POSTGRES_UP = _answers(*PG_ADDRESS)
REDIS_UP = _answers(*REDIS_ADDRESS)
_MISSING = [
    f"{name} {host}:{port}"
    for name, (host, port), up in (
        ("PostgreSQL", PG_ADDRESS, POSTGRES_UP),
        ("Redis", REDIS_ADDRESS, REDIS_UP),
    )
    if not up
]
POSTGRES_SKIP = (
    f"PostgreSQL + Redis backend NOT TESTED: {', '.join(_MISSING)} not reachable" if _MISSING else None
)


@dataclass
class TestServer:
    """A running Portal server and the handles tests need around it."""

    __test__ = False

    backend: str
    base_url: str
    container: Container
    clock: FakeClock
    settings: Settings

    @property
    def public_key(self) -> str:
        return PUBLIC_KEY


# The nodes served in this process, by base URL: a socket probe sends its "nothing else arrives" markers
# through the notifier of the node it is connected to (tests/sockets.py).
SERVED: dict[str, Container] = {}

_ip_counter = itertools.count(1)


def fresh_ip() -> str:
    """A client IP no other test of this worker uses (keeps rate-limit counters apart)."""
    n = next(_ip_counter)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


# ---- backends -----------------------------------------------------------------------------------------


def unique_backend_name() -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"portal_test_{RUN_ID}_{worker}_{uuid.uuid4().hex[:6]}"


async def create_pg_database(name: str) -> str:
    connection = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


async def drop_pg_database(name: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def purge_redis(prefix: str) -> None:
    client = aioredis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def build_settings(
    backend: str, var_dir: Path, database_url: str, redis_prefix: str, **overrides: Any
) -> Settings:
    """Test settings; any keyword overrides a default (e.g. `rate_limits="off"`, `trusted_proxies=""`)."""
    values: dict[str, Any] = {
        "var_dir": var_dir,
        "database_url": database_url,
        "redis_url": REDIS_URL if backend == "postgres" else None,
        "redis_prefix": redis_prefix,
        "public_api_key": PUBLIC_KEY,
        "secret_key": "test-secret-" + RUN_ID,
        "trusted_proxies": "127.0.0.1",
        "rate_limits": "on",
        "console_codes": "off",
        "allowed_origins": "http://127.0.0.1:8080,http://localhost:8080",
        "janitor_interval": 3600,  # tests run the janitor themselves (run_once)
        # Every change's room:members / chat:status at once, as tests count them; tests/realtime/
        # test_coalesced_lists.py runs with the production interval.
        "room_list_interval": 0,
        "key_ask_interval": 0,  # every join asks the distributor (tests/e2ee/test_key_asks.py: the interval)
    }
    return Settings(**{**values, **overrides})


def settings_like(first: TestServer, **overrides: Any) -> Settings:
    """`first`'s settings (same database, Redis prefix and keys) with some values changed."""
    return Settings(**{**first.settings.model_dump(), **overrides})


# ---- serving ------------------------------------------------------------------------------------------


class _UvicornServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test process keeps its own signal handling
        return None


@contextlib.asynccontextmanager
async def serving(
    container: Container, backend: str, clock: FakeClock, *, port: int = 0
) -> AsyncIterator[TestServer]:
    """Serve `container` on a free port in this event loop.

    As `portal serve` does, uvicorn's own X-Forwarded-For handling is off, so the client IP comes from
    the app's PORTAL_TRUSTED_PROXIES rule alone.
    """
    config = uvicorn.Config(
        create_app(container),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        ws="websockets-sansio",
        proxy_headers=False,
        timeout_graceful_shutdown=3,  # a socket still open when a node stops must not hang the test
        timeout_keep_alive=30,  # far beyond the SDK's keep-alive expiry, even on a slow machine
        ws_max_size=WS_MAX_MESSAGE_BYTES,  # as `portal serve` sets it
    )
    server = _UvicornServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    SERVED[base_url] = container
    try:
        yield TestServer(backend, base_url, container, clock, container.settings)
    finally:
        SERVED.pop(base_url, None)
        server.should_exit = True
        await task
        if container.shutdown_overruns:  # reported at the end of the run without failing the test
            warnings.warn(f"node shutdown steps failed or hung: {container.shutdown_overruns}", stacklevel=1)


@contextlib.asynccontextmanager
async def running_server(
    backend: str, tmp: Path, *, port: int = 0, **overrides: Any
) -> AsyncIterator[TestServer]:
    """A server on a fresh backend; its PostgreSQL database and Redis keys are removed afterwards."""
    name = unique_backend_name()
    database_url = (
        await create_pg_database(name)
        if backend == "postgres"
        else f"sqlite+aiosqlite:///{tmp / 'portal.db'}"
    )
    try:
        settings = build_settings(backend, tmp / "var", database_url, name, **overrides)
        await upgrade_async(database_url)
        clock = FakeClock()
        async with serving(Container(settings, clock=clock), backend, clock, port=port) as running:
            yield running
    finally:
        if backend == "postgres":
            await drop_pg_database(name)
            await purge_redis(name)


@contextlib.asynccontextmanager
async def node_like(first: TestServer, **overrides: Any) -> AsyncIterator[TestServer]:
    """Another node on `first`'s database, Redis prefix and clock (settings optionally changed)."""
    container = Container(settings_like(first, **overrides), clock=first.clock)
    async with serving(container, first.backend, first.clock) as node:
        yield node


another_node = node_like


class TcpProxy:
    """A TCP proxy in front of a test server (Redis, PostgreSQL) that the test can cut and restore.

    It stands in for an outage without stopping the machine's shared servers, which other tests use:
    `cut()` drops every open connection (the client sees a reset or EOF, as when the server process
    dies) and refuses new ones (nothing listens on the port); `start()` again restores service on the
    same port, as a restarted server would.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        self._writers.clear()
        await self._server.wait_closed()
        self._server = None

    async def close(self) -> None:
        if self._server is not None:
            await self.cut()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.close()


class RedisProxy(TcpProxy):
    """A TcpProxy in front of the test Redis (Redis "goes down" on `cut()`)."""

    def __init__(self, upstream: tuple[str, int] = REDIS_ADDRESS) -> None:
        super().__init__(upstream)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class PostgresProxy(TcpProxy):
    """A TcpProxy in front of the test PostgreSQL (PostgreSQL "restarts" on `cut()` … `start()`)."""

    def __init__(self, upstream: tuple[str, int] = PG_ADDRESS) -> None:
        super().__init__(upstream)

    def url_for(self, database_url: str) -> str:
        """`database_url` (a SQLAlchemy URL on the test PostgreSQL) with the proxy as its host and port."""
        from sqlalchemy.engine import make_url

        proxied = make_url(database_url).set(host="127.0.0.1", port=self.port)
        return proxied.render_as_string(hide_password=False)


# ---- `portal serve` as a separate OS process ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def read_text(path: Path) -> str:
    return await asyncio.to_thread(path.read_text)


async def wait_until_serving(base_url: str, process: asyncio.subprocess.Process, log: Path) -> None:
    """Poll `/health` until the process answers (it may take a few seconds to import and migrate)."""
    import httpx

    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
        for _ in range(300):
            if process.returncode is not None:
                output = await read_text(log)
                raise AssertionError(f"portal serve exited with {process.returncode}:\n{output}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/health")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError(f"portal serve did not answer within 30 s:\n{await read_text(log)}")


@dataclass
class ServeProcess:
    """One `portal serve` OS process and its base URL; the test may SIGKILL or stop it."""

    process: asyncio.subprocess.Process
    base_url: str

    def kill(self) -> None:
        """SIGKILL: no shutdown step runs, nothing is flushed beyond what was committed."""
        if self.process.returncode is None:
            os.kill(self.process.pid, signal.SIGKILL)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), timeout=15)
            except TimeoutError:
                self.process.kill()
        await self.process.wait()


@contextlib.asynccontextmanager
async def serve_handle(
    env: dict[str, str], log: Path, *, port: int | None = None, cwd: Path | None = None, append: bool = False
) -> AsyncIterator[ServeProcess]:
    """`portal serve` in its own OS process configured only by `env`'s PORTAL_* variables (the test run's
    own are dropped); stopped (if still alive) on exit. A restart passes the port the killed process had,
    as a supervisor restarting it would, and `append` to keep the earlier runs' log."""
    import sys

    port = port or free_port()
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("PORTAL_")}
    with log.open("ab" if append else "wb") as out:
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "portal"),
            "serve",
            "--port",
            str(port),
            env={**inherited, **env},
            cwd=cwd,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    running = ServeProcess(process, f"http://127.0.0.1:{port}")
    try:
        await wait_until_serving(running.base_url, process, log)
        yield running
    finally:
        await running.stop()


@contextlib.asynccontextmanager
async def serve_process(env: dict[str, str], log: Path, cwd: Path | None = None) -> AsyncIterator[str]:
    """`serve_handle` for a test that needs only the base URL."""
    async with serve_handle(env, log, cwd=cwd) as running:
        yield running.base_url


def process_env(first: TestServer, var_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a `portal serve` process sharing `first`'s database, Redis prefix and keys."""
    settings = first.settings
    env = {
        "PORTAL_VAR_DIR": str(var_dir),
        "PORTAL_DATABASE_URL": settings.database_url,
        "PORTAL_REDIS_URL": settings.redis_url or "",
        "PORTAL_REDIS_PREFIX": settings.redis_prefix,
        "PORTAL_PUBLIC_API_KEY": settings.resolved_public_api_key,
        "PORTAL_SECRET_KEY": settings.resolved_secret_key,
        "PORTAL_TRUSTED_PROXIES": settings.trusted_proxies,
        "PORTAL_CONSOLE_CODES": "off",
        "PORTAL_LOG_LEVEL": "WARNING",
        "PORTAL_ROOM_LIST_INTERVAL": str(settings.room_list_interval),
        "PORTAL_KEY_ASK_INTERVAL": str(settings.key_ask_interval),
    }
    return {**env, **overrides}
