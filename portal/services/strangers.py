"""Strangers: the moderators' block list (an HMAC of the stranger's session token, 00 §3.3, 08 §33).

Interface stub for issue 11 — the strangers helper fills it in.
"""

from __future__ import annotations

from portal.db.models import User
from portal.services.base import Service


class Strangers(Service):
    async def is_blocked(self, token_hash: str) -> bool:
        """Whether the stranger session with this token hash is blocked from matchmaking."""
        raise NotImplementedError("issue 11: strangers")

    async def block(self, user_id: int, *, actor: User | None) -> str:
        """Block a stranger's live session; answers "Stranger {id} blocked"."""
        raise NotImplementedError("issue 11: strangers")
