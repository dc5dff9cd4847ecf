"""The browser-VM backend interface: one browser per group chat.

A backend starts a VM for a chat from a `VmSpec` and answers a `VmHandle`. The VM manager
(`portal/services/vms.py`) owns the lifecycle (capacity, idle timeout, crash handling, live state);
backends only run browsers. Frames (chromium) are pushed to the manager through `on_frame`; a VM that
dies by itself calls `on_exit`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

ALLOWED_SIZES: tuple[tuple[int, int, int], ...] = (
    (800, 600, 30),
    (1024, 768, 30),
    (1280, 720, 30),
    (1366, 768, 30),
    (1600, 900, 30),
    (1920, 1080, 30),
)
DEFAULT_SIZE = (1280, 720, 30)  # a new chat's screen: width, height, rate


class VmError(Exception):
    """A backend failure; the manager maps it to 503 ERR_VM_UNAVAILABLE (never leaks backend details)."""


@dataclass(frozen=True)
class ControlSettings:
    allow_control_requests: bool = False
    locked_controls: bool = False
    implicit_hosting: bool = False
    inactive_cursors: bool = False


@dataclass(frozen=True)
class VmSpec:
    chat_id: int
    browser: str = "chromium"
    start_url: str | None = None
    kiosk: bool = False
    width: int = DEFAULT_SIZE[0]
    height: int = DEFAULT_SIZE[1]
    rate: int = DEFAULT_SIZE[2]
    settings: ControlSettings = field(default_factory=ControlSettings)


@dataclass(frozen=True)
class Frame:
    """One JPEG screencast frame (chromium backend), kept base64-encoded as the DevTools protocol hands
    it over and the documented `vm:frame` sends it on; a node decodes it once only for sockets that asked for
    binary frames (docs/realtime.md, "Binary frames")."""

    chat_id: int
    seq: int
    jpeg_b64: str
    width: int
    height: int


FrameSink = Callable[[Frame], Awaitable[None]]
ExitSink = Callable[[int, str], Awaitable[None]]  # (chat_id, reason)


class VmHandle(Protocol):
    kind: str  # "chromium" | "neko"
    chat_id: int

    async def stop(self) -> None: ...

    def alive(self) -> bool: ...

    async def credentials(self, user_id: int, role: str) -> dict[str, Any]:
        """What a viewer needs to watch/use the VM (`vm:credentials`, the join ack's `vm`)."""

    async def clipboard_get(self) -> str: ...

    async def clipboard_set(self, text: str) -> None: ...

    async def set_screen(self, width: int, height: int, rate: int) -> None: ...

    async def screenshot(self) -> bytes:
        """The current screen as JPEG bytes."""

    async def input(self, events: list[dict[str, Any]]) -> None:
        """Mouse and keyboard input from the host (chromium only; neko gets input over WebRTC)."""

    async def refresh(self) -> None:
        """Send the current screen again (a viewer joined a page that is not changing; chromium only)."""

    async def kick(self, user_id: int) -> None:
        """Drop a user from the VM (neko sessions; a no-op where the server relays everything)."""

    async def set_host(self, user_id: int | None) -> None:
        """Portal's host (or nobody) is the VM's host: neko's own control; a no-op for chromium, where only
        the host's `vm:input` reaches the page."""

    async def apply_settings(self, settings: ControlSettings) -> None: ...

    def memory_bytes(self) -> int | None:
        """Resident memory of the VM's processes, when known (the memory cap watchdog)."""


class BrowserBackend(Protocol):
    name: str  # "chromium" | "neko-docker" | "none"

    @property
    def available(self) -> bool: ...

    @property
    def unavailable_reason(self) -> str: ...

    async def start(self, spec: VmSpec, on_frame: FrameSink, on_exit: ExitSink) -> VmHandle: ...

    async def discard(self, chat_id: int) -> None:
        """Clean up what a dead node left of a chat's VM (a container; processes die with their node)."""

    async def close(self) -> None:
        """Stop every VM of this backend and release its resources."""
