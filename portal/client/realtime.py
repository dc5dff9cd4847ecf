"""The SDK's Socket.IO side: connect with a session, call events with acks, and read events in order.

    async with RealtimeClient(base_url, portal.session_token) as rt:
        ack = await rt.join(chat_id=7)
        message = await rt.next("message:new")

Every event received is queued under its name (read with `next`) and passed to handlers registered with
`on`. Acks with `ok: false` raise `RealtimeError` from `call`.

Browser frames: the client asks for binary frames at its handshake (`frames="binary"`, the default), so a
`vm:frame` arrives as `{chat_id, seq, jpeg: bytes, width, height}` — the JPEG as received, nothing to
decode. `frames="base64"` keeps the documented `jpeg_b64` text shape (docs/realtime.md, "Binary frames").
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import socketio

from portal.client.types import VmFrame

Handler = Callable[[Any], Awaitable[None]]
FrameFormat = Literal["binary", "base64"]


class RealtimeError(Exception):
    def __init__(self, ack: dict[str, Any]) -> None:
        self.ack = ack
        self.error = str(ack.get("error", ""))
        super().__init__(f"{self.error}: {ack.get('message', '')}")


class RealtimeClient:
    def __init__(
        self,
        base_url: str,
        session_token: str,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
        frames: FrameFormat = "binary",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session_token = session_token
        self.frames = frames
        self.headers = headers or {}
        self.timeout = timeout
        self.sio = socketio.AsyncClient(reconnection=False)
        self.queues: dict[str, asyncio.Queue[Any]] = defaultdict(asyncio.Queue)
        self.handlers: dict[str, list[Handler]] = defaultdict(list)
        self.connect_error: Any = None
        self.sio.on("*", self._dispatch)
        self.sio.on("connect_error", self._on_connect_error)

    async def __aenter__(self) -> RealtimeClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        await self.sio.connect(
            self.base_url,
            auth={"session": self.session_token, "frames": self.frames},
            headers=self.headers,
            transports=["websocket"],
            wait_timeout=self.timeout,
        )

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()

    @property
    def connected(self) -> bool:
        return bool(self.sio.connected)

    # ---- events -----------------------------------------------------------------------------------

    def on(self, event: str, handler: Handler) -> None:
        self.handlers[event].append(handler)

    async def next(self, event: str, timeout: float | None = None) -> Any:
        """The next `event` received (waits up to `timeout`)."""
        return await asyncio.wait_for(self.queues[event].get(), timeout or self.timeout)

    async def call(self, event: str, data: Any = None, timeout: float | None = None) -> dict[str, Any]:
        ack: dict[str, Any] = await self.sio.call(
            event, data if data is not None else {}, timeout=timeout or self.timeout
        )
        if isinstance(ack, dict) and ack.get("ok") is False:
            raise RealtimeError(ack)
        return ack

    async def emit(self, event: str, data: Any = None) -> None:
        await self.sio.emit(event, data if data is not None else {})

    async def _dispatch(self, event: str, data: Any = None) -> None:
        await self.queues[event].put(data)
        for handler in self.handlers.get(event, []):
            await handler(data)

    async def _on_connect_error(self, data: Any) -> None:
        self.connect_error = data

    # ---- rooms ------------------------------------------------------------------------------------

    async def join(
        self, *, chat_id: int | None = None, slug: str | None = None, token: str | None = None
    ) -> dict[str, Any]:
        payload = {
            k: v for k, v in {"chat_id": chat_id, "slug": slug, "token": token}.items() if v is not None
        }
        return await self.call("room:join", payload)

    async def leave(self, chat_id: int) -> dict[str, Any]:
        return await self.call("room:leave", {"chat_id": chat_id})

    # ---- the shared browser -----------------------------------------------------------------------

    async def next_frame(self, chat_id: int, timeout: float | None = None) -> VmFrame:
        """The next `vm:frame` of `chat_id` (frames of other chats are skipped), with the JPEG as bytes.
        Needs binary frames (the default)."""
        if self.frames != "binary":
            raise ValueError("next_frame needs a client made with frames='binary'")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (timeout or self.timeout)
        while True:
            frame: VmFrame = await asyncio.wait_for(self.queues["vm:frame"].get(), deadline - loop.time())
            if frame["chat_id"] == chat_id:
                return frame
