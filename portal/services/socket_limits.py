"""Socket.IO limits (08 §69): event budgets, sockets per session and per user, handshakes per IP.

Everything is counted in the LiveStore, so one budget holds across nodes:
- event budgets are the request limiter's fixed windows (`rl:{bucket}:{key}:{window_start}`): every event
  of a socket in `SIO_EVENT:{sid}` (`vm:input` in its own `SIO_VM:{sid}`), and `room:join` /
  `key:distribute` also per user in `SIO_JOIN:{user}` / `SIO_KEYS:{user}`;
- handshakes in `SIO_HANDSHAKE:{ip}`, counted before authentication like the request tiers;
- open sockets in the hashes `sockets:user` (user id → count) and `sockets:session` (token hash → count),
  with `sockets:of:{sid}` remembering what a socket claimed, so only the first release of a socket counts
  (a disconnect and a dead-node sweep may both release it).

Like request limits they fail open when the store does not answer, and `PORTAL_RATE_LIMITS=off` turns them
all off.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from portal.config import Settings
from portal.live.base import LiveStore
from portal.services.ratelimit import RateLimiter

log = logging.getLogger(__name__)

USER_SOCKETS = "sockets:user"
SESSION_SOCKETS = "sockets:session"
DISCONNECT_FACTOR = 3  # a socket sending this many times its budget in one window is disconnected
# Events with a per-user budget besides the socket's, by event name: (bucket, setting).
PER_USER = {"room:join": "SIO_JOIN", "key:distribute": "SIO_KEYS"}
VM_INPUT = "vm:input"


def _rate(setting: str) -> tuple[int, int]:
    count, _, seconds = setting.partition("/")
    return int(count), int(seconds)


def _cool_down_key(token_hash: str) -> str:
    return f"sio:cool-down:{token_hash}"


def _socket_key(sid: str) -> str:
    return f"sockets:of:{sid}"


@dataclass(frozen=True)
class OverBudget:
    """An event refused: answer `ERR_RATE_LIMITED` with `retry_after`; `disconnect` the socket too."""

    retry_after: int
    disconnect: bool = False

    def ack(self) -> dict[str, object]:
        return {"ok": False, "error": "ERR_RATE_LIMITED", "retry_after": self.retry_after}


class SocketLimits:
    def __init__(self, limiter: RateLimiter, live: LiveStore, settings: Settings) -> None:
        self.limiter = limiter
        self.live = live
        self.settings = settings

    @property
    def enabled(self) -> bool:
        return self.limiter.enabled

    # ---- events -----------------------------------------------------------------------------------

    async def event(self, sid: str, user_id: int, event: str) -> OverBudget | None:
        """Count one client→server event; None when it may run."""
        if not self.enabled:
            return None
        if event == VM_INPUT:
            bucket, setting = "SIO_VM", self.settings.socket_vm_input_rate
        else:
            bucket, setting = "SIO_EVENT", self.settings.socket_event_rate
        limit, seconds = _rate(setting)
        counted = await self.limiter.count(bucket, sid, window_seconds=seconds)
        if counted is not None and counted[0] > limit:
            count, reset = counted
            return OverBudget(retry_after=reset, disconnect=count >= DISCONNECT_FACTOR * limit)
        user_bucket = PER_USER.get(event)
        if user_bucket is None:
            return None
        setting = self.settings.socket_join_rate if event == "room:join" else self.settings.socket_key_rate
        limit, seconds = _rate(setting)
        counted = await self.limiter.count(user_bucket, str(user_id), window_seconds=seconds)
        if counted is not None and counted[0] > limit:
            return OverBudget(retry_after=counted[1])
        return None

    # ---- handshakes and open sockets ----------------------------------------------------------------

    async def handshake_allowed(self, ip: str) -> bool:
        limit, seconds = _rate(self.settings.socket_handshake_rate)
        counted = await self.limiter.count("SIO_HANDSHAKE", ip, window_seconds=seconds)
        return counted is None or counted[0] <= limit

    async def cool_down(self, token_hash: str) -> None:
        """A socket of this session was cut for flooding: refuse the session's handshakes for one window."""
        if not self.enabled:
            return
        _, seconds = _rate(self.settings.socket_event_rate)
        until = self.limiter.clock.time() + seconds  # compared with the clock, which tests move
        try:
            await self.live.set(_cool_down_key(token_hash), str(until), ttl=seconds)
        except Exception as exc:
            log.warning("flood cool-down not set, the LiveStore did not answer: %s", exc)

    async def cooling_down(self, token_hash: str) -> bool:
        if not self.enabled:
            return False
        try:
            until = await self.live.get(_cool_down_key(token_hash))
        except Exception:  # the store is down: fail open, as the other limits do
            return False
        return until is not None and float(until) > self.limiter.clock.time()

    async def claim(self, sid: str, user_id: int, token_hash: str) -> bool:
        """Count a new socket of the user and session; False (and nothing counted) past either cap."""
        if not self.enabled:
            return True
        user, session = str(user_id), token_hash
        try:
            user_count = await self.live.hincr(USER_SOCKETS, user, 1)
            session_count = await self.live.hincr(SESSION_SOCKETS, session, 1)
            if (
                user_count > self.settings.socket_max_per_user
                or session_count > self.settings.socket_max_per_session
            ):
                await self._decrement(USER_SOCKETS, user)
                await self._decrement(SESSION_SOCKETS, session)
                return False
            await self.live.set(_socket_key(sid), f"{user}|{session}")
        except Exception as exc:  # the store is down: fail open
            log.warning("socket caps not applied, the LiveStore did not answer: %s", exc)
        return True

    async def release(self, sid: str) -> None:
        """Forget a socket's claim (only the first call for a socket counts)."""
        try:
            raw = await self.live.get(_socket_key(sid))
            if raw is None or not await self.live.delete(_socket_key(sid)):
                return
            user, _, session = raw.partition("|")
            await self._decrement(USER_SOCKETS, user)
            await self._decrement(SESSION_SOCKETS, session)
        except Exception as exc:
            log.warning("socket %s not released from the caps, the LiveStore did not answer: %s", sid, exc)

    async def _decrement(self, key: str, field: str) -> None:
        if await self.live.hincr(key, field, -1) <= 0:
            await self.live.hdel(key, field)
