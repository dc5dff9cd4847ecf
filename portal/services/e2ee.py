"""End-to-end encryption bookkeeping: keys, wrapped chat keys, epochs, the
distributor.

The server never sees a chat key. It stores each session's public key and the blobs clients make, counts
epochs, and names one **distributor** per chat and epoch: the earliest-joined online session that holds
the current epoch's blob, or — right after a rotation, or for a chat with no key yet — the earliest-joined
session with a registered key. The distributor is told which sessions lack a blob (`key:needed`); if it
leaves, or stays silent for `PORTAL_KEY_DISTRIBUTOR_TIMEOUT` seconds, the next session is named.

How it is kept consistent:
- Everything that names a distributor or stores blobs runs under one LiveStore lock per chat
  (`e2ee:{chat}`), so elections, failovers and `key:distribute` never interleave, on any node.
- The distributor record (`e2ee:distributor:{chat}`) holds the named session, its epoch, the sessions it
  was asked for (`asked`) and the sessions that already stayed silent at this epoch (`skipped`, so a
  failover walks down the list instead of going back and forth).
- Deadlines live in the sorted set `e2ee:deadlines` (chat → time). A deadline starts when a distributor is
  named or has covered everything it was asked for, and is *not* pushed back by later asks (a newcomer
  must not keep a silent distributor in office). Every node runs `check_deadlines()`; removing the entry
  is the claim, so one deadline fails over once.
- One key per epoch: a distributor that holds no blob makes a new key, so before naming one, any blob of
  the epoch (made by a distributor that went silent half-way, or held by sessions no longer in the room)
  is dropped; those sessions are keyed again from the new key.
- A kick or ban rotates before the user's sockets are out of the room (eviction travels over the bus).
  The sessions of that user in the room at that moment are recorded (`e2ee:leaving:{chat}`) and left out
  of the new epoch until they are gone, so no race can wrap the new key for them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nacl.bindings import crypto_scalarmult
from nacl.exceptions import RuntimeError as NaClError
from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import chats as chats_db
from portal.db import e2ee as e2ee_db
from portal.db.models import ChatKeyBlob
from portal.db.uow import on_commit
from portal.errors import BadRequest, ErrorCode, NotFound, coded
from portal.events import (
    KeyNeeded,
    KeyReceived,
    PortalKeyAdded,
    PortalKeyRemoved,
    RoomEpochChanged,
    SessionKey,
    SessionRef,
)
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
LEAVING_TTL = 86400.0  # garbage collection only: the record is ignored once the epoch moves on
LOCK_TTL = 10.0
LOCK_WAIT = 5.0
RECHECK_AFTER_BUSY = 0.5  # seconds before an election the lock kept out tries again (with no ask interval)
BAD_BLOB = "blob must be a sealed 32-byte chat key, base64-encoded"
BAD_KEY_SIZE = "public_key must be 32 bytes, base64-encoded"
BAD_KEY_POINT = "public_key must be a valid X25519 public key"
# Any scalar will do: X25519 clamps it to a multiple of 8, which sends every small-order point to zero.
_PROBE_SCALAR = bytes(range(1, 33))


def _distributor_key(chat_id: int) -> str:
    return f"e2ee:distributor:{chat_id}"


def _leaving_key(chat_id: int) -> str:
    return f"e2ee:leaving:{chat_id}"


def _lock_name(chat_id: int) -> str:
    return f"e2ee:{chat_id}"


def decode_exact(value: object, size: int) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size else None


def is_x25519_public_key(raw: bytes) -> bool:
    """False for the small-order points (all-zero, the identity, the other low-order points, and their
    non-canonical forms): nothing can be sealed to them, so a distributor could not wrap a chat key for
    such a session. libsodium refuses these itself (its blocklist, and an all-zero shared secret)."""
    try:
        shared = crypto_scalarmult(_PROBE_SCALAR, raw)
    except NaClError:
        return False
    return any(shared)


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

    def ref(self) -> SessionRef:
        return SessionRef(user_id=self.user_id, session_id=self.session_id)

    def with_key(self) -> SessionKey:
        return SessionKey(user_id=self.user_id, session_id=self.session_id, public_key=self.public_key)


@dataclass(frozen=True)
class KeyState:
    """A chat's keys as read at one moment: the epoch, the sessions in the room (with their public keys)
    and, when they were read too, the sessions holding a blob of the epoch."""

    epoch: int
    joined: list[JoinedSession]
    holders: frozenset[int] | None = None

    def may_hold(self, member: JoinedSession) -> bool:
        return self.holders is None or member.session_pk in self.holders


class E2EEService:
    def __init__(self, container: Container) -> None:
        self.c = container
        # Chats with an election of this node waiting for the chat's lock (see `ensure_distribution`).
        self._election_queued: set[int] = set()
        # Chats whose joins skipped their election (an ask was unanswered): one later look each, per node.
        self._rechecks: dict[int, asyncio.Task[None]] = {}

    # ---- public keys ------------------------------------------------------------------------------

    async def register_key(self, ctx: AuthContext, public_key: str) -> str:
        """`POST /v1/portal/keys`: "registered" (stored or replaced) or "unchanged"."""
        raw = decode_exact(public_key, PUBLIC_KEY_BYTES)
        if raw is None:
            raise BadRequest(BAD_KEY_SIZE)
        if not is_x25519_public_key(raw):
            raise BadRequest(BAD_KEY_POINT)
        async with self.c.db.transaction() as session:
            changed = await e2ee_db.put_key(
                session, ctx.session.id, ctx.user.id, public_key, self.c.clock.now()
            )
            if changed:
                # Blobs sealed for the old key cannot be opened any more (a reload makes a new key pair
                # for the same session): drop them, so the session is keyed again for its new key.
                await e2ee_db.drop_blobs_of(session, ctx.session.id)
        if not changed:
            return "unchanged"
        for chat_id in await self.c.presence.chats_of_session(ctx.token_hash):
            if await self._banned(chat_id, ctx.user.id):
                continue  # a REST-banned socket still in the room takes no part in the keys
            added = PortalKeyAdded(
                chat_id=chat_id, user_id=ctx.user.id, session_id=ctx.session_id, public_key=public_key
            )
            await self.c.notifier.send(added, room=chat_room(chat_id))
            await self.ensure_distribution(chat_id, ask=True)  # the distributor is asked again
        return "registered"

    async def sessions_ended(self, ended: list[tuple[int, int, str]]) -> None:
        """Sessions (pk, user_id, token_hash) ended: their keys and blobs go; rooms they had joined hear
        `portal:key_removed` (no rotation), and a distributor among them is replaced."""
        if not ended:
            return
        async with self.c.db.transaction() as session:
            await e2ee_db.drop_keys(session, [pk for pk, _user, _hash in ended])
        for _pk, user_id, token_hash in ended:
            for chat_id in await self.c.presence.chats_of_session(token_hash):
                removed = PortalKeyRemoved(
                    chat_id=chat_id, user_id=user_id, session_id=session_public_id(token_hash)
                )
                await self.c.notifier.send(removed, room=chat_room(chat_id))
                await self.session_left(chat_id, token_hash)

    # ---- who is in the room -----------------------------------------------------------------------

    async def joined_sessions(
        self, session: AsyncSession, chat_id: int, *, leaving: frozenset[str] = frozenset()
    ) -> list[JoinedSession]:
        """Sessions in the room now, earliest first; banned users, ended sessions and the
        sessions of a user being kicked (`leaving`) are left out."""
        earliest: dict[str, tuple[int, int]] = {}
        for record in await self.c.presence.sockets_in(chat_id):
            if record.token_hash not in earliest and record.token_hash not in leaving:
                earliest[record.token_hash] = (record.joined_ms, record.user_id)
        rows = await e2ee_db.open_sessions_with_keys(
            session, list(earliest), unbanned_in=chat_id, now=self.c.clock.now()
        )
        sessions = [
            JoinedSession(
                token_hash=token_hash,
                session_pk=rows[token_hash][0],
                user_id=user_id,
                joined_ms=joined_ms,
                public_key=rows[token_hash][1],
            )
            for token_hash, (joined_ms, user_id) in earliest.items()
            if token_hash in rows
        ]
        return sorted(sessions, key=lambda s: (s.joined_ms, s.session_pk))

    async def join_info(self, chat_id: int, token_hash: str, known: KeyState | None = None) -> dict[str, Any]:
        """The E2EE part of the `room:join` ack: the `epoch`, `public_keys`, the caller's `key`, the
        `distributor`. `known` is what an election made during this join just read (nothing is read
        twice: the caller's blob is looked up only if it holds one)."""
        async with self.c.db.read() as session:
            if known is None:
                known = await self._key_state(session, chat_id)
                if known is None:
                    raise NotFound("Chat")
            epoch, joined = known.epoch, known.joined
            mine = next((s for s in joined if s.token_hash == token_hash), None)
            blob = None
            if mine is not None and known.may_hold(mine):
                blob = await e2ee_db.blob_for(session, chat_id, epoch, mine.session_pk)
        distributor = await self._current(chat_id, epoch)
        return {
            "epoch": epoch,
            "public_keys": [s.with_key().model_dump() for s in joined if s.public_key],
            "key": {"epoch": epoch, "blob": blob} if blob else None,
            "distributor": {"user_id": distributor["user_id"], "session_id": distributor["session_id"]}
            if distributor
            else None,
        }

    async def _key_state(
        self, session: AsyncSession, chat_id: int, *, with_holders: bool = False
    ) -> KeyState | None:
        """The chat's epoch and joined sessions (and the epoch's holders); None when the chat is gone."""
        chat = await chats_db.get(session, chat_id)
        if chat is None:
            return None
        leaving = await self._leaving(chat_id, chat.epoch)
        joined = await self.joined_sessions(session, chat_id, leaving=leaving)
        holders = frozenset(await e2ee_db.holders(session, chat_id, chat.epoch)) if with_holders else None
        return KeyState(epoch=chat.epoch, joined=joined, holders=holders)

    # ---- live records -----------------------------------------------------------------------------

    async def _current(self, chat_id: int, epoch: int | None = None) -> dict[str, Any] | None:
        """The distributor record; None when there is none (or, given `epoch`, it is for another one)."""
        raw = await self.c.live.get(_distributor_key(chat_id))
        record = json.loads(raw) if raw else None
        if record is not None and epoch is not None and record.get("epoch") != epoch:
            return None
        return record

    def _recheck_later(self, chat_id: int) -> None:
        if chat_id in self._rechecks:
            return

        async def recheck() -> None:
            try:
                await asyncio.sleep(self.c.settings.key_ask_interval or RECHECK_AFTER_BUSY)
            finally:
                self._rechecks.pop(chat_id, None)
            try:
                await self.ensure_distribution(chat_id)
            except Exception:
                log.warning("a deferred key election of chat %s failed", chat_id, exc_info=True)

        self._rechecks[chat_id] = asyncio.create_task(recheck(), name=f"e2ee-recheck:{chat_id}")

    async def close(self) -> None:
        """Cancel the deferred elections (the node is stopping)."""
        pending, self._rechecks = list(self._rechecks.values()), {}
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def _unanswered(self, current: dict[str, Any] | None) -> bool:
        """The distributor has not answered its last ask, sent less than `key_ask_interval` ago: a join
        need not ask again (docs/realtime.md, "Keys")."""
        return (
            current is not None
            and bool(current.get("pending"))
            and self.c.clock.time() - float(current.get("asked_at", 0)) < self.c.settings.key_ask_interval
        )

    async def _leaving(self, chat_id: int, epoch: int) -> frozenset[str]:
        raw = await self.c.live.get(_leaving_key(chat_id))
        record = json.loads(raw) if raw else None
        if record is None or record.get("epoch") != epoch:
            return frozenset()
        return frozenset(record.get("token_hashes", []))

    async def _banned(self, chat_id: int, user_id: int) -> bool:
        async with self.c.db.read() as session:
            return bool(await self.c.restrictions.banned_user_ids(session, chat_id, {user_id}))

    def _locked(self, chat_id: int) -> AbstractAsyncContextManager[None]:
        return self.c.live.lock(_lock_name(chat_id), ttl=LOCK_TTL, wait=LOCK_WAIT)

    # ---- the distributor --------------------------------------------------------------------------

    async def ensure_distribution(self, chat_id: int, *, ask: bool = False) -> KeyState | None:
        """After a join or a new key: make sure someone is named and told who lacks the key. Answers the
        keys as the election left them (None when it could not run, or was left to another), for a join's
        ack to reuse.

        When an election of this node already waits for the chat's lock, this one is left to it: it has
        not read the room yet, so it will see this session too. A storm of joins then queues at most one
        election per node behind the running one, instead of one per join (each reading the whole room).
        While the distributor has not answered its last ask, a join runs no election at all (read without
        the lock: the answer's election, which runs under it, sees every session that joined before).
        `ask` (a key registered, an unban) asks the distributor even while its last ask is unanswered."""
        if ask:
            try:
                async with self._locked(chat_id):
                    return await self._elect_locked(chat_id, announce=False, ask=True)
            except LockTimeout:
                log.warning("could not ask the key distributor of chat %s again (lock busy)", chat_id)
                return None
        if self._unanswered(await self._current(chat_id)):
            # The answer's election asks for this session too, unless it read the room just before this
            # join entered it: a look once the interval has passed covers that case.
            self._recheck_later(chat_id)
            return None
        if chat_id in self._election_queued:
            return None
        self._election_queued.add(chat_id)
        waiting = True
        try:
            async with self._locked(chat_id):
                self._election_queued.discard(chat_id)  # from here on a change needs an election of its own
                waiting = False
                return await self._elect_locked(chat_id, announce=False)
        except LockTimeout:
            log.warning("could not elect a key distributor for chat %s (lock busy): trying again", chat_id)
            self._recheck_later(chat_id)  # else this session might never be asked for
            return None
        finally:
            if waiting:  # it never ran: the next change queues one again
                self._election_queued.discard(chat_id)

    async def session_left(self, chat_id: int, token_hash: str) -> None:
        """The last socket of a session left the room: if it was the distributor, name the next one.

        Most who leave are neither the distributor nor a kicked session on the leaving list: they are
        told apart without the chat's lock, which a room emptying at once would otherwise queue on."""
        current = await self._current(chat_id)
        if (
            current is None or current["token_hash"] != token_hash
        ) and token_hash not in await self._leaving_hashes(chat_id):
            return
        try:
            async with self._locked(chat_id):
                await self._forget_leaving(chat_id, token_hash)
                current = await self._current(chat_id)
                if current and current["token_hash"] == token_hash:
                    await self._elect_locked(chat_id, announce=True, exclude=token_hash)
        except LockTimeout:
            log.warning("could not replace the key distributor of chat %s (lock busy)", chat_id)

    async def _leaving_hashes(self, chat_id: int) -> list[str]:
        raw = await self.c.live.get(_leaving_key(chat_id))
        return list(json.loads(raw).get("token_hashes", [])) if raw else []

    async def _forget_leaving(self, chat_id: int, token_hash: str) -> None:
        raw = await self.c.live.get(_leaving_key(chat_id))
        record = json.loads(raw) if raw else None
        if record is None or token_hash not in record.get("token_hashes", []):
            return
        record["token_hashes"] = [t for t in record["token_hashes"] if t != token_hash]
        await self.c.live.set(_leaving_key(chat_id), json.dumps(record), ttl=LEAVING_TTL)

    async def rotate(self, session: AsyncSession, chat_id: int, *, leaving_user: int | None = None) -> int:
        """Advance the epoch inside the caller's transaction; after commit old blobs are gone and the room
        hears `room:epoch_changed` with the new distributor. `leaving_user` (a kick or ban) takes no part
        in the new epoch, even while their sockets are still being removed."""
        chat = await chats_db.get_for_update(session, chat_id)
        if chat is None:
            raise NotFound("Chat")
        chat.epoch += 1
        epoch = chat.epoch
        await e2ee_db.drop_old_blobs(session, chat_id, epoch)

        async def announce() -> None:
            try:
                async with self._locked(chat_id):
                    if leaving_user is not None and not await self._banned(chat_id, leaving_user):
                        # A ban already leaves them out (and an unban lets them back in); a kick needs
                        # the record until their sockets are out of the room.
                        in_room = await self.c.presence.sockets_in(chat_id)
                        hashes = sorted({r.token_hash for r in in_room if r.user_id == leaving_user})
                        await self.c.live.set(
                            _leaving_key(chat_id),
                            json.dumps({"epoch": epoch, "token_hashes": hashes}),
                            ttl=LEAVING_TTL,
                        )
                    await self.c.live.delete(_distributor_key(chat_id))
                    await self._elect_locked(chat_id, announce=True, force_announce=True)
            except LockTimeout:
                log.warning("could not name a key distributor for chat %s after a rotation", chat_id)

        on_commit(session, announce)
        return epoch

    async def _elect_locked(
        self,
        chat_id: int,
        *,
        announce: bool,
        exclude: str | None = None,
        force_announce: bool = False,
        ask: bool = False,
    ) -> KeyState | None:
        """Name (or keep) the distributor and ask it for the sessions that lack the key. Call with the
        chat's lock held. `exclude` is a distributor that left or stayed silent. Answers the keys as the
        election leaves them (None when the chat is gone).

        While the distributor has not answered its last ask (for up to `key_ask_interval`), a join does not
        ask again (`_ask`); `ask` does anyway: its answer came, a session registered a key, the clock ran
        out."""
        async with self.c.db.read() as session:
            state = await self._key_state(session, chat_id, with_holders=True)
        if state is None:
            return None
        epoch, joined, holders = state.epoch, state.joined, set(state.holders or ())
        current = await self._current(chat_id, epoch)
        skipped = set(current.get("skipped", [])) if current else set()
        if exclude is not None:
            skipped.add(exclude)
        with_key = [s for s in joined if s.public_key]
        candidates = [s for s in with_key if s.token_hash not in skipped]
        if not candidates:  # everyone stayed silent: start again from the top (a lone one is asked again)
            skipped = {exclude} if exclude is not None and len(with_key) > 1 else set()
            candidates = [s for s in with_key if s.token_hash not in skipped]
        first_holder = next((s for s in candidates if s.session_pk in holders), None)
        keep = next(
            (
                s
                for s in candidates
                if current is not None and s.token_hash == current["token_hash"] and s.token_hash != exclude
            ),
            None,
        )
        if keep is not None and keep.session_pk not in holders and first_holder is not None:
            keep = None  # it lost its blob (a new key pair) while others hold the key: they wrap it
        chosen = keep or first_holder or next(iter(candidates), None)
        changed = chosen is not None and keep is None
        if chosen is not None and chosen.session_pk not in holders and holders:
            # The new distributor will make a new key: nothing of the old one may stay (one key per epoch).
            async with self.c.db.transaction() as session:
                await e2ee_db.drop_epoch_blobs(session, chat_id, epoch)
            holders = set()
        lacking = [s for s in with_key if s.session_pk not in holders]
        # An ask the same distributor has not answered yet, younger than `key_ask_interval`: newcomers wait
        # for its answer, whose own election lists them (`_ask`). The record keeps what was actually asked.
        now = self.c.clock.time()
        outstanding = not (changed or ask) and chosen is not None and self._unanswered(current)
        if chosen is None:
            await self.c.live.delete(_distributor_key(chat_id))
            await self.c.live.zrem(DEADLINES, str(chat_id))
        else:
            record = {
                "token_hash": chosen.token_hash,
                "session_id": chosen.session_id,
                "user_id": chosen.user_id,
                "epoch": epoch,
                "skipped": sorted(skipped),
                "asked": current.get("asked", [])
                if outstanding and current
                else [s.token_hash for s in lacking],
                "pending": outstanding or bool(lacking),
                "asked_at": current.get("asked_at", now) if outstanding and current else now,
            }
            await self.c.live.set(_distributor_key(chat_id), json.dumps(record))
        if force_announce or (changed and (announce or current is not None)):
            epoch_changed = RoomEpochChanged(
                chat_id=chat_id, epoch=epoch, distributor=chosen.ref() if chosen else None
            )
            await self.c.notifier.send(epoch_changed, room=chat_room(chat_id))
        if chosen is not None and not outstanding:
            await self._ask(chat_id, epoch, chosen, lacking, restart_clock=changed)
        return KeyState(epoch=epoch, joined=joined, holders=frozenset(holders))

    async def _ask(
        self,
        chat_id: int,
        epoch: int,
        distributor: JoinedSession,
        lacking: list[JoinedSession],
        *,
        restart_clock: bool,
    ) -> None:
        """Tell the distributor who lacks the key. Its 5-second clock starts now unless one is already
        running for it (asking again does not give a silent distributor more time).

        Joins do not ask while an ask of the same distributor is unanswered and younger than
        `key_ask_interval` (the record's `pending` and `asked_at`): its `key:distribute` runs an election that
        asks for everyone still lacking the key, newcomers included. A storm of n joins then costs the
        distributor a few asks per interval, each answered once, not up to n asks listing up to n sessions
        each (docs/realtime.md, "Keys")."""
        if not lacking:
            await self.c.live.zrem(DEADLINES, str(chat_id))
            return
        needed = KeyNeeded(chat_id=chat_id, epoch=epoch, sessions=[s.with_key() for s in lacking])
        await self.c.notifier.send(needed, room=session_room(distributor.token_hash))
        if restart_clock or await self.c.live.zscore(DEADLINES, str(chat_id)) is None:
            deadline = self.c.clock.time() + self.c.settings.key_distributor_timeout
            await self.c.live.zadd(DEADLINES, {str(chat_id): deadline})

    async def check_deadlines(self) -> int:
        """Fail over every chat whose distributor stayed silent past its deadline. Every node runs this;
        taking the entry out of the set (under the chat's lock) is the claim."""
        failed = 0
        now = self.c.clock.time()
        for member, _score in await self.c.live.zrange_by_score(DEADLINES, 0, now):
            chat_id = int(member)
            try:
                async with self._locked(chat_id):
                    score = await self.c.live.zscore(DEADLINES, member)
                    if score is None or score > now or not await self.c.live.zrem(DEADLINES, member):
                        continue  # answered in the meantime, or another node took it
                    current = await self._current(chat_id)
                    if current is None or not await self._still_lacking(chat_id, current):
                        continue  # nobody is waiting any more
                    await self._elect_locked(chat_id, announce=True, exclude=current["token_hash"], ask=True)
                    failed += 1
            except LockTimeout:
                log.warning("key distributor failover of chat %s postponed (lock busy)", chat_id)
        return failed

    async def _still_lacking(self, chat_id: int, current: dict[str, Any]) -> bool:
        async with self.c.db.read() as session:
            chat = await chats_db.get(session, chat_id)
            if chat is None or chat.epoch != current.get("epoch"):
                return chat is not None
            joined = await self.joined_sessions(
                session, chat_id, leaving=await self._leaving(chat_id, chat.epoch)
            )
            holders = await e2ee_db.holders(session, chat_id, chat.epoch)
        return any(s.public_key and s.session_pk not in holders for s in joined)

    # ---- key:distribute ---------------------------------------------------------------------------

    async def distribute(self, token_hash: str, chat_id: int, epoch: int, keys: list[dict[str, Any]]) -> int:
        """Store blobs from the named distributor (or a holder of this epoch); answer how many were new.
        Blobs for sessions that have not joined are skipped and not counted; the first blob stored for a
        session wins."""
        if any(decode_exact(entry.get("blob"), SEALED_CHAT_KEY_BYTES) is None for entry in keys):
            raise BadRequest(BAD_BLOB)
        # Before the lock and the database: a session with no socket in the room gets one answer whether the
        # chat exists, is hidden from it or is merely not joined, and never contends for the chat's lock.
        if not any(record.token_hash == token_hash for record in await self.c.presence.sockets_in(chat_id)):
            raise coded(ErrorCode.NOT_DISTRIBUTOR, 403)
        await self._answer_arrived(
            token_hash, chat_id, epoch, {str(entry.get("session_id")) for entry in keys}
        )
        try:
            async with self._locked(chat_id):
                recipients = await self._distribute_locked(token_hash, chat_id, epoch, keys)
        except LockTimeout:
            raise coded(ErrorCode.CONFLICT, 409) from None
        # After the lock: a batch of hundreds is hundreds of emits, which need not hold up the next election.
        await asyncio.gather(
            *(
                self.c.notifier.send(
                    KeyReceived(chat_id=chat_id, epoch=epoch, blob=blob), room=session_room(to)
                )
                for to, blob in recipients
            )
        )
        return len(recipients)

    async def _answer_arrived(self, token_hash: str, chat_id: int, epoch: int, offered: set[str]) -> None:
        """The named distributor answered for everyone it was asked for: it is not silent while its answer
        waits for the chat's lock. Under load that wait can pass its 5 s and fail over a distributor that did
        answer in time; its clock starts again now instead. An answer that leaves someone out changes
        nothing (answering in part again and again must not keep the role)."""
        current = await self._current(chat_id, epoch)
        if current is None or current["token_hash"] != token_hash:
            return
        if not all(session_public_id(asked) in offered for asked in current.get("asked", [])):
            return
        if await self.c.live.zscore(DEADLINES, str(chat_id)) is not None:
            deadline = self.c.clock.time() + self.c.settings.key_distributor_timeout
            await self.c.live.zadd(DEADLINES, {str(chat_id): deadline})

    async def _distribute_locked(
        self, token_hash: str, chat_id: int, epoch: int, keys: list[dict[str, Any]]
    ) -> list[tuple[str, str]]:
        """Store the blobs and run the election the answer calls for; answers (token hash, blob) of each
        session whose blob went in, for the caller to send once the lock is released."""
        recipients: list[tuple[str, str]] = []
        async with self.c.db.transaction() as session:
            chat = await chats_db.get(session, chat_id)
            if chat is None:
                raise NotFound("Chat")
            leaving = await self._leaving(chat_id, chat.epoch)
            joined = {s.session_id: s for s in await self.joined_sessions(session, chat_id, leaving=leaving)}
            sender = next((s for s in joined.values() if s.token_hash == token_hash), None)
            if sender is None:  # before the epoch check: a session outside the room learns nothing of it
                raise coded(ErrorCode.NOT_DISTRIBUTOR, 403)
            if epoch != chat.epoch:
                raise coded(ErrorCode.EPOCH_MISMATCH, 403)
            current = await self._current(chat_id, epoch)
            named = current is not None and current["token_hash"] == token_hash
            holders = await e2ee_db.holders(session, chat_id, epoch)
            if sender is None or not (named or sender.session_pk in holders):
                raise coded(ErrorCode.NOT_DISTRIBUTOR, 403)
            now = self.c.clock.now()
            offered: list[tuple[JoinedSession, ChatKeyBlob]] = []
            for entry in keys:
                target = joined.get(str(entry.get("session_id")))
                if target is None or target.user_id != entry.get("user_id"):
                    continue  # sessions that have not joined are skipped
                blob = ChatKeyBlob(
                    chat_id=chat_id,
                    epoch=epoch,
                    session_pk=target.session_pk,
                    user_id=target.user_id,
                    blob=entry["blob"],
                    created_at=now,
                )
                offered.append((target, blob))
            stored = await e2ee_db.store_blobs(session, [blob for _target, blob in offered])
            for target, blob in offered:
                if target.session_pk in stored:
                    stored.discard(target.session_pk)  # a session listed twice is sent its first blob once
                    recipients.append((target.token_hash, blob.blob))
                    holders.add(target.session_pk)
            by_hash = {s.token_hash: s for s in joined.values()}
            asked = current.get("asked", []) if current is not None else []
            covered = named and all(t not in by_hash or by_hash[t].session_pk in holders for t in asked)
        if covered:
            await self.c.live.zrem(DEADLINES, str(chat_id))  # it answered: a further ask gets a fresh 5 s
        # It answered: re-list whoever still lacks a key, newcomers included (or stop the clock).
        await self._elect_locked(chat_id, announce=False, ask=True)
        return recipients
