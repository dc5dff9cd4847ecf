"""LiveStore on Redis, shared by every Portal node that points at the same server and prefix.

Every key and channel is `{prefix}:{name}`; lock keys are `{prefix}:lock:{name}`, so a plain key named
`lock:...` would collide with a lock of that name. TTLs are sent as milliseconds (PX / PEXPIRE, at least
1 ms) because callers use fractional seconds.

One PubSub connection serves all subscriptions of a store. A listener task reads it and hands each
message to per-subscriber queues (`HandlerQueue`), so a slow handler never stalls the connection. If
Redis goes away the listener keeps retrying with backoff and redis-py re-subscribes on reconnect;
messages published meanwhile are lost, as with any Redis pub/sub.

`start()` does not fail when Redis is down: the service boots, `ping()` answers False and commands
raise redis errors until it is back.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
import math
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Any, cast

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import RedisError

from portal.live import match_lua
from portal.live.base import BusHandler, LiveStats, LockTimeout, MatchEntry, MatchOutcome
from portal.live.memory import HandlerQueue
from portal.tasks import cancel_and_wait, raise_if_cancelling

logger = logging.getLogger("portal.live")

CONNECT_TIMEOUT = 3.0
# A command that gets no reply within this fails (a Redis that hangs must not hang requests: they answer
# 503, docs/deployment.md "Outages"); one retry on a fresh connection covers a connection that Redis
# dropped while idle. Worst case: (CONNECT_TIMEOUT or COMMAND_TIMEOUT) x (1 + COMMAND_RETRIES).
COMMAND_TIMEOUT = 5.0
COMMAND_RETRIES = 1
# A burst (a storm of joins or disconnects) can have more commands in flight than the pool has connections:
# they wait up to POOL_WAIT for one instead of failing at once (redis-py's default pool raises "Too many
# connections" past its cap). See docs/decisions.md.
POOL_SIZE = 100
POOL_WAIT = 10.0
PING_TIMEOUT = 2.0
STATS_TIMEOUT = 5.0
SUBSCRIBE_TIMEOUT = 5.0
LISTEN_POLL = 1.0  # seconds the listener blocks per read, so a dead connection is noticed
LISTEN_BACKOFF_MAX = 5.0
LOCK_POLL_MIN = 0.005
LOCK_POLL_MAX = 0.1
SCAN_COUNT = 1000

_RedisErrors = (RedisError, OSError)

# INCRBY that sets the expiry only when this call created the key, atomically.
_INCR_LUA = """
local existed = redis.call('EXISTS', KEYS[1])
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if existed == 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
"""

# Delete the lock only if we still own it (it may have expired and been taken by someone else).
_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


def _ms(ttl: float) -> int:
    return max(1, round(ttl * 1000))


def _text(reply: bytes | str) -> str:
    """The client decodes replies (`decode_responses=True`), but redis-py's types still allow bytes."""
    return reply.decode() if isinstance(reply, bytes) else reply


def _score(value: float) -> str:
    if value == math.inf:
        return "+inf"
    if value == -math.inf:
        return "-inf"
    return repr(float(value))


def _glob_escape(text: str) -> str:
    for char in "\\*?[]":
        text = text.replace(char, "\\" + char)
    return text


class _RedisSubscription:
    def __init__(self, store: RedisLiveStore, queue: HandlerQueue) -> None:
        self._store = store
        self._queue = queue

    async def close(self) -> None:
        await self._store._unsubscribe(self._queue)
        await self._queue.close()


class RedisLiveStore:
    """LiveStore backed by Redis (redis.asyncio, decoded strings)."""

    kind = "redis"

    def __init__(self, url: str, prefix: str = "portal") -> None:
        self.url = url
        self.prefix = prefix
        self._client: Redis | None = None
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None
        self._handlers: dict[str, list[HandlerQueue]] = {}  # full channel name -> subscribers
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._pubsub_lock = asyncio.Lock()  # serialises (un)subscribe bookkeeping
        self._connect_lock = asyncio.Lock()  # one PubSub connection, even if listener and subscribe race

    def _k(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    @property
    def _redis(self) -> Redis:
        if self._client is None:
            raise RuntimeError("RedisLiveStore used before start() or after close()")
        return self._client

    # ---- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._client is not None:
            return
        pool = BlockingConnectionPool.from_url(
            self.url,
            decode_responses=True,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=COMMAND_TIMEOUT,
            retry=Retry(ExponentialWithJitterBackoff(), COMMAND_RETRIES),
            max_connections=POOL_SIZE,
            timeout=POOL_WAIT,
        )
        client = Redis.from_pool(pool)  # the client owns the pool: closing it closes the pool
        self._client = client
        self._incr_script = client.register_script(_INCR_LUA)
        self._release_script = client.register_script(_RELEASE_LUA)
        self._match_scripts = {
            name: client.register_script(getattr(match_lua, name))
            for name in ("ENQUEUE", "SETTLED", "REMOVE", "REFRESH", "SOCKETS", "REAP")
        }
        self._pubsub = client.pubsub()
        self._listener = asyncio.create_task(self._listen(self._pubsub), name=f"live-listener:{self.prefix}")

    async def close(self) -> None:
        listener, self._listener = self._listener, None
        await cancel_and_wait(listener)
        queues = [q for subscribers in self._handlers.values() for q in subscribers]
        self._handlers.clear()
        for confirmation in self._confirmations.values():
            confirmation.cancel()
        self._confirmations.clear()
        for queue in queues:
            await queue.close()
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with suppress(*_RedisErrors):
                await pubsub.aclose()
        client, self._client = self._client, None
        if client is not None:
            with suppress(*_RedisErrors):
                await client.aclose()

    async def ping(self) -> bool:
        """False (never an exception) when Redis does not answer within PING_TIMEOUT."""
        if self._client is None:
            return False
        try:
            async with asyncio.timeout(PING_TIMEOUT):
                return bool(await self._client.ping())
        except (*_RedisErrors, TimeoutError):
            return False

    async def stats(self) -> LiveStats:
        """Figures from INFO plus a measured PING. `total_keys` counts only this prefix, with a full
        SCAN: fine for a health page, not for a hot path. All None when Redis does not answer."""
        client = self._redis
        try:
            async with asyncio.timeout(STATS_TIMEOUT):
                started = time.perf_counter()
                await client.ping()
                latency_ms = (time.perf_counter() - started) * 1000
                info = await client.info()
                total_keys = await self._count_keys()
        except (*_RedisErrors, TimeoutError):
            logger.warning("Redis stats unavailable", exc_info=True)
            return LiveStats(None, None, None, None, None, None, None, None)
        return LiveStats(
            memory_usage_bytes=_int(info.get("used_memory")),
            total_keys=total_keys,
            connected_clients=_int(info.get("connected_clients")),
            uptime_seconds=_int(info.get("uptime_in_seconds")),
            evicted_keys=_int(info.get("evicted_keys")),
            hit_rate=_hit_rate(info.get("keyspace_hits"), info.get("keyspace_misses")),
            total_commands_processed=_int(info.get("total_commands_processed")),
            latency_ms=round(latency_ms, 3),
        )

    async def _count_keys(self) -> int:
        count = 0
        async for _ in self._redis.scan_iter(match=f"{_glob_escape(self.prefix)}:*", count=SCAN_COUNT):
            count += 1
        return count

    # ---- plain keys ------------------------------------------------------------------------------
    async def get(self, key: str) -> str | None:
        value = await self._redis.get(self._k(key))
        return None if value is None else _text(value)

    async def set(
        self, key: str, value: str, *, ttl: float | None = None, only_if_absent: bool = False
    ) -> bool:
        px = None if ttl is None else _ms(ttl)
        return bool(await self._redis.set(self._k(key), value, px=px, nx=only_if_absent))

    async def delete(self, *keys: str) -> int:
        if not keys:
            return 0
        return int(await self._redis.delete(*map(self._k, keys)))

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        if ttl is None:
            return int(await self._redis.incrby(self._k(key), amount))
        return int(await self._incr_script(keys=[self._k(key)], args=[amount, _ms(ttl)]))

    async def expire(self, key: str, ttl: float) -> bool:
        return bool(await self._redis.pexpire(self._k(key), _ms(ttl)))

    async def ttl(self, key: str) -> float | None:
        remaining_ms = int(await self._redis.pttl(self._k(key)))
        return None if remaining_ms < 0 else remaining_ms / 1000

    # ---- sets ------------------------------------------------------------------------------------
    async def sadd(self, key: str, *members: str) -> int:
        return int(await self._redis.sadd(self._k(key), *members)) if members else 0

    async def srem(self, key: str, *members: str) -> int:
        return int(await self._redis.srem(self._k(key), *members)) if members else 0

    async def smembers(self, key: str) -> builtins.set[str]:  # plain `set` here means the method above
        return {_text(member) for member in await self._redis.smembers(self._k(key))}

    async def scard(self, key: str) -> int:
        return int(await self._redis.scard(self._k(key)))

    async def sismember(self, key: str, member: str) -> bool:
        return bool(await self._redis.sismember(self._k(key), member))

    # ---- hashes ----------------------------------------------------------------------------------
    async def hset(self, key: str, mapping: dict[str, str]) -> None:
        if mapping:
            # redis-py's stubs type the mapping's keys invariantly, so they refuse a dict[str, str].
            await self._redis.hset(self._k(key), mapping=mapping)  # type: ignore[arg-type]

    async def hget(self, key: str, field: str) -> str | None:
        value = await self._redis.hget(self._k(key), field)
        return None if value is None else _text(value)

    async def hgetall(self, key: str) -> dict[str, str]:
        reply = await self._redis.hgetall(self._k(key))
        return {_text(name): _text(value) for name, value in reply.items()}

    async def hdel(self, key: str, *fields: str) -> int:
        return int(await self._redis.hdel(self._k(key), *fields)) if fields else 0

    async def hincr(self, key: str, field: str, amount: int = 1) -> int:
        return int(await self._redis.hincrby(self._k(key), field, amount))

    # ---- sorted sets -----------------------------------------------------------------------------
    async def zadd(self, key: str, mapping: dict[str, float]) -> int:
        # Without `incr`, ZADD answers how many members it added; redis-py's type also allows None.
        return int(await self._redis.zadd(self._k(key), mapping) or 0) if mapping else 0

    async def zrem(self, key: str, *members: str) -> int:
        return int(await self._redis.zrem(self._k(key), *members)) if members else 0

    async def zscore(self, key: str, member: str) -> float | None:
        score = await self._redis.zscore(self._k(key), member)
        return None if score is None else float(score)

    async def zcard(self, key: str) -> int:
        return int(await self._redis.zcard(self._k(key)))

    async def zrange_by_score(
        self, key: str, min_score: float, max_score: float, *, limit: int | None = None
    ) -> list[tuple[str, float]]:
        """ZRANGEBYSCORE already orders ties by member (byte order)."""
        if limit is not None and limit <= 0:
            return []
        rows = await self._redis.zrangebyscore(
            self._k(key),
            _score(min_score),
            _score(max_score),
            start=None if limit is None else 0,
            num=limit,
            withscores=True,
        )
        # With `withscores` the rows are (member, score) pairs; redis-py's return type ignores the flag.
        pairs = cast("list[tuple[bytes | str, float]]", rows)
        return [(_text(member), float(score)) for member, score in pairs]

    # ---- match queues (one Lua script each: portal/live/match_lua.py) -----------------------------
    async def _match(self, script: str, *args: str | int) -> Any:
        return await self._match_scripts[script](keys=[], args=[self.prefix, *args])

    async def match_generation(self, user_id: int) -> int:
        return int(await self._redis.hget(self._k("match:gen"), str(user_id)) or 0)

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
        reply = await self._match(
            "ENQUEUE",
            user_id,
            now_ms,
            deadline_ms,
            free_slots,
            generation,
            pending_ttl_ms,
            ",".join(map(str, excluded)),
            *tags,
        )
        kind = _text(reply[0])
        if kind != "paired":
            return MatchOutcome(kind)
        return MatchOutcome(kind, peer=int(reply[1]), peer_tags=[t for t in _text(reply[2]).split(",") if t])

    async def match_settled(self, first: int, second: int) -> None:
        await self._match("SETTLED", first, second)

    async def match_entry(self, user_id: int) -> MatchEntry | None:
        entry = await self.hgetall(f"match:e:{user_id}")
        if not entry:
            return None
        return MatchEntry(user_id, entry["tags"].split(","), int(entry["seq"]), int(entry["deadline"]))

    async def match_remove(self, user_id: int) -> bool:
        return bool(await self._match("REMOVE", user_id))

    async def match_refresh(self, user_id: int, *, now_ms: int, deadline_ms: int) -> bool:
        return bool(await self._match("REFRESH", user_id, now_ms, deadline_ms))

    async def match_sockets(
        self, user_id: int, delta: int, *, now_ms: int, refresh_ms: int, grace_ms: int
    ) -> int:
        return int(await self._match("SOCKETS", user_id, delta, now_ms, refresh_ms, grace_ms))

    async def match_reap(self, now_ms: int, *, limit: int = 500) -> list[int]:
        return [int(_text(uid)) for uid in await self._match("REAP", now_ms, limit)]

    # ---- locks -----------------------------------------------------------------------------------
    def lock(self, name: str, *, ttl: float = 10.0, wait: float = 5.0) -> AbstractAsyncContextManager[None]:
        """SET NX PX with a random token. `ttl` only frees the lock of a crashed holder: a body that
        runs longer than `ttl` loses exclusivity (a warning is logged at release)."""
        return self._hold(self._k(f"lock:{name}"), ttl, wait)

    @asynccontextmanager
    async def _hold(self, key: str, ttl: float, wait: float) -> AsyncIterator[None]:
        token = secrets.token_hex(16)
        await self._acquire(key, token, ttl, wait)
        try:
            yield
        finally:
            await self._release(key, token)

    async def _acquire(self, key: str, token: str, ttl: float, wait: float) -> None:
        """Try at once, then poll with a growing delay until `wait` runs out (always one attempt)."""
        client = self._redis
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(wait, 0.0)
        delay = LOCK_POLL_MIN
        while not await client.set(key, token, px=_ms(ttl), nx=True):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise LockTimeout(f"lock {key!r} still held after {wait}s")
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, LOCK_POLL_MAX)

    async def _release(self, key: str, token: str) -> None:
        """Never raises: if Redis cannot be told, the lock's ttl frees it anyway."""
        try:
            released = await self._release_script(keys=[key], args=[token])
        except _RedisErrors:
            logger.warning("could not release lock %s; it will expire on its own", key, exc_info=True)
            return
        if not released:
            logger.warning("lock %s expired before its holder released it (ttl too short?)", key)

    # ---- pub/sub bus -----------------------------------------------------------------------------
    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        await self._redis.publish(self._k(channel), json.dumps(message))

    async def subscribe(self, channel: str, handler: BusHandler) -> _RedisSubscription:
        """Returns once Redis has confirmed the subscription, so later publishes are delivered."""
        pubsub = self._require_pubsub()
        name = self._k(channel)
        async with self._pubsub_lock:
            if name not in self._handlers:
                await self._connect(pubsub)
                await self._server_subscribe(pubsub, name)
                self._handlers[name] = []
            queue = HandlerQueue(name, handler)
            self._handlers[name].append(queue)
        return _RedisSubscription(self, queue)

    def _require_pubsub(self) -> PubSub:
        if self._pubsub is None:
            raise RuntimeError("RedisLiveStore used before start() or after close()")
        return self._pubsub

    async def _connect(self, pubsub: PubSub) -> None:
        """Open the PubSub connection once; later reconnects happen inside redis-py."""
        if pubsub.connection is None:
            async with self._connect_lock:
                if pubsub.connection is None:
                    await pubsub.connect()

    async def _server_subscribe(self, pubsub: PubSub, name: str) -> None:
        confirmed = asyncio.get_running_loop().create_future()
        self._confirmations[name] = confirmed
        try:
            await pubsub.subscribe(name)
            await asyncio.wait_for(confirmed, SUBSCRIBE_TIMEOUT)
        except BaseException:
            self._confirmations.pop(name, None)
            with suppress(*_RedisErrors):
                await pubsub.unsubscribe(name)
            raise

    async def _unsubscribe(self, queue: HandlerQueue) -> None:
        async with self._pubsub_lock:
            subscribers = self._handlers.get(queue.channel)
            if subscribers is None or queue not in subscribers:
                return
            subscribers.remove(queue)
            if subscribers:
                return
            del self._handlers[queue.channel]
            if self._pubsub is not None:
                try:
                    await self._pubsub.unsubscribe(queue.channel)
                except _RedisErrors:
                    logger.warning("could not unsubscribe %s", queue.channel, exc_info=True)

    async def _listen(self, pubsub: PubSub) -> None:
        """Read the shared PubSub connection forever; reconnect with backoff when Redis is away."""
        backoff = 0.1
        while True:
            raise_if_cancelling()
            try:
                await self._connect(pubsub)
                message = await pubsub.get_message(timeout=LISTEN_POLL)
            except _RedisErrors as exc:
                logger.warning("Redis pub/sub unavailable (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, LISTEN_BACKOFF_MAX)
                continue
            backoff = 0.1
            if message is not None:
                self._on_message(message)

    def _on_message(self, message: dict[str, Any]) -> None:
        kind, channel = message.get("type"), message.get("channel")
        if not isinstance(channel, str):
            return
        if kind == "subscribe":
            confirmed = self._confirmations.pop(channel, None)
            if confirmed is not None and not confirmed.done():
                confirmed.set_result(None)
        elif kind == "message":
            self._dispatch(channel, message.get("data"))

    def _dispatch(self, channel: str, data: Any) -> None:
        subscribers = self._handlers.get(channel)
        if not subscribers:
            return
        try:
            decoded = json.loads(data)
        except (TypeError, ValueError):
            logger.warning("ignoring a non-JSON message on %s", channel)
            return
        if not isinstance(decoded, dict):
            logger.warning("ignoring a non-object message on %s", channel)
            return
        subscribers[0].put(decoded)
        for queue in subscribers[1:]:
            queue.put(json.loads(data))  # each handler gets its own dict


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _hit_rate(hits: Any, misses: Any) -> float | None:
    if hits is None or misses is None:
        return None
    lookups = int(hits) + int(misses)
    return None if lookups == 0 else round(100 * int(hits) / lookups, 1)
