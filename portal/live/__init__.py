"""LiveStore: ephemeral shared state. Redis when configured, else in-process memory (single node)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from portal.clock import Clock
from portal.live.base import LiveStats, LiveStore, LockTimeout
from portal.live.memory import MemoryLiveStore
from portal.live.redis import RedisLiveStore

if TYPE_CHECKING:
    from portal.config import Settings

__all__ = ["LiveStats", "LiveStore", "LockTimeout", "MemoryLiveStore", "RedisLiveStore", "create_live_store"]


def create_live_store(settings: Settings, clock: Clock) -> LiveStore:
    """Redis when `settings.redis_url` is set (needed for more than one node), else memory."""
    if settings.redis_url:
        return RedisLiveStore(settings.redis_url, prefix=settings.redis_prefix)
    return MemoryLiveStore(clock, prefix=settings.redis_prefix)
