"""In-process LiveStore for a single server process (no Redis configured).

It mirrors the Redis semantics callers can observe, so code tested on one behaves the same on the other:
expired keys are absent for every operation, a container whose last member goes disappears, `set`
clears an existing TTL while other writes keep it, and reading a key of the wrong kind raises.

Expiry: every TTL given is pushed on a heap ordered by deadline, and each operation first pops what
has come due (O(1) when nothing has), so expired keys vanish even if nobody reads them again. Entries
made stale by a newer TTL or a delete are skipped, and the heap is rebuilt when they outnumber the live
deadlines, so refreshing a long TTL on every write cannot make it grow without bound.
"""

from __future__ import annotations

import asyncio
import builtins
import heapq
import json
import logging
import math
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

from portal.clock import Clock
from portal.live import match_keys as mk
from portal.live.base import BusHandler, LiveStats, LockTimeout, MatchEntry, MatchOutcome
from portal.tasks import cancel_and_wait, raise_if_cancelling

logger = logging.getLogger("portal.live")

MIN_TTL = 0.001  # same floor as Redis PEXPIRE in milliseconds
QUEUE_LIMIT = 10_000  # messages waiting for one slow subscriber before new ones are dropped


class _ZSet(dict[str, float]):
    """Sorted set: member -> score. A distinct type so it is never mistaken for a hash."""


_Value = str | set[str] | dict[str, str] | _ZSet
_T = TypeVar("_T", str, set[str], dict[str, str], _ZSet)


class WrongTypeError(TypeError):
    """The key holds another kind of value (Redis answers WRONGTYPE)."""


class HandlerQueue:
    """One subscriber's mailbox: a queue drained in order by its own task.

    Publishing only enqueues, so a slow handler delays nobody else; a handler that raises is logged and
    the next message is still delivered. Shared by both stores.
    """

    def __init__(self, channel: str, handler: BusHandler) -> None:
        self.channel = channel
        self._handler = handler
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_LIMIT)
        self._task = asyncio.create_task(self._run(), name=f"live-subscriber:{channel}")

    def put(self, message: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            logger.warning("subscriber of %s is %d messages behind; dropping one", self.channel, QUEUE_LIMIT)

    async def _run(self) -> None:
        while True:
            raise_if_cancelling()  # a handler may have swallowed the cancellation of close()
            message = await self._queue.get()
            try:
                await self._handler(message)
            except Exception:
                logger.exception("live bus handler failed on channel %s", self.channel)

    async def close(self) -> None:
        """Stop delivering. Safe to call from inside the handler itself."""
        await cancel_and_wait(self._task)


class _MemorySubscription:
    def __init__(self, store: MemoryLiveStore, queue: HandlerQueue) -> None:
        self._store = store
        self._queue = queue

    async def close(self) -> None:
        self._store._unsubscribe(self._queue)
        await self._queue.close()


class _NamedLock:
    """An asyncio.Lock plus how many tasks hold or wait for it, so idle names can be forgotten."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class MemoryLiveStore:
    """LiveStore kept in this process's memory. Time comes from the application clock."""

    kind = "memory"

    def __init__(self, clock: Clock, prefix: str = "portal") -> None:
        self.clock = clock
        self.prefix = prefix  # kept for symmetry; one instance is already its own namespace
        self._values: dict[str, _Value] = {}
        self._expires: dict[str, float] = {}
        self._deadlines: list[tuple[float, str]] = []  # heap; entries may be stale
        self._channels: dict[str, list[HandlerQueue]] = {}
        self._locks: dict[str, _NamedLock] = {}

    # ---- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Nothing to connect; present for the contract."""

    async def close(self) -> None:
        """Stop every subscription. Data stays, so a restarted store sees it again."""
        queues = [q for subscribers in self._channels.values() for q in subscribers]
        self._channels.clear()
        for queue in queues:
            await queue.close()

    async def ping(self) -> bool:
        return True

    async def stats(self) -> LiveStats:
        self._sweep()
        return LiveStats(
            memory_usage_bytes=None,
            total_keys=len(self._values),
            connected_clients=None,
            uptime_seconds=None,
            evicted_keys=None,
            hit_rate=None,
            total_commands_processed=None,
            latency_ms=0.0,
        )

    # ---- expiry helpers --------------------------------------------------------------------------
    def _sweep(self) -> float:
        """Drop every key whose deadline has passed; answer the current time."""
        now = self.clock.time()
        heap = self._deadlines
        while heap and heap[0][0] <= now:
            deadline, key = heapq.heappop(heap)
            if self._expires.get(key) == deadline:
                self._drop(key)
        return now

    def _drop(self, key: str) -> bool:
        self._expires.pop(key, None)
        return self._values.pop(key, None) is not None

    def _set_deadline(self, key: str, ttl: float) -> None:
        deadline = self.clock.time() + max(ttl, MIN_TTL)
        self._expires[key] = deadline
        heapq.heappush(self._deadlines, (deadline, key))
        if len(self._deadlines) > 2 * len(self._expires) + 1024:
            self._deadlines = [(when, name) for name, when in self._expires.items()]
            heapq.heapify(self._deadlines)

    def _lookup(self, key: str, kind: type[_T]) -> _T | None:
        """The live value of `key`, or None; raise when it holds another kind of value."""
        self._sweep()
        value = self._values.get(key)
        if value is None:
            return None
        if type(value) is not kind:
            raise WrongTypeError(f"WRONGTYPE {key!r} holds a {type(value).__name__}, not a {kind.__name__}")
        return value

    def _container(self, key: str, kind: type[_T]) -> _T:
        """The value to write into, created empty (without TTL) when missing."""
        value = self._lookup(key, kind)
        if value is None:
            value = kind()
            self._values[key] = value
        return value

    def _drop_if_empty(self, key: str, value: set[str] | dict[str, Any]) -> None:
        if not value:
            self._drop(key)

    # ---- plain keys ------------------------------------------------------------------------------
    async def get(self, key: str) -> str | None:
        return self._lookup(key, str)

    async def set(
        self, key: str, value: str, *, ttl: float | None = None, only_if_absent: bool = False
    ) -> bool:
        self._sweep()
        if only_if_absent and key in self._values:
            return False
        self._values[key] = value
        self._expires.pop(key, None)
        if ttl is not None:
            self._set_deadline(key, ttl)
        return True

    async def delete(self, *keys: str) -> int:
        self._sweep()
        return sum(self._drop(key) for key in keys)

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        current = self._lookup(key, str)
        try:
            result = (0 if current is None else int(current)) + amount
        except ValueError:
            raise ValueError(f"value of {key!r} is not an integer") from None
        self._values[key] = str(result)
        if current is None and ttl is not None:
            self._set_deadline(key, ttl)
        return result

    async def expire(self, key: str, ttl: float) -> bool:
        self._sweep()
        if key not in self._values:
            return False
        self._set_deadline(key, ttl)
        return True

    async def ttl(self, key: str) -> float | None:
        now = self._sweep()
        deadline = self._expires.get(key)
        return None if deadline is None else deadline - now

    # ---- sets ------------------------------------------------------------------------------------
    async def sadd(self, key: str, *members: str) -> int:
        if not members:
            return 0
        values = self._container(key, set)
        before = len(values)
        values.update(members)
        return len(values) - before

    async def srem(self, key: str, *members: str) -> int:
        values = self._lookup(key, set)
        if values is None:
            return 0
        before = len(values)
        values.difference_update(members)
        self._drop_if_empty(key, values)
        return before - len(values)

    async def smembers(self, key: str) -> builtins.set[str]:  # plain `set` here means the method above
        return set(self._lookup(key, set) or ())

    async def scard(self, key: str) -> int:
        return len(self._lookup(key, set) or ())

    async def sismember(self, key: str, member: str) -> bool:
        return member in (self._lookup(key, set) or ())

    # ---- hashes ----------------------------------------------------------------------------------
    async def hset(self, key: str, mapping: dict[str, str]) -> None:
        if mapping:
            self._container(key, dict).update(mapping)

    async def hget(self, key: str, field: str) -> str | None:
        return (self._lookup(key, dict) or {}).get(field)

    async def hgetall(self, key: str) -> dict[str, str]:
        return dict(self._lookup(key, dict) or {})

    async def hdel(self, key: str, *fields: str) -> int:
        values = self._lookup(key, dict)
        if values is None:
            return 0
        removed = sum(values.pop(field, None) is not None for field in fields)
        self._drop_if_empty(key, values)
        return removed

    async def hincr(self, key: str, field: str, amount: int = 1) -> int:
        values = self._container(key, dict)
        try:
            result = int(values.get(field, 0)) + amount
        except ValueError:
            self._drop_if_empty(key, values)
            raise ValueError(f"field {field!r} of {key!r} is not an integer") from None
        values[field] = str(result)
        return result

    # ---- sorted sets -----------------------------------------------------------------------------
    async def zadd(self, key: str, mapping: dict[str, float]) -> int:
        if not mapping:
            return 0
        if any(math.isnan(score) for score in mapping.values()):
            raise ValueError("a sorted-set score cannot be NaN")
        values = self._container(key, _ZSet)
        new = sum(member not in values for member in mapping)
        values.update({member: float(score) for member, score in mapping.items()})
        return new

    async def zrem(self, key: str, *members: str) -> int:
        values = self._lookup(key, _ZSet)
        if values is None:
            return 0
        removed = sum(values.pop(member, None) is not None for member in members)
        self._drop_if_empty(key, values)
        return removed

    async def zscore(self, key: str, member: str) -> float | None:
        return (self._lookup(key, _ZSet) or _ZSet()).get(member)

    async def zcard(self, key: str) -> int:
        return len(self._lookup(key, _ZSet) or ())

    async def zrange_by_score(
        self, key: str, min_score: float, max_score: float, *, limit: int | None = None
    ) -> list[tuple[str, float]]:
        values = self._lookup(key, _ZSet)
        if not values or (limit is not None and limit <= 0):
            return []
        # Python compares str by code point, which is UTF-8 byte order: the same tie-break as Redis.
        hits = sorted((item for item in values.items() if min_score <= item[1] <= max_score), key=_by_score)
        return hits if limit is None else hits[:limit]

    # ---- match queues ----------------------------------------------------------------------------
    # Each method runs without an `await`, so it is one atomic step for every task of this process.
    async def match_generation(self, user_id: int) -> int:
        return int((self._lookup(mk.GENERATIONS, dict) or {}).get(str(user_id), 0))

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
        uid = str(user_id)
        if await self.match_generation(user_id) != generation:
            return MatchOutcome("stale")
        mine = self._lookup(mk.entry(uid), dict)
        if mine is not None:
            if int(mine["deadline"]) > now_ms:
                return MatchOutcome("searching")
            self._match_drop(uid)
        pending = self._lookup(mk.pending(uid), _ZSet)
        if pending is not None:
            for peer, paired_ms in list(pending.items()):
                if paired_ms <= now_ms - pending_ttl_ms:
                    del pending[peer]
            self._drop_if_empty(mk.pending(uid), pending)
        unsettled = set(pending or ())
        if free_slots - len(unsettled) <= 0:
            return MatchOutcome("slots")
        skip = {uid, *map(str, excluded), *unsettled}
        best: tuple[float, str] | None = None
        lapsed: list[str] = []
        for tag in tags:
            for candidate, seq in sorted((self._lookup(mk.queue(tag), _ZSet) or {}).items(), key=_by_score):
                if best is not None and seq >= best[0]:
                    break
                entry = self._lookup(mk.entry(candidate), dict)
                if entry is None or int(entry["deadline"]) <= now_ms:
                    lapsed.append(candidate)
                    continue
                if candidate not in skip:
                    best = (seq, candidate)
                    break
        for candidate in lapsed:
            self._match_drop(candidate, tag_hint=tags)
        if best is None:
            seq = int(self._lookup(mk.SEQUENCE, str) or "0") + 1
            self._values[mk.SEQUENCE] = str(seq)
            self._container(mk.entry(uid), dict).update(
                {"tags": ",".join(tags), "seq": str(seq), "deadline": str(deadline_ms)}
            )
            for tag in tags:
                self._container(mk.queue(tag), _ZSet)[uid] = float(seq)
            self._container(mk.DEADLINES, _ZSet)[uid] = float(deadline_ms)
            return MatchOutcome("queued")
        peer = best[1]
        peer_tags = self._match_drop(peer)
        self._container(mk.pending(uid), _ZSet)[peer] = float(now_ms)
        self._container(mk.pending(peer), _ZSet)[uid] = float(now_ms)
        generations = self._container(mk.GENERATIONS, dict)
        for who in (uid, peer):
            generations[who] = str(int(generations.get(who, 0)) + 1)
        return MatchOutcome("paired", peer=int(peer), peer_tags=peer_tags)

    def _match_drop(self, uid: str, tag_hint: list[str] | None = None) -> list[str]:
        """Take `uid` off every queue (and the ones in `tag_hint`, for a queue member without an entry)."""
        entry = self._lookup(mk.entry(uid), dict)
        tags = entry["tags"].split(",") if entry else []
        for tag in {*tags, *(tag_hint or ())}:
            queue = self._lookup(mk.queue(tag), _ZSet)
            if queue is not None:
                queue.pop(uid, None)
                self._drop_if_empty(mk.queue(tag), queue)
        self._drop(mk.entry(uid))
        deadlines = self._lookup(mk.DEADLINES, _ZSet)
        if deadlines is not None:
            deadlines.pop(uid, None)
            self._drop_if_empty(mk.DEADLINES, deadlines)
        return tags

    async def match_settled(self, first: int, second: int) -> None:
        generations = self._container(mk.GENERATIONS, dict)
        for me, other in ((str(first), str(second)), (str(second), str(first))):
            pending = self._lookup(mk.pending(me), _ZSet)
            if pending is not None:
                pending.pop(other, None)
                self._drop_if_empty(mk.pending(me), pending)
            generations[me] = str(int(generations.get(me, 0)) + 1)

    async def match_entry(self, user_id: int) -> MatchEntry | None:
        entry = self._lookup(mk.entry(str(user_id)), dict)
        if entry is None:
            return None
        return MatchEntry(user_id, entry["tags"].split(","), int(entry["seq"]), int(entry["deadline"]))

    async def match_remove(self, user_id: int) -> bool:
        existed = self._lookup(mk.entry(str(user_id)), dict) is not None
        self._match_drop(str(user_id))
        return existed

    async def match_refresh(self, user_id: int, *, now_ms: int, deadline_ms: int) -> bool:
        return self._match_move(str(user_id), now_ms, deadline_ms, sooner_only=False)

    def _match_move(self, uid: str, now_ms: int, deadline_ms: int, *, sooner_only: bool) -> bool:
        entry = self._lookup(mk.entry(uid), dict)
        if entry is None or int(entry["deadline"]) <= now_ms:
            return False
        if sooner_only:
            deadline_ms = min(deadline_ms, int(entry["deadline"]))
        entry["deadline"] = str(deadline_ms)
        self._container(mk.DEADLINES, _ZSet)[uid] = float(deadline_ms)
        return True

    async def match_sockets(
        self, user_id: int, delta: int, *, now_ms: int, refresh_ms: int, grace_ms: int
    ) -> int:
        uid = str(user_id)
        counts = self._container(mk.SOCKETS, dict)
        remaining = int(counts.get(uid, 0)) + delta
        if remaining > 0:
            counts[uid] = str(remaining)
        else:
            counts.pop(uid, None)
        self._drop_if_empty(mk.SOCKETS, counts)
        if delta > 0:
            self._match_move(uid, now_ms, refresh_ms, sooner_only=False)
        elif remaining <= 0:
            self._match_move(uid, now_ms, grace_ms, sooner_only=True)
        return max(remaining, 0)

    async def match_reap(self, now_ms: int, *, limit: int = 500) -> list[int]:
        deadlines = self._lookup(mk.DEADLINES, _ZSet) or _ZSet()
        due = sorted((item for item in deadlines.items() if item[1] <= now_ms), key=_by_score)[:limit]
        for uid, _ in due:
            self._match_drop(uid)
        return [int(uid) for uid, _ in due]

    # ---- locks -----------------------------------------------------------------------------------
    def lock(self, name: str, *, ttl: float = 10.0, wait: float = 5.0) -> AbstractAsyncContextManager[None]:
        """An asyncio lock per name. `ttl` is ignored: in one process a holder cannot vanish without
        leaving its `async with` block, which releases the lock."""
        return self._hold(name, wait)

    @asynccontextmanager
    async def _hold(self, name: str, wait: float) -> AsyncIterator[None]:
        entry = self._locks.setdefault(name, _NamedLock())
        entry.users += 1
        try:
            try:
                async with asyncio.timeout(max(wait, 0.0)):
                    await entry.lock.acquire()
            except TimeoutError:
                raise LockTimeout(f"lock {name!r} still held after {wait}s") from None
            try:
                yield
            finally:
                entry.lock.release()
        finally:
            entry.users -= 1
            if entry.users == 0:
                self._locks.pop(name, None)

    # ---- pub/sub bus -----------------------------------------------------------------------------
    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Enqueue for every subscriber. Goes through JSON like the Redis bus does, so a message that
        Redis would reject fails here too and no two handlers share a mutable dict."""
        encoded = json.dumps(message)
        for queue in self._channels.get(channel, ()):
            queue.put(json.loads(encoded))

    async def subscribe(self, channel: str, handler: BusHandler) -> _MemorySubscription:
        queue = HandlerQueue(channel, handler)
        self._channels.setdefault(channel, []).append(queue)
        return _MemorySubscription(self, queue)

    def _unsubscribe(self, queue: HandlerQueue) -> None:
        subscribers = self._channels.get(queue.channel)
        if subscribers is None or queue not in subscribers:
            return
        subscribers.remove(queue)
        if not subscribers:
            del self._channels[queue.channel]


def _by_score(item: tuple[str, float]) -> tuple[float, str]:
    return item[1], item[0]
