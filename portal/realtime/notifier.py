"""The Notifier backed by Socket.IO (00 §5).

Room emits go through python-socketio, whose Redis manager fans them out to every node. Ending a session
goes over the LiveStore bus instead: each node tells *its own* sockets of that session `session:ended`
and then disconnects them, so the event is always delivered before the disconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import socketio

from portal.live.base import LiveStore, Subscription
from portal.services.notifier import session_room

log = logging.getLogger("portal.realtime")
BUS_CHANNEL = "bus:sessions"


class SocketNotifier:
    def __init__(self, sio: socketio.AsyncServer, live: LiveStore) -> None:
        self.sio = sio
        self.live = live
        self._subscription: Subscription | None = None
        self._retry: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Subscribe to the bus; if the LiveStore is down, keep trying in the background (the node
        still serves, and `/health` says `degraded`)."""
        try:
            self._subscription = await self.live.subscribe(BUS_CHANNEL, self._on_bus_message)
        except Exception:
            log.warning("LiveStore unreachable at start; subscribing to the session bus in the background")
            self._retry = asyncio.create_task(self._subscribe_when_possible())

    async def _subscribe_when_possible(self) -> None:
        delay = 0.5
        while self._subscription is None:
            await asyncio.sleep(delay)
            try:
                self._subscription = await self.live.subscribe(BUS_CHANNEL, self._on_bus_message)
            except Exception:
                delay = min(delay * 2, 10.0)
        log.info("subscribed to the session bus")

    async def close(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retry
            self._retry = None
        if self._subscription is not None:
            await self._subscription.close()
            self._subscription = None

    async def emit(self, event: str, data: Any, *, room: str) -> None:
        await self.sio.emit(event, data, room=room)

    async def end_session(self, token_hash: str, reason: str) -> None:
        await self.live.publish(
            BUS_CHANNEL, {"type": "end_session", "token_hash": token_hash, "reason": reason}
        )

    async def _on_bus_message(self, message: dict[str, Any]) -> None:
        if message.get("type") != "end_session":
            return
        room = session_room(str(message.get("token_hash")))
        local_sids = [sid for sid, _eio in self.sio.manager.get_participants("/", room)]
        for sid in local_sids:
            await self.sio.emit("session:ended", {"reason": message.get("reason")}, to=sid)
            await self.sio.disconnect(sid)


class RedisBusNotifier:
    """For processes that serve no sockets (the CLI): emits travel through Redis to the servers."""

    def __init__(self, live: LiveStore, redis_url: str, prefix: str) -> None:
        self.live = live
        self.manager = socketio.AsyncRedisManager(redis_url, channel=f"{prefix}:socketio", write_only=True)

    async def emit(self, event: str, data: Any, *, room: str) -> None:
        await self.manager.emit(event, data, namespace="/", room=room)

    async def end_session(self, token_hash: str, reason: str) -> None:
        await self.live.publish(
            BUS_CHANNEL, {"type": "end_session", "token_hash": token_hash, "reason": reason}
        )
