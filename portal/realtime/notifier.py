"""The Notifier backed by Socket.IO (00 §5).

Room emits go through python-socketio, whose Redis manager fans them out to every node. Ending a session
goes over the LiveStore bus instead: each node tells *its own* sockets of that session `session:ended`
and then disconnects them, so the event is always delivered before the disconnect.
"""

from __future__ import annotations

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

    async def start(self) -> None:
        self._subscription = await self.live.subscribe(BUS_CHANNEL, self._on_bus_message)

    async def close(self) -> None:
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
