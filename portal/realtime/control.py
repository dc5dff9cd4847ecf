"""The local control socket `$PORTAL_VAR_DIR/portal.sock`: how `portal admin` reaches a single-process server.

Without Redis a server's live state and its sockets live in its own memory, so the CLI cannot publish
anything another process would hear. `portal serve` (the app's lifespan) therefore listens on a Unix socket
in its var dir, file mode 0600 (owner only; peers of another uid, root aside, are refused too), and answers
the line-delimited JSON protocol of `portal/live/remote.py`: its LiveStore's operations, its bus, its locks
and its notifier's `emit`. The CLI builds its container on that (`RemoteLiveStore`, `ControlNotifier`), so
an admin action runs in the CLI process against the server's live state, and the server's real notifier
applies the bus operations (kick, session ends, seats, deliveries) to its sockets, as a second node does
with Redis. The socket is removed at shutdown; a stale one left by a crash is replaced at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import socket
import struct
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portal import __version__
from portal.events import VmFrame
from portal.live.base import Subscription
from portal.live.remote import LINE_LIMIT, LIVE_METHODS, RemoteLiveStore, socket_path
from portal.realtime.notifier import BusOperations
from portal.services.notifier import Rooms

if TYPE_CHECKING:
    from portal.container import Container

log = logging.getLogger("portal.control")


class ControlSocket:
    """The server side (one per single-process server)."""

    def __init__(self, container: Container) -> None:
        self.c = container
        self.path = socket_path(container.settings.var_dir)
        self._server: asyncio.AbstractServer | None = None
        self._inode: int | None = None
        self._connections: set[_Connection] = set()

    async def start(self) -> bool:
        """Listen; False (logged) when another live server already answers on the path or it cannot be
        created (the server runs on; the CLI then cannot reach it)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists() or self.path.is_symlink():
                if await _answers(self.path):
                    log.warning("another server answers on %s: no control socket for this one", self.path)
                    return False
                self.path.unlink()  # left behind by a server that crashed
            listener = _bind_owner_only(self.path)
            self._server = await asyncio.start_unix_server(self._accept, sock=listener, limit=LINE_LIMIT)
        except OSError as exc:
            log.warning("no control socket at %s: %s", self.path, exc)
            return False
        self._inode = self.path.stat().st_ino
        log.info("control socket listening on %s", self.path)
        return True

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for connection in list(self._connections):
            await connection.close()
        with contextlib.suppress(OSError):
            if self.path.stat().st_ino == self._inode:  # ours, not a newer server's
                self.path.unlink()
        await server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not _peer_allowed(writer):
            writer.close()
            return
        connection = _Connection(self.c, reader, writer)
        self._connections.add(connection)
        try:
            await connection.serve()
        finally:
            self._connections.discard(connection)
            await connection.close()


class _Connection:
    """One CLI process: its requests (each in its own task), subscriptions and held locks."""

    def __init__(
        self, container: Container, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.c = container
        self.reader = reader
        self.writer = writer
        self.subscriptions: dict[str, Subscription] = {}
        self.locks: dict[str, AsyncExitStack] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self._lock_ids = 0
        self._closed = False

    async def serve(self) -> None:
        with contextlib.suppress(ConnectionError, OSError, ValueError, asyncio.IncompleteReadError):
            while line := await self.reader.readline():
                task = asyncio.create_task(self._answer(line))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in list(self.tasks):
            task.cancel()
        for subscription in self.subscriptions.values():
            with contextlib.suppress(Exception):
                await subscription.close()
        self.subscriptions.clear()
        for stack in self.locks.values():  # a CLI that went away holds nothing
            with contextlib.suppress(Exception):
                await stack.aclose()
        self.locks.clear()
        self.writer.close()

    def _send(self, message: dict[str, Any]) -> None:
        if not self.writer.is_closing():
            self.writer.write(json.dumps(message).encode() + b"\n")

    async def _answer(self, line: bytes) -> None:
        request_id: Any = None
        try:
            request = json.loads(line)
            request_id = request.get("id")
            result = await self._run(request)
            self._send({"id": request_id, "result": result})
        except Exception as exc:
            self._send(
                {"id": request_id, "error": str(exc) or type(exc).__name__, "type": type(exc).__name__}
            )
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.drain()

    async def _run(self, request: dict[str, Any]) -> Any:
        op = request.get("op")
        if op == "hello":
            return {"node_id": self.c.node_id, "version": __version__}
        if op == "live":
            method = str(request.get("method"))
            if method not in LIVE_METHODS:
                raise ValueError(f"unknown LiveStore method {method}")
            answer = await getattr(self.c.live, method)(*request.get("args", []), **request.get("kwargs", {}))
            return _plain(answer)
        if op == "emit":
            await self.c.notifier.emit(
                str(request["event"]),
                request.get("data"),
                room=request.get("room"),
                skip_sid=request.get("skip_sid"),
            )
            return None
        if op == "subscribe":
            sub_id = str(request["sub"])

            async def forward(message: dict[str, Any]) -> None:
                self._send({"sub": sub_id, "message": message})

            self.subscriptions[sub_id] = await self.c.live.subscribe(str(request["channel"]), forward)
            return sub_id
        if op == "unsubscribe":
            subscription = self.subscriptions.pop(str(request.get("sub")), None)
            if subscription is not None:
                await subscription.close()
            return None
        if op == "lock":
            stack = AsyncExitStack()
            lock = self.c.live.lock(
                str(request["name"]), ttl=float(request["ttl"]), wait=float(request["wait"])
            )
            await stack.enter_async_context(lock)
            self._lock_ids += 1
            lock_id = f"l{self._lock_ids}"
            self.locks[lock_id] = stack
            return lock_id
        if op == "unlock":
            held = self.locks.pop(str(request.get("lock")), None)
            if held is not None:
                await held.aclose()
            return None
        raise ValueError(f"unknown operation {op}")


class ControlNotifier(BusOperations):
    """The CLI's notifier when it reached a server's control socket: bus operations (evict, seat, deliver,
    end_session, screen access) are published on the server's bus through the remote LiveStore, and the
    server's notifier emits the events (`send`/`emit`)."""

    def __init__(self, live: RemoteLiveStore) -> None:
        self.live = live
        self.remote = live

    async def emit(self, event: str, data: Any, *, room: Rooms | None, skip_sid: str | None = None) -> None:
        await self.remote.emit(event, data, room=room, skip_sid=skip_sid)

    async def enter_room(self, sid: str, room: str) -> bool:  # no sockets in the CLI
        return False

    def connected(self, sid: str) -> bool:
        return False

    async def leave_room(self, sid: str, room: str) -> None:
        return None

    async def emit_frame(self, frame: VmFrame) -> None:  # no VMs in the CLI
        return None


def _plain(value: Any) -> Any:
    """A LiveStore answer as JSON: sets become lists, dataclasses objects."""
    if isinstance(value, set | frozenset):
        return sorted(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def _bind_owner_only(path: Path) -> socket.socket:
    """A listening Unix socket whose file is created with mode 0600 (no moment with a wider mode)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    previous = os.umask(0o177)
    try:
        listener.bind(str(path))
    except BaseException:
        listener.close()
        raise
    finally:
        os.umask(previous)
    os.chmod(path, 0o600)
    return listener


async def _answers(path: Path) -> bool:
    """Does a live server answer on `path` (a hello within a second)?"""
    try:
        store = await asyncio.wait_for(RemoteLiveStore.connect(path), 2.0)
    except Exception:
        return False
    await store.close()
    return True


def _peer_allowed(writer: asyncio.StreamWriter) -> bool:
    """The file mode already keeps other users out; the peer's uid is checked too where the OS tells it."""
    sock = writer.get_extra_info("socket")
    option = getattr(socket, "SO_PEERCRED", None)
    if sock is None or option is None:
        return True
    try:
        _pid, uid, _gid = struct.unpack(
            "3i", sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
        )
    except OSError:
        return True
    if uid in (os.getuid(), 0):
        return True
    log.warning("control socket: refused a peer of uid %s", uid)
    return False
