"""The LiveStore: ephemeral, shareable state.

Two implementations with one contract: `MemoryLiveStore` (one process) and `RedisLiveStore` (many nodes).
Keys passed in are relative; every implementation prefixes them (`{prefix}:{key}`), so several installs or
test runs can share one Redis. Values are strings; callers encode JSON themselves.

TTLs here are for garbage collection and crash recovery. Rules that depend on time (rate-limit windows,
code expiry, grace deadlines) compute with the application clock and put the window in the key or the
value, so the store's notion of time never decides an outcome.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

BusHandler = Callable[[dict[str, Any]], Awaitable[None]]


class LockTimeout(Exception):
    """A lock could not be taken within the wait time."""


@dataclass(frozen=True)
class LiveStats:
    """What `/health` shows as `cache_statistics` (Redis-only figures are None for memory)."""

    memory_usage_bytes: int | None
    total_keys: int | None
    connected_clients: int | None
    uptime_seconds: int | None
    evicted_keys: int | None
    hit_rate: float | None
    total_commands_processed: int | None
    latency_ms: float | None


class Subscription(Protocol):
    async def close(self) -> None: ...


class LiveStore(Protocol):
    """Contract shared by the memory and Redis stores; `tests/live/test_contract.py` runs on both."""

    kind: str  # "memory" or "redis"

    async def start(self) -> None:
        """Connect (Redis) / start background tasks. Idempotent."""

    async def close(self) -> None:
        """Stop subscriptions and release connections. Idempotent."""

    async def ping(self) -> bool:
        """True when the store answers."""

    async def stats(self) -> LiveStats: ...

    # ---- plain keys ------------------------------------------------------------------------------
    async def get(self, key: str) -> str | None: ...

    async def set(
        self, key: str, value: str, *, ttl: float | None = None, only_if_absent: bool = False
    ) -> bool:
        """Store `value`. With `only_if_absent`, do nothing and answer False when the key exists."""

    async def delete(self, *keys: str) -> int:
        """Delete keys of any type; answer how many existed."""

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        """Add `amount` to an integer key (missing = 0); `ttl` is applied only when this call creates it."""

    async def expire(self, key: str, ttl: float) -> bool:
        """Set a key's time to live; False when the key does not exist."""

    async def ttl(self, key: str) -> float | None:
        """Seconds left, or None when the key is missing or has no expiry."""

    # ---- sets ------------------------------------------------------------------------------------
    async def sadd(self, key: str, *members: str) -> int: ...

    async def srem(self, key: str, *members: str) -> int: ...

    async def smembers(self, key: str) -> builtins.set[str]: ...  # plain `set` here means the method above

    async def scard(self, key: str) -> int: ...

    async def sismember(self, key: str, member: str) -> bool: ...

    # ---- hashes ----------------------------------------------------------------------------------
    async def hset(self, key: str, mapping: dict[str, str]) -> None: ...

    async def hget(self, key: str, field: str) -> str | None: ...

    async def hgetall(self, key: str) -> dict[str, str]: ...

    async def hdel(self, key: str, *fields: str) -> int: ...

    async def hincr(self, key: str, field: str, amount: int = 1) -> int: ...

    # ---- sorted sets -----------------------------------------------------------------------------
    async def zadd(self, key: str, mapping: dict[str, float]) -> int:
        """Add or update members; answer how many were new."""

    async def zrem(self, key: str, *members: str) -> int: ...

    async def zscore(self, key: str, member: str) -> float | None: ...

    async def zcard(self, key: str) -> int: ...

    async def zrange_by_score(
        self, key: str, min_score: float, max_score: float, *, limit: int | None = None
    ) -> list[tuple[str, float]]:
        """Members with min <= score <= max, lowest score first (ties by member)."""

    # ---- locks -----------------------------------------------------------------------------------
    def lock(self, name: str, *, ttl: float = 10.0, wait: float = 5.0) -> AbstractAsyncContextManager[None]:
        """A mutual-exclusion lock across every process sharing the store. Raises LockTimeout."""

    # ---- pub/sub bus -----------------------------------------------------------------------------
    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Deliver a JSON-serialisable dict to every subscriber of `channel` (in every process)."""

    async def subscribe(self, channel: str, handler: BusHandler) -> Subscription:
        """Call `handler(message)` for each message published on `channel` after this returns."""
