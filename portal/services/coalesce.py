"""Room-wide lists sent at most once per interval per room (docs/decisions.md, "Coalesced room lists").

`room:members` and `chat:status` carry a whole list or count, and a storm of joins would send one per join
to everybody in the room: O(n²) frames for n joins. The first change after a quiet interval is announced at
once; the changes that follow within the interval share one trailing announcement, which reads the state
as it is by then — so the last list a client receives is always the current one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable

log = logging.getLogger("portal.rooms")

Announce = Callable[[], Awaitable[None]]
FORGET_AFTER = 1000  # keys remembered before the quiet ones are dropped


class Coalescer:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: dict[Hashable, float] = {}  # key → when its latest announcement started (loop time)
        self._pending: dict[Hashable, asyncio.Task[None]] = {}

    async def run(self, key: Hashable, now: Announce, later: Announce) -> None:
        """A change to `key`'s list happened: announce it with `now` (state the caller already read), or
        leave it to a trailing `later` (which reads the state itself) if one was announced recently."""
        if self.interval <= 0:
            await now()
            return
        if key in self._pending:
            return  # the trailing announcement has not read the state yet: it will include this change
        loop = asyncio.get_running_loop()
        last = self._last.get(key)
        if last is None or loop.time() - last >= self.interval:
            self._remember(key, loop.time())
            await now()
            return
        delay = last + self.interval - loop.time()
        self._pending[key] = asyncio.create_task(self._trailing(key, later, delay), name=f"coalesce:{key}")

    async def _trailing(self, key: Hashable, later: Announce, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
        finally:
            # Out of `pending` before reading the state: a change from now on schedules its own run.
            self._pending.pop(key, None)
        self._remember(key, asyncio.get_running_loop().time())
        try:
            await later()
        except Exception:
            log.warning("a coalesced announcement for %s failed", key, exc_info=True)

    def _remember(self, key: Hashable, when: float) -> None:
        if len(self._last) >= FORGET_AFTER:
            quiet_since = when - self.interval
            self._last = {k: t for k, t in self._last.items() if t > quiet_since}
        self._last[key] = when

    async def close(self) -> None:
        """Cancel the trailing announcements not yet sent (the node is stopping)."""
        pending, self._pending = list(self._pending.values()), {}
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
