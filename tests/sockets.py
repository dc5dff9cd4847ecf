"""Socket.IO test clients: a real python-socketio client over a real websocket (the `sockets` fixture is
registered in tests/conftest.py)."""

from __future__ import annotations

import asyncio
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest_asyncio
import socketio

from portal.container import Container
from tests.events import Marker
from tests.servers import SERVED, TestServer, fresh_ip

EVENT_TIMEOUT = 5.0
QUIET = 0.4  # how long a "nothing arrives" check listens to a node outside this process (no marker)
MARKER_CHAT = 0  # no chat has this id: an eviction from its room evicts nobody, it only delivers


def marker_nodes(base_url: str) -> list[Container]:
    """The in-process nodes whose emits can reach a socket of `base_url`'s node: that node alone, or with
    Redis every node on the same Redis prefix (empty for a node outside this process)."""
    own = SERVED.get(base_url)
    if own is None:
        return []
    if not own.settings.redis_url:
        return [own]
    shared = (own.settings.redis_url, own.settings.redis_prefix)
    return [
        node for node in SERVED.values() if (node.settings.redis_url, node.settings.redis_prefix) == shared
    ]


class SocketProbe:
    """One Socket.IO connection that records every event it receives, in order, per event name."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.ip = fresh_ip()
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: dict[str, asyncio.Queue[Any]] = defaultdict(asyncio.Queue)
        self.received: list[tuple[str, Any]] = []  # every event, in arrival order (across names)
        self.connect_error: Any = None
        self.disconnected = asyncio.Event()
        self.chat_list: Any = None
        self.sio.on("*", self._record)
        self.sio.on("connect_error", self._on_connect_error)
        self.sio.on("disconnect", self._on_disconnect)

    async def _record(self, event: str, data: Any = None) -> None:
        self.received.append((event, data))
        await self.events[event].put(data)

    async def _on_connect_error(self, data: Any) -> None:
        self.connect_error = data

    async def _on_disconnect(self, *_: Any) -> None:
        self.disconnected.set()

    async def connect(
        self, *, token: str | None = None, headers: dict[str, str] | None = None, frames: str | None = None
    ) -> None:
        """Connect from a client IP of its own (`X-Forwarded-For` from the trusted 127.0.0.1, as the API
        clients do), so the handshakes-per-IP limit (08 §69) counts each test apart; pass the header to
        choose the IP. `frames="binary"` asks for binary `vm:frame`s at the handshake."""
        auth: dict[str, str] | None = {"session": token} if token is not None else None
        if auth is not None and frames is not None:
            auth["frames"] = frames
        await self.sio.connect(
            self.base_url,
            auth=auth,
            headers={"X-Forwarded-For": self.ip, **(headers or {})},
            transports=["websocket"],
            wait_timeout=EVENT_TIMEOUT,
        )

    async def refused(self, **kwargs: Any) -> str:
        """Connect expecting a refusal; answer the refusal message (e.g. ERR_UNAUTHORIZED)."""
        try:
            await self.connect(**kwargs)
        except socketio.exceptions.ConnectionError:
            data = self.connect_error
            return data.get("message") if isinstance(data, dict) else str(data)
        raise AssertionError("the connection was accepted")

    async def expect(self, event: str, timeout: float = EVENT_TIMEOUT) -> Any:
        return await asyncio.wait_for(self.events[event].get(), timeout)

    async def expect_where(
        self, event: str, predicate: Callable[[Any], bool], timeout: float = EVENT_TIMEOUT
    ) -> Any:
        """The next `event` whose payload satisfies `predicate`; events that do not are dropped."""

        async def find() -> Any:
            while True:
                data = await self.events[event].get()
                if predicate(data):
                    return data

        return await asyncio.wait_for(find(), timeout)

    async def expect_for(self, event: str, chat_id: int, timeout: float = EVENT_TIMEOUT) -> Any:
        """The next `event` about `chat_id` (other chats' events, e.g. the lobby's `chat:status`, skipped)."""
        return await self.expect_where(
            event, lambda data: isinstance(data, dict) and data.get("chat_id") == chat_id, timeout
        )

    def pending(self, event: str, chat_id: int | None = None) -> list[Any]:
        """Events of that name received and not consumed yet (only those about `chat_id`, when given)."""
        queue = self.events[event]
        items = []
        while not queue.empty():
            items.append(queue.get_nowait())
        for item in items:
            queue.put_nowait(item)
        if chat_id is None:
            return items
        return [i for i in items if isinstance(i, dict) and i.get("chat_id") == chat_id]

    async def assert_silent(self, event: str, chat_id: int | None = None) -> None:
        """Nothing of that name (about `chat_id`, when given) has been sent to this socket so far."""
        await self.settle()
        assert self.pending(event, chat_id) == [], f"unexpected {event}: {self.pending(event, chat_id)}"

    async def settle(self) -> None:
        """Wait until everything the nodes had sent this socket when called has arrived.

        Every node that can reach the socket sends it a marker along each path events take: a room emit
        (python-socketio, through Redis between nodes) and the LiveStore bus (evictions, ended sessions).
        Events to one socket arrive in the order they were sent on a path, so once every marker is in,
        anything emitted before (by an action the test awaited) is in too. It proves nothing about what a
        node sends later by itself (a periodic task, the frame relay): tests run those steps themselves.
        """
        sid = self.sio.get_sid("/") if self.sio.connected else None
        if sid is None:
            return  # disconnected: nothing more can arrive
        nodes = marker_nodes(self.base_url)
        if not nodes:
            # A node outside this process (`portal serve`) cannot be asked for a marker: listen a while.
            await asyncio.sleep(QUIET)
            return
        marker = Marker(token=secrets.token_hex(8))
        for node in nodes:
            await node.notifier.send(marker, room=sid)
            await node.notifier.evict(MARKER_CHAT, event=marker, also_rooms=[sid])
        for _ in range(2 * len(nodes)):
            await self.expect_where(Marker.name, lambda data: data == marker.payload())

    def clear(self) -> None:
        """Forget everything received so far."""
        self.events.clear()

    async def wait_disconnected(self, timeout: float = EVENT_TIMEOUT) -> None:
        await asyncio.wait_for(self.disconnected.wait(), timeout)

    async def call(self, event: str, data: Any, timeout: float = EVENT_TIMEOUT) -> Any:
        return await self.sio.call(event, data, timeout=timeout)

    async def close(self) -> None:
        """Disconnect; bounded, since the server may already be gone (a stopped second node)."""
        if self.sio.connected:
            try:
                await asyncio.wait_for(self.sio.disconnect(), EVENT_TIMEOUT)
            except TimeoutError:
                await self.sio.eio.disconnect(abort=True)


@pytest_asyncio.fixture
async def sockets(server: TestServer) -> AsyncIterator[Any]:
    """`probe = sockets()` makes a new unconnected SocketProbe (`sockets(base_url)` for another node);
    all are closed after the test."""
    made: list[SocketProbe] = []

    def factory(base_url: str | None = None) -> SocketProbe:
        probe = SocketProbe(base_url or server.base_url)
        made.append(probe)
        return probe

    try:
        yield factory
    finally:
        for probe in made:
            await probe.close()


async def online(
    sockets: Any, token: str | None, base_url: str | None = None, *, frames: str | None = None
) -> SocketProbe:
    """A connected probe for a session token whose `chat:list` has been received (kept in `.chat_list`);
    `frames="binary"` asks for binary `vm:frame`s."""
    probe = sockets(base_url)
    await probe.connect(token=token, frames=frames)
    probe.chat_list = await probe.expect("chat:list")
    return probe


async def eventually(check: Callable[[], Any], timeout: float = EVENT_TIMEOUT, interval: float = 0.02) -> Any:
    """Poll an async `check` until it answers something truthy (for state a disconnect changes later)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)
