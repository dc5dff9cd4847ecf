"""The LiveStore of a running single-process server, used from another process over its control socket.

Without Redis a server's live state (presence, control, VM bookkeeping, its bus) is in its own memory. The
CLI reaches it through `$PORTAL_VAR_DIR/portal.sock` (`portal/realtime/control.py` is the server side), so
an admin action run by `portal admin` sees the same sockets and rooms the server does, publishes on the
server's bus (evictions, seats, session ends, deliveries: the server's notifier applies them to its own
sockets, exactly as a second node would with Redis) and calls the node that holds a VM (`NodeRpc`).

The protocol is line-delimited JSON over a Unix socket. A request is `{"id": n, "op": ..., ...}` and gets
one reply `{"id": n, "result": ...}` or `{"id": n, "error": text, "type": exception name}`; a subscription
also receives `{"sub": s, "message": {...}}` lines. Operations:
- `hello` → `{"node_id", "version"}`;
- `live {method, args, kwargs}` → a LiveStore method's answer (sets as lists, dataclasses as objects);
- `subscribe {channel, sub}` (the client names the subscription); `unsubscribe {sub}`;
- `lock {name, ttl, wait}` → a lock id (error type `LockTimeout`); `unlock {lock}`;
- `emit {event, data, room, skip_sid}`: the server's notifier sends a Socket.IO event.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import itertools
import json
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from portal.live.base import BusHandler, LiveStats, LockTimeout, MatchEntry, MatchOutcome
from portal.live.memory import HandlerQueue

log = logging.getLogger("portal.control")
SOCKET_NAME = "portal.sock"
LINE_LIMIT = 16 * 1024 * 1024  # one JSON line (an event with a long message, a big hash)
REQUEST_TIMEOUT = 60.0  # seconds; a lock request waits its own `wait` on top
# The LiveStore methods the control socket answers (`live` operations): every data method of the contract.
LIVE_METHODS = frozenset(
    {
        "ping",
        "stats",
        "get",
        "set",
        "delete",
        "incr",
        "expire",
        "ttl",
        "sadd",
        "srem",
        "smembers",
        "scard",
        "sismember",
        "hset",
        "hget",
        "hgetall",
        "hdel",
        "hincr",
        "zadd",
        "zrem",
        "zscore",
        "zcard",
        "zrange_by_score",
        "match_generation",
        "match_enqueue",
        "match_settled",
        "match_entry",
        "match_remove",
        "match_refresh",
        "match_sockets",
        "match_reap",
        "publish",
    }
)


def socket_path(var_dir: Path) -> Path:
    return var_dir / SOCKET_NAME


class ControlError(Exception):
    """The server answered a control request with an error, or the connection went away."""


class _RemoteSubscription:
    def __init__(self, store: RemoteLiveStore, sub_id: str, queue: HandlerQueue) -> None:
        self._store = store
        self._sub_id = sub_id
        self._queue = queue

    async def close(self) -> None:
        self._store._queues.pop(self._sub_id, None)
        with contextlib.suppress(ControlError):
            await self._store._request("unsubscribe", sub=self._sub_id)
        await self._queue.close()


class RemoteLiveStore:
    """The LiveStore contract, each call answered by the server's store (`connect` first)."""

    kind = "memory"  # the server's store is

    def __init__(self, path: Path, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.path = path
        self.server_node: str | None = None
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._queues: dict[str, HandlerQueue] = {}
        self._reading = asyncio.create_task(self._read(), name="control-socket-reader")

    @classmethod
    async def connect(cls, path: Path) -> RemoteLiveStore:
        """Connect and say hello; OSError (no socket, refused, not allowed) or ControlError when no server
        answers there."""
        reader, writer = await asyncio.open_unix_connection(str(path), limit=LINE_LIMIT)
        store = cls(path, reader, writer)
        try:
            hello = await asyncio.wait_for(store._request("hello"), 10.0)
        except BaseException:
            await store.close()
            raise
        store.server_node = str(hello["node_id"])
        return store

    # ---- the connection ---------------------------------------------------------------------------

    async def _request(self, op: str, *, timeout: float = REQUEST_TIMEOUT, **fields: Any) -> Any:
        if self._reading.done():
            raise ControlError("the control socket connection is closed")
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            self._writer.write(json.dumps({"id": request_id, "op": op, **fields}).encode() + b"\n")
            await self._writer.drain()
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise ControlError(f"the server did not answer {op} in time") from None
        except (ConnectionError, OSError) as exc:
            raise ControlError(f"the control socket connection failed: {exc}") from None
        finally:
            self._pending.pop(request_id, None)

    async def _read(self) -> None:
        try:
            while line := await self._reader.readline():
                message = json.loads(line)
                if "sub" in message:
                    queue = self._queues.get(str(message["sub"]))
                    if queue is not None:
                        queue.put(message.get("message") or {})
                    continue
                future = self._pending.get(int(message.get("id", 0)))
                if future is None or future.done():
                    continue
                if "error" in message:
                    future.set_exception(_error(message))
                else:
                    future.set_result(message.get("result"))
        except (ConnectionError, OSError, ValueError) as exc:
            log.debug("control socket connection ended: %s", exc)
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ControlError("the server closed the control socket"))

    async def _live(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return await self._request("live", method=method, args=list(args), kwargs=kwargs)

    async def emit(
        self, event: str, data: Any, *, room: str | list[str] | None, skip_sid: str | None
    ) -> None:
        await self._request("emit", event=event, data=data, room=room, skip_sid=skip_sid)

    # ---- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connected already (`connect`)."""

    async def close(self) -> None:
        for queue in list(self._queues.values()):
            await queue.close()
        self._queues.clear()
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()
        with contextlib.suppress(BaseException):
            await self._reading

    async def ping(self) -> bool:
        try:
            return bool(await self._live("ping"))
        except ControlError:
            return False

    async def stats(self) -> LiveStats:
        return LiveStats(**await self._live("stats"))

    # ---- plain keys ------------------------------------------------------------------------------
    async def get(self, key: str) -> str | None:
        value: str | None = await self._live("get", key)
        return value

    async def set(
        self, key: str, value: str, *, ttl: float | None = None, only_if_absent: bool = False
    ) -> bool:
        return bool(await self._live("set", key, value, ttl=ttl, only_if_absent=only_if_absent))

    async def delete(self, *keys: str) -> int:
        return int(await self._live("delete", *keys))

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        return int(await self._live("incr", key, amount, ttl=ttl))

    async def expire(self, key: str, ttl: float) -> bool:
        return bool(await self._live("expire", key, ttl))

    async def ttl(self, key: str) -> float | None:
        value = await self._live("ttl", key)
        return None if value is None else float(value)

    # ---- sets ------------------------------------------------------------------------------------
    async def sadd(self, key: str, *members: str) -> int:
        return int(await self._live("sadd", key, *members))

    async def srem(self, key: str, *members: str) -> int:
        return int(await self._live("srem", key, *members))

    async def smembers(self, key: str) -> builtins.set[str]:
        return {str(member) for member in await self._live("smembers", key)}

    async def scard(self, key: str) -> int:
        return int(await self._live("scard", key))

    async def sismember(self, key: str, member: str) -> bool:
        return bool(await self._live("sismember", key, member))

    # ---- hashes ----------------------------------------------------------------------------------
    async def hset(self, key: str, mapping: dict[str, str]) -> None:
        await self._live("hset", key, mapping)

    async def hget(self, key: str, field: str) -> str | None:
        value: str | None = await self._live("hget", key, field)
        return value

    async def hgetall(self, key: str) -> dict[str, str]:
        return dict(await self._live("hgetall", key))

    async def hdel(self, key: str, *fields: str) -> int:
        return int(await self._live("hdel", key, *fields))

    async def hincr(self, key: str, field: str, amount: int = 1) -> int:
        return int(await self._live("hincr", key, field, amount))

    # ---- sorted sets -----------------------------------------------------------------------------
    async def zadd(self, key: str, mapping: dict[str, float]) -> int:
        return int(await self._live("zadd", key, mapping))

    async def zrem(self, key: str, *members: str) -> int:
        return int(await self._live("zrem", key, *members))

    async def zscore(self, key: str, member: str) -> float | None:
        value = await self._live("zscore", key, member)
        return None if value is None else float(value)

    async def zcard(self, key: str) -> int:
        return int(await self._live("zcard", key))

    async def zrange_by_score(
        self, key: str, min_score: float, max_score: float, *, limit: int | None = None
    ) -> list[tuple[str, float]]:
        rows = await self._live("zrange_by_score", key, min_score, max_score, limit=limit)
        return [(str(member), float(score)) for member, score in rows]

    # ---- match queues ----------------------------------------------------------------------------
    async def match_generation(self, user_id: int) -> int:
        return int(await self._live("match_generation", user_id))

    async def match_enqueue(
        self,
        user_id: int,
        tags: list[str],
        *,
        now_ms: int,
        deadline_ms: int,
        excluded: list[int],
        free_slots: int,
        generation: int,
        pending_ttl_ms: int,
    ) -> MatchOutcome:
        outcome = await self._live(
            "match_enqueue",
            user_id,
            tags,
            now_ms=now_ms,
            deadline_ms=deadline_ms,
            excluded=excluded,
            free_slots=free_slots,
            generation=generation,
            pending_ttl_ms=pending_ttl_ms,
        )
        return MatchOutcome(**outcome)

    async def match_settled(self, first: int, second: int) -> None:
        await self._live("match_settled", first, second)

    async def match_entry(self, user_id: int) -> MatchEntry | None:
        entry = await self._live("match_entry", user_id)
        return None if entry is None else MatchEntry(**entry)

    async def match_remove(self, user_id: int) -> bool:
        return bool(await self._live("match_remove", user_id))

    async def match_refresh(self, user_id: int, *, now_ms: int, deadline_ms: int) -> bool:
        return bool(await self._live("match_refresh", user_id, now_ms=now_ms, deadline_ms=deadline_ms))

    async def match_sockets(
        self, user_id: int, delta: int, *, now_ms: int, refresh_ms: int, grace_ms: int
    ) -> int:
        return int(
            await self._live(
                "match_sockets", user_id, delta, now_ms=now_ms, refresh_ms=refresh_ms, grace_ms=grace_ms
            )
        )

    async def match_reap(self, now_ms: int, *, limit: int = 500) -> list[int]:
        return [int(user_id) for user_id in await self._live("match_reap", now_ms, limit=limit)]

    # ---- locks -----------------------------------------------------------------------------------
    def lock(self, name: str, *, ttl: float = 10.0, wait: float = 5.0) -> AbstractAsyncContextManager[None]:
        """The server's lock, held for this process (the server releases it if this process goes away)."""
        return self._hold(name, ttl, wait)

    @asynccontextmanager
    async def _hold(self, name: str, ttl: float, wait: float) -> AsyncIterator[None]:
        lock_id = await self._request(
            "lock", name=name, ttl=ttl, wait=wait, timeout=REQUEST_TIMEOUT + max(wait, 0.0)
        )
        try:
            yield
        finally:
            await self._request("unlock", lock=lock_id)

    # ---- pub/sub bus -----------------------------------------------------------------------------
    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        await self._live("publish", channel, message)

    async def subscribe(self, channel: str, handler: BusHandler) -> _RemoteSubscription:
        queue = HandlerQueue(channel, handler)
        sub_id = f"s{next(self._ids)}"  # ours, so a message arriving before the reply finds its queue
        self._queues[sub_id] = queue
        try:
            await self._request("subscribe", channel=channel, sub=sub_id)
        except BaseException:
            self._queues.pop(sub_id, None)
            await queue.close()
            raise
        return _RemoteSubscription(self, sub_id, queue)


def _error(reply: dict[str, Any]) -> Exception:
    text = str(reply.get("error") or "control request failed")
    if reply.get("type") == "LockTimeout":
        return LockTimeout(text)
    if reply.get("type") == "WrongTypeError":
        return TypeError(text)
    return ControlError(text)
