"""Direct chats: opening one for a matched pair, and reading a user's active ones (05-match §6.1).

Interface stub for issue 11 — the match-queue helper fills it in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from portal.services.base import Service


@dataclass(frozen=True)
class ActiveDirectChat:
    chat_id: int
    token: str  # this user's match token for `room:join {token}`
    expires_at: datetime
    created_at: datetime


class DirectChats(Service):
    async def open(self, first_user_id: int, second_user_id: int, matched_on: list[str]) -> int:
        """Create the direct chat of a new pair (first = who queued first); answers its id. Sends
        `match:found` to both and seats their connected sockets (`direct_lifecycle.seat`) after commit."""
        raise NotImplementedError("issue 11: direct chats")

    async def active_for(self, user_id: int) -> list[ActiveDirectChat]:
        """The user's active (not archived, not expired) direct chats, newest first."""
        raise NotImplementedError("issue 11: direct chats")
