"""Matchmaking: interest queues in the LiveStore, atomic pairing, and the match status (05-match).

Interface stub for issue 11 — the match-queue helper fills it in (see docs/architecture.md for the pattern).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from portal.services.base import Service

if TYPE_CHECKING:
    from portal.services.sessions import AuthContext


class Matchmaking(Service):
    async def remove_everywhere(self, user_id: int) -> None:
        """Take the user out of every interest queue (dequeue, a stranger block, a pairing). Idempotent."""
        raise NotImplementedError("issue 11: matchmaking")

    async def refresh(self, user_id: int) -> None:
        """A sign of life (`presence:ping`, a connect): the user's queue entry lives another queue TTL."""
        raise NotImplementedError("issue 11: matchmaking")

    async def enqueue(self, ctx: AuthContext, interests: list[str]) -> object:
        raise NotImplementedError("issue 11: matchmaking")
