"""Chat messages: ids, inserts, history pages, deletes, and the auto-wipe's bookkeeping on the chat row.

A message is identified inside its chat by `(ms, seq)` ("{ms}-{seq}" on the wire).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, Select, and_, bindparam, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from portal.db.models import Chat, Message
from portal.domain import MessageType

MessageId = tuple[int, int]
DELETE_BATCH = 100  # ids per DELETE statement (keeps the OR list small)


def _newest_first() -> tuple[Any, ...]:
    return (Message.ms.desc(), Message.seq.desc())


def _one_of(ids: Sequence[MessageId]) -> Any:
    return or_(*(and_(Message.ms == ms, Message.seq == seq) for ms, seq in ids))


# ---- send ---------------------------------------------------------------------------------------------


async def next_id(session: AsyncSession, chat: Chat, now: datetime) -> MessageId:
    """Hand out the chat's next message id in one atomic statement: "{ms}-{seq}", strictly increasing. The
    same statement records the chat's activity (a message is activity), so a send updates the row once."""
    now_ms = int(now.timestamp() * 1000)
    newer = now_ms > Chat.last_message_ms
    result = await session.execute(
        update(Chat)
        .where(Chat.id == chat.id)
        .values(
            last_message_seq=case((newer, 0), else_=Chat.last_message_seq + 1),
            last_message_ms=case((newer, now_ms), else_=Chat.last_message_ms),
            last_activity_at=now,
        )
        .returning(Chat.last_message_ms, Chat.last_message_seq)
        .execution_options(synchronize_session=False)
    )
    ms, seq = result.one()
    set_committed_value(chat, "last_activity_at", now)  # already written: no second UPDATE at flush
    return int(ms), int(seq)


async def add(session: AsyncSession, message: Message) -> Message:
    session.add(message)
    await session.flush()
    return message


# ---- read ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageRow:
    """A message read for display only: its columns, no ORM object (a history page loads up to 100, and
    building ORM instances was a tenth of the request: docs/performance.md)."""

    chat_id: int
    ms: int
    seq: int
    sender_id: int | None
    sender_level: int | None
    type: str
    content: str
    epoch: int
    created_at: datetime

    @property
    def wire_id(self) -> str:
        return f"{self.ms}-{self.seq}"


_ROW_COLUMNS = tuple(getattr(Message, field.name) for field in fields(MessageRow))


async def page(
    session: AsyncSession,
    chat_id: int,
    *,
    limit: int,
    before: MessageId | None = None,
    since: datetime | None = None,
) -> list[MessageRow]:
    """The newest `limit` messages older than `before` (and created at or after `since`), oldest first."""
    params: dict[str, Any] = {"chat_id": chat_id, "limit": limit}
    if before is not None:
        params["ms"], params["seq"] = before
    if since is not None:
        params["since"] = since
    rows = (await session.execute(_page_query(before is not None, since is not None), params)).all()
    return [MessageRow(*row) for row in reversed(rows)]


@functools.cache
def _page_query(before: bool, since: bool) -> Select[Any]:
    """Built once per shape (building it was a tenth of a history request, docs/performance.md).
    Parameters: `chat_id`, `limit`, and `ms` + `seq` with `before`, `since` with `since`."""
    query = select(*_ROW_COLUMNS).where(Message.chat_id == bindparam("chat_id"))
    if before:
        ms: BindParameter[int] = bindparam("ms")
        seq: BindParameter[int] = bindparam("seq")
        query = query.where((Message.ms < ms) | ((Message.ms == ms) & (Message.seq < seq)))
    if since:
        query = query.where(Message.created_at >= bindparam("since"))
    return query.order_by(*_newest_first()).limit(bindparam("limit"))


async def by_ids(session: AsyncSession, chat_id: int, ids: Sequence[MessageId]) -> list[Message]:
    """The chat's messages among `ids` (ids that name no message are skipped)."""
    if not ids:
        return []
    query = select(Message).where(Message.chat_id == chat_id, _one_of(ids))
    return list((await session.execute(query)).scalars().all())


async def by_sender(session: AsyncSession, chat_id: int, sender_id: int) -> list[Message]:
    query = select(Message).where(Message.chat_id == chat_id, Message.sender_id == sender_id)
    return list((await session.execute(query)).scalars().all())


async def newest_user_messages(session: AsyncSession, chat_id: int, count: int) -> list[Message]:
    """The newest `count` user (not system) messages, newest first."""
    query = (
        select(Message)
        .where(Message.chat_id == chat_id, Message.type == MessageType.USER)
        .order_by(*_newest_first())
        .limit(count)
    )
    return list((await session.execute(query)).scalars().all())


async def newest_kinds_and_texts(session: AsyncSession, chat_id: int, count: int) -> list[tuple[str, str]]:
    """(type, content) of the newest `count` messages, newest first."""
    query = (
        select(Message.type, Message.content)
        .where(Message.chat_id == chat_id)
        .order_by(*_newest_first())
        .limit(count)
    )
    return [(kind, content) for kind, content in (await session.execute(query)).all()]


# ---- delete -------------------------------------------------------------------------------------------


async def delete_ids(session: AsyncSession, chat_id: int, ids: Sequence[MessageId]) -> list[MessageId]:
    """Delete the chat's messages among `ids`, in batches; answers the ids really deleted by this call (a
    concurrent delete of the same message counts for whoever removed it first)."""
    wanted = sorted(ids)
    removed: list[MessageId] = []
    for start in range(0, len(wanted), DELETE_BATCH):
        result = await session.execute(
            delete(Message)
            .where(Message.chat_id == chat_id, _one_of(wanted[start : start + DELETE_BATCH]))
            .returning(Message.ms, Message.seq)
            .execution_options(synchronize_session=False)
        )
        removed.extend((int(ms), int(seq)) for ms, seq in result.all())
    return removed


async def purge(session: AsyncSession, chat_id: int) -> int:
    """Delete every message of the chat; answers how many there were."""
    count = select(func.count()).select_from(Message).where(Message.chat_id == chat_id)
    purged = int((await session.execute(count)).scalar_one())
    await session.execute(delete(Message).where(Message.chat_id == chat_id))
    return purged


# ---- auto-wipe ----------------------------------------------------------------------------------------


async def due_for_wipe(
    session: AsyncSession, presets: Mapping[str, int], now: datetime
) -> list[tuple[int, str, datetime]]:
    """(chat id, preset, anchor) of every chat whose preset's interval (`presets`: seconds by name) has
    passed since its wipe anchor."""
    due: list[tuple[int, str, datetime]] = []
    for preset, seconds in presets.items():
        query = select(Chat.id, Chat.wipe_anchor_at).where(
            Chat.wipe_preset == preset, Chat.wipe_anchor_at <= now - timedelta(seconds=seconds)
        )
        rows = (await session.execute(query)).all()  # the <= leaves out chats without an anchor
        due += [(chat_id, preset, anchor) for chat_id, anchor in rows if anchor is not None]
    return due


async def claim_wipe(session: AsyncSession, chat_id: int, anchor: datetime, new_anchor: datetime) -> bool:
    """Move the chat's wipe anchor from `anchor` to `new_anchor`; False when it no longer holds `anchor`
    (another node claimed this wipe, or the preset changed meanwhile)."""
    result = await session.execute(
        update(Chat)
        .where(Chat.id == chat_id, Chat.wipe_anchor_at == anchor)
        .values(wipe_anchor_at=new_anchor)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
