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


@dataclass(frozen=True)
class MatchEntry:
    """A user's match-queue entry: the tags it waits on (in the order given), its place in the queues
    (`seq`, FIFO across every tag) and when it lapses (`deadline_ms`, application-clock Unix ms)."""

    user_id: int
    tags: list[str]
    seq: int
    deadline_ms: int


@dataclass(frozen=True)
class MatchOutcome:
    """What `match_enqueue` did. `kind`:
    - "queued": no compatible user was waiting; the caller now waits on its tags;
    - "paired": `peer` (who queued first, with its `peer_tags`) was taken out of every queue for the caller;
    - "searching": the caller already has a live entry (nothing changed);
    - "slots": no free direct-chat slot once pairings not yet settled are counted (nothing changed);
    - "stale": the caller's match generation moved since it was read (re-read and try again)."""

    kind: str
    peer: int | None = None
    peer_tags: list[str] | None = None


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

    # ---- match queues (portal/services/matchmaking.py) --------------------------------------------
    # One FIFO queue per interest tag plus one entry per user; each operation below is one atomic step
    # (a Lua script on Redis, a step without `await` in memory). Times are application-clock Unix ms.
    async def match_generation(self, user_id: int) -> int:
        """A counter that moves whenever the user is paired or a pairing of theirs settles."""

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
        """Atomically: refuse when the generation moved ("stale"), when the user already has a live entry
        ("searching"), or when `free_slots` minus their unsettled pairings is not positive ("slots"); else
        take the earliest live waiting user on any of `tags` who is neither the user nor in `excluded` nor
        an unsettled pairing of theirs, remove it from every queue, mark the pair unsettled on both sides
        and bump both generations ("paired"); else put the user on every tag ("queued"). Lapsed entries
        met on the way are removed; unsettled pairings older than `pending_ttl_ms` no longer count."""

    async def match_settled(self, first: int, second: int) -> None:
        """The pair's direct chat is written (or failed): forget the unsettled mark, bump both generations."""

    async def match_entry(self, user_id: int) -> MatchEntry | None:
        """The user's entry as stored (the caller compares `deadline_ms` with now); a pure read."""

    async def match_remove(self, user_id: int) -> bool:
        """Take the user off every queue; False when they had no entry."""

    async def match_refresh(self, user_id: int, *, now_ms: int, deadline_ms: int) -> bool:
        """Move a live entry's deadline to `deadline_ms`; False (nothing changed) without a live entry."""

    async def match_sockets(
        self, user_id: int, delta: int, *, now_ms: int, refresh_ms: int, grace_ms: int
    ) -> int:
        """Count a socket of the user in (+1) or out (-1) and answer how many remain. A socket in moves a
        live entry's deadline to `refresh_ms`; the last socket out brings it forward to `grace_ms` (if
        that is sooner)."""

    async def match_reap(self, now_ms: int, *, limit: int = 500) -> list[int]:
        """Remove up to `limit` entries whose deadline has passed; answer their users."""

    # ---- locks -----------------------------------------------------------------------------------
    def lock(self, name: str, *, ttl: float = 10.0, wait: float = 5.0) -> AbstractAsyncContextManager[None]:
        """A mutual-exclusion lock across every process sharing the store. Raises LockTimeout."""

    # ---- pub/sub bus -----------------------------------------------------------------------------
    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Deliver a JSON-serialisable dict to every subscriber of `channel` (in every process)."""

    async def subscribe(self, channel: str, handler: BusHandler) -> Subscription:
        """Call `handler(message)` for each message published on `channel` after this returns."""
