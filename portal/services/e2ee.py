"""End-to-end encryption bookkeeping (00 §4, 08 §13–14): keys, wrapped chat keys, epochs, the distributor.

The server never sees a chat key. It stores each session's public key and the blobs clients make, counts
epochs, and names one **distributor** per chat and epoch: the earliest-joined online session that holds
the current epoch's blob, or — right after a rotation, or for a chat with no key yet — the earliest-joined
session with a registered key. The distributor is told which sessions lack a blob (`key:needed`); if it
leaves, or stays silent for `PORTAL_KEY_DISTRIBUTOR_TIMEOUT` seconds, the next session is named.
Deadlines live in the LiveStore (a sorted set), so any node can act on them.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import chats as chats_db
from portal.db import e2ee as e2ee_db
from portal.db.models import ChatKeyBlob
from portal.db.uow import on_commit, unit_of_work
from portal.errors import BadRequest, ErrorCode, NotFound, coded
from portal.live.base import LockTimeout
from portal.security import session_public_id
from portal.services.notifier import chat_room, session_room
from portal.services.sessions import AuthContext

if TYPE_CHECKING:
    from portal.container import Container

log = logging.getLogger("portal.e2ee")
PUBLIC_KEY_BYTES = 32
SEALED_CHAT_KEY_BYTES = 32 + 48  # crypto_box_seal overhead: ephemeral public key + MAC
DEADLINES = "e2ee:deadlines"


def _distributor_key(chat_id: int) -> str:
    return f"e2ee:distributor:{chat_id}"


def decode_exact(value: str, size: int) -> bytes | None:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size else None


@dataclass(frozen=True)
class JoinedSession:
    """A session with at least one socket in the room (its earliest join decides the order)."""

    token_hash: str
    session_pk: int
    user_id: int
    joined_ms: int
    public_key: str | None

    @property
    def session_id(self) -> str:
        return session_public_id(self.token_hash)

    def ref(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "session_id": self.session_id}

    def with_key(self) -> dict[str, Any]:
        return {**self.ref(), "public_key": self.public_key}


class E2EEService:
    def __init__(self, container: Container) -> None:
        self.c = container

    # ---- public keys ------------------------------------------------------------------------------

    async def register_key(self, ctx: AuthContext, public_key: str) -> str:
        """`POST /v1/portal/keys`: "registered" (stored or replaced) or "unchanged"."""
        if decode_exact(public_key, PUBLIC_KEY_BYTES) is None:
            raise BadRequest("public_key must be 32 bytes, base64-encoded")
        async with unit_of_work(self.c.db) as session:
            changed = await e2ee_db.put_key(
                session, ctx.session.id, ctx.user.id, public_key, self.c.clock.now()
            )
        if not changed:
            return "unchanged"
        for chat_id in await self.c.presence.chats_of_session(ctx.token_hash):
            await self.c.notifier.emit(
                "portal:key_added",
                {
                    "chat_id": chat_id,
                    "user_id": ctx.user.id,
                    "session_id": ctx.session_id,
                    "public_key": public_key,
                },
                room=chat_room(chat_id),
            )
            await self.ensure_distribution(chat_id)
        return "registered"

    async def sessions_ended(self, ended: list[tuple[int, int, str]]) -> None:
        """Sessions (pk, user_id, token_hash) ended: their keys and blobs go; rooms they had joined hear
        `portal:key_removed` (08 §57, no rotation), and a distributor among them is replaced."""
        if not ended:
            return
        async with unit_of_work(self.c.db) as session:
            await e2ee_db.drop_keys(session, [pk for pk, _user, _hash in ended])
        for _pk, user_id, token_hash in ended:
            for chat_id in await self.c.presence.chats_of_session(token_hash):
                await self.c.notifier.emit(
                    "portal:key_removed",
                    {
                        "chat_id": chat_id,
                        "user_id": user_id,
                        "session_id": session_public_id(token_hash),
                    },
                    room=chat_room(chat_id),
                )
                await self.session_left(chat_id, token_hash)

    # ---- who is in the room -----------------------------------------------------------------------

    async def joined_sessions(self, session: AsyncSession, chat_id: int) -> list[JoinedSession]:
        """Sessions in the room now, earliest first, banned users left out (08 §14, §50)."""
        earliest: dict[str, tuple[int, int]] = {}
        for record in await self.c.presence.sockets_in(chat_id):
            if record.token_hash not in earliest:
                earliest[record.token_hash] = (record.joined_ms, record.user_id)
        rows = await e2ee_db.sessions_by_hash(session, list(earliest))
        keys = await e2ee_db.keys_for(session, [row.id for row in rows.values()])
        banned = await self.c.restrictions.banned_user_ids(
            session, chat_id, {u for _ms, u in earliest.values()}
        )
        sessions = [
            JoinedSession(
                token_hash=token_hash,
                session_pk=rows[token_hash].id,
                user_id=user_id,
                joined_ms=joined_ms,
                public_key=keys.get(rows[token_hash].id),
            )
            for token_hash, (joined_ms, user_id) in earliest.items()
            if token_hash in rows and user_id not in banned
        ]
        return sorted(sessions, key=lambda s: (s.joined_ms, s.session_pk))

    async def join_info(self, chat_id: int, token_hash: str) -> dict[str, Any]:
        """The E2EE part of the `room:join` ack: `public_keys`, the caller's `key`, the `distributor`."""
        async with self.c.db.read() as session:
            chat = await chats_db.get(session, chat_id)
            joined = await self.joined_sessions(session, chat_id)
            mine = next((s for s in joined if s.token_hash == token_hash), None)
            blob = (
                await e2ee_db.blob_for(session, chat_id, chat.epoch, mine.session_pk)
                if chat and mine
                else None
            )
        distributor = await self._current(chat_id)
        return {
            "public_keys": [s.with_key() for s in joined if s.public_key],
            "key": {"epoch": chat.epoch, "blob": blob} if chat and blob else None,
            "distributor": {"user_id": distributor["user_id"], "session_id": distributor["session_id"]}
            if distributor
            else None,
        }

    # ---- the distributor --------------------------------------------------------------------------

    async def _current(self, chat_id: int) -> dict[str, Any] | None:
        raw = await self.c.live.get(_distributor_key(chat_id))
        return json.loads(raw) if raw else None

    async def ensure_distribution(self, chat_id: int) -> None:
        """After a join or a new key: make sure someone is named and told who lacks the key."""
        await self._elect(chat_id, announce=False)

    async def session_left(self, chat_id: int, token_hash: str) -> None:
        """The last socket of a session left the room: if it was the distributor, name the next one."""
        current = await self._current(chat_id)
        if current and current["token_hash"] == token_hash:
            await self._elect(chat_id, announce=True, exclude=token_hash)

    async def rotate(self, session: AsyncSession, chat_id: int, *, leaving_user: int | None = None) -> int:
        """Advance the epoch inside the caller's transaction; after commit old blobs are gone and the room
        hears `room:epoch_changed` with the new distributor. `leaving_user` (a kick or ban) is never named,
        even while their sockets are still being removed."""
        chat = await chats_db.get_for_update(session, chat_id)
        if chat is None:
            raise NotFound("Chat")
        chat.epoch += 1
        await e2ee_db.drop_old_blobs(session, chat_id, chat.epoch)

        async def announce() -> None:
            await self.c.live.delete(_distributor_key(chat_id))
            await self._elect(chat_id, announce=True, force_announce=True, leaving_user=leaving_user)

        on_commit(session, announce)
        return chat.epoch

    async def _elect(
        self,
        chat_id: int,
        *,
        announce: bool,
        exclude: str | None = None,
        force_announce: bool = False,
        leaving_user: int | None = None,
    ) -> None:
        try:
            async with self.c.live.lock(f"e2ee:{chat_id}", ttl=10, wait=5):
                await self._elect_locked(
                    chat_id,
                    announce=announce,
                    exclude=exclude,
                    force_announce=force_announce,
                    leaving_user=leaving_user,
                )
        except LockTimeout:
            log.warning("could not elect a key distributor for chat %s (lock busy)", chat_id)

    async def _elect_locked(
        self,
        chat_id: int,
        *,
        announce: bool,
        exclude: str | None,
        force_announce: bool,
        leaving_user: int | None,
    ) -> None:
        async with self.c.db.read() as session:
            chat = await chats_db.get(session, chat_id)
            if chat is None:
                return
            joined = [s for s in await self.joined_sessions(session, chat_id) if s.user_id != leaving_user]
            holders = await e2ee_db.holders(session, chat_id, chat.epoch)
        with_key = [s for s in joined if s.public_key]
        others = [s for s in with_key if s.token_hash != exclude]
        candidates = others or with_key  # a silent distributor who is alone is asked again
        current = await self._current(chat_id)
        keep = next(
            (
                s
                for s in candidates
                if current
                and s.token_hash == current["token_hash"]
                and current["epoch"] == chat.epoch
                and s.token_hash != exclude
            ),
            None,
        )
        chosen = (
            keep
            or next((s for s in candidates if s.session_pk in holders), None)
            or next(iter(candidates), None)
        )
        changed = chosen is not None and keep is None
        if chosen is None:
            await self.c.live.delete(_distributor_key(chat_id))
            await self.c.live.zrem(DEADLINES, str(chat_id))
        else:
            await self.c.live.set(
                _distributor_key(chat_id),
                json.dumps(
                    {
                        "token_hash": chosen.token_hash,
                        "session_id": chosen.session_id,
                        "user_id": chosen.user_id,
                        "epoch": chat.epoch,
                    }
                ),
            )
        distributor = chosen.ref() if chosen else None
        if force_announce or (announce and changed):
            await self.c.notifier.emit(
                "room:epoch_changed",
                {"chat_id": chat_id, "epoch": chat.epoch, "distributor": distributor},
                room=chat_room(chat_id),
            )
        if chosen is not None:
            await self._ask(chat_id, chat.epoch, chosen, [s for s in with_key if s.session_pk not in holders])

    async def _ask(
        self, chat_id: int, epoch: int, distributor: JoinedSession, lacking: list[JoinedSession]
    ) -> None:
        """Tell the distributor who lacks the key, and start its 5-second clock."""
        if not lacking:
            await self.c.live.zrem(DEADLINES, str(chat_id))
            return
        await self.c.notifier.emit(
            "key:needed",
            {
                "chat_id": chat_id,
                "epoch": epoch,
                "sessions": [s.with_key() for s in lacking],
            },
            room=session_room(distributor.token_hash),
        )
        deadline = self.c.clock.time() + self.c.settings.key_distributor_timeout
        await self.c.live.zadd(DEADLINES, {str(chat_id): deadline})

    async def check_deadlines(self) -> int:
        """Fail over every chat whose distributor stayed silent past its deadline (any node may run this)."""
        failed = 0
        for member, _score in await self.c.live.zrange_by_score(DEADLINES, 0, self.c.clock.time()):
            chat_id = int(member)
            current = await self._current(chat_id)
            await self.c.live.zrem(DEADLINES, member)
            await self._elect(chat_id, announce=True, exclude=current["token_hash"] if current else None)
            failed += 1
        return failed

    # ---- key:distribute ---------------------------------------------------------------------------

    async def distribute(
        self, who_user_id: int, token_hash: str, chat_id: int, epoch: int, keys: list[dict[str, Any]]
    ) -> int:
        """Store blobs from the named distributor (or a holder of this epoch); answer how many were new."""
        recipients: list[tuple[str, str]] = []
        async with unit_of_work(self.c.db) as session:
            chat = await chats_db.get(session, chat_id)
            if chat is None:
                raise NotFound("Chat")
            if epoch != chat.epoch:
                raise coded(ErrorCode.EPOCH_MISMATCH, 403)
            joined = {s.session_id: s for s in await self.joined_sessions(session, chat_id)}
            sender = next((s for s in joined.values() if s.token_hash == token_hash), None)
            current = await self._current(chat_id)
            named = current is not None and current["token_hash"] == token_hash and current["epoch"] == epoch
            holds = sender is not None and sender.session_pk in await e2ee_db.holders(session, chat_id, epoch)
            if sender is None or not (named or holds):
                raise coded(ErrorCode.NOT_DISTRIBUTOR, 403)
            now = self.c.clock.now()
            for entry in keys:
                target = joined.get(str(entry.get("session_id")))
                if target is None or target.user_id != entry.get("user_id"):
                    continue  # sessions that have not joined are skipped (08 §13)
                if decode_exact(str(entry.get("blob")), SEALED_CHAT_KEY_BYTES) is None:
                    raise BadRequest("blob must be a sealed 32-byte chat key, base64-encoded")
                if await e2ee_db.store_blob(
                    session,
                    ChatKeyBlob(
                        chat_id=chat_id,
                        epoch=epoch,
                        session_pk=target.session_pk,
                        user_id=target.user_id,
                        blob=entry["blob"],
                        created_at=now,
                    ),
                ):
                    recipients.append((target.token_hash, entry["blob"]))
        for target_hash, blob in recipients:
            await self.c.notifier.emit(
                "key:received",
                {"chat_id": chat_id, "epoch": epoch, "blob": blob},
                room=session_room(target_hash),
            )
        await self._elect(chat_id, announce=False)  # re-list whoever still lacks a key (or stop the clock)
        return len(recipients)

    async def holds_key(self, session: AsyncSession, chat_id: int, epoch: int, session_pk: int) -> bool:
        return await e2ee_db.blob_for(session, chat_id, epoch, session_pk) is not None
