"""Socket.IO test clients: a real python-socketio client over a real websocket."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
import socketio

from tests.servers import TestServer

EVENT_TIMEOUT = 5.0


class SocketProbe:
    """One Socket.IO connection that records every event it receives, in order, per event name."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: dict[str, asyncio.Queue[Any]] = defaultdict(asyncio.Queue)
        self.connect_error: Any = None
        self.disconnected = asyncio.Event()
        self.sio.on("*", self._record)
        self.sio.on("connect_error", self._on_connect_error)
        self.sio.on("disconnect", self._on_disconnect)

    async def _record(self, event: str, data: Any = None) -> None:
        await self.events[event].put(data)

    async def _on_connect_error(self, data: Any) -> None:
        self.connect_error = data

    async def _on_disconnect(self, *_: Any) -> None:
        self.disconnected.set()

    async def connect(self, *, token: str | None = None, headers: dict[str, str] | None = None) -> None:
        auth = {"session": token} if token is not None else None
        await self.sio.connect(
            self.base_url,
            auth=auth,
            headers=headers or {},
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

    async def wait_disconnected(self, timeout: float = EVENT_TIMEOUT) -> None:
        await asyncio.wait_for(self.disconnected.wait(), timeout)

    async def call(self, event: str, data: Any, timeout: float = EVENT_TIMEOUT) -> Any:
        return await self.sio.call(event, data, timeout=timeout)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


@pytest_asyncio.fixture
async def sockets(server: TestServer) -> AsyncIterator[Any]:
    """`probe = sockets()` makes a new unconnected SocketProbe; all are closed after the test."""
    made: list[SocketProbe] = []

    def factory() -> SocketProbe:
        probe = SocketProbe(server.base_url)
        made.append(probe)
        return probe

    try:
        yield factory
    finally:
        for probe in made:
            await probe.close()
