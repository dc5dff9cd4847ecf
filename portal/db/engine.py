"""Engine, sessions and pool statistics for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from portal.db.sqlite_driver import one_hop_dbapi
from portal.db.uow import ChangedUsers, note_flushed_users, run_callbacks, take_callbacks, take_changed_users

SQLITE_FILE_MODE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
CONNECT_TIMEOUT = 5.0  # seconds to open a PostgreSQL connection
POOL_TIMEOUT = 10.0  # seconds to wait for a free pooled connection
PING_WHEN_IDLE_AFTER = 1.0  # seconds a pooled PostgreSQL connection may sit unused before it is pinged
_IDLE_SINCE = "portal_idle_since"


def _prepare_sqlite_file(url: str) -> None:
    """Create the database file readable by the server's user only, and narrow an existing one (and its
    WAL, SHM and journal): SQLite creates its side files with the database file's mode."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Never open an existing database file here: closing any descriptor of a file drops every POSIX
        # lock this process holds on it, so another engine's SQLite locks would vanish ("disk I/O error").
        if not path.exists():
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, SQLITE_FILE_MODE))
        for candidate in (path, *(path.with_name(path.name + suffix) for suffix in SQLITE_SIDE_FILES)):
            if candidate.is_file() and stat.S_IMODE(candidate.stat().st_mode) != SQLITE_FILE_MODE:
                candidate.chmod(SQLITE_FILE_MODE)
    except OSError:
        return  # not a file Portal may prepare (a directory, a read-only place): SQLite reports it on open


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    if url.startswith("sqlite"):
        _prepare_sqlite_file(url)
        # One thread hop per statement (portal/db/sqlite_driver.py), not aiosqlite's four or five.
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, module=one_hop_dbapi())
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # A database that is away must fail requests fast (503, docs/deployment.md "Outages"), not hang them:
    # connecting gives up after CONNECT_TIMEOUT (asyncpg waits 60 s by default), waiting for a free pooled
    # connection after POOL_TIMEOUT; a connection that sat idle is pinged before use (`_ping_when_idle`), so
    # the connections a restart killed are replaced.
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=POOL_TIMEOUT,
        connect_args={"timeout": CONNECT_TIMEOUT},
    )
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    """SQLAlchemy's `pool_pre_ping` pings on every checkout: a round trip per transaction, under load the
    largest single cost of a short request. A connection back in the pool for less than PING_WHEN_IDLE_AFTER
    seconds was just working; only one idle for longer is pinged. A failed ping invalidates the whole pool
    (as pre-ping does), and a statement failing on a dead connection does so too (SQLAlchemy's disconnect
    handling), so after a restart at most the requests already under way fail (503)."""
    dialect = engine.dialect

    def note_idle(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is None or time.monotonic() - idle_since < PING_WHEN_IDLE_AFTER:
            return  # fresh, or just returned by a request that used it
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise InvalidatePoolError("the database did not answer a ping") from exc

    event.listen(engine.sync_engine, "checkin", note_idle)
    event.listen(engine.sync_engine, "checkout", ping_if_idle)


class PortalSession(Session):
    """Portal's ORM session: notes which users a flush changes (`portal.db.uow.note_flushed_users`)."""


event.listen(PortalSession, "before_flush", note_flushed_users)


class Database:
    """The durable store: one engine and a session factory. Repositories take the session."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size)
        self.sessionmaker = async_sessionmaker(
            self.engine, expire_on_commit=False, autoflush=False, sync_session_class=PortalSession
        )
        # Reads on PostgreSQL run in autocommit: no BEGIN and ROLLBACK round trips around them. Under READ
        # COMMITTED each statement takes its own snapshot anyway, so a read session sees what it would have
        # seen inside a transaction. SQLite starts no transaction for reads in the first place.
        self._read_sessionmaker = (
            async_sessionmaker(
                self.engine.execution_options(isolation_level="AUTOCOMMIT"),
                expire_on_commit=False,
                autoflush=False,
                sync_session_class=PortalSession,
            )
            if self.dialect == "postgresql"
            else self.sessionmaker
        )
        # Told, after each commit, whose user row or sessions changed (the container wires the auth cache).
        self.on_users_changed: Callable[[ChangedUsers], Awaitable[None]] | None = None
        # SQLite has one writer at a time. This process's writers queue here, on the event loop, rather
        # than in `BEGIN IMMEDIATE`: a writer waiting there holds a pooled connection and gives up after
        # busy_timeout, which a burst of writes (a storm of joins) reaches while the loop is busy. Other
        # processes (the CLI, a second node in tests) still meet at the file lock. docs/decisions.md.
        self._writer = asyncio.Lock() if self.dialect == "sqlite" else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """The unit of work: a session inside one transaction, committed on success and rolled back on any
        error; after the commit, the callbacks registered with `portal.db.uow.on_commit` run (events)."""
        async with self._writer_turn(), self.sessionmaker() as session:
            async with session.begin():
                await self.begin_writing(session)
                yield session
            callbacks = take_callbacks(session)
            changed = take_changed_users(session)
        if changed is not None and self.on_users_changed is not None:
            await self.on_users_changed(changed)  # before the events, so their receivers see the change
        await run_callbacks(callbacks)

    @asynccontextmanager
    async def _writer_turn(self) -> AsyncIterator[None]:
        if self._writer is None:
            yield
            return
        async with self._writer:
            yield

    async def begin_writing(self, session: AsyncSession) -> None:
        """On SQLite, take the database's write lock as the transaction's first statement.

        pysqlite starts a transaction only at the first write, so reads that a transaction makes before
        writing are not protected, and SQLite has no row locks (`SELECT … FOR UPDATE` is ignored). A write
        transaction that checks a limit and then inserts would race with another one. `BEGIN IMMEDIATE`
        makes writers queue (busy_timeout) and each see what the previous one committed. Read-only
        sessions (`read()`) are not affected. PostgreSQL uses row locks (`with_for_update`) instead.
        """
        if self.dialect == "sqlite":
            await session.execute(text("BEGIN IMMEDIATE"))

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only (no commit; on PostgreSQL no transaction either)."""
        async with self._read_sessionmaker() as session:
            yield session

    async def ping(self) -> float:
        """Round-trip a trivial query; answer the latency in ms. Raises when the database is down."""
        started = time.perf_counter()
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return round((time.perf_counter() - started) * 1000, 3)

    def pool_stats(self) -> dict[str, int | None]:
        pool: Any = self.engine.pool
        stats: dict[str, int | None] = {
            "size": None,
            "checked_in": None,
            "checked_out": None,
            "overflow": None,
        }
        for key, method in (
            ("size", "size"),
            ("checked_in", "checkedin"),
            ("checked_out", "checkedout"),
            ("overflow", "overflow"),
        ):
            if hasattr(pool, method):
                stats[key] = int(getattr(pool, method)())
        known = [v for k, v in stats.items() if k in ("checked_in", "checked_out") and v is not None]
        stats["total"] = sum(known) if known else None
        return stats

    async def dispose(self) -> None:
        await self.engine.dispose()
