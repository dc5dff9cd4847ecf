"""How services reach connected clients, without knowing about Socket.IO (00 §1.3).

The realtime layer provides the implementation (`portal.realtime.notifier.SocketNotifier`); the CLI and
unit tests use `NullNotifier` or `RecordingNotifier`. Services call it only after their transaction
committed (see `portal.db.uow.on_commit`), so clients never hear about a change that was rolled back.
"""

from __future__ import annotations

from typing import Any, Protocol


class Notifier(Protocol):
    async def emit(self, event: str, data: Any, *, room: str) -> None:
        """Send `event` to every socket in `room` (on every node)."""

    async def end_session(self, token_hash: str, reason: str) -> None:
        """Tell the sockets of one session `session:ended {reason}` and disconnect them (on every node)."""


class NullNotifier:
    """Used where no server is listening (the CLI without Redis)."""

    async def emit(self, event: str, data: Any, *, room: str) -> None:
        return None

    async def end_session(self, token_hash: str, reason: str) -> None:
        return None


class RecordingNotifier:
    """Keeps what was sent, for tests of services without sockets."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any, str]] = []
        self.ended: list[tuple[str, str]] = []

    async def emit(self, event: str, data: Any, *, room: str) -> None:
        self.events.append((event, data, room))

    async def end_session(self, token_hash: str, reason: str) -> None:
        self.ended.append((token_hash, reason))


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def session_room(token_hash: str) -> str:
    return f"session:{token_hash}"
