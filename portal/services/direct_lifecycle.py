"""The life of a direct chat after it opens: seating the members' sockets, the disconnect grace
(`room:peer_left` / `room:peer_back`), leave, archive (08 §28), the 24 h expiry and the purge (08 §55).

- **Seat** (08 §54): at match time every connected socket of both members joins the room, on whichever node
  it is (a bus operation, `notifier.seat`), exactly as a `room:join` would.
- **Grace**: when a member has no socket left in the room (a disconnect, `room:leave`, a dead node), their
  membership row gets `away_until` = now + `PORTAL_MATCH_DISCONNECT_GRACE` and the other member hears
  `room:peer_left {grace_until_ms}`. A re-join clears it (`room:peer_back`). The deadline lives in the
  database, so it outlives the node that armed it: the janitor (any node) archives overdue chats; the node
  that armed a deadline also checks it every second (`check_due`, from the presence loop) so the chat ends
  on time rather than on the janitor's next pass.
- **Archive**, one path for the three causes (leave, grace, 24 h expiry), in the contract's order: the
  system message, `room:peer_left {grace_until_ms: 0}` to the remaining member (not on expiry), then
  `room:destroyed {chat_id, archived: true}` and every socket out of the room. `archived_at` is set and the
  key blobs purged in the same transaction as the message, so tokens and sends stop at once. The three
  events travel the LiveStore bus, one path, so they reach each socket in that order before it leaves.
- **Purge**: `PORTAL_DIRECT_ARCHIVE_TTL` after the archive the chat goes with its messages and blobs.
"""

from __future__ import annotations

import heapq
import logging
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import chats as chats_db
from portal.db import direct_lifecycle as direct_db
from portal.db import e2ee as e2ee_db
from portal.db import users as users_db
from portal.db.models import Chat, User
from portal.db.uow import on_commit
from portal.domain import ChatType
from portal.errors import ErrorCode, coded
from portal.events import MessageNew, RoomDestroyed, RoomPeerBack, RoomPeerLeft
from portal.services.base import Service
from portal.services.messages import message_view
from portal.services.notifier import chat_room, user_room

if TYPE_CHECKING:
    from portal.container import Container

log = logging.getLogger("portal.direct")
EXPIRED_TEXT = "Chat expired"  # 08 §17
LEFT_TEXT = "{username} left the chat"  # 08 §17, §28: a leave and a grace that ran out
BATCH = 200


class EndCause(StrEnum):
    LEAVE = "leave"
    GRACE = "grace"
    EXPIRY = "expiry"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class DirectLifecycle(Service):
    def __init__(self, container: Container) -> None:
        super().__init__(container)
        # Deadlines this node armed: (unix seconds, chat id, user id). A cache for punctuality only; the
        # database row is the truth and the janitor the guarantee.
        self._due: list[tuple[float, int, int]] = []

    # ---- seating ----------------------------------------------------------------------------------

    async def seat(self, chat_id: int, user_ids: list[int]) -> None:
        """Join every connected socket of these users to the chat's room (at match time)."""
        await self.c.notifier.seat(chat_id, user_ids)

    # ---- leave ------------------------------------------------------------------------------------

    async def leave(self, *, actor: User, chat_id: int | None = None) -> None:
        """`POST /v1/portal/match/leave`: end the given (or newest) active direct chat of the actor at once.
        404 `ERR_MATCH_NO_ACTIVE_DIRECT` when it is not one of theirs."""
        async with self.c.db.read() as session:
            active = await direct_db.active_ids_for(session, actor.id, self.now)
        target = chat_id if chat_id is not None else next(iter(active), None)
        if target is None or target not in active:
            raise coded(ErrorCode.MATCH_NO_ACTIVE_DIRECT, 404)
        if not await self.archive(target, EndCause.LEAVE, user_id=actor.id):
            raise coded(ErrorCode.MATCH_NO_ACTIVE_DIRECT, 404)  # it ended in the meantime

    # ---- the grace --------------------------------------------------------------------------------

    async def member_away(self, chat_id: int, user_id: int) -> None:
        """The member's last socket left the room: arm the grace and tell the other member."""
        now = self.now
        until = now + timedelta(seconds=self.c.settings.match_disconnect_grace)
        async with self.c.db.transaction() as session:
            chat = await chats_db.get_for_update(session, chat_id)
            if chat is None or not self._is_active(chat, now):
                return
            if not await direct_db.set_away(session, chat_id, user_id, until):
                return
            others = [m for m in await chats_db.member_user_ids(session, chat_id) if m != user_id]
            event = RoomPeerLeft(chat_id=chat_id, user_id=user_id, grace_until_ms=_ms(until))

            async def announce() -> None:
                if others:
                    await self.c.notifier.deliver(event, room=[user_room(o) for o in others])

            on_commit(session, announce)
        heapq.heappush(self._due, (until.timestamp(), chat_id, user_id))
        if until <= now:  # no grace configured: the chat ends now
            await self.archive(chat_id, EndCause.GRACE, user_id=user_id)

    async def member_back(self, chat_id: int, user_id: int) -> None:
        """The member's first socket is in the room again: a running grace ends (`room:peer_back`)."""
        async with self.c.db.transaction() as session:
            chat = await chats_db.get_for_update(session, chat_id)
            if chat is None or chat.archived_at is not None:
                return
            if await direct_db.clear_away(session, chat_id, user_id) is None:
                return
            others = [m for m in await chats_db.member_user_ids(session, chat_id) if m != user_id]
            event = RoomPeerBack(chat_id=chat_id, user_id=user_id)

            async def announce() -> None:
                if others:
                    await self.c.notifier.deliver(event, room=[user_room(o) for o in others])

            on_commit(session, announce)

    async def refuse_ended(self, chat_id: int) -> None:
        """For a join: 409 ERR_CHAT_ARCHIVED when the chat has ended — archived, or due to be (past its
        expiry, or a member's grace ran out and no pass archived it yet: it is archived now)."""
        now = self.now
        async with self.c.db.read() as session:
            chat = await chats_db.get(session, chat_id)
            if chat is None or chat.archived_at is not None:
                raise coded(ErrorCode.CHAT_ARCHIVED, 409)
            overdue = [
                m
                for m in await chats_db.member_user_ids(session, chat_id)
                if (until := await direct_db.away_until(session, chat_id, m)) is not None and until <= now
            ]
            expired = chat.expires_at is not None and chat.expires_at <= now
        if expired:
            await self.archive(chat_id, EndCause.EXPIRY)
            raise coded(ErrorCode.CHAT_ARCHIVED, 409)
        if overdue:
            await self.archive(chat_id, EndCause.GRACE, user_id=overdue[0])
            raise coded(ErrorCode.CHAT_ARCHIVED, 409)

    async def check_due(self) -> int:
        """The deadlines this node armed that have passed (every second, from the presence loop)."""
        now = self.c.clock.time()
        ended = 0
        while self._due and self._due[0][0] <= now:
            _, chat_id, user_id = heapq.heappop(self._due)
            try:
                ended += await self.archive(chat_id, EndCause.GRACE, user_id=user_id)
            except Exception:
                log.exception("archiving direct chat %s after its grace failed", chat_id)
        return ended

    # ---- archive ----------------------------------------------------------------------------------

    async def archive(self, chat_id: int, cause: EndCause, *, user_id: int | None = None) -> bool:
        """End an active direct chat (08 §28); False when there is nothing to do (already archived, the
        member came back, not due yet). `user_id` is who left (leave, grace)."""
        now = self.now
        async with self.c.db.transaction() as session:
            chat = await chats_db.get_for_update(session, chat_id)
            if chat is None or chat.chat_type != ChatType.DIRECT or chat.archived_at is not None:
                return False
            members = await chats_db.member_user_ids(session, chat_id)
            if not await self._due_now(session, chat, cause, user_id, members, now):
                return False
            leaver = await users_db.get(session, user_id) if user_id is not None else None
            text = (
                EXPIRED_TEXT
                if cause is EndCause.EXPIRY
                else LEFT_TEXT.format(username=leaver.username if leaver else "Your peer")
            )
            message = await self.c.messages.post_system(session, chat, text, announce=False)
            chat.archived_at = now
            await direct_db.clear_all_away(session, chat_id)
            await e2ee_db.drop_chat_blobs(session, chat_id)
            said = MessageNew.model_validate(message_view(message, chat, None))
            peer_left = (
                RoomPeerLeft(chat_id=chat_id, user_id=user_id, grace_until_ms=0)
                if cause is not EndCause.EXPIRY and user_id is not None
                else None
            )
            others = [user_room(m) for m in members if m != user_id]

            async def teardown() -> None:
                await self.c.notifier.deliver(said, room=chat_room(chat_id))
                if peer_left is not None and others:
                    await self.c.notifier.deliver(peer_left, room=others)
                await self.c.notifier.evict(chat_id, event=RoomDestroyed(chat_id=chat_id, archived=True))

            on_commit(session, teardown)
        log.info("direct chat %s archived (%s)", chat_id, cause)
        return True

    @staticmethod
    async def _due_now(
        session: AsyncSession,
        chat: Chat,
        cause: EndCause,
        user_id: int | None,
        members: list[int],
        now: datetime,
    ) -> bool:
        match cause:
            case EndCause.LEAVE:
                return user_id in members and DirectLifecycle._is_active(chat, now)
            case EndCause.GRACE:
                if user_id is None or user_id not in members:
                    return False
                until = await direct_db.away_until(session, chat.id, user_id)
                return until is not None and until <= now
            case EndCause.EXPIRY:
                return chat.expires_at is not None and chat.expires_at <= now

    @staticmethod
    def _is_active(chat: Chat, now: datetime) -> bool:
        return chat.archived_at is None and (chat.expires_at is None or chat.expires_at > now)

    # ---- the janitor ------------------------------------------------------------------------------

    async def archive_overdue(self) -> int:
        """Archive the chats whose member stayed away past the grace, then those past `expires_at`."""
        now = self.now
        async with self.c.db.read() as session:
            graces = await direct_db.overdue_graces(session, now, limit=BATCH)
            expired = await direct_db.expired_ids(session, now, limit=BATCH)
        archived = 0
        for chat_id, user_id in graces:  # earliest deadline first: with both away, the first one ends it
            archived += await self._archive_logged(chat_id, EndCause.GRACE, user_id)
        for chat_id in expired:
            archived += await self._archive_logged(chat_id, EndCause.EXPIRY, None)
        return archived

    async def _archive_logged(self, chat_id: int, cause: EndCause, user_id: int | None) -> bool:
        try:
            return await self.archive(chat_id, cause, user_id=user_id)
        except Exception:
            log.exception("archiving direct chat %s (%s) failed", chat_id, cause)
            return False

    async def purge_archived(self) -> int:
        """Chats archived `PORTAL_DIRECT_ARCHIVE_TTL` ago go, with their messages and blobs (history then
        answers 404); their members' sockets hear `room:destroyed {chat_id}` (it leaves their list)."""
        cutoff = self.now - timedelta(seconds=self.c.settings.direct_archive_ttl)
        async with self.c.db.read() as session:
            ids = await direct_db.purgeable_ids(session, cutoff, limit=BATCH)
        for chat_id in ids:
            async with self.c.db.transaction() as session:
                chat = await chats_db.get_for_update(session, chat_id)
                if chat is None or chat.archived_at is None or chat.archived_at > cutoff:
                    continue
                listers = await self.c.chats.lister_rooms(session, chat)
                await chats_db.remove(session, chat_id)

                async def gone(chat_id: int = chat_id, listers: list[str] = listers) -> None:
                    if listers:
                        await self.c.notifier.send(RoomDestroyed(chat_id=chat_id), room=listers)
                    await self.c.presence.drop_room(chat_id)

                on_commit(session, gone)
        return len(ids)
