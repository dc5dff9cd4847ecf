"""Encrypted messages: send, history, deletes, clear and the auto-wipe.

The server checks a message's outer shape only (CiphertextV2: `{"v":2,"epoch":N,"ct":...}`) and stores
the submitted string unchanged; it never holds a key that could open it.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import chats as chats_db
from portal.db import messages as messages_db
from portal.db import restrictions as restrictions_db
from portal.db import users as users_db
from portal.db.models import Chat, Message, User
from portal.db.uow import on_commit
from portal.domain import MessageType
from portal.errors import BadRequest, ErrorCode, coded
from portal.events import MessageBulkDeleted, MessageNew, PortalCleared
from portal.services.audit import AuditEvent
from portal.services.base import Service
from portal.services.chat_access import ChatContext, Need, access_chat, can_manage, may_target
from portal.services.messages import message_object, message_view, sender_ref
from portal.services.notifier import chat_room
from portal.services.sessions import AuthContext

MIN_CT_BYTES = 40  # 24-byte nonce + 16-byte MAC
WIPE_PRESETS = {"1m": 60, "15m": 900, "1h": 3600, "4h": 14400, "24h": 86400}
BAD_BUNDLE = "content must be a CiphertextV2 bundle"
WIPED_TEXT = "Messages were wiped"
CLEARED_SUFFIX = " cleared the chat"

log = logging.getLogger("portal.messaging")


def is_wipe_notice(text: str) -> bool:
    """The system messages that restart the wipe timer: a wipe, a clear, a preset change.
    Usernames hold no spaces, so no join or leave message can read like one of these."""
    return text == WIPED_TEXT or text.endswith(CLEARED_SUFFIX) or text.startswith("Auto-wipe ")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


BUNDLE_KEYS = frozenset({"v", "epoch", "ct"})


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("repeated key")
    return dict(pairs)


def parse_bundle(content: str) -> int:
    """The epoch of a CiphertextV2 bundle; 400 when the outer shape is wrong: not a JSON object, `v` not
    the integer 2, `epoch` not a non-negative integer, `ct` not base64 of at least 40 bytes. A string that
    is not valid Unicode (a lone surrogate from a `\\ud800` escape) could not be stored and is refused.
    The object has exactly the keys `v`, `epoch` and `ct`, each once (08 §67): the stored string is the
    client's, so any other key, or a repeated one, could carry plaintext beside the ciphertext."""
    try:
        content.encode("utf-8")
        bundle = json.loads(content, object_pairs_hook=_unique_keys)
    except ValueError:  # UnicodeEncodeError and JSONDecodeError are both ValueErrors
        raise BadRequest(BAD_BUNDLE) from None
    except RecursionError:  # nested deeper than parses safely: like such a request body (08 §67)
        raise BadRequest() from None
    if not isinstance(bundle, dict) or bundle.keys() != BUNDLE_KEYS:
        raise BadRequest(BAD_BUNDLE)
    if not _is_int(bundle["v"]) or bundle["v"] != 2:
        raise BadRequest(BAD_BUNDLE)
    epoch, ct = bundle.get("epoch"), bundle.get("ct")
    if not _is_int(epoch) or epoch < 0 or not isinstance(ct, str):
        raise BadRequest(BAD_BUNDLE)
    try:
        raw = base64.b64decode(ct, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(BAD_BUNDLE) from None
    if len(raw) < MIN_CT_BYTES:
        raise BadRequest(BAD_BUNDLE)
    return epoch


MESSAGE_ID = re.compile(r"([0-9]{1,15})-([0-9]{1,9})")


def parse_message_id(value: str) -> tuple[int, int] | None:
    """ "{ms}-{seq}" in ASCII digits (`str.isdigit` would let "²" through to `int()`), else None."""
    match = MESSAGE_ID.fullmatch(value)
    return (int(match.group(1)), int(match.group(2))) if match else None


def rate(setting: str) -> tuple[int, int]:
    count, _, seconds = setting.partition("/")
    return int(count), int(seconds)


class MessagingService(Service):
    # ---- send -------------------------------------------------------------------------------------

    async def send(self, ctx: AuthContext, chat_id: int, content: str) -> str:
        """Every check of a send, in the contract's order; answers the new message id."""
        user = ctx.user
        async with self.c.db.transaction() as session:
            # The chat row stays locked until commit, so a clear or wipe cannot rotate the epoch between
            # the epoch check and the insert (sends take the same row lock for the id anyway).
            chat_ctx = await access_chat(session, user, chat_id, lock=True)
            chat = chat_ctx.chat
            if chat.archived_at is not None:
                raise coded(ErrorCode.CHAT_ARCHIVED, 409)
            if not await self.c.presence.session_in_room(chat_id, ctx.token_hash):
                raise coded(ErrorCode.NOT_JOINED, 403)
            now = self.c.clock.now()
            # The sender's bans, mutes and key in one statement; checked in the contract's order below.
            facts = await restrictions_db.send_facts(
                session, chat_id, user.id, ctx.session.id, chat.epoch, now
            )
            self.c.restrictions.refuse_silenced(facts, now)
            epoch = parse_bundle(content)
            if epoch != chat.epoch:
                raise coded(ErrorCode.EPOCH_MISMATCH, 403)
            if not facts.holds_key:  # read for the chat's epoch, which the bundle's matches here
                raise coded(ErrorCode.NO_ROOM_KEY, 403)
            await self._rate_limit(chat_id, user.id)
            ms, seq = await messages_db.next_id(session, chat, now)
            message = await messages_db.add(
                session,
                Message(
                    chat_id=chat_id,
                    ms=ms,
                    seq=seq,
                    sender_id=user.id,
                    sender_level=user.permission_level,
                    type=MessageType.USER,
                    content=content,
                    epoch=epoch,
                    created_at=now,
                ),
            )
            platforms = await self.c.auth_cache.platforms(user.id)  # the sender's, usually cached
            event = MessageNew.model_validate(message_view(message, chat, user, platforms))

            async def announce() -> None:
                await self.c.notifier.send(event, room=chat_room(chat_id))

            on_commit(session, announce)
        return message.wire_id

    async def _rate_limit(self, chat_id: int, user_id: int) -> None:
        """30 per 10 s per user per chat, 300 per 10 s per chat (`PORTAL_MESSAGE_RATE_*`)."""
        limiter = self.c.rate_limiter
        per_user, user_window = rate(self.c.settings.message_rate_user)
        per_chat, chat_window = rate(self.c.settings.message_rate_chat)
        await limiter.hit("MSG_USER", f"{chat_id}:{user_id}", limit=per_user, window_seconds=user_window)
        await limiter.hit("MSG_CHAT", str(chat_id), limit=per_chat, window_seconds=chat_window)

    # ---- history ----------------------------------------------------------------------------------

    async def history(
        self, ctx: AuthContext, chat_id: int, *, limit: int, before: str | None
    ) -> list[dict[str, Any]]:
        """The newest `limit` messages before `before`, oldest first; with `history_visible`
        off, non-managers only see what was sent since their latest join."""
        cursor = parse_message_id(before) if before is not None else None
        if before is not None and cursor is None:
            raise BadRequest("before must be a message id")
        async with self.c.db.read() as session:
            chat_ctx = await access_chat(session, ctx.user, chat_id, refuse_banned_at=self.now)
            since = await self._visible_since(session, chat_ctx)
            rows = await messages_db.page(session, chat_id, limit=limit, before=cursor, since=since)
            views = await self.views(session, chat_ctx.chat, rows)
        return views

    async def _visible_since(self, session: AsyncSession, ctx: ChatContext) -> datetime | None:
        """Where a non-manager's history starts when `history_visible` is off: the user's latest
        first-socket join. A membership row records it (its `joined_at` moves on every first join); a
        user without one (an Admin in a private chat) counts from their earliest socket in the room now.
        Another session of a user already present does not move it: it gets the same key."""
        if ctx.chat.history_visible or can_manage(ctx):
            return None
        member = await chats_db.membership(session, ctx.chat.id, ctx.actor.id)
        if member is not None:
            return member.joined_at
        times = [
            r.joined_ms for r in await self.c.presence.sockets_in(ctx.chat.id) if r.user_id == ctx.actor.id
        ]
        return datetime.fromtimestamp(min(times) / 1000, UTC) if times else self.c.clock.now()

    async def views(
        self, session: AsyncSession, chat: Chat, rows: Sequence[Message | messages_db.MessageRow]
    ) -> list[dict[str, Any]]:
        senders, platforms = await users_db.users_with_platforms(
            session, [r.sender_id for r in rows if r.sender_id]
        )
        refs = {uid: sender_ref(user, platforms.get(uid, [])) for uid, user in senders.items()}
        return [message_object(r, chat.id, chat.name, refs.get(r.sender_id or 0)) for r in rows]

    # ---- deletes ----------------------------------------------------------------------------------

    async def delete_ids(self, chat_id: int, ids: list[str], *, actor: User) -> int:
        """Delete by id: own messages always; system messages; others' only if the actor may target their
        sender. Others, and ids that name no message, are skipped and not counted."""
        wanted = sorted({parsed for parsed in map(parse_message_id, ids) if parsed is not None})
        async with self.c.db.transaction() as session:
            ctx = await self._moderated(session, actor, chat_id)
            rows = await messages_db.by_ids(session, chat_id, wanted)
            deletable = await self._deletable(session, ctx, rows)
            return await self._remove(session, chat_id, deletable)

    async def delete_mine(self, chat_id: int, *, actor: User) -> int:
        """Every message the caller sent in the chat (any user who may see it)."""
        async with self.c.db.transaction() as session:
            await access_chat(session, actor, chat_id)
            return await self._remove(
                session, chat_id, await messages_db.by_sender(session, chat_id, actor.id)
            )

    async def delete_last(self, chat_id: int, count: int, *, actor: User) -> int:
        """The newest `count` user messages, minus those whose sender the actor may not target."""
        async with self.c.db.transaction() as session:
            ctx = await self._moderated(session, actor, chat_id)
            newest = await messages_db.newest_user_messages(session, chat_id, count)
            return await self._remove(session, chat_id, await self._deletable(session, ctx, newest))

    async def _moderated(self, session: AsyncSession, actor: User, chat_id: int) -> ChatContext:
        return await access_chat(session, actor, chat_id, need=Need.MODERATE)

    async def _deletable(self, session: AsyncSession, ctx: ChatContext, rows: list[Message]) -> list[Message]:
        senders = await chats_db.users_by_id(session, [r.sender_id for r in rows if r.sender_id])
        return [
            r
            for r in rows
            if r.type == MessageType.SYSTEM
            or r.sender_id == ctx.actor.id
            or (r.sender_id in senders and may_target(ctx, senders[r.sender_id]))
        ]

    async def _remove(self, session: AsyncSession, chat_id: int, rows: list[Message]) -> int:
        """Delete `rows` and announce the ids that were really removed (a concurrent delete of the same
        message counts once, for whoever removed it first)."""
        removed = await messages_db.delete_ids(session, chat_id, [(r.ms, r.seq) for r in rows])
        if not removed:
            return 0
        ids = [f"{ms}-{seq}" for ms, seq in sorted(removed)]

        async def announce() -> None:
            await self.c.notifier.send(MessageBulkDeleted(chat_id=chat_id, ids=ids), room=chat_room(chat_id))

        on_commit(session, announce)
        return len(ids)

    # ---- clear and wipe ---------------------------------------------------------------------------

    async def clear(self, chat_id: int, *, actor: User) -> int:
        """Owner or Admin+ (rank over the owner); Moderators cannot."""
        async with self.c.db.transaction() as session:
            ctx = await access_chat(session, actor, chat_id, need=Need.CLEAR, lock=True)
            cleared = await self._purge(session, ctx.chat, f"{actor.username}{CLEARED_SUFFIX}")
            await self.c.audit.record(
                session, AuditEvent.CHAT_CLEAR, actor=actor, on=("chat", chat_id), cleared=cleared
            )
        return cleared

    async def _purge(self, session: AsyncSession, chat: Chat, system_text: str) -> int:
        """Delete every message, announce `portal:cleared`, restart the wipe timer, rotate, post a message."""
        cleared = await messages_db.purge(session, chat.id)
        chat_id = chat.id

        async def announce() -> None:
            await self.c.notifier.send(
                PortalCleared(chat_id=chat_id, cleared=cleared), room=chat_room(chat_id)
            )

        on_commit(session, announce)
        chat.wipe_anchor_at = self.c.clock.now() if chat.wipe_preset else None
        await self.c.e2ee.rotate(session, chat_id)
        await self.c.messages.post_system(session, chat, system_text)
        return cleared

    async def run_wipes(self) -> int:
        """Wipe every chat whose preset interval has passed since its anchor, the latest preset change,
        clear or wipe. A conditional update of the anchor makes one node wipe once; a failure in
        one chat does not stop the others."""
        now = self.c.clock.now()
        async with self.c.db.read() as session:
            due = await messages_db.due_for_wipe(session, WIPE_PRESETS, now)
        wiped = 0
        for chat_id, preset, anchor in due:
            try:
                wiped += await self._wipe(chat_id, WIPE_PRESETS[preset], anchor, now)
            except Exception:
                log.exception("wiping chat %s failed", chat_id)
        return wiped

    async def _wipe(self, chat_id: int, seconds: int, anchor: datetime, now: datetime) -> int:
        """One due chat. An empty chat is skipped without a rotation or an event; its timer
        stays on the preset's beat (anchor + k·N), so the next check is N after the skipped one."""
        async with self.c.db.transaction() as session:
            beats = (now - anchor) // timedelta(seconds=seconds)
            on_beat = anchor + beats * timedelta(seconds=seconds)
            if not await messages_db.claim_wipe(session, chat_id, anchor, on_beat):
                return 0  # another node took it (or the preset changed meanwhile)
            chat = await chats_db.get(session, chat_id)
            if chat is None or await self._nothing_to_wipe(session, chat_id):
                return 0
            await self._purge(session, chat, WIPED_TEXT)
            chat.wipe_anchor_at = now
        return 1

    @staticmethod
    async def _nothing_to_wipe(session: AsyncSession, chat_id: int) -> bool:
        """Empty: no message at all, or only the notice of the latest wipe, clear or preset
        change. Counting that notice would make every chat with a preset "non-empty" for ever: an idle
        chat would rotate its key and post "Messages were wiped" every N."""
        rows = await messages_db.newest_kinds_and_texts(session, chat_id, 2)
        if not rows:
            return True
        if len(rows) > 1:
            return False
        kind, content = rows[0]
        return kind == MessageType.SYSTEM and is_wipe_notice(content)
