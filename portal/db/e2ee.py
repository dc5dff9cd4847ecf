"""Session public keys and wrapped chat keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from portal.db.conflicts import insert_unless_taken
from portal.db.models import ChatKeyBlob, SessionKey, UserSession
from portal.db.restrictions import not_banned


async def key_of(session: AsyncSession, session_pk: int) -> SessionKey | None:
    return await session.get(SessionKey, session_pk)


async def put_key(
    session: AsyncSession, session_pk: int, user_id: int, public_key: str, now: datetime
) -> bool:
    """Store or replace a session's key; False when it is the same key as stored (nothing changes)."""
    row = await session.get(SessionKey, session_pk)
    if row is not None and row.public_key == public_key:
        return False
    if row is None:
        session.add(
            SessionKey(
                session_pk=session_pk, user_id=user_id, public_key=public_key, created_at=now, updated_at=now
            )
        )
    else:
        row.public_key, row.updated_at = public_key, now
    await session.flush()
    return True


async def drop_keys(session: AsyncSession, session_pks: Sequence[int]) -> None:
    """A session's key and blobs die with it."""
    if session_pks:
        await session.execute(delete(SessionKey).where(SessionKey.session_pk.in_(session_pks)))
        await session.execute(delete(ChatKeyBlob).where(ChatKeyBlob.session_pk.in_(session_pks)))


async def open_sessions_with_keys(
    session: AsyncSession, token_hashes: Sequence[str], *, unbanned_in: int, now: datetime
) -> dict[str, tuple[int, str | None]]:
    """Token hash → (session pk, registered public key or None) of the open sessions among the hashes
    (presence records carry the hash) whose users are not banned from chat `unbanned_in`, in one query."""
    if not token_hashes:
        return {}
    query = (
        select(UserSession.token_hash, UserSession.id, SessionKey.public_key)
        .outerjoin(SessionKey, SessionKey.session_pk == UserSession.id)
        .where(
            UserSession.token_hash.in_(set(token_hashes)),
            UserSession.ended_at.is_(None),
            not_banned(unbanned_in, UserSession.user_id, now),
        )
    )
    return {token_hash: (pk, key) for token_hash, pk, key in (await session.execute(query)).all()}


async def blob_for(session: AsyncSession, chat_id: int, epoch: int, session_pk: int) -> str | None:
    row = await session.get(ChatKeyBlob, (chat_id, epoch, session_pk))
    return row.blob if row else None


async def holders(session: AsyncSession, chat_id: int, epoch: int) -> set[int]:
    """Sessions holding a blob of this epoch."""
    query = select(ChatKeyBlob.session_pk).where(ChatKeyBlob.chat_id == chat_id, ChatKeyBlob.epoch == epoch)
    return set((await session.execute(query)).scalars().all())


async def store_blob(session: AsyncSession, blob: ChatKeyBlob) -> bool:
    """Insert unless a blob is already stored for that (chat, epoch, session): the first one wins."""
    if await session.get(ChatKeyBlob, (blob.chat_id, blob.epoch, blob.session_pk)) is not None:
        return False
    return await insert_unless_taken(session, blob)


BLOBS_PER_INSERT = 1000  # rows per statement, far under PostgreSQL's 32,767 parameters


async def store_blobs(session: AsyncSession, blobs: Sequence[ChatKeyBlob]) -> set[int]:
    """Insert each unless a blob is stored for its (chat, epoch, session): the first one wins. Answers the
    sessions (`session_pk`) whose blob went in. One `INSERT … ON CONFLICT DO NOTHING RETURNING` per
    thousand blobs, where one by one took four statements each (a join storm's batches hold hundreds:
    docs/performance.md). A session deleted meanwhile (its foreign key) fails the batch's savepoint; the
    batch is then stored one by one, so the others still get theirs."""
    first_per_session: dict[int, ChatKeyBlob] = {}
    for blob in blobs:
        first_per_session.setdefault(blob.session_pk, blob)
    unique = list(first_per_session.values())
    stored: set[int] = set()
    for start in range(0, len(unique), BLOBS_PER_INSERT):
        batch = unique[start : start + BLOBS_PER_INSERT]
        rows = [{c: getattr(blob, c) for c in _BLOB_COLUMNS} for blob in batch]
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(ChatKeyBlob).values(rows).on_conflict_do_nothing().returning(ChatKeyBlob.session_pk)
        )
        try:
            async with session.begin_nested():
                stored.update((await session.execute(statement)).scalars().all())
        except IntegrityError:
            for blob in batch:
                if await store_blob(session, blob):
                    stored.add(blob.session_pk)
    return stored


_BLOB_COLUMNS = ("chat_id", "epoch", "session_pk", "user_id", "blob", "created_at")


async def drop_old_blobs(session: AsyncSession, chat_id: int, epoch: int) -> None:
    """On rotation every blob of an older epoch goes."""
    await session.execute(
        delete(ChatKeyBlob).where(ChatKeyBlob.chat_id == chat_id, ChatKeyBlob.epoch < epoch)
    )


async def drop_epoch_blobs(session: AsyncSession, chat_id: int, epoch: int) -> None:
    """Every blob of one epoch (its key is being replaced: one key per epoch)."""
    await session.execute(
        delete(ChatKeyBlob).where(ChatKeyBlob.chat_id == chat_id, ChatKeyBlob.epoch == epoch)
    )


async def drop_blobs_of(session: AsyncSession, session_pk: int) -> None:
    """Every blob of one session (it registered a new key: the old blobs are sealed for the old one)."""
    await session.execute(delete(ChatKeyBlob).where(ChatKeyBlob.session_pk == session_pk))


async def drop_chat_blobs(session: AsyncSession, chat_id: int) -> None:
    """Every blob of a chat (a direct chat that ended: its keys are purged, 05 §5.4)."""
    await session.execute(delete(ChatKeyBlob).where(ChatKeyBlob.chat_id == chat_id))
