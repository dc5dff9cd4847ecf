"""Benchmark of the messaging hot path: send → `message:new` to every socket in the room (bench/README.md).

`python -m bench.message_fanout` starts a real server in-process (rate limits off), makes an official chat,
and for 1, 10 and 50 listening sockets in its room has one SDK client (`portal.client.SecureChat`, real
E2EE) send messages one after another over REST. It reports the SQL statements one send issues, sends per
second, and how long each `message:new` takes from the start of its send to the last listener.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid

import socketio
from sqlalchemy import event

from bench.support import PUBLIC_KEY, serving, sign_in
from portal.client import PortalClient
from portal.client.e2ee import encrypt
from portal.client.secure import SecureChat
from portal.container import Container
from portal.schemas.chats import AdminCreateChatIn

LISTENERS = (1, 10, 50)
MESSAGES = 200


class Listener:
    """A keyless socket in the room that notes when each `message:new` arrives."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.arrivals: list[float] = []
        self.sio.on("message:new", self._on_message)

    async def _on_message(self, data: dict[str, object]) -> None:
        if data.get("type") == "user":  # not the "joined the chat" notices of the other listeners
            self.arrivals.append(time.perf_counter())

    async def join(self, base: str, token: str, chat_id: int) -> None:
        await self.sio.connect(base, auth={"session": token}, transports=["websocket"])
        ack = await self.sio.call("room:join", {"chat_id": chat_id})
        assert ack["ok"] is True, ack


async def wait_for(listeners: list[Listener], count: int) -> None:
    while any(len(listener.arrivals) < count for listener in listeners):  # noqa: ASYNC110 - a poll is enough
        await asyncio.sleep(0.002)


async def run(base: str, container: Container, tokens: list[str], size: int) -> None:
    name, platform_id = f"bench_{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    owner = await container.users.create(
        username=name, level=3, platform="discord", platform_user_id=platform_id
    )
    created = await container.admin_chats.create_official(
        AdminCreateChatIn(name=f"bench-{size}", slug=f"bench-{uuid.uuid4().hex[:8]}"),
        actor=None,
        owner_id=owner.id,
    )
    chat_id = created.chat_id
    sender = SecureChat(PortalClient(base, api_key=PUBLIC_KEY, session=tokens[0]))
    await sender.start()
    await sender.join(chat_id)
    listeners = [Listener() for _ in range(size)]
    for index, listener in enumerate(listeners):
        await listener.join(base, tokens[1 + index], chat_id)

    key, epoch = await sender.wait_for_key(chat_id), sender.epochs[chat_id]
    path = f"/v1/portal/chats/{chat_id}/messages"
    statements: list[str] = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731 - the SQL text of each statement
    event.listen(container.db.engine.sync_engine, "before_cursor_execute", listen)
    await sender.client.call("POST", path, json={"content": encrypt(key, epoch, "warm-up")})
    event.remove(container.db.engine.sync_engine, "before_cursor_execute", listen)
    if os.environ.get("PORTAL_BENCH_SHOW_SQL") and size == LISTENERS[0]:
        print("\n".join("  " + " ".join(statement.split())[:150] for statement in statements))
    await wait_for(listeners, 1)

    sent_at: list[float] = []
    started = time.perf_counter()
    for n in range(MESSAGES):
        content = encrypt(key, epoch, f"message {n}")
        sent_at.append(time.perf_counter())
        await sender.client.call("POST", path, json={"content": content})
    elapsed = time.perf_counter() - started
    await wait_for(listeners, 1 + MESSAGES)

    latencies = [
        max(listener.arrivals[1 + n] for listener in listeners) - sent_at[n] for n in range(MESSAGES)
    ]
    p95 = statistics.quantiles(latencies, n=20)[-1]
    print(
        f"{size:>3} listeners: {MESSAGES / elapsed:6.0f} sends/s, send → last listener "
        f"median {statistics.median(latencies) * 1000:5.1f} ms, p95 {p95 * 1000:5.1f} ms, "
        f"{len(statements)} SQL statements per send"
    )
    for listener in listeners:
        await listener.sio.disconnect()
    await sender.close()
    await sender.client.close()


async def main() -> None:
    async with serving() as (container, base):
        tokens = await sign_in(container, 1 + max(LISTENERS))
        print(f"backend: {container.db.dialect} + {container.live.kind}; {MESSAGES} sends per run")
        for size in LISTENERS:
            await run(base, container, tokens, size)


if __name__ == "__main__":
    asyncio.run(main())
