"""What every benchmark needs: settings for a throw-away server, the server itself, signed-in users."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import event

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
        async with serving_settings(settings) as served:
            yield served


@contextlib.asynccontextmanager
async def serving_settings(settings: Settings) -> AsyncIterator[tuple[Container, str]]:
    """A running server in this process on `settings`' (migrated) database: answers (container, base URL)."""
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
async def portal_processes(
    settings: Settings, count: int, var_root: Path, extra_env: dict[str, str] | None = None
) -> AsyncIterator[list[str]]:
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
        **(extra_env or {}),
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
        _PIDS[bases[-1]] = processes[-1].pid
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


@contextlib.contextmanager
def captured_statements(container: Container) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement `container` runs meanwhile, as sent to the driver: (SQL, parameters)."""
    statements: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        statements.append((statement, parameters))

    event.listen(container.db.engine.sync_engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(container.db.engine.sync_engine, "before_cursor_execute", note)


# ---- what `make bench` (bench/__main__.py) collects --------------------------------------------------------


@dataclass
class Figure:
    """One line of the summary: Portal's figure beside its ceiling's, and the target it is held to.

    `target` is (kind, bound): "ratio≥" / "ratio≤" compare portal / ceiling with the bound, "≤" / "≥"
    compare Portal's own figure with it (where the issue sets an absolute target), None for no target."""

    benchmark: str
    backend: str
    portal: float
    ceiling: float | None
    unit: str
    target: tuple[str, float] | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return None if not self.ceiling else self.portal / self.ceiling

    @property
    def target_text(self) -> str:
        if self.target is None:
            return "-"
        kind, bound = self.target
        return _TARGET_TEXT[kind](bound)

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        kind, bound = self.target
        value = self.ratio if kind.startswith("ratio") else self.portal
        if value is None:
            return None
        return value >= bound if kind.endswith("≥") else value <= bound


_TARGET_TEXT = {
    "ratio≥": lambda b: f"≥ {b:g}× ceiling",
    "ratio≤": lambda b: f"≤ {b:g}× ceiling",
    "≥": lambda b: f"≥ {b:g}",
    "≤": lambda b: f"≤ {b:g}",
}


def number(value: float | None) -> str:
    if value is None:
        return "-"
    if float(value).is_integer() and abs(value) < 100:
        return f"{value:.0f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def table(figures: list[Figure]) -> str:
    """The summary as a Markdown table (pasted as it is into docs/performance.md)."""
    lines = [
        "| benchmark | backend | Portal | ceiling | ratio | target | met? |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for f in figures:
        met = {None: "-", True: "yes", False: "**no**"}[f.met]
        ratio = "-" if f.ratio is None else f"{f.ratio:.2f}×"
        note = f" ({f.note})" if f.note else ""
        ceiling = f"{number(f.ceiling)} {f.unit}" if f.ceiling is not None else "-"
        lines.append(
            f"| {f.benchmark}{note} | {f.backend} | {number(f.portal)} {f.unit} | {ceiling} | {ratio} | "
            f"{f.target_text} | {met} |"
        )
    return "\n".join(lines)


# ---- backends: SQLite always, PostgreSQL + Redis when they answer ------------------------------------------

PG_ADMIN_URL = os.environ.get("PORTAL_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("PORTAL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SQLITE, POSTGRES = "SQLite + memory", "PostgreSQL + Redis"


@dataclass
class Backend:
    name: str
    database_url: str
    redis_url: str | None

    @property
    def is_sqlite(self) -> bool:
        return self.name == SQLITE


async def postgres_missing() -> str | None:
    """Why PostgreSQL + Redis cannot be used here, or None when both answer."""
    import asyncpg
    import redis.asyncio as aioredis

    try:
        connection = await asyncio.wait_for(asyncpg.connect(PG_ADMIN_URL), 5)
        await connection.close()
    except Exception as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} does not answer ({exc!r})"
    client = aioredis.from_url(REDIS_URL)
    try:
        await asyncio.wait_for(client.ping(), 5)
    except Exception as exc:
        return f"Redis at {REDIS_URL} does not answer ({exc!r})"
    finally:
        await client.aclose()
    return None


@contextlib.asynccontextmanager
async def backend(name: str, var_dir: Path) -> AsyncIterator[Backend]:
    """A fresh, migrated database of the kind `name` (a new PostgreSQL database per run, dropped after)."""
    if name == SQLITE:
        url = f"sqlite+aiosqlite:///{var_dir / f'bench_{uuid.uuid4().hex[:6]}.db'}"
        await upgrade_async(url)
        yield Backend(name, url, None)
        return
    import asyncpg

    db = f"portal_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{db}"')
    finally:
        await admin.close()
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{db}"
    try:
        await upgrade_async(url)
        yield Backend(name, url, REDIS_URL)
    finally:
        admin = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        finally:
            await admin.close()


def settings_for(b: Backend, var_dir: Path, **overrides: Any) -> Settings:
    return settings_for_run(
        var_dir, database_url=b.database_url, redis_url=b.redis_url, browser_backend="none", **overrides
    )


@contextlib.asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[Container]:
    """A container for set-up in the benchmark's own process (users, sessions, chats), closed after."""
    container = Container(settings)
    await container.start()
    try:
        yield container
    finally:
        await container.close()


async def sign_in_many(container: Container, n: int, *, in_flight: int = 1, batch: int = 250) -> list[str]:
    """Like `sign_in` for many users (their session tokens)."""
    return [token for token, _ in await signed_in_users(container, n, in_flight=in_flight, batch=batch)]


async def signed_in_users(
    container: Container, n: int, *, in_flight: int = 1, batch: int = 250
) -> list[tuple[str, int]]:
    """(token, user id) of `n` new users, `batch` sign-ups and sessions per transaction (the services'
    `signup` and `sessions.create`, as a first login makes them), `in_flight` transactions at a time."""
    gate = asyncio.Semaphore(in_flight)

    async def some(count: int) -> list[tuple[str, int]]:
        async with gate, container.db.transaction() as session:
            tokens = []
            now = container.clock.now()
            for _ in range(count):
                user, _link = await container.users.signup(
                    session,
                    platform="discord",
                    platform_user_id=uuid.uuid4().hex,
                    platform_username=None,
                    platform_avatar_url=None,
                    now=now,
                    username=f"bench_{uuid.uuid4().hex[:10]}",
                    level=0,
                )
                new = await container.sessions.create(
                    session, user, client_ip="127.0.0.1", user_agent="bench", now=now
                )
                tokens.append((new.token, user.id))
            return tokens

    sizes = [min(batch, n - start) for start in range(0, n, batch)]
    return [token for tokens in await asyncio.gather(*(some(size) for size in sizes)) for token in tokens]


# ---- child processes: Portal (`portal serve`) and the ceilings (bench/ceilings/) ---------------------------


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_listening(port: int, process: asyncio.subprocess.Process, what: str) -> None:
    for _ in range(600):
        if process.returncode is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


@dataclass
class Child:
    base: str
    pid: int


@contextlib.asynccontextmanager
async def ceiling_process(module: str, **env: str) -> AsyncIterator[Child]:
    """`python -m bench.ceilings.<module>` on a free port (one uvicorn worker, like `portal serve`)."""
    import sys

    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        f"bench.ceilings.{module}",
        str(port),
        env={**os.environ, **{f"CEILING_{k.upper()}": v for k, v in env.items()}},
    )
    try:
        await wait_listening(port, process, f"ceiling {module}")
        yield Child(f"http://127.0.0.1:{port}", process.pid)
    finally:
        process.terminate()
        await process.wait()


@contextlib.asynccontextmanager
async def portal_process(settings: Settings, var_root: Path, **env: str) -> AsyncIterator[Child]:
    """One `portal serve` (one uvicorn worker) on `settings`' database and Redis; `env`: PORTAL_ overrides."""
    async with portal_processes(settings, 1, var_root, env) as bases:
        yield Child(bases[0], _PIDS[bases[0]])


_PIDS: dict[str, int] = {}


# ---- wrk ---------------------------------------------------------------------------------------------------

WRK_SCRIPT = Path(__file__).with_name("cookie.lua")


@dataclass
class WrkRun:
    rps: float
    p99_ms: float
    errors: int


def _ms(text: str) -> float:
    for suffix, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60_000.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    raise ValueError(text)


async def wrk(url: str, token: str, *, seconds: float = 5, connections: int = 16) -> WrkRun:
    """`wrk --latency` against `url` with the session cookie (bench/cookie.lua); p99 from its distribution."""
    import re
    import shutil

    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is missing: apt-get install wrk")
    process = await asyncio.create_subprocess_exec(
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(WRK_SCRIPT),
        url,
        env={**os.environ, "BENCH_COOKIE": token, "BENCH_API_KEY": PUBLIC_KEY},
        stdout=asyncio.subprocess.PIPE,
    )
    out = (await process.communicate())[0].decode()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    if rps is None or p99 is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(map(int, failed.groups())) if failed else 0)
    return WrkRun(float(rps.group(1)), _ms(p99.group(1)), errors)


async def run_backends(
    measure: Callable[[Backend], Awaitable[list[Figure]]], *, sqlite: bool = True, postgres: bool = True
) -> list[Figure]:
    """Run `measure` on each backend (PostgreSQL + Redis skipped loudly when absent), print its table."""
    figures: list[Figure] = []
    names = [SQLITE] if sqlite else []
    if postgres:
        missing = await postgres_missing()
        if missing:
            print(f"!!! SKIPPED on PostgreSQL + Redis: {missing}", flush=True)
        else:
            names.append(POSTGRES)
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            async with backend(name, Path(tmp)) as b:
                figures += await measure(b)
    print(table(figures), flush=True)
    return figures


# ---- profiles (py-spy) -------------------------------------------------------------------------------------


async def py_spy(pid: int, seconds: float, out: Path) -> None:
    """Sample `pid` for `seconds` with py-spy (collapsed stacks in `out`); nothing when py-spy is missing."""
    import shutil
    import sys

    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        print("!!! py-spy is not installed: no profile", flush=True)
        return
    process = await asyncio.create_subprocess_exec(
        spy,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(int(seconds)),
        "--rate",
        "200",
        "--format",
        "raw",
        "--output",
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await process.wait()


def top_frames(raw: Path, count: int = 20) -> str:
    """Where the event loop's thread spends its samples: the functions on top of the stack (self), and
    Portal's own functions anywhere on it (inclusive). Idle worker threads (aiosqlite's, the executor's)
    are left out: their samples are waits, not work."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if "Thread._bootstrap" in stack:
            continue
        n = int(samples)
        total += n
        frames = [_frame_name(frame) for frame in stack.split(";")]
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for frame in {f for f in frames if f.startswith("portal/")}:
            inclusive[frame] = inclusive.get(frame, 0) + n
    if not total:
        return "no samples"
    lines = [
        f"{total} samples of the event loop's thread",
        "",
        "| on top of the stack (self) | share |",
        "|---|---:|",
    ]
    for frame, n in sorted(own.items(), key=lambda item: -item[1])[:count]:
        lines.append(f"| `{frame}` | {n / total:.0%} |")
    lines += ["", "| Portal's functions (inclusive) | share |", "|---|---:|"]
    for frame, n in sorted(inclusive.items(), key=lambda item: -item[1])[:count]:
        lines.append(f"| `{frame}` | {n / total:.0%} |")
    return "\n".join(lines)


def _frame_name(frame: str) -> str:
    """ "fn (/path/site-packages/pkg/mod.py:12)" → "pkg/mod.py:fn" (Portal's: "portal/….py:fn")."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif "/portal/" in path:
        path = "portal/" + path.rsplit("/portal/", 1)[1]
    elif path.startswith(("portal/", "bench/")):
        pass
    else:
        path = path.rsplit("/", 1)[-1]
    return f"{path}:{name}"
