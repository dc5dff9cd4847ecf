"""The authentication cache: session token hash → the session row and its user, in this process (and each
cached user's linked platforms, which `GET /v1/users/me` shows).

Every cookie request and socket handshake authenticates (`SessionService.authenticate`); with this cache a
known token costs no database statement. Entries are snapshots of the rows, rebuilt as fresh detached ORM
objects on every hit, so no two requests share an instance.

Correctness rests on invalidation, not on the time-to-live: every committed transaction that changes a user
row (beyond `last_activity_at`) or a session tells the cache which users it touched (`portal.db.uow`), the
cache forgets them here at once and publishes `auth:invalidate` on the LiveStore bus, and every node forgets
them when it hears it. A lookup that raced with an invalidation is not stored. Until this node's bus
subscription is confirmed the cache is bypassed. `PORTAL_AUTH_CACHE_TTL` (seconds, 0 = off) bounds how
long an entry lives if an invalidation is lost (a Redis outage). See docs/performance.md.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import inspect
from sqlalchemy.orm import make_transient_to_detached

from portal.db import users as users_db
from portal.db.base import Base
from portal.db.models import LinkedPlatform, User, UserSession
from portal.db.uow import ALL_USERS, ChangedUsers
from portal.live.base import Subscription
from portal.services.base import Service
from portal.tasks import cancel_and_wait, retry_until_done

if TYPE_CHECKING:
    from portal.container import Container

log = logging.getLogger("portal.auth_cache")
CHANNEL = "auth:invalidate"
MAX_ENTRIES = 100_000
# Users invalidated recently, remembered to refuse racing stores; past this many, forget them all at once.
MAX_REMEMBERED = 10_000
Row = TypeVar("Row", bound=Base)


@dataclass(slots=True)
class Entry:
    session_values: dict[str, Any]
    user_values: dict[str, Any]
    user_id: int
    expires: float


def snapshot(row: Base) -> dict[str, Any]:
    state = inspect(row)
    return {attr.key: state.dict[attr.key] for attr in state.mapper.column_attrs if attr.key in state.dict}


def rebuild(cls: type[Row], values: dict[str, Any]) -> Row:
    """A detached instance with these committed values, as if loaded by a session that has closed."""
    row = cast(Row, inspect(cls).class_manager.new_instance())
    row.__dict__.update(values)
    make_transient_to_detached(row)
    return row


class AuthCache(Service):
    def __init__(self, container: Container) -> None:
        super().__init__(container)
        self.ttl = float(container.settings.auth_cache_ttl)
        self._entries: dict[str, Entry] = {}
        self._tokens_of: dict[int, set[str]] = {}
        self._platforms: dict[int, tuple[list[dict[str, Any]], float]] = {}  # user id → rows, expiry
        self._generation = 0
        self._invalidated_at: dict[int, int] = {}  # user id → the generation that last invalidated them
        self._everyone_invalidated_at = 0
        self._subscription: Subscription | None = None
        self._retry: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        return self.ttl > 0 and self._subscription is not None

    # ---- lookups ----------------------------------------------------------------------------------

    def get(self, token_hash: str) -> tuple[UserSession, User] | None:
        if not self.active:
            return None
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        if entry.expires <= self.c.clock.time():
            self._drop(token_hash)
            return None
        return rebuild(UserSession, entry.session_values), rebuild(User, entry.user_values)

    def generation(self) -> int:
        """Taken before a database lookup and handed to `put`, which refuses results an invalidation raced."""
        return self._generation

    def put(self, token_hash: str, row: UserSession, user: User, *, since: int) -> None:
        if not self.active or self._invalidated_since(user.id, since):
            return
        if len(self._entries) >= MAX_ENTRIES and token_hash not in self._entries:
            self._drop(next(iter(self._entries)))  # the oldest entry
        self._entries[token_hash] = Entry(
            snapshot(row), snapshot(user), user.id, self.c.clock.time() + self.ttl
        )
        self._tokens_of.setdefault(user.id, set()).add(token_hash)

    async def platforms(self, user_id: int) -> list[LinkedPlatform]:
        """A user's linked platforms (read through: `GET /v1/users/me` needs them on every call)."""
        now = self.c.clock.time()
        hit = self._platforms.get(user_id) if self.active else None
        if hit is not None and hit[1] > now:
            return [rebuild(LinkedPlatform, values) for values in hit[0]]
        since = self.generation()
        async with self.c.db.read() as session:
            rows = list(await users_db.platforms_of(session, user_id))
        if self.active and not self._invalidated_since(user_id, since):
            if len(self._platforms) >= MAX_ENTRIES and user_id not in self._platforms:
                self._platforms.pop(next(iter(self._platforms)))
            self._platforms[user_id] = ([snapshot(row) for row in rows], now + self.ttl)
        return rows

    def _invalidated_since(self, user_id: int, since: int) -> bool:
        return self._everyone_invalidated_at > since or self._invalidated_at.get(user_id, -1) > since

    # ---- invalidation -----------------------------------------------------------------------------

    async def users_changed(self, changed: ChangedUsers) -> None:
        """After a commit: forget these users here, then tell every node."""
        self.forget(changed)
        message: dict[str, Any] = {"users": changed if changed == ALL_USERS else sorted(changed)}
        try:
            await self.c.live.publish(CHANNEL, message)
        except Exception:  # the LiveStore is down: other nodes' entries run out with their TTL
            log.warning("could not publish an auth-cache invalidation; other nodes catch up within the TTL")

    def forget(self, changed: ChangedUsers) -> None:
        self._generation += 1
        if changed == ALL_USERS or len(self._invalidated_at) + len(changed) > MAX_REMEMBERED:
            self._everyone_invalidated_at = self._generation
            self._invalidated_at.clear()
        if changed == ALL_USERS:
            self._entries.clear()
            self._tokens_of.clear()
            self._platforms.clear()
            return
        for user_id in changed:
            self._platforms.pop(user_id, None)
            if self._everyone_invalidated_at != self._generation:
                self._invalidated_at[user_id] = self._generation
            for token_hash in self._tokens_of.pop(user_id, ()):
                self._entries.pop(token_hash, None)

    def _drop(self, token_hash: str) -> None:
        entry = self._entries.pop(token_hash, None)
        if entry is not None:
            tokens = self._tokens_of.get(entry.user_id)
            if tokens is not None:
                tokens.discard(token_hash)
                if not tokens:
                    del self._tokens_of[entry.user_id]

    async def _on_message(self, message: dict[str, Any]) -> None:
        users = message.get("users")
        if users == ALL_USERS:
            self.forget(ALL_USERS)
        elif isinstance(users, list):
            self.forget({int(u) for u in users if isinstance(u, int)})

    # ---- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe to the invalidations; until that succeeds (the LiveStore may be down) the cache is
        bypassed and a background task keeps trying."""
        if self.ttl <= 0:
            return
        try:
            await self._subscribe()
        except Exception:
            log.warning("LiveStore unreachable: the auth cache stays off until its bus subscription works")
            self._retry = asyncio.create_task(retry_until_done(self._subscribe), name="auth-cache-subscribe")

    async def _subscribe(self) -> None:
        self._subscription = await self.c.live.subscribe(CHANNEL, self._on_message)

    async def close(self) -> None:
        retry, self._retry = self._retry, None
        await cancel_and_wait(retry)
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            await subscription.close()
        self.forget(ALL_USERS)
