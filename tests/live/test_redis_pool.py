"""The Redis LiveStore under a burst of commands larger than its connection pool (docs/decisions.md)."""

from __future__ import annotations

import asyncio

import redis.asyncio

from portal.live import RedisLiveStore
from portal.live.redis import POOL_SIZE
from tests.live.conftest import unique_prefix


async def test_a_burst_beyond_the_connection_pool_waits_instead_of_failing(redis_url: str) -> None:
    prefix = unique_prefix()
    store = RedisLiveStore(redis_url, prefix=prefix)
    await store.start()
    try:
        burst = POOL_SIZE * 3
        counts = await asyncio.gather(*(store.incr("burst", ttl=60) for _ in range(burst)))
        assert sorted(counts) == list(range(1, burst + 1))
    finally:
        await store.close()
        raw = redis.asyncio.Redis.from_url(redis_url)
        keys = [key async for key in raw.scan_iter(f"{prefix}:*")]
        if keys:
            await raw.delete(*keys)
        await raw.aclose()
