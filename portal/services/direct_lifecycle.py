"""The life of a direct chat after it opens: seating the members' sockets, the disconnect grace
(`room:peer_left` / `room:peer_back`), leave, archive (08 §28), the 24 h expiry and the purge (08 §55).

Interface stub for issue 11 — the direct-chat lifecycle helper fills it in.
"""

from __future__ import annotations

from portal.db.models import User
from portal.services.base import Service


class DirectLifecycle(Service):
    async def seat(self, chat_id: int, user_ids: list[int]) -> None:
        """Join every connected socket of these users to the chat's room (at match time)."""
        raise NotImplementedError("issue 11: direct lifecycle")

    async def leave(self, *, actor: User, chat_id: int | None = None) -> None:
        """`POST /v1/portal/match/leave`: end the given (or newest) active direct chat of the actor at once.
        404 `ERR_MATCH_NO_ACTIVE_DIRECT` when it is not one of theirs."""
        raise NotImplementedError("issue 11: direct lifecycle")
