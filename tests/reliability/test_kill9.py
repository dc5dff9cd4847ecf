"""`kill -9` during a burst (issue 14): every message a client got a 2xx for and every `room:join` a client
got `ok` for is still there after the restart. A real `portal serve` process on SQLite (one process, a WAL
file) and on PostgreSQL + Redis; SIGKILL lets no shutdown step run.

The users, their sessions and the chat are made by an in-process server on the same database first
(`tests.messaging.support.own_backend`); the process then serves them with rate limits off, so the burst is
as dense as the machine allows."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from portal.client.secure import SecureChat
from portal.clock import FakeClock
from portal.config import Settings
from portal.db.engine import Database
from portal.db.models import ChatMember
from tests.helpers import LoggedIn
from tests.messaging.support import own_backend, portal_on, serve
from tests.reliability.support import (
    Burst,
    client_of,
    secure_member,
    send_until_gone,
)
from tests.servers import ServeProcess, TestServer, free_port, process_env, serve_handle
from tests.sockets import SocketProbe, eventually

SENDS_BEFORE_JOINS = 20  # acknowledged messages before the joins start (the sends go on meanwhile)
SENDERS = 4
JOINERS = 16
JOIN_WORKERS = 3  # newcomers joining at the same time


async def _setup(settings: Settings, backend: str, tmp_path: Path, joiners: int) -> tuple[Any, ...]:
    """Users, sessions and a public chat, made through the real actions on an in-process server."""
    async with serve(settings, backend, FakeClock()) as first, portal_on(first) as here:
        owner = await here.login("user", tier=2)
        chat = await here.public_chat(owner)
        senders = [await here.login() for _ in range(SENDERS)]
        newcomers = [await here.login() for _ in range(joiners)]
        env = process_env(first, tmp_path / "var", PORTAL_BROWSER_BACKEND="none", PORTAL_RATE_LIMITS="off")
    return owner, chat, senders, newcomers, env


async def _history_ids(base_url: str, owner: LoggedIn, chat_id: int) -> set[str]:
    """The ids of every user message in the chat's history, read page by page through the API."""
    ids: set[str] = set()
    params: dict[str, Any] = {"limit": 500}
    async with client_of(base_url, owner.client.session_token) as client:
        while page := await client.call("GET", f"/v1/portal/chats/{chat_id}/history", params=params):
            ids.update(m["id"] for m in page if m["type"] == "user")
            params["before"] = page[0]["id"]  # oldest first: the next page ends before this one
    return ids


async def _members(database_url: str, chat_id: int) -> set[int]:
    database = Database(database_url, pool_size=1)
    try:
        async with database.read() as session:
            rows = await session.execute(select(ChatMember.user_id).where(ChatMember.chat_id == chat_id))
            return {int(user_id) for user_id in rows.scalars()}
    finally:
        await database.dispose()


async def _join_until_gone(pairs: list[tuple[SocketProbe, LoggedIn]], chat_id: int, acked: list[int]) -> None:
    """`room:join` one socket after another until the server stops answering; record every `ok`."""
    for probe, who in pairs:
        try:
            ack = await probe.call("room:join", {"chat_id": chat_id}, timeout=10)
        except Exception:  # the server died before it answered: not acknowledged
            return
        if ack.get("ok") is True:
            acked.append(who.id)


async def _burst(
    node: ServeProcess, chat_id: int, senders: list[LoggedIn], newcomers: list[LoggedIn]
) -> tuple[Burst, list[int]]:
    """Senders post back to back while newcomers join, a few at a time; SIGKILL mid-burst, once half the
    newcomers' joins were acknowledged."""
    members: list[SecureChat] = []
    probes = [SocketProbe(node.base_url) for _ in newcomers]
    burst, joins = Burst(), []
    try:
        for sender in senders:
            members.append(await secure_member(node.base_url, sender.client.session_token, chat_id))
        for probe, who in zip(probes, newcomers, strict=True):
            await probe.connect(token=who.client.session_token)
        pairs = list(zip(probes, newcomers, strict=True))
        tasks = [asyncio.create_task(send_until_gone(m, chat_id, burst)) for m in members]

        def check(condition: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
            async def met() -> bool:
                assert not all(t.done() for t in tasks), burst.failures
                return condition()

            return met

        # The joins start once the sends are in full flow, and the kill lands while both still go on.
        await eventually(check(lambda: len(burst.acked) >= SENDS_BEFORE_JOINS), timeout=60)
        tasks += [
            asyncio.create_task(_join_until_gone(pairs[n::JOIN_WORKERS], chat_id, joins))
            for n in range(JOIN_WORKERS)
        ]
        await eventually(check(lambda: len(joins) >= len(newcomers) // 2), timeout=60)
        node.kill()
        await asyncio.gather(*tasks)
    finally:
        for member in members:
            await member.rt.sio.eio.disconnect(abort=True)
            await member.client.close()
        for probe in probes:
            await probe.sio.eio.disconnect(abort=True)
    return burst, joins


async def test_acknowledged_messages_and_joins_survive_kill_9(server: TestServer, tmp_path: Path) -> None:
    await kill_9_drill(server, tmp_path, rounds=1, joiners=JOINERS)


@pytest.mark.soak
async def test_acknowledged_writes_survive_repeated_kill_9(server: TestServer, tmp_path: Path) -> None:
    await kill_9_drill(server, tmp_path, rounds=5, joiners=JOINERS * 2)


async def kill_9_drill(server: TestServer, tmp_path: Path, *, rounds: int, joiners: int) -> None:
    async with own_backend(server.backend, tmp_path) as settings:
        owner, chat, senders, newcomers, env = await _setup(
            settings, server.backend, tmp_path, joiners * rounds
        )
        log = tmp_path / "serve.log"
        acked_messages: list[str] = []
        acked_joins: list[int] = []
        port = free_port()  # every restart on the same port: a node name the next run takes over
        for n in range(rounds):
            async with serve_handle(env, log, port=port, append=True) as node:
                batch = newcomers[n * joiners : (n + 1) * joiners]
                burst, joins = await _burst(node, chat["id"], senders, batch)
            assert len(joins) < len(batch), "every join was answered before the kill: not mid-burst"
            acked_messages += burst.acked
            acked_joins += joins

        async with serve_handle(
            env, log, port=port, append=True
        ) as node:  # the last restart: what was acknowledged is there
            missing = set(acked_messages) - await _history_ids(node.base_url, owner, chat["id"])
            assert not missing, f"{len(missing)} acknowledged messages lost: {sorted(missing)[:5]}"
        members = await _members(settings.database_url, chat["id"])
        lost = set(acked_joins) - members
        assert not lost, f"acknowledged joins without a membership: {sorted(lost)}"
        assert len(acked_messages) >= SENDS_BEFORE_JOINS * rounds
