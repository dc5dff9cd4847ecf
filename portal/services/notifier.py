"""How services reach connected clients, without knowing about Socket.IO.

The realtime layer provides the implementation (`portal.realtime.notifier.SocketNotifier`); the CLI uses
`RedisBusNotifier` with Redis and `NullNotifier` without. Services call it only after their transaction
committed (see `portal.db.uow.on_commit`), so clients never hear about a change that was rolled back.

Services send typed events from the catalogue (`portal.events`): `await notifier.send(Event(...), room=...)`.
`emit` is the untyped primitive underneath (still called by the services not converted yet).
"""

from __future__ import annotations

from typing import Any, Protocol

from portal.events import Event, VmFrame

Rooms = str | list[str]


class Notifier(Protocol):
    async def send(self, event: Event, *, room: Rooms | None, skip_sid: str | None = None) -> None:
        """Send `event` (its `payload()`) to every socket in `room` (or in any of several rooms, once each;
        None = every connected socket) but `skip_sid`, on every node."""

    async def emit(self, event: str, data: Any, *, room: Rooms | None, skip_sid: str | None = None) -> None:
        """`send` by name with ready-made data."""

    async def enter_room(self, sid: str, room: str) -> bool:
        """Put a socket (of this node) in a room; False when the socket is gone or going (disconnecting)."""

    def connected(self, sid: str) -> bool:
        """Is the socket (of this node) still connected (not gone, nor in its disconnect)?"""

    async def leave_room(self, sid: str, room: str) -> None:
        """Take a socket (of this node) out of a room."""

    async def end_session(self, token_hash: str, reason: str) -> None:
        """Tell the sockets of one session `session:ended {reason}` and disconnect them (on every node)."""

    async def emit_frame(self, frame: VmFrame) -> None:
        """Relay a browser frame to the chat room's screen sockets on every node, skipping sockets whose
        outgoing queue is backed up (a slow viewer drops frames instead of slowing anyone), in the format
        each socket asked for at its handshake (base64 text or a binary attachment)."""

    async def evict(
        self,
        chat_id: int,
        *,
        event: Event | None = None,
        user_id: int | None = None,
        also_rooms: list[str] | None = None,
    ) -> None:
        """On every node: send `event` (if any) to the chat room's sockets (only `user_id`'s, when given)
        and to the sockets of `also_rooms`, once each, then remove those chat-room sockets from the room."""

    async def deliver(self, event: Event, *, room: Rooms) -> None:
        """`send` over the LiveStore bus instead of the Socket.IO manager: it reaches the sockets in the
        same order as evictions and seats published before and after it (an archive's system message, its
        `room:peer_left` and its `room:destroyed` arrive in that order, then the sockets leave)."""

    async def seat(self, chat_id: int, user_ids: list[int]) -> None:
        """On every node: join each connected socket of these users to the chat's room, as if each had
        sent `room:join {chat_id}` (presence, members, keys); a socket already in the room is left alone."""

    async def set_screen_access(self, chat_id: int, user_id: int, *, visible: bool) -> None:
        """On every node: put `user_id`'s sockets in the chat room into (or out of) the chat's screen room,
        the sockets `vm:frame` goes to (a REST-banned user still in the room sees no screen)."""


class NullNotifier:
    """Used where no server is listening (the CLI without Redis)."""

    async def send(self, event: Event, *, room: Rooms | None, skip_sid: str | None = None) -> None:
        return None

    async def emit(self, event: str, data: Any, *, room: Rooms | None, skip_sid: str | None = None) -> None:
        return None

    async def enter_room(self, sid: str, room: str) -> bool:  # no sockets here
        return False

    def connected(self, sid: str) -> bool:
        return False

    async def leave_room(self, sid: str, room: str) -> None:
        return None

    async def end_session(self, token_hash: str, reason: str) -> None:
        return None

    async def evict(self, chat_id: int, **_: Any) -> None:
        return None

    async def set_screen_access(self, chat_id: int, user_id: int, *, visible: bool) -> None:
        return None

    async def deliver(self, event: Event, *, room: Rooms) -> None:
        return None

    async def seat(self, chat_id: int, user_ids: list[int]) -> None:
        return None

    async def emit_frame(self, frame: VmFrame) -> None:
        return None


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def session_room(token_hash: str) -> str:
    return f"session:{token_hash}"


def chat_room(chat_id: int) -> str:
    return f"chat:{chat_id}"


def screen_room(chat_id: int) -> str:
    """The chat room's sockets that receive `vm:frame` (all of them, less REST-banned users')."""
    return f"screen:{chat_id}"


# Every registered user's sockets: they can list every official and public chat.
LOBBY_ROOM = "lobby"

# The sockets that asked for binary `vm:frame`s at their handshake (docs/realtime.md, "Binary frames"):
# a screen room's viewers are split by it, so each format is encoded once per node per frame.
BINARY_FRAMES_ROOM = "frames:binary"
