"""Ceiling of the REST reads: a bare FastAPI app on the same uvicorn doing a read's work minus Portal.

    python -m bench.ceilings.rest PORT
        # CEILING_TOKEN, CEILING_BODIES (JSON: path → body), CEILING_QUERIES (pickle: path → statements),
        # CEILING_DATABASE (the SQLite file, or a postgresql:// URL)

For each request it does what an authenticated read cannot do without: route it, read the cookie and
compare it, run the very SQL statements Portal ran for that path (captured from Portal with their
parameters, `bench/rest_reads.py`) through the bare driver — aiosqlite or asyncpg, a pool of connections
as Portal has — and serialize the JSON body (kept as objects, so every request encodes it like Portal
does). It skips the session lookup (Portal's is cached and runs no statement either), the ORM, the rules
and turning rows into objects: the gap to Portal is everything Portal adds on top of its SQL.
`GET /v1/users/me` runs no statement in Portal, so its ceiling runs none.
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

Statements = list[tuple[str, Any]]  # (SQL in the driver's paramstyle, its parameters)
POOL = 10  # connections, like Portal's pool_size


class Driver:
    """The bare driver behind one pool: `run` executes a statement and fetches its rows."""

    async def start(self) -> None: ...

    async def run(self, sql: str, params: Any) -> None: ...


class SqliteDriver(Driver):
    def __init__(self, path: str) -> None:
        self.path = path
        self.idle: asyncio.Queue[Any] = asyncio.Queue()

    async def start(self) -> None:
        import aiosqlite

        for _ in range(POOL):
            self.idle.put_nowait(await aiosqlite.connect(self.path, isolation_level=None))

    async def run(self, sql: str, params: Any) -> None:
        connection = await self.idle.get()
        try:
            await connection.execute_fetchall(sql, params or ())  # one hop to aiosqlite's thread
        finally:
            self.idle.put_nowait(connection)


class PostgresDriver(Driver):
    def __init__(self, url: str) -> None:
        self.url = url
        self.pool: Any = None

    async def start(self) -> None:
        import asyncpg

        self.pool = await asyncpg.create_pool(self.url, min_size=POOL, max_size=POOL)

    async def run(self, sql: str, params: Any) -> None:
        async with self.pool.acquire() as connection:
            await connection.fetch(sql, *(params or ()))


def driver_for(database: str) -> Driver | None:
    if not database:
        return None
    if database.startswith("postgresql"):
        return PostgresDriver(database.replace("postgresql+asyncpg://", "postgresql://"))
    return SqliteDriver(database)


def create_app(
    token: str, bodies: dict[str, Any], queries: dict[str, Statements] | None = None, database: str = ""
) -> FastAPI:
    queries = queries or {}
    driver = driver_for(database)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if driver is not None:
            await driver.start()
        yield

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan)

    @app.get("/{path:path}")
    async def read(request: Request) -> JSONResponse:
        if request.cookies.get("psession") != token:
            return JSONResponse({"detail": "Not signed in", "error": "ERR_UNAUTHORIZED"}, status_code=401)
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if wanted not in bodies:
            return JSONResponse({"detail": "Not found", "error": "ERR_NOT_FOUND"}, status_code=404)
        if driver is not None:
            for sql, params in queries.get(wanted, []):
                await driver.run(sql, params)
        return JSONResponse(bodies[wanted])

    return app


def run(app: Any, port: int) -> None:
    """uvicorn as `portal serve` runs it: one worker, no access log, the same loop and HTTP parser."""
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False, server_header=False
    )


if __name__ == "__main__":
    bodies = json.loads(Path(os.environ["CEILING_BODIES"]).read_text())
    queries_file = os.environ.get("CEILING_QUERIES")
    queries = pickle.loads(Path(queries_file).read_bytes()) if queries_file else {}
    database = os.environ.get("CEILING_DATABASE", "")
    run(create_app(os.environ["CEILING_TOKEN"], bodies, queries, database), int(sys.argv[1]))
