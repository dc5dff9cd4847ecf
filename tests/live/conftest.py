"""Fixtures for the LiveStore contract suite: the same tests run on the memory and the Redis store.

Redis runs against `PORTAL_TEST_REDIS_URL` (default redis://127.0.0.1:6379/0) under a unique prefix per
test, whose keys are deleted afterwards; when Redis does not answer, only the Redis variants skip.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest
import redis
import redis.asyncio

from portal.clock import FakeClock
from portal.live import LiveStore, MemoryLiveStore, RedisLiveStore

REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
EXPIRY_DEADLINE = 2.0


def unique_prefix() -> str:
    return f"portal_test_{uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis URL, or skip: checked once, synchronously, outside the event loop."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1, retry=None)
    try:
        client.ping()
    except (redis.RedisError, OSError):
        pytest.skip(f"Redis not reachable at {REDIS_URL}: Redis LiveStore contract not tested")
    finally:
        client.close()
    return REDIS_URL


class LiveHarness:
    """A started store plus what the tests need that differs per backend: making time pass, and
    more stores sharing the same backend (other prefixes, or the same prefix as another node would)."""

    def __init__(self, kind: str, clock: FakeClock, redis_url: str | None) -> None:
        self.kind = kind
        self.clock = clock
        self._redis_url = redis_url
        self._stores: list[LiveStore] = []
        self._prefixes: set[str] = set()
        self._raw: redis.asyncio.Redis | None = None
        self.store: LiveStore

    async def open(self) -> None:
        if self._redis_url is not None:
            self._raw = redis.asyncio.Redis.from_url(self._redis_url, decode_responses=True)
        self.store = await self.new_store()

    async def new_store(self, prefix: str | None = None) -> LiveStore:
        """A started store; a fresh unique prefix unless one is given."""
        prefix = prefix or unique_prefix()
        store: LiveStore
        if self.kind == "memory":
            store = MemoryLiveStore(self.clock, prefix=prefix)
        else:
            assert self._redis_url is not None
            store = RedisLiveStore(self._redis_url, prefix=prefix)
            self._prefixes.add(prefix)
        await store.start()
        self._stores.append(store)
        return store

    async def let_expire(self, ttl: float, *keys: str) -> None:
        """Make `ttl` seconds pass for `keys`: move the fake clock, or (Redis) wait for the server."""
        if self.kind == "memory":
            self.clock.advance(ttl + 0.001)
            return
        assert self._raw is not None
        full = [f"{self.store.prefix}:{key}" for key in keys]  # type: ignore[attr-defined]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + EXPIRY_DEADLINE
        while await self._raw.exists(*full):
            assert loop.time() < deadline, f"keys {keys} did not expire within {EXPIRY_DEADLINE}s"
            await asyncio.sleep(0.01)

    async def aclose(self) -> None:
        for store in self._stores:
            await store.close()
        if self._raw is not None:
            for prefix in self._prefixes:
                keys = [key async for key in self._raw.scan_iter(match=f"{prefix}:*", count=1000)]
                if keys:
                    await self._raw.delete(*keys)
            await self._raw.aclose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1_700_000_000.0)


@pytest.fixture(params=["memory", "redis"])
def live_kind(request: pytest.FixtureRequest) -> str:
    if request.param == "redis":
        request.getfixturevalue("redis_url")  # skips the Redis variant when Redis is absent
    return request.param


@pytest.fixture
async def live(live_kind: str, clock: FakeClock) -> AsyncIterator[LiveHarness]:
    harness = LiveHarness(live_kind, clock, REDIS_URL if live_kind == "redis" else None)
    await harness.open()
    try:
        yield harness
    finally:
        await harness.aclose()


@pytest.fixture
def store(live: LiveHarness) -> LiveStore:
    return live.store
