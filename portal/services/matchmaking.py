"""Matchmaking: interest queues in the LiveStore, atomic pairing, and the match status (05-match).

One FIFO queue per tag; a user waits on each of their 1–3 tags at once and the first pairing on any shared
tag wins. Each queue operation is one atomic LiveStore step (`match_*`, a Lua script on Redis), so two
nodes can never hand one waiting user to two newcomers. The database is the truth for active direct chats:
enqueue reads the caller's active chats (slots, and whom not to pair them with again) and passes them in;
a pairing whose chat is not written yet is held in the LiveStore ("unsettled") until `open` finishes, and a
generation counter makes an enqueue that read the database before such a change try again
(docs/decisions.md, "Matchmaking and direct chats").
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from portal.db.models import User
from portal.errors import ErrorCode, coded
from portal.schemas.match import TAG_PATTERN, MatchChatOut, MatchStatusOut
from portal.services.base import Service
from portal.services.subscriptions import is_premium

if TYPE_CHECKING:
    from portal.services.direct_chats import ActiveDirectChat
    from portal.services.sessions import AuthContext

log = logging.getLogger("portal.match")

TAG = re.compile(TAG_PATTERN)
FREE_DIRECT_SLOTS = 1
PREMIUM_DIRECT_SLOTS = 3
PENDING_PAIR_TTL = 60.0  # seconds an unsettled pairing holds a slot if its node died before writing the chat
MAX_ATTEMPTS = 20  # an enqueue retries while a pairing of the caller settles under it
REAP_BATCH = 500


def valid_tags(requested: list[Any]) -> list[str]:
    """Each tag must match `^[a-z0-9]{3,12}$` exactly (no case folding); duplicates collapse in order."""
    tags: list[str] = []
    for tag in requested:
        if not isinstance(tag, str) or not TAG.fullmatch(tag):
            raise coded(ErrorCode.MATCH_UNSUPPORTED_INTEREST, 400)
        if tag not in tags:
            tags.append(tag)
    return tags


def direct_slots(user: User, now: datetime) -> int:
    """Concurrent direct chats: 1, or 3 for premium (tier ≥ 1, not expired) — 00 §3.6."""
    return PREMIUM_DIRECT_SLOTS if is_premium(user, now) else FREE_DIRECT_SLOTS


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


class Matchmaking(Service):
    @property
    def _now_ms(self) -> int:
        return int(self.c.clock.time() * 1000)

    def _ttl_ms(self) -> int:
        return self.c.settings.match_queue_ttl * 1000

    async def enqueue(self, ctx: AuthContext, interests: list[Any]) -> MatchStatusOut:
        """`POST /v1/portal/match`: checks in the order of 08 §30 (the body's shape is the schema's), then
        pairs at once with the earliest compatible waiting user, or waits. Always answers `searching`."""
        tags = valid_tags(interests)
        user = ctx.user
        if user.is_stranger and await self.c.strangers.is_blocked(ctx.token_hash):
            raise coded(ErrorCode.STRANGER_BLOCKED, 403)
        slots = direct_slots(user, self.now)
        for _ in range(MAX_ATTEMPTS):
            generation = await self.c.live.match_generation(user.id)
            active = await self.c.direct_chats.active_for(user.id)
            now_ms = self._now_ms
            deadline_ms = now_ms + self._ttl_ms()
            outcome = await self.c.live.match_enqueue(
                user.id,
                tags,
                now_ms=now_ms,
                deadline_ms=deadline_ms,
                excluded=[chat.peer_id for chat in active],
                free_slots=slots - len(active),
                generation=generation,
                pending_ttl_ms=int(PENDING_PAIR_TTL * 1000),
            )
            if outcome.kind != "stale":
                break
        else:
            raise RuntimeError(f"enqueue of user {user.id} kept racing its own pairings")
        if outcome.kind == "searching":
            raise coded(ErrorCode.MATCH_ALREADY_SEARCHING, 409)
        if outcome.kind == "slots":
            raise coded(ErrorCode.MATCH_SLOT_LIMIT, 409)
        if outcome.kind == "paired":
            assert outcome.peer is not None and outcome.peer_tags is not None
            first = outcome.peer  # the peer was waiting: it queued first
            matched_on = [tag for tag in outcome.peer_tags if tag in tags]
            try:
                await self.c.direct_chats.open(first, user.id, matched_on)
            finally:
                await self.c.live.match_settled(first, user.id)
        # The chats read before the queue step are still the user's unless the step paired them.
        known = None if outcome.kind == "paired" else active
        return await self.status(user, searching=(tags, deadline_ms), active=known)

    async def status(
        self,
        user: User,
        *,
        searching: tuple[list[str], int] | None = None,
        active: list[ActiveDirectChat] | None = None,
    ) -> MatchStatusOut:
        """`GET /v1/portal/match/status`: searching (a live queue entry) before matched (an active direct
        chat) before idle. A pure read: it never extends the queue entry. `active`: the user's active direct
        chats when the caller has just read them."""
        chats = active if active is not None else await self.c.direct_chats.active_for(user.id)
        listed = [
            MatchChatOut(chat_id=c.chat_id, token=c.token, expires_at=c.expires_at) for c in chats
        ] or None
        if searching is None:
            entry = await self.c.live.match_entry(user.id)
            if entry is not None and entry.deadline_ms > self._now_ms:
                searching = (entry.tags, entry.deadline_ms)
        if searching is not None:
            tags, deadline_ms = searching
            return MatchStatusOut(
                state="searching", interests=tags, expires_at=_time(deadline_ms), chats=listed
            )
        if chats:
            newest = chats[0]
            return MatchStatusOut(
                state="matched", token=newest.token, expires_at=newest.expires_at, chats=listed
            )
        return MatchStatusOut(state="idle")

    async def dequeue(self, user: User) -> MatchStatusOut:
        """`POST /v1/portal/match/dequeue`: off every queue (idempotent); active chats stay."""
        await self.remove_everywhere(user.id)
        return await self.status(user)

    async def remove_everywhere(self, user_id: int) -> None:
        """Take the user out of every interest queue (dequeue, a stranger block, a pairing). Idempotent."""
        await self.c.live.match_remove(user_id)

    async def refresh(self, user_id: int) -> None:
        """A sign of life (`presence:ping`, a connect): the user's queue entry lives another queue TTL."""
        now_ms = self._now_ms
        await self.c.live.match_refresh(user_id, now_ms=now_ms, deadline_ms=now_ms + self._ttl_ms())

    async def socket_connected(self, user_id: int) -> None:
        """A socket of the user connected: count it, and refresh their queue entry (08 §53)."""
        now_ms = self._now_ms
        await self.c.live.match_sockets(
            user_id, +1, now_ms=now_ms, refresh_ms=now_ms + self._ttl_ms(), grace_ms=now_ms
        )

    async def socket_disconnected(self, user_id: int) -> None:
        """A socket of the user went away; after their last one the entry lives at most the grace."""
        now_ms = self._now_ms
        grace_ms = now_ms + self.c.settings.match_disconnect_grace * 1000
        await self.c.live.match_sockets(user_id, -1, now_ms=now_ms, refresh_ms=now_ms, grace_ms=grace_ms)

    async def reap(self) -> int:
        """Drop lapsed queue entries (the janitor's pass; reads ignore them already)."""
        return len(await self.c.live.match_reap(self._now_ms, limit=REAP_BATCH))
