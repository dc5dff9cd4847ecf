"""Time source. Every rule that depends on time reads this clock, so tests can move it.

`Clock.now()` is timezone-aware UTC. Never call `datetime.utcnow()` or `time.time()` in rules.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta


class Clock:
    """The real wall clock."""

    def time(self) -> float:
        return time.time()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)


class FakeClock(Clock):
    """A wall clock that tests can move forward. Starts at the real time so timestamps look real."""

    def __init__(self, start: float | None = None) -> None:
        self._offset = 0.0
        self._frozen = start

    def time(self) -> float:
        base = self._frozen if self._frozen is not None else time.time()
        return base + self._offset

    def advance(self, seconds: float) -> None:
        self._offset += seconds

    def advance_to_next(self, period: float, into: float = 0.0) -> float:
        """Jump to `into` seconds past the next multiple of `period` (the start of a clock-aligned window,
        e.g. a rate-limit minute); answer the end of that window."""
        start = (math.floor(self.time() / period) + 1) * period
        self.set(start + into)
        return start + period

    def set(self, when: datetime | float) -> None:
        """Jump to an absolute moment (the clock keeps running from there)."""
        target = when.timestamp() if isinstance(when, datetime) else when
        self._offset += target - self.time()


def isoformat(value: datetime | None) -> str | None:
    """ISO-8601 UTC with a trailing `Z`."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.tzinfo is not UTC:  # stored values come back in UTC already: no conversion to pay for
        value = value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)
