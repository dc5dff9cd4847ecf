"""Benchmark of a join storm beside its ceiling (issue 15 item 4, docs/performance.md).

    python -m bench.join_storm          # SQLite + memory, then PostgreSQL + Redis when they answer

A `portal serve` child on a fresh database; one official chat whose key a distributor (`SecureChat`, the
SDK's E2EE) holds. 500 signed-in users, each with a registered public key and a connected socket (raw
WebSockets in two farm processes, bench/farm.py), then all send `room:join` at once. Measured: the time from
the first join to the last socket holding the chat key (the distributor wrapped it for them, they unwrapped
it). The ceiling (bench/ceilings/realtime.py) does the same minus Portal: enter the room, tell the room,
ask the distributor for the joiner's key and pass the blob on; its distributor wraps with the same E2EE.
The SQL of one join is counted by bench/statements.py (target ≤ 15).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import socketio

from bench.farm import Farm
from bench.rest_reads import official_chat
from bench.support import (
    PUBLIC_KEY,
    Backend,
    Figure,
    ceiling_process,
    portal_process,
    run_backends,
    settings_for,
    sign_in_many,
    started,
)
from portal.client import PortalClient
from portal.client.e2ee import new_chat_key, wrap
from portal.client.secure import SecureChat

JOINERS = 500


async def storm(farm: Farm) -> tuple[float, list[str]]:
    """All joins at once: answers (seconds until the last joiner holds the key, failed joins' errors)."""
    answers = await farm.command("go")
    failed = [error for answer in answers for error in answer["failed"]]
    return max(a["last_keyed"] for a in answers) - min(a["started"] for a in answers), failed


async def through_portal(base: str, tokens: list[str], chat_id: int) -> tuple[float, list[str]]:
    distributor = SecureChat(PortalClient(base, api_key=PUBLIC_KEY, session=tokens[0]), timeout=300)
    farm = None
    try:
        await distributor.start()
        await distributor.join(chat_id)
        farm = await Farm.start("keyed", base, chat_id, tokens[1:], api_key=PUBLIC_KEY)
        return await storm(farm)
    finally:
        if farm is not None:
            await farm.close()
        await distributor.close()
        await distributor.client.close()


async def through_ceiling(base: str, tokens: list[str], chat_id: int) -> tuple[float, list[str]]:
    """The ceiling's distributor: wraps the chat key for each `key:needed` session, like SecureChat."""
    sio = socketio.AsyncClient(reconnection=False)
    key = new_chat_key()

    async def key_needed(data: dict[str, Any]) -> None:
        keys = [{"session_id": s["session_id"], "blob": wrap(key, s["public_key"])} for s in data["sessions"]]
        await sio.call("key:distribute", {"chat_id": data["chat_id"], "epoch": data["epoch"], "keys": keys})

    sio.on("key:needed", key_needed)
    farm = None
    try:
        await sio.connect(base, auth={"session": tokens[0]}, transports=["websocket"], wait_timeout=60)
        await sio.call("room:join", {"chat_id": chat_id, "distributor": True})
        farm = await Farm.start("keyed", base, chat_id, tokens[1:], api_key=PUBLIC_KEY)
        return await storm(farm)
    finally:
        if farm is not None:
            await farm.close()
        await sio.disconnect()


async def measure(b: Backend) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(b, Path(tmp))
        async with started(settings) as container:
            tokens = await sign_in_many(container, 1 + JOINERS, in_flight=1 if b.is_sqlite else 8)
            chat_id = await official_chat(container)
        async with portal_process(settings, Path(tmp)) as portal:
            portal_time, failed = await through_portal(portal.base, tokens, chat_id)
        tokens_file = Path(tmp) / "tokens.json"
        tokens_file.write_text(json.dumps(tokens))
        database = str(Path(tmp) / "ceiling.db") if b.is_sqlite else b.database_url.replace("+asyncpg", "")
        extra = {} if b.redis_url is None else {"redis": b.redis_url}
        async with ceiling_process(
            "realtime", tokens=str(tokens_file), database=database, **extra
        ) as ceiling:
            ceiling_time, ceiling_failed = await through_ceiling(ceiling.base, tokens, chat_id)
    assert not ceiling_failed, ceiling_failed
    note = f"{len(failed)} of {JOINERS} joins failed: {', '.join(sorted(set(failed)))}" if failed else ""
    return [
        Figure(
            f"join storm, {JOINERS} sockets: all joined and keyed",
            b.name,
            portal_time,
            ceiling_time,
            "s",
            None,
            note,
        )
    ]


if __name__ == "__main__":
    asyncio.run(run_backends(measure))
