"""Request rate limits: fixed windows aligned to the clock, counted in the LiveStore.

A hit is one `INCR` of `rl:{bucket}:{key}:{window_start}`; the window is in the key, so expiry in the
store is only garbage collection and every node agrees on the count through Redis.

When the LiveStore does not answer (Redis down), requests pass unlimited and without headers: the
service stays usable and `/health` can report `degraded` instead of failing every request.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from enum import StrEnum

from portal.clock import Clock
from portal.errors import RateLimited
from portal.live.base import LiveStore

log = logging.getLogger(__name__)


class Tier(StrEnum):
    LOGIN = "LOGIN"
    AUTH = "AUTH"
    ADMIN = "ADMIN"
    PUBLIC = "PUBLIC"
    BOT = "BOT"
    HEALTH = "HEALTH"


PER_MINUTE = {
    Tier.LOGIN: 20,
    Tier.AUTH: 120,
    Tier.ADMIN: 60,
    Tier.PUBLIC: 120,
    Tier.BOT: 600,
    Tier.HEALTH: 60,
}

# Refused bot keys (unknown, inactive, malformed, missing) per client IP and minute: a LOGIN-like budget.
# Counted by client IP, not by the presented key, so rotating random keys does not start a fresh count.
BOT_KEY_FAILURES = "BOT_KEY_FAILURES"
BOT_KEY_FAILURES_PER_MINUTE = 20


@dataclass(frozen=True)
class Window:
    """Where a caller stands in one window; becomes the `X-RateLimit-*` headers."""

    limit: int
    remaining: int
    reset: int  # seconds until the window resets

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


class RateLimitExceeded(RateLimited):
    def __init__(self, window: Window, message: str | None = None) -> None:
        super().__init__(message, retry_after=window.reset)
        self.window = window


class RateLimiter:
    def __init__(self, live: LiveStore, clock: Clock, *, enabled: bool) -> None:
        self.live = live
        self.clock = clock
        self.enabled = enabled

    def _window(self, bucket: str, key: str, window_seconds: int) -> tuple[str, int]:
        """The counter's key in the current window and the whole seconds until the window resets."""
        now = self.clock.time()
        start = int(now // window_seconds) * window_seconds
        return f"rl:{bucket}:{key}:{start}", max(1, math.ceil(start + window_seconds - now))

    async def count(self, bucket: str, key: str, *, window_seconds: int) -> tuple[int, int] | None:
        """Count one hit in the current window: (hits so far, seconds until the window resets). None when
        limits are off or the store does not answer."""
        if not self.enabled:
            return None
        counter, reset = self._window(bucket, key, window_seconds)
        try:
            count = await self.live.incr(counter, ttl=window_seconds + 5)
        except Exception as exc:  # the store is down: fail open rather than refuse every request
            log.warning("rate limit %s not applied, the LiveStore did not answer: %s", bucket, exc)
            return None
        return count, reset

    async def hit(self, bucket: str, key: str, *, limit: int, window_seconds: int) -> Window | None:
        """Count one request; raise `RateLimitExceeded` past the limit. None when limits are off."""
        counted = await self.count(bucket, key, window_seconds=window_seconds)
        if counted is None:
            return None
        count, reset = counted
        window = Window(limit=limit, remaining=max(0, limit - count), reset=reset)
        if count > limit:
            raise RateLimitExceeded(window)
        return window

    async def check_spent(self, bucket: str, key: str, *, limit: int, window_seconds: int) -> None:
        """Raise `RateLimitExceeded` when this window's count has reached `limit`; counts nothing."""
        if not self.enabled:
            return
        counter, reset = self._window(bucket, key, window_seconds)
        try:
            count = int(await self.live.get(counter) or 0)
        except Exception as exc:  # fail open, as `hit` does
            log.warning("rate limit %s not checked, the LiveStore did not answer: %s", bucket, exc)
            return
        if count >= limit:
            raise RateLimitExceeded(Window(limit=limit, remaining=0, reset=reset))

    async def check_bot_key_failures(self, ip: str) -> None:
        """Before a bot key is looked up: refuse an IP that spent its budget of refused keys."""
        await self.check_spent(BOT_KEY_FAILURES, ip, limit=BOT_KEY_FAILURES_PER_MINUTE, window_seconds=60)

    async def count_bot_key_failure(self, ip: str) -> None:
        """One refused bot key from `ip` (raises `RateLimitExceeded` once the budget is spent)."""
        await self.hit(BOT_KEY_FAILURES, ip, limit=BOT_KEY_FAILURES_PER_MINUTE, window_seconds=60)

    async def hit_tier(self, tier: Tier, key: str) -> Window | None:
        return await self.hit(tier.value, key, limit=PER_MINUTE[tier], window_seconds=60)
