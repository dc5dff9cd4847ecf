"""Benchmark of the authenticated REST reads beside their ceiling (issue 15 item 2, docs/performance.md).

    python -m bench.rest_reads          # SQLite + memory, then PostgreSQL + Redis when they answer

A `portal serve` child (one uvicorn worker) on a fresh database holds one signed-in user who joined an
official chat with 50 messages. `wrk --latency` (one thread, 16 connections, the session cookie) reads
`GET /v1/users/me`, `GET /v1/portal/chats` and the chat's history (50 messages) from it, then from the
ceiling (bench/ceilings/rest.py): a bare FastAPI app on the same uvicorn that, for the same cookie, runs
the SQL statements Portal ran for the path (captured from a server in this process) through the bare
driver and answers the very JSON Portal answered. Requests/s (target ≥ 0.5× the ceiling) and p99
(target ≤ 3×).
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import tempfile
import uuid
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from bench.ceilings.rest import Statements
from bench.support import (
    PUBLIC_KEY,
    Backend,
    Figure,
    WrkRun,
    captured_statements,
    ceiling_process,
    portal_process,
    py_spy,
    run_backends,
    serving_settings,
    settings_for,
    sign_in,
    started,
    top_frames,
    wrk,
)
from portal.client import PortalClient
from portal.client.e2ee import encrypt
from portal.client.secure import SecureChat
from portal.config import Settings
from portal.container import Container
from portal.schemas.chats import AdminCreateChatIn

SECONDS = 5
PROFILE = bool(os.environ.get("PORTAL_BENCH_PROFILE"))  # py-spy each read (docs/performance.md)
CONNECTIONS = 16
HISTORY = 50


async def official_chat(container: Container) -> int:
    owner = await container.users.create(
        username=f"owner_{uuid.uuid4().hex[:8]}",
        level=3,
        platform="discord",
        platform_user_id=uuid.uuid4().hex,
    )
    created = await container.admin_chats.create_official(
        AdminCreateChatIn(name="bench", slug=f"bench-{uuid.uuid4().hex[:8]}"), actor=None, owner_id=owner.id
    )
    return int(created.chat_id)


async def fill(base: str, token: str, chat_id: int, messages: int) -> None:
    """The user joins the chat (gets its key) and sends `messages` messages through the API."""
    async with SecureChat(PortalClient(base, api_key=PUBLIC_KEY, session=token)) as secure:
        await secure.join(chat_id)
        key, epoch = await secure.wait_for_key(chat_id), secure.epochs[chat_id]
        for n in range(messages):
            content = encrypt(key, epoch, f"history message {n}")
            await secure.client.call(
                "POST", f"/v1/portal/chats/{chat_id}/messages", json={"content": content}
            )
        await secure.client.close()


async def measure(b: Backend) -> list[Figure]:
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(b, Path(tmp))
        async with started(settings) as container:
            (token,) = await sign_in(container, 1)
            chat_id = await official_chat(container)
        paths = {
            "GET /v1/users/me": "/v1/users/me",
            "GET /v1/portal/chats": "/v1/portal/chats",
            f"GET history ({HISTORY} messages)": f"/v1/portal/chats/{chat_id}/history?limit={HISTORY}",
        }
        async with portal_process(settings, Path(tmp)) as portal:
            await fill(portal.base, token, chat_id, HISTORY)
            bodies = {}
            async with httpx.AsyncClient(base_url=portal.base, cookies={"psession": token}) as client:
                for path in paths.values():
                    response = await client.get(path, headers={"X-API-Key": PUBLIC_KEY})
                    assert response.status_code == 200, (path, response.text)
                    bodies[path] = response.json()
            portal_runs = {}
            for name, path in paths.items():
                await wrk(portal.base + path, token, seconds=1, connections=CONNECTIONS)  # warm-up
                portal_runs[name] = await wrk(
                    portal.base + path, token, seconds=SECONDS, connections=CONNECTIONS
                )
                if PROFILE:  # a separate run, so sampling does not slow the measured one
                    out = (
                        Path("var")
                        / "bench-profiles"
                        / f"{b.name.split()[0]}-{path.split('?')[0].replace('/', '_')}.txt"
                    )
                    out.parent.mkdir(parents=True, exist_ok=True)
                    reading = wrk(portal.base + path, token, seconds=SECONDS, connections=CONNECTIONS)
                    await asyncio.gather(reading, py_spy(portal.pid, SECONDS - 1, out))
                    print(f"profile of Portal under {name} ({b.name}):\n{top_frames(out)}", flush=True)
        queries = await portal_statements(settings, token, list(paths.values()))
        bodies_file, queries_file = Path(tmp) / "bodies.json", Path(tmp) / "queries.pickle"
        bodies_file.write_text(json.dumps(bodies))
        queries_file.write_bytes(pickle.dumps(queries))
        database = settings.database_url
        if database.startswith("sqlite"):
            database = str(make_url(database).database)
        async with ceiling_process(
            "rest", token=token, bodies=str(bodies_file), queries=str(queries_file), database=database
        ) as ceiling:
            async with httpx.AsyncClient(base_url=ceiling.base, cookies={"psession": token}) as client:
                for path in paths.values():
                    assert (await client.get(path)).json() == bodies[path], "the ceiling answers other JSON"
            for name, path in paths.items():
                await wrk(ceiling.base + path, token, seconds=1, connections=CONNECTIONS)
                ceiling_run = await wrk(ceiling.base + path, token, seconds=SECONDS, connections=CONNECTIONS)
                figures += pair(name, b.name, portal_runs[name], ceiling_run)
    return figures


async def portal_statements(settings: Settings, token: str, paths: list[str]) -> dict[str, Statements]:
    """The SQL statements (in the driver's paramstyle, with their parameters) Portal runs for each path once
    warm, captured from a server in this process on the same database: what the ceiling replays."""
    captured: dict[str, Statements] = {}
    async with (
        serving_settings(settings) as (container, base),
        httpx.AsyncClient(
            base_url=base, cookies={"psession": token}, headers={"X-API-Key": PUBLIC_KEY}
        ) as client,
    ):
        for path in paths:
            (await client.get(path)).raise_for_status()  # warm: the session is cached after this
            with captured_statements(container) as statements:
                (await client.get(path)).raise_for_status()
            captured[path] = statements
    return captured


def pair(name: str, backend: str, portal: WrkRun, ceiling: WrkRun) -> list[Figure]:
    note = f"{portal.errors} errors" if portal.errors or ceiling.errors else ""
    return [
        Figure(f"{name}: requests/s", backend, portal.rps, ceiling.rps, "req/s", ("ratio≥", 0.5), note),
        Figure(f"{name}: p99", backend, portal.p99_ms, ceiling.p99_ms, "ms", ("ratio≤", 3), note),
    ]


if __name__ == "__main__":
    asyncio.run(run_backends(measure))
