"""The Notifier backed by Socket.IO.

Room emits go through python-socketio, whose Redis manager fans them out to every node. Operations on
sockets that need bookkeeping — ending a session, evicting sockets from a chat room — go over the LiveStore
bus instead: every node acts on *its own* sockets, so an event always reaches a socket before the socket is
removed, and the node that holds a socket is the one that updates its presence.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from portal.events import Event, SessionEnded, VmFrame
from portal.live.base import LiveStore, Subscription
from portal.services.notifier import (
    BINARY_FRAMES_ROOM,
    Rooms,
    chat_room,
    screen_room,
    session_room,
    user_room,
)
from portal.tasks import cancel_and_wait, retry_until_done

log = logging.getLogger("portal.realtime")
BUS_CHANNEL = "bus:sockets"
FRAMES_CHANNEL = "bus:frames"
FRAME_BACKLOG = 2  # packets a viewer's socket may have queued before frames are skipped for it
# A binary frame is two engine.io packets (the JSON header, then the JPEG attachment): a binary viewer may
# queue as many frames as a base64 one before it skips.
BINARY_FRAME_PACKETS = 2
ForgetHook = Callable[[str, int], Awaitable[None]]
SeatHook = Callable[[str, int, dict[str, Any]], Awaitable[None]]  # sid, chat id, the socket's session
NAMESPACE = "/"


class BusOperations:
    """The Notifier operations that travel over the LiveStore bus (shared by servers and the CLI), and
    `send` on top of each notifier's own `emit`."""

    live: LiveStore

    async def emit(self, event: str, data: Any, *, room: Rooms | None, skip_sid: str | None = None) -> None:
        raise NotImplementedError

    async def send(self, event: Event, *, room: Rooms | None, skip_sid: str | None = None) -> None:
        await self.emit(event.name, event.payload(), room=room, skip_sid=skip_sid)

    async def end_session(self, token_hash: str, reason: str) -> None:
        await self.live.publish(
            BUS_CHANNEL, {"type": "end_session", "token_hash": token_hash, "reason": reason}
        )

    async def evict(
        self,
        chat_id: int,
        *,
        event: Event | None = None,
        user_id: int | None = None,
        also_rooms: list[str] | None = None,
    ) -> None:
        await self.live.publish(
            BUS_CHANNEL,
            {
                "type": "evict",
                "chat_id": chat_id,
                "event": event.name if event else "",
                "payload": event.payload() if event else None,
                "user_id": user_id,
                "also_rooms": also_rooms or [],
            },
        )

    async def set_screen_access(self, chat_id: int, user_id: int, *, visible: bool) -> None:
        await self.live.publish(
            BUS_CHANNEL, {"type": "screen", "chat_id": chat_id, "user_id": user_id, "visible": visible}
        )

    async def deliver(self, event: Event, *, room: Rooms) -> None:
        rooms = [room] if isinstance(room, str) else list(room)
        await self.live.publish(
            BUS_CHANNEL, {"type": "deliver", "event": event.name, "payload": event.payload(), "rooms": rooms}
        )

    async def seat(self, chat_id: int, user_ids: list[int]) -> None:
        await self.live.publish(BUS_CHANNEL, {"type": "seat", "chat_id": chat_id, "user_ids": user_ids})


class SocketNotifier(BusOperations):
    def __init__(self, sio: socketio.AsyncServer, live: LiveStore) -> None:
        self.sio = sio
        self.live = live
        self.on_forget: ForgetHook | None = (
            None  # set by the server: presence bookkeeping of an evicted socket
        )
        self.on_seat: SeatHook | None = None  # set by the server: `room:join` on behalf of a socket
        self._subscription: Subscription | None = None
        self._frames: Subscription | None = None
        self._retry: asyncio.Task[None] | None = None

    # ---- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe to the bus; if the LiveStore is down, keep trying in the background (the node
        still serves, and `/health` says `degraded`)."""
        try:
            await self._subscribe()
        except Exception:
            log.warning("LiveStore unreachable at start; subscribing to the socket bus in the background")
            self._retry = asyncio.create_task(self._subscribe_when_possible())

    async def _subscribe(self) -> None:
        """Each channel once, so a retry after a half-done attempt subscribes only what is missing."""
        if self._subscription is None:
            self._subscription = await self.live.subscribe(BUS_CHANNEL, self._on_bus_message)
        if self._frames is None:
            self._frames = await self.live.subscribe(FRAMES_CHANNEL, self._on_frame)

    async def _subscribe_when_possible(self) -> None:
        await retry_until_done(self._subscribe)
        log.info("subscribed to the socket bus")

    async def close(self) -> None:
        retry, self._retry = self._retry, None
        await cancel_and_wait(retry)
        if self._subscription is not None:
            await self._subscription.close()
            self._subscription = None
        if self._frames is not None:
            await self._frames.close()
            self._frames = None

    # ---- the Notifier protocol --------------------------------------------------------------------

    async def emit(self, event: str, data: Any, *, room: Rooms | None, skip_sid: str | None = None) -> None:
        await self.sio.emit(event, data, room=room, skip_sid=skip_sid)

    async def enter_room(self, sid: str, room: str) -> bool:
        if not self.connected(sid):  # python-socketio would raise KeyError for a socket that is gone
            return False
        await self.sio.enter_room(sid, room)
        return True

    def connected(self, sid: str) -> bool:
        """Connected and not in its disconnect: python-socketio marks a socket "pending disconnect" before it
        runs the disconnect handler, so a join that finds it so must not record it in a room (the handler
        may already have looked for the rooms to leave). A socket still in its connect handler counts."""
        manager = self.sio.manager
        if sid in manager.pending_disconnect.get(NAMESPACE, ()):
            return False
        return sid in manager.rooms.get(NAMESPACE, {}).get(None, {})

    async def leave_room(self, sid: str, room: str) -> None:
        await self.sio.leave_room(sid, room)

    async def emit_frame(self, frame: VmFrame) -> None:
        await self.live.publish(FRAMES_CHANNEL, frame.payload())

    async def _on_frame(self, frame: dict[str, Any]) -> None:
        """Deliver to this node's viewers whose sockets are keeping up, encoded once per format for all of
        them: the documented base64 shape, and for sockets that asked for it at their handshake the binary
        one (docs/realtime.md, "Binary frames"), decoded from base64 once per frame and only when such a
        viewer is here."""
        binary_room = self.sio.manager.rooms.get(NAMESPACE, {}).get(BINARY_FRAMES_ROOM) or {}
        text: list[str] = []
        binary: list[str] = []
        for sid, eio_sid in self.sio.manager.get_participants(NAMESPACE, screen_room(int(frame["chat_id"]))):
            wants_binary = sid in binary_room
            if not self._backed_up(eio_sid, BINARY_FRAME_PACKETS if wants_binary else 1):
                (binary if wants_binary else text).append(sid)
        if text:
            await self._emit_local(frame, text)
        if binary:
            await self._emit_local(binary_frame(frame), binary)

    async def _emit_local(self, data: dict[str, Any], sids: list[str]) -> None:
        # The base manager's emit delivers locally; the Redis manager's would publish to every node again.
        await socketio.AsyncManager.emit(self.sio.manager, VmFrame.name, data, namespace=NAMESPACE, room=sids)

    def _backed_up(self, eio_sid: str, packets_per_frame: int) -> bool:
        socket = self.sio.eio.sockets.get(eio_sid)
        queue = getattr(socket, "queue", None)
        return queue is not None and queue.qsize() > FRAME_BACKLOG * packets_per_frame

    # ---- this node's share of bus operations ------------------------------------------------------

    async def _on_bus_message(self, message: dict[str, Any]) -> None:
        if message.get("type") == "end_session":
            await self._end_local_session(str(message.get("token_hash")), message.get("reason"))
        elif message.get("type") == "evict":
            await self._evict_local(message)
        elif message.get("type") == "screen":
            await self._set_local_screen_access(message)
        elif message.get("type") == "deliver":
            await self._deliver_local(message)
        elif message.get("type") == "seat":
            await self._seat_local(message)

    def _local(self, room: Rooms) -> list[str]:
        return [sid for sid, _eio in self.sio.manager.get_participants(NAMESPACE, room)]

    async def _end_local_session(self, token_hash: str, reason: Any) -> None:
        ended = SessionEnded(reason=str(reason))
        for sid in self._local(session_room(token_hash)):
            await self.sio.emit(ended.name, ended.payload(), to=sid)
            await self.sio.disconnect(sid)

    async def _evict_local(self, message: dict[str, Any]) -> None:
        chat_id = int(message["chat_id"])
        room = chat_room(chat_id)
        user_id = message.get("user_id")
        evicted = [sid for sid in self._local(room) if user_id is None or await self._user_of(sid) == user_id]
        recipients = dict.fromkeys(evicted)
        if message.get("also_rooms"):
            recipients.update(dict.fromkeys(self._local(list(message["also_rooms"]))))
        if message.get("event"):
            for sid in recipients:
                await self.sio.emit(message["event"], message.get("payload"), to=sid)
        for sid in evicted:
            await self.sio.leave_room(sid, room)
            await self.sio.leave_room(sid, screen_room(chat_id))
            if self.on_forget is not None:
                await self.on_forget(sid, chat_id)

    async def _deliver_local(self, message: dict[str, Any]) -> None:
        rooms = list(message.get("rooms") or [])
        for sid in dict.fromkeys(self._local(rooms) if rooms else []):
            await self.sio.emit(message["event"], message.get("payload"), to=sid)

    async def _seat_local(self, message: dict[str, Any]) -> None:
        """Each local socket of the users joins the room; one that fails (it went away meanwhile, the chat
        ended) does not keep the others out."""
        chat_id = int(message["chat_id"])
        rooms = [user_room(int(user_id)) for user_id in message.get("user_ids") or []]
        for sid in dict.fromkeys(self._local(rooms) if rooms else []):
            try:
                session = await self.sio.get_session(sid)
            except KeyError:
                continue  # disconnected meanwhile
            if self.on_seat is not None:
                try:
                    await self.on_seat(sid, chat_id, session)
                except Exception:
                    log.warning("seating socket %s in chat %s failed", sid, chat_id, exc_info=True)

    async def _set_local_screen_access(self, message: dict[str, Any]) -> None:
        chat_id, user_id = int(message["chat_id"]), message.get("user_id")
        for sid in self._local(chat_room(chat_id)):
            if await self._user_of(sid) == user_id:
                change = self.sio.enter_room if message.get("visible") else self.sio.leave_room
                await change(sid, screen_room(chat_id))

    async def _user_of(self, sid: str) -> int | None:
        try:
            user_id: int | None = (await self.sio.get_session(sid)).get("user_id")
        except KeyError:
            return None
        return user_id


def binary_frame(frame: dict[str, Any]) -> dict[str, Any]:
    """The binary shape of a `vm:frame` payload: `jpeg` (bytes, which python-socketio sends as a binary
    attachment) in place of `jpeg_b64`, the other keys as they are."""
    return {
        "chat_id": frame["chat_id"],
        "seq": frame["seq"],
        "jpeg": base64.b64decode(frame["jpeg_b64"]),
        "width": frame["width"],
        "height": frame["height"],
    }


class RedisBusNotifier(BusOperations):
    """For processes that serve no sockets (the CLI): emits and bus operations travel through Redis."""

    async def emit_frame(self, frame: VmFrame) -> None:  # no VMs in the CLI
        return None

    def __init__(self, live: LiveStore, redis_url: str, prefix: str) -> None:
        self.live = live
        self.manager = socketio.AsyncRedisManager(redis_url, channel=f"{prefix}:socketio", write_only=True)

    async def emit(self, event: str, data: Any, *, room: Rooms | None, skip_sid: str | None = None) -> None:
        await self.manager.emit(event, data, namespace=NAMESPACE, room=room, skip_sid=skip_sid)

    async def enter_room(self, sid: str, room: str) -> bool:  # no sockets here
        return False

    def connected(self, sid: str) -> bool:
        return False

    async def leave_room(self, sid: str, room: str) -> None:
        return None
