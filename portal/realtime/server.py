"""The Socket.IO server: connection authentication and thin event handlers (docs/realtime.md).

Each handler validates its payload, calls one service and answers the ack; errors become
`{"ok": false, "error": "ERR_..."}` through `PortalError.ack()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any

import socketio
from pydantic import BaseModel, ConfigDict, ValidationError
from socketio import packet as sio_packet

from portal.container import Container
from portal.errors import AccountRestricted, BadRequest, ErrorCode, PortalError
from portal.events import ChatList, ChatStatus
from portal.live.base import LockTimeout
from portal.outages import as_unavailable
from portal.security import SESSION_COOKIE, resolve_client_ip, sha256_hex
from portal.services.notifier import BINARY_FRAMES_ROOM, LOBBY_ROOM, session_room, user_room
from portal.services.rooms import SocketUser
from portal.tasks import cancel_and_wait, raise_if_cancelling

log = logging.getLogger("portal.realtime")


# ---- payloads (extra fields are ignored) ---------------------------------------------------------


class Payload(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class JoinIn(Payload):
    chat_id: int | None = None
    slug: str | None = None
    token: str | None = None


class ChatIdIn(Payload):
    chat_id: int


class KickIn(Payload):
    chat_id: int
    user_id: int
    ban: bool = False
    duration: int | None = None
    reason: str | None = None


class EmptyIn(Payload):
    pass


class TargetUserIn(Payload):
    chat_id: int
    user_id: int


class VmInputIn(Payload):
    chat_id: int
    events: list[dict[str, Any]]


class WrappedKey(Payload):
    user_id: int
    session_id: str
    blob: str


class DistributeIn(Payload):
    chat_id: int
    epoch: int
    keys: list[WrappedKey]


# ---- the server -----------------------------------------------------------------------------------------


# What an event packet's name looks like before its JSON: `2`, optional `<n>-`, `/ns,`, ack id, `["name",`.
_EVENT_NAME = re.compile(r'[25](?:\d+-)?(?:/[^,]*,)?\d*\["([^"\\]{1,64})"')


class _Unparsed:
    """Stands for the arguments of an event whose JSON could not be parsed: no payload model accepts it,
    so the handler acks `ERR_BAD_REQUEST` like any malformed payload."""


class SafePacket(sio_packet.Packet):  # type: ignore[misc]
    """A packet whose JSON does not parse — nested deeper than the parser's recursion limit (08 §67), or
    broken — becomes its event with an unusable payload (an `ERR_BAD_REQUEST` ack) when its name can be
    read, else an unnamed event nobody handles: dropped, with no traceback and the socket kept."""

    def decode(self, encoded_packet: Any) -> int:
        try:
            count: int = super().decode(encoded_packet)
        except (ValueError, RecursionError):
            kind: int = getattr(self, "packet_type", sio_packet.EVENT)
            if kind not in (sio_packet.EVENT, sio_packet.BINARY_EVENT):
                self.packet_type = sio_packet.EVENT  # an unnamed event: ignored
            match = _EVENT_NAME.match(encoded_packet) if isinstance(encoded_packet, str) else None
            self.data = [match.group(1) if match else "", _Unparsed()]
            self.attachment_count = 0
            return 0
        return count


# The largest WebSocket message uvicorn accepts (its default is 16 MiB). Socket.IO refuses packets over
# 1 MB anyway; a bigger frame is refused by the WebSocket layer as it arrives (close 1009) instead of being
# buffered and parsed first, so a client sending 5 MB packets costs the node little (docs/reliability.md).
WS_MAX_MESSAGE_BYTES = 1024 * 1024


class RedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    """python-socketio's Redis manager, whose listener retries every LISTEN_RETRY_MAX seconds at most.

    The library doubles its wait after each failed attempt up to 60 s, so after an outage of a minute
    room emits from other nodes would stay lost for up to a minute once Redis was back; here recovery
    takes a few seconds (docs/deployment.md "Outages"). The loop is the library's own (5.18), with the cap.
    """

    LISTEN_RETRY_MAX = 2.0

    def __init__(self, url: str, channel: str) -> None:
        super().__init__(url, channel=channel, redis_options={"socket_connect_timeout": 3.0})

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        retry_sleep = 0.25
        subscribed = False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    await self.pubsub.subscribe(self.channel)
                    subscribed = True
                    retry_sleep = 0.25
                async for message in self.pubsub.listen():
                    yield message
            except Exception as exc:
                log.warning("Socket.IO fan-out cannot read Redis (%r); retrying in %.2fs", exc, retry_sleep)
                subscribed = False
                await asyncio.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, self.LISTEN_RETRY_MAX)


def create_socket_server(container: Container) -> socketio.AsyncServer:
    settings = container.settings
    manager = None
    if settings.redis_url:
        manager = RedisManager(settings.redis_url, channel=f"{settings.redis_prefix}:socketio")
    # CORS is checked by our own connect handler, so engine.io's check is switched off.
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        serializer=SafePacket,
        cors_allowed_origins=[],
        logger=False,
        engineio_logger=False,
        ping_interval=_ping_interval(settings.socket_ping_interval),
        ping_timeout=settings.socket_ping_timeout,
    )
    Handlers(sio, container).register()
    return sio


async def stop_socket_server(sio: socketio.AsyncServer) -> None:
    """Stop what python-socketio leaves running: engine.io's ping task, and the Redis manager's listener
    with its connections (a stopped node must not go on receiving every other node's emits)."""
    await sio.shutdown()
    manager = sio.manager
    listener = getattr(manager, "thread", None)
    if isinstance(listener, asyncio.Task):
        await cancel_and_wait(listener)
    for connection in (getattr(manager, "pubsub", None), getattr(manager, "redis", None)):
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.aclose()


def _ping_interval(seconds: float) -> tuple[float, float]:
    """engine.io pings every `seconds` but tells clients `int(interval + grace) * 1000` ms, so a fractional
    interval (e.g. 0.5) would be announced as 0 and every healthy client would time itself out. The grace
    rounds the announced interval up to whole seconds; the server still pings every `seconds`."""
    return seconds, math.ceil(seconds) - seconds + 1e-6  # the epsilon keeps float error from rounding down


def _token_from(environ: dict[str, Any], auth: Any) -> str | None:
    session = auth.get("session") if isinstance(auth, dict) else None
    if isinstance(session, str):
        return session
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(environ.get("HTTP_COOKIE", ""))
    except Exception:
        return None
    morsel = cookie.get(SESSION_COOKIE)
    return morsel.value if morsel else None


def _wants_binary_frames(auth: Any) -> bool:
    """`auth.frames == "binary"`: the client reads `vm:frame` with `jpeg` bytes (a binary attachment).
    Anything else (absent, "base64", unknown) keeps the documented base64 shape, so an older or
    mistaken client still gets frames it can read (docs/decisions.md, "Binary frames")."""
    return isinstance(auth, dict) and auth.get("frames") == "binary"


class Handlers:
    def __init__(self, sio: socketio.AsyncServer, container: Container) -> None:
        self.sio = sio
        self.c = container

    def register(self) -> None:
        self.sio.on("connect", self.connect)
        self.sio.on("disconnect", self.disconnect)
        self._on("room:join", JoinIn, self.room_join)
        self._on("room:leave", ChatIdIn, self.room_leave)
        self._on("room:kick", KickIn, self.room_kick)
        self._on("typing", ChatIdIn, self.typing)
        self._on("presence:ping", EmptyIn, self.presence_ping)
        self._on("key:distribute", DistributeIn, self.key_distribute)
        self._on("control:request", ChatIdIn, self.control_request)
        self._on("control:release", ChatIdIn, self.control_release)
        self._on("control:give", TargetUserIn, self.control_give)
        self._on("control:take", ChatIdIn, self.control_take)
        self._on("control:deny", TargetUserIn, self.control_deny)
        self._on("vm:input", VmInputIn, self.vm_input)
        self.sio.on("*", self.unknown_event)

    def _on(
        self,
        event: str,
        model: type[Payload],
        action: Callable[[SocketUser, str, Any], Awaitable[dict[str, Any] | None]],
    ) -> None:
        async def handler(sid: str, *args: Any) -> dict[str, Any] | None:
            # An emit without data is `{}`; an explicit null or a non-object is malformed. Arguments after
            # the first are ignored like extra fields.
            data = args[0] if args else {}
            try:
                who = await self._who(sid)
                # Counted before the payload is even read (08 §69): a malformed flood costs its budget too.
                if over := await self.c.socket_limits.event(sid, who.user_id, event):
                    if over.disconnect:
                        await self._cut_for_flooding(sid, who, event)
                    return over.ack()
                payload = model.model_validate(data)
                return await action(who, sid, payload)
            except ValidationError:
                return BadRequest().ack()
            except PortalError as exc:
                return exc.ack()
            except Exception as exc:
                if unavailable := as_unavailable(exc):  # an outage, not a bug (docs/deployment.md)
                    log.warning("socket event %s: database or Redis unavailable: %r", event, exc)
                    return unavailable.ack()
                log.exception("socket event %s failed", event)
                return {"ok": False, "error": ErrorCode.INTERNAL.value, "message": "Internal server error"}

        self.sio.on(event, handler)

    async def unknown_event(self, event: str, sid: str, *args: Any) -> None:
        """Unknown events are ignored (no answer), but they count against the socket's budget like any
        other (08 §69), so a flood of them is disconnected."""
        try:
            who = await self._who(sid)
            over = await self.c.socket_limits.event(sid, who.user_id, event)
            if over is not None and over.disconnect:
                await self._cut_for_flooding(sid, who, "unknown-event")
        except Exception:
            log.exception("counting the unknown socket event %r failed", event[:64])

    async def _cut_for_flooding(self, sid: str, who: SocketUser, event: str) -> None:
        """Disconnect a socket at three times its budget; its session then waits out the budget's window
        before a new socket is accepted (docs/decisions.md), so reconnecting at once does not go on."""
        log.warning("socket %s of user %s disconnected: %s flood", sid, who.user_id, event)
        await self.c.socket_limits.cool_down(who.token_hash)
        await self.sio.disconnect(sid)

    async def _who(self, sid: str) -> SocketUser:
        session = await self.sio.get_session(sid)
        return SocketUser(
            user_id=session["user_id"], token_hash=session["token_hash"], is_stranger=session["is_stranger"]
        )

    # ---- connection -------------------------------------------------------------------------------

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            await self._accept(sid, environ, auth)
        except Exception as exc:
            if (unavailable := as_unavailable(exc)) is None:
                raise
            # The database or Redis is away: refuse with a code the client can retry on, not a traceback.
            log.warning("socket connect refused: database or Redis unavailable: %r", exc)
            raise socketio.exceptions.ConnectionRefusedError(unavailable.ack_code()) from None

    async def _accept(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        settings = self.c.settings
        limits = self.c.socket_limits
        ip = resolve_client_ip(
            environ.get("REMOTE_ADDR") or "unknown",
            environ.get("HTTP_X_FORWARDED_FOR"),
            settings.trusted_proxy_list,
        )
        if not await limits.handshake_allowed(ip):  # before anything else, like the request tiers
            raise socketio.exceptions.ConnectionRefusedError(ErrorCode.RATE_LIMITED.value)
        if settings.refuses_origin(environ.get("HTTP_ORIGIN")):
            raise socketio.exceptions.ConnectionRefusedError(ErrorCode.ORIGIN_NOT_ALLOWED.value)
        token = _token_from(environ, auth)
        if token and len(token) <= 128 and await limits.cooling_down(sha256_hex(token)):  # cut for flooding
            raise socketio.exceptions.ConnectionRefusedError(ErrorCode.RATE_LIMITED.value)
        try:
            ctx = await self.c.sessions.authenticate(token)
        except AccountRestricted:
            raise socketio.exceptions.ConnectionRefusedError(ErrorCode.ACCOUNT_RESTRICTED.value) from None
        if ctx is None:
            raise socketio.exceptions.ConnectionRefusedError(ErrorCode.UNAUTHORIZED.value)
        who = SocketUser.of(ctx)
        if not await limits.claim(sid, who.user_id, who.token_hash):
            raise socketio.exceptions.ConnectionRefusedError(ErrorCode.RATE_LIMITED.value)
        try:
            await self._connected(sid, who, binary_frames=_wants_binary_frames(auth))
        except BaseException:
            await limits.release(sid)  # a refused connection never disconnects: give its place back here
            raise

    async def _connected(self, sid: str, who: SocketUser, *, binary_frames: bool) -> None:
        await self.sio.save_session(
            sid, {"user_id": who.user_id, "token_hash": who.token_hash, "is_stranger": who.is_stranger}
        )
        await self.sio.enter_room(sid, user_room(who.user_id))
        await self.sio.enter_room(sid, session_room(who.token_hash))
        if binary_frames:
            await self.sio.enter_room(sid, BINARY_FRAMES_ROOM)
        if not who.is_stranger:
            await self.sio.enter_room(sid, LOBBY_ROOM)
        statuses = await self.c.rooms.connected(who, sid)
        chat_list = ChatList(chats=[ChatStatus.model_validate(status) for status in statuses])
        await self.sio.emit(chat_list.name, chat_list.payload(), to=sid)

    async def disconnect(self, sid: str, *args: Any) -> None:
        try:
            who = await self._who(sid)
        except KeyError:
            return  # refused at connect: nothing was recorded
        try:
            try:
                await self.c.rooms.disconnected(who, sid)
            finally:
                await self.c.socket_limits.release(sid)
        except Exception:
            if not self.c.stopping:
                raise
            # Past uvicorn's grace the LiveStore may be closed under a late handler: the node has dropped its
            # liveness key (PresenceKeeper.retire), so the other nodes sweep this socket instead.
            log.info("socket %s left to the other nodes' sweep: this node is stopping", sid)

    # ---- events -----------------------------------------------------------------------------------

    async def room_join(self, who: SocketUser, sid: str, payload: JoinIn) -> dict[str, Any]:
        if payload.chat_id is None and payload.slug is None and payload.token is None:
            raise BadRequest("chat_id is required")
        return await self.c.rooms.join(
            who, sid, chat_id=payload.chat_id, slug=payload.slug, token=payload.token
        )

    async def room_leave(self, who: SocketUser, sid: str, payload: ChatIdIn) -> dict[str, Any]:
        await self.c.rooms.leave(who, sid, payload.chat_id)
        return {"ok": True}

    async def room_kick(self, who: SocketUser, sid: str, payload: KickIn) -> dict[str, Any]:
        """A kick, or with `ban` a ban that also removes the user's sockets at once."""
        actor = await self.c.users.lookup_actor(who.user_id)
        if payload.ban:
            await self.c.chat_moderation.ban(
                payload.chat_id,
                payload.user_id,
                duration=payload.duration if payload.duration is not None else 0,
                reason=payload.reason,
                remove_now=True,
                actor=actor,
            )
        else:
            await self.c.chat_moderation.kick(
                payload.chat_id, payload.user_id, reason=payload.reason, actor=actor
            )
        return {"ok": True}

    async def key_distribute(self, who: SocketUser, sid: str, payload: DistributeIn) -> dict[str, Any]:
        """Wrapped chat keys from the distributor (or a holder of the epoch) for joined sessions."""
        stored = await self.c.e2ee.distribute(
            who.token_hash,
            payload.chat_id,
            payload.epoch,
            [key.model_dump() for key in payload.keys],
        )
        return {"ok": True, "stored": stored}

    async def control_request(self, who: SocketUser, sid: str, payload: ChatIdIn) -> dict[str, Any]:
        await self.c.control.request(payload.chat_id, actor_id=who.user_id)
        return {"ok": True}

    async def control_release(self, who: SocketUser, sid: str, payload: ChatIdIn) -> dict[str, Any]:
        await self.c.control.release(payload.chat_id, actor_id=who.user_id)
        return {"ok": True}

    async def control_give(self, who: SocketUser, sid: str, payload: TargetUserIn) -> dict[str, Any]:
        await self.c.control.give(payload.chat_id, payload.user_id, actor_id=who.user_id)
        return {"ok": True}

    async def control_take(self, who: SocketUser, sid: str, payload: ChatIdIn) -> dict[str, Any]:
        await self.c.control.take(payload.chat_id, actor_id=who.user_id)
        return {"ok": True}

    async def control_deny(self, who: SocketUser, sid: str, payload: TargetUserIn) -> dict[str, Any]:
        await self.c.control.deny(payload.chat_id, payload.user_id, actor_id=who.user_id)
        return {"ok": True}

    async def vm_input(self, who: SocketUser, sid: str, payload: VmInputIn) -> None:
        """The host's input goes to the VM; anyone else's is dropped without a reply."""
        with contextlib.suppress(PortalError):
            await self.c.vms.host_input(who.user_id, sid, payload.chat_id, payload.events)
        return None

    async def typing(self, who: SocketUser, sid: str, payload: ChatIdIn) -> None:
        with contextlib.suppress(PortalError):  # typing has no ack; a socket outside the room is ignored
            await self.c.rooms.typing(who, sid, payload.chat_id)
        return None

    async def presence_ping(self, who: SocketUser, sid: str, payload: EmptyIn) -> dict[str, Any]:
        await self.c.matchmaking.refresh(who.user_id)
        return {"ok": True}


class PresenceKeeper:
    """Keeps this node's liveness key fresh and cleans up after nodes that died (no node may
    assume it is alone; a crashed node's sockets must not count as viewers forever)."""

    def __init__(self, container: Container) -> None:
        self.c = container
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        # Named after the node, so an operator (or a test simulating a crash) can find this node's loop.
        self._task = asyncio.create_task(self._loop(), name=f"portal-presence:{self.c.node_id}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def run_once(self) -> int:
        ttl = self.c.settings.node_ttl
        await self.c.presence.heartbeat(self.c.node_id, ttl)
        try:
            async with self.c.live.lock("presence-sweep", ttl=ttl, wait=0):
                await self.c.vms.sweep_dead()  # before the node is forgotten
                return await self.c.rooms.sweep_dead_nodes()
        except LockTimeout:
            return 0

    async def retire(self) -> None:
        """This node is stopping: drop its liveness key, so that any socket it could not take out of its rooms
        in time is swept by the other nodes at their next beat, not after PORTAL_NODE_TTL."""
        await self.c.presence.retire(self.c.node_id)

    async def _claim_name(self) -> None:
        """A node restarted under its old name (after a crash) sweeps its previous run's sockets in its first
        beat, not after PORTAL_NODE_TTL: until then they would stay in rooms, and the E2EE key requests
        would go to their dead sessions first (docs/reliability.md)."""
        name = self.c.settings.node_name
        if name is None:
            return
        try:
            previous = await self.c.presence.claim_name(name, self.c.node_id)
        except Exception:
            log.warning("could not claim the node name %s", name, exc_info=True)
            return
        if previous is not None:
            log.info(
                "node %s took over the name %s from node %s: sweeping its sockets",
                self.c.node_id,
                name,
                previous,
            )

    async def _loop(self) -> None:
        """The heartbeat every node_ttl/3 s; key-distributor and direct-chat grace deadlines at least every
        second."""
        beat_every = self.c.settings.node_ttl / 3
        step = min(1.0, beat_every)
        last_beat = float("-inf")
        await self._claim_name()
        while True:
            raise_if_cancelling()  # a swallowed stop() (see portal.tasks) must still end the loop
            if time.monotonic() - last_beat >= beat_every:
                last_beat = time.monotonic()
                try:
                    await self.run_once()
                except Exception:
                    log.warning("presence heartbeat failed", exc_info=True)
            try:
                await self.c.e2ee.check_deadlines()
                await self.c.direct_lifecycle.check_due()
                await self.c.vms.stop_idle()
                await self.c.vms.check_memory()
            except Exception:
                log.warning("a periodic check failed (key distributors, graces, idle VMs)", exc_info=True)
            await asyncio.sleep(step)
