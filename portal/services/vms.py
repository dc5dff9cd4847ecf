"""The browser-VM manager: one VM per chat, on the node that started it.

Live state (shared through the LiveStore, so every node answers `running` the same):
- `vm:{chat}:running` = "1" while a VM runs, `vm:{chat}:node` = the node holding it;
- `vm:idle` sorted set: chat → the app-clock time at which an unwatched VM stops.

Operations that need the VM itself (clipboard, screen, screenshot, input, stop) run on the owning node: a
call arriving elsewhere is forwarded over the bus (`NodeRpc`). Frames are relayed by the owning node to the
chat room as `vm:frame`, at most `rate` per second: a frame that comes too early is held until its slot
(Chromium sends the next one only after that), so the newest screen always reaches viewers. A viewer whose
socket is backed up skips frames (the notifier), so a slow viewer never slows the others.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import random
import time
from typing import TYPE_CHECKING, Any

from portal.browser.base import (
    ALLOWED_SIZES,
    BrowserBackend,
    ControlSettings,
    Frame,
    VmError,
    VmHandle,
    VmSpec,
)
from portal.db.models import Chat
from portal.errors import ErrorCode, PortalError, coded
from portal.events import RoomStarted, RoomStopped, VmCredentials, VmFrame
from portal.live.rpc import NodeRpc, RpcError
from portal.services.base import Service
from portal.services.chat_access import ChatContext, can_manage, load_chat
from portal.services.notifier import chat_room, session_room

if TYPE_CHECKING:
    from portal.config import Settings
    from portal.container import Container

log = logging.getLogger("portal.vms")
IDLE = "vm:idle"
MAX_INPUT_EVENTS = 100
MEMORY_CHECK_EVERY = 5.0  # seconds between two memory measurements of one VM
RUNNING = "vm:running"  # set of chat ids with a VM (for the sweep after a node dies)
NO_SERVER = "No running server to start the browser on"
START_TIMEOUT = 60.0  # seconds a process without VMs (the CLI) waits for a server node to start one


def _running_key(chat_id: int) -> str:
    return f"vm:{chat_id}:running"


def _node_key(chat_id: int) -> str:
    return f"vm:{chat_id}:node"


def _kind_key(chat_id: int) -> str:
    return f"vm:{chat_id}:kind"


def create_backend(settings: Settings) -> BrowserBackend:
    """`PORTAL_BROWSER_BACKEND`: auto = chromium when /usr/bin/chromium exists, else none."""
    from portal.browser.chromium import ChromiumBackend, chromium_path
    from portal.browser.none import NoBackend

    setting = settings.browser_backend
    if setting == "chromium" or (setting == "auto" and chromium_path() is not None):
        return ChromiumBackend()
    if setting == "neko-docker":
        from portal.browser.neko_docker import NekoDockerBackend

        return NekoDockerBackend(
            docker_url=settings.docker_url,
            public_host=settings.neko_public_host,
            nat1to1=settings.neko_nat1to1,
            image_prefix=settings.neko_image_prefix,
            instance=settings.redis_prefix,
            memory_mb=settings.vm_memory_mb,
        )
    return NoBackend(explicit=setting == "none")


def spec_for(chat: Chat) -> VmSpec:
    config = chat.browser_config or {}
    return VmSpec(
        chat_id=chat.id,
        browser=str(config.get("browser", "chromium")),
        start_url=config.get("start_url"),
        kiosk=bool(config.get("kiosk", False)),
        width=chat.screen_width,
        height=chat.screen_height,
        rate=chat.screen_rate,
        settings=settings_of(chat),
    )


def settings_of(chat: Chat) -> ControlSettings:
    return ControlSettings(
        allow_control_requests=chat.allow_control_requests,
        locked_controls=chat.locked_controls,
        implicit_hosting=chat.implicit_hosting,
        inactive_cursors=chat.inactive_cursors,
    )


class VmService(Service):
    def __init__(self, container: Container) -> None:
        super().__init__(container)
        self._backend: BrowserBackend | None = None
        self.local: dict[int, VmHandle] = {}
        self._last_frame: dict[int, float] = {}
        self._frame_locks: dict[int, asyncio.Lock] = {}
        self._measured: dict[int, float] = {}  # chat → when its VM's memory was last measured
        self._starting: set[int] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.rpc = NodeRpc(container.live, container.node_id)
        for name in (
            "stop",
            "clipboard_get",
            "clipboard_set",
            "set_screen",
            "screenshot",
            "input",
            "kick",
            "set_host",
            "apply_settings",
            "credentials",
            "refresh",
            "start_chat",
        ):
            self.rpc.register(name, getattr(self, f"_local_{name}"))

    @property
    def backend(self) -> BrowserBackend:
        if self._backend is None:
            self._backend = create_backend(self.c.settings)
        return self._backend

    async def start_service(self) -> None:
        await self.rpc.start()

    async def close(self) -> None:
        """A node shutting down stops its VMs and tells their rooms (other nodes' viewers stay connected)."""
        for chat_id in list(self.local):
            ours = await self._recorded_here(chat_id)
            await self._local_stop({"chat_id": chat_id, "reason": "shutdown"})
            if ours:
                with contextlib.suppress(Exception):
                    await self.announce_stopped(chat_id, reason="shutdown")
        if self._backend is not None:
            await self._backend.close()
        await self.rpc.close()

    # ---- state ------------------------------------------------------------------------------------

    async def is_running(self, chat_id: int) -> bool:
        return await self.c.live.get(_running_key(chat_id)) == "1"

    async def node_of(self, chat_id: int) -> str | None:
        return await self.c.live.get(_node_key(chat_id))

    # ---- start and stop ---------------------------------------------------------------------------

    async def start(self, chat: Chat) -> bool:
        """Start the chat's VM here; False when one already runs (anywhere). 503 when unavailable/full."""
        if not self.backend.available:
            raise coded(ErrorCode.VM_UNAVAILABLE, 503, message=self._unavailable_message())
        async with self.c.live.lock(f"vm:{chat.id}", ttl=30, wait=30):
            if await self.is_running(chat.id):
                return False
            if len(self.local) + len(self._starting) >= self.c.settings.vm_max:
                raise coded(ErrorCode.VM_CAPACITY, 503)
            self._starting.add(chat.id)
            try:
                handle = await self.backend.start(spec_for(chat), self._on_frame, self._on_exit)
            except VmError as exc:
                log.warning("VM of chat %s did not start: %s", chat.id, exc)
                raise coded(
                    ErrorCode.VM_UNAVAILABLE, 503, message="The browser could not be started"
                ) from None
            finally:
                self._starting.discard(chat.id)
            self.local[chat.id] = handle
            await self.c.live.set(_kind_key(chat.id), handle.kind)
            await self.c.live.set(_node_key(chat.id), self.c.node_id)
            await self.c.live.set(_running_key(chat.id), "1")
            await self.c.live.sadd(RUNNING, str(chat.id))
        await self.viewers_changed(chat.id, refresh=False)
        return True

    def _unavailable_message(self) -> str:
        reason = getattr(self.backend, "unavailable_reason", "")
        setting = self.c.settings.browser_backend
        return f"Browser VMs are unavailable: {reason} (PORTAL_BROWSER_BACKEND={setting})"

    async def stop(self, chat_id: int, *, reason: str = "stopped") -> bool:
        """Stop a running VM wherever it runs; False when none runs."""
        node = await self.node_of(chat_id)
        if not await self.is_running(chat_id) or node is None:
            await self._forget(chat_id)
            return False
        if node != self.c.node_id and node in await self.c.presence.dead_nodes():
            await self._forget(chat_id)  # no need to wait for a dead node's answer
            return True
        try:
            # False when the owner had no such VM any more (stopped or crashed meanwhile): whoever stopped it
            # has announced it, so the caller does not announce it twice.
            return bool(await self.rpc.call(node, "stop", {"chat_id": chat_id, "reason": reason}))
        except RpcError:
            await self._forget(chat_id)  # the owning node is gone: its VM is gone with it
        return True

    async def _local_stop(self, args: dict[str, Any]) -> bool:
        chat_id = int(args["chat_id"])
        ours = await self._recorded_here(chat_id)
        handle = self.local.pop(chat_id, None)
        if handle is not None:
            await handle.stop()
        if ours:
            await self._forget(chat_id)
        else:
            self._forget_here(chat_id)
        return handle is not None

    async def _recorded_here(self, chat_id: int) -> bool:
        """Whether the live state names this node as the VM's (or nobody). Not so for a VM left behind by
        a node that was swept as dead (it stopped answering) while the chat's VM was started elsewhere:
        that VM's end must not touch the other node's record or announce anything."""
        return await self.node_of(chat_id) in (None, self.c.node_id)

    async def _forget(self, chat_id: int) -> None:
        await self.c.live.delete(_running_key(chat_id), _node_key(chat_id), _kind_key(chat_id))
        await self.c.live.srem(RUNNING, str(chat_id))
        await self.c.live.zrem(IDLE, str(chat_id))
        self._forget_here(chat_id)

    def _forget_here(self, chat_id: int) -> None:
        self._last_frame.pop(chat_id, None)
        self._frame_locks.pop(chat_id, None)
        self._measured.pop(chat_id, None)

    async def _on_exit(self, chat_id: int, reason: str) -> None:
        """A VM died by itself (crash detection): correct the live state and tell the room."""
        if self.local.pop(chat_id, None) is None:
            return  # stopped meanwhile: the stop has done (and announced) everything
        if not await self._recorded_here(chat_id):
            self._forget_here(chat_id)
            return
        await self._forget(chat_id)
        await self.announce_stopped(chat_id, reason=reason)

    # ---- the lifecycle as chats see it -------------------------------------------------------------

    async def start_chat(self, chat: Chat, *, push_credentials: bool) -> bool:
        """Start and announce (`room:started`, `chat:status`); the portal start also pushes credentials to
        everyone already in the room. False when it was already running. A process that hosts no VMs (the
        CLI) has a running server node do it."""
        if not self.c.hosts_vms:
            return await self._start_on_a_server(chat.id, push_credentials=push_credentials)
        if not await self.start(chat):
            return False
        await self.c.notifier.send(RoomStarted(chat_id=chat.id), room=chat_room(chat.id))
        await self.c.rooms.broadcast_status(chat.id)
        await self.c.control.started(chat)  # before the credentials: a chromium host gets "host"
        await self.set_host(chat.id, (await self.c.control.state(chat.id))["host_user_id"])
        if push_credentials:
            await self.push_credentials(chat)
        return True

    async def _start_on_a_server(self, chat_id: int, *, push_credentials: bool) -> bool:
        nodes = await self.c.presence.alive_nodes()
        if not nodes:
            raise coded(ErrorCode.VM_UNAVAILABLE, 503, message=NO_SERVER)
        node = random.choice(nodes)
        args = {"chat_id": chat_id, "push_credentials": push_credentials}
        try:
            return bool(await self.rpc.call(node, "start_chat", args, timeout=START_TIMEOUT))
        except RpcError as exc:
            if exc.status:
                raise PortalError(str(exc), status=exc.status) from None
            log.warning("starting the VM of chat %s on node %s failed: %s", chat_id, node, exc)
            raise coded(ErrorCode.VM_UNAVAILABLE, 503) from None

    async def _local_start_chat(self, args: dict[str, Any]) -> bool:
        async with self.c.db.read() as session:
            chat = await load_chat(session, int(args["chat_id"]))
        return await self.start_chat(chat, push_credentials=bool(args.get("push_credentials")))

    async def stop_chat(self, chat_id: int, *, reason: str = "stopped") -> bool:
        if not await self.stop(chat_id, reason=reason):
            return False
        await self.announce_stopped(chat_id, reason=reason)
        return True

    async def push_credentials(self, chat: Chat) -> None:
        """`vm:credentials` to each session joined to the room, except users banned from the chat whose
        socket is still in (a REST ban leaves it): they must not get into the VM."""
        sessions: dict[str, int] = {}
        for record in await self.c.presence.sockets_in(chat.id):
            sessions.setdefault(record.token_hash, record.user_id)
        if not sessions:
            return
        async with self.c.db.read() as session:
            banned = await self.c.restrictions.banned_user_ids(session, chat.id, set(sessions.values()))
        for token_hash, user_id in sessions.items():
            if user_id in banned:
                continue
            credentials = await self.credentials_for(chat, user_id)
            if credentials is not None:
                await self.c.notifier.send(
                    VmCredentials.model_validate(credentials), room=session_room(token_hash)
                )

    async def credentials_for(
        self, chat: Chat, user_id: int, *, ctx: ChatContext | None = None
    ) -> dict[str, Any] | None:
        """The join ack's `vm` / `vm:credentials`: chromium host/viewer; neko admin for managers.
        `ctx` is the chat as this user sees it, when the caller has it already."""
        kind = await self.c.live.get(_kind_key(chat.id))
        if kind is None or not await self.is_running(chat.id):
            return None
        if kind == "neko":
            manages = can_manage(ctx) if ctx is not None else await self.c.chat_browser.manages(user_id, chat)
            role = "admin" if manages else "member"
        else:
            role = "host" if await self.c.control.is_host(chat.id, user_id) else "viewer"
        try:
            return await self.credentials(chat.id, user_id, role)
        except PortalError as exc:  # the join or start happened: only the VM part is missing
            log.warning("no VM credentials for chat %s: %s", chat.id, exc)
            return None

    # ---- idle shutdown ----------------------------------------------------------------------------

    async def viewers_changed(self, chat_id: int, *, refresh: bool = True) -> None:
        """Arm the idle timer when a running VM has no viewer; cancel it when someone is there.
        With viewers, the current screen is sent again: Chromium sends frames only when the page changes,
        so someone joining a still page would otherwise see nothing."""
        if not await self.is_running(chat_id):
            return
        if await self.c.presence.viewer_count(chat_id) == 0:
            deadline = self.c.clock.time() + self.c.settings.vm_idle_timeout
            await self.c.live.zadd(IDLE, {str(chat_id): deadline})
            return
        await self.c.live.zrem(IDLE, str(chat_id))
        if refresh:
            self._background(self._refresh(chat_id))

    async def _refresh(self, chat_id: int) -> None:
        with contextlib.suppress(PortalError):
            await self._call(chat_id, "refresh")

    def _background(self, coro: Any) -> None:
        """Run without making the caller wait (a join must not wait for another node's browser)."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop_idle(self) -> int:
        """Stop every VM whose idle deadline passed (any node may run this; the owner does the stopping).
        Removing the entry is the claim: of several nodes sweeping at once, only one stops a VM."""
        stopped = 0
        for member, _deadline in await self.c.live.zrange_by_score(IDLE, 0, self.c.clock.time()):
            chat_id = int(member)
            if not await self.c.live.zrem(IDLE, member):
                continue
            if await self.c.presence.viewer_count(chat_id) == 0 and await self.stop(chat_id, reason="idle"):
                await self.announce_stopped(chat_id, reason="idle")
                stopped += 1
        return stopped

    async def check_memory(self) -> int:
        """Stop local VMs above `PORTAL_VM_MEMORY_MB` (a runaway page must not take the node down). Called
        every second; each VM is measured at most every MEMORY_CHECK_EVERY seconds (first right after its
        start), in a thread: reading the processes' memory maps takes a few tens of milliseconds."""
        cap = self.c.settings.vm_memory_mb * 1024 * 1024
        if not cap:
            return 0
        stopped = 0
        now = time.monotonic()
        for chat_id, handle in list(self.local.items()):
            if now - self._measured.get(chat_id, float("-inf")) < MEMORY_CHECK_EVERY:
                continue
            self._measured[chat_id] = now
            used = await asyncio.to_thread(handle.memory_bytes)
            if used is not None and used > cap and self.local.get(chat_id) is handle:
                log.warning(
                    "VM of chat %s uses %d MB (cap %d MB): stopping it", chat_id, used >> 20, cap >> 20
                )
                await self.stop_chat(chat_id, reason="memory")
                stopped += 1
        return stopped

    async def announce_stopped(self, chat_id: int, *, reason: str = "stopped") -> None:
        """`room:stopped` to the room, control reset (`control:update`), `chat:status` to its listers."""
        await self.c.notifier.send(RoomStopped(chat_id=chat_id, reason=reason), room=chat_room(chat_id))
        await self.c.control.reset(chat_id, announce=True)
        await self.c.rooms.broadcast_status(chat_id)

    async def sweep_dead(self) -> int:
        """VMs whose node stopped answering are gone: mark them stopped (restart / crash of a node)."""
        dead = set(await self.c.presence.dead_nodes())
        swept = 0
        for chat_id in await self._running_chats():
            node = await self.node_of(chat_id)
            if node is None or node in dead:
                await self._forget(chat_id)
                with contextlib.suppress(Exception):  # e.g. the dead node's neko container
                    await self.backend.discard(chat_id)
                await self.announce_stopped(chat_id, reason="crashed")
                swept += 1
        return swept

    async def _running_chats(self) -> list[int]:
        return [int(m) for m in await self.c.live.smembers(RUNNING)]

    # ---- frames -----------------------------------------------------------------------------------

    async def _on_frame(self, frame: Frame) -> None:
        """Relay a frame to the chat's viewers, at most `rate` per second. A frame that comes too early
        waits for its slot instead of being dropped: Chromium acknowledges-then-sends, so it simply
        produces fewer frames, and the last screen of a burst (a page that then stands still) is never
        lost."""
        chat_id = frame.chat_id
        lock = self._frame_locks.setdefault(chat_id, asyncio.Lock())
        async with lock:
            handle = self.local.get(chat_id)
            if handle is None:
                return  # stopped meanwhile
            rate = getattr(handle, "rate", 30) or 30
            wait = self._last_frame.get(chat_id, 0.0) + 1.0 / rate - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                if chat_id not in self.local:
                    return
            self._last_frame[chat_id] = time.monotonic()
            await self.c.notifier.emit_frame(
                VmFrame(
                    chat_id=chat_id,
                    seq=frame.seq,
                    jpeg_b64=frame.jpeg_b64,
                    width=frame.width,
                    height=frame.height,
                )
            )

    # ---- operations on the VM (forwarded to its node) ---------------------------------------------

    async def _owner(self, chat_id: int) -> str:
        node = await self.node_of(chat_id) if await self.is_running(chat_id) else None
        if node is None:
            raise coded(ErrorCode.VM_NOT_RUNNING, 409)
        return node

    async def _call(self, chat_id: int, method: str, **args: Any) -> Any:
        """Run a VM operation on the node that holds the VM. A Portal error (409 ERR_VM_NOT_RUNNING) passes
        through; any backend failure, here or on another node, is 503 ERR_VM_UNAVAILABLE and its details
        only go to the log (never an engine's text to clients)."""
        node = await self._owner(chat_id)
        try:
            return await self.rpc.call(node, method, {"chat_id": chat_id, **args})
        except PortalError:
            raise
        except RpcError as exc:
            if exc.status:
                raise PortalError(str(exc), status=exc.status) from None
            log.warning("VM call %s for chat %s failed on node %s: %s", method, chat_id, node, exc)
            raise coded(ErrorCode.VM_UNAVAILABLE, 503) from None
        except Exception as exc:
            log.warning("VM call %s for chat %s failed: %r", method, chat_id, exc)
            raise coded(ErrorCode.VM_UNAVAILABLE, 503) from None

    def _handle(self, args: dict[str, Any]) -> VmHandle:
        handle = self.local.get(int(args["chat_id"]))
        if handle is None:
            raise coded(ErrorCode.VM_NOT_RUNNING, 409)
        return handle

    async def clipboard_get(self, chat_id: int) -> str:
        return str(await self._call(chat_id, "clipboard_get"))

    async def _local_clipboard_get(self, args: dict[str, Any]) -> str:
        return await self._handle(args).clipboard_get()

    async def clipboard_set(self, chat_id: int, text: str) -> None:
        await self._call(chat_id, "clipboard_set", text=text)

    async def _local_clipboard_set(self, args: dict[str, Any]) -> None:
        await self._handle(args).clipboard_set(str(args["text"]))

    async def screenshot(self, chat_id: int) -> bytes:
        return base64.b64decode(await self._call(chat_id, "screenshot"))

    async def _local_screenshot(self, args: dict[str, Any]) -> str:
        return base64.b64encode(await self._handle(args).screenshot()).decode()

    async def set_screen(self, chat_id: int, width: int, height: int, rate: int) -> None:
        await self._call(chat_id, "set_screen", width=width, height=height, rate=rate)

    async def _local_set_screen(self, args: dict[str, Any]) -> None:
        await self._handle(args).set_screen(int(args["width"]), int(args["height"]), int(args["rate"]))

    async def input(self, chat_id: int, events: list[dict[str, Any]]) -> None:
        await self._call(chat_id, "input", events=events)

    async def host_input(self, user_id: int, sid: str, chat_id: int, events: list[dict[str, Any]]) -> None:
        """`vm:input` from a socket: only the host's joined sockets reach the VM; at most 100 events."""
        if chat_id not in await self.c.presence.chats_of_socket(sid):
            return
        if not await self.c.control.is_host(chat_id, user_id):
            return
        await self.input(chat_id, [e for e in events[:MAX_INPUT_EVENTS] if isinstance(e, dict)])

    async def _local_input(self, args: dict[str, Any]) -> None:
        await self._handle(args).input(list(args["events"]))

    async def kick_user(self, chat_id: int, user_id: int) -> None:
        """Best effort: a VM that does not answer must not hold up a kick or ban."""
        if await self.is_running(chat_id):
            await self._best_effort(chat_id, "kick", user_id=user_id)

    async def _local_kick(self, args: dict[str, Any]) -> None:
        await self._handle(args).kick(int(args["user_id"]))

    async def set_host(self, chat_id: int, user_id: int | None) -> None:
        """Best effort: Portal's control state is what counts; a neko VM follows it when it can. (A chromium
        VM has nothing to change: only the host's input is relayed, so no call to its node is made.)"""
        if await self.c.live.get(_kind_key(chat_id)) == "neko" and await self.is_running(chat_id):
            await self._best_effort(chat_id, "set_host", user_id=user_id)

    async def _local_set_host(self, args: dict[str, Any]) -> None:
        user_id = args.get("user_id")
        await self._handle(args).set_host(int(user_id) if user_id is not None else None)

    async def apply_settings(self, chat: Chat) -> None:
        """Best effort: the stored config is what counts; a VM that does not answer misses the change."""
        if await self.is_running(chat.id):
            settings = settings_of(chat)
            await self._best_effort(chat.id, "apply_settings", settings=settings.__dict__)

    async def _best_effort(self, chat_id: int, method: str, **args: Any) -> None:
        """A VM operation whose failure is logged, never raised (after-commit side effects)."""
        try:
            await self._call(chat_id, method, **args)
        except PortalError as exc:
            log.warning("VM %s for chat %s not applied: %s", method, chat_id, exc)

    async def _local_apply_settings(self, args: dict[str, Any]) -> None:
        await self._handle(args).apply_settings(ControlSettings(**args["settings"]))

    async def credentials(self, chat_id: int, user_id: int, role: str) -> dict[str, Any] | None:
        if not await self.is_running(chat_id):
            return None
        return dict(await self._call(chat_id, "credentials", user_id=user_id, role=role))

    async def _local_credentials(self, args: dict[str, Any]) -> dict[str, Any]:
        return await self._handle(args).credentials(int(args["user_id"]), str(args["role"]))

    async def _local_refresh(self, args: dict[str, Any]) -> None:
        refresh = getattr(self._handle(args), "refresh", None)
        if refresh is not None:
            await refresh()


def allowed_sizes() -> list[dict[str, int]]:
    return [{"width": w, "height": h, "rate": r} for w, h, r in ALLOWED_SIZES]
