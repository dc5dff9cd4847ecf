"""The local browser backend: one headless system Chromium per chat, driven by Playwright over CDP.

Portal starts the Chromium process itself (so it knows the pid for the memory cap and notices a crash) and
attaches Playwright to it over the DevTools protocol. The screen reaches viewers as JPEG screencast frames
(`Page.startScreencast`); the host's input is replayed with Playwright's mouse and keyboard.

The clipboard is kept by Portal (headless pages have no system clipboard): `clipboard/update` sets it,
a paste shortcut from the host types it into the page, a copy shortcut stores the page's selection.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import ctypes.util
import logging
import re
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
from playwright.async_api import Browser, CDPSession, Page, Playwright, Request, Route, async_playwright
from playwright.async_api import Error as PlaywrightError

from portal.browser.base import ControlSettings, ExitSink, Frame, FrameSink, VmError, VmSpec

log = logging.getLogger("portal.browser.chromium")
CHROMIUM_PATH = "/usr/bin/chromium"
DEVTOOLS_LINE = re.compile(rb"DevTools listening on (ws://\S+)")
START_TIMEOUT = 20.0
JPEG_QUALITY = 70
SCREENCAST_ATTEMPTS = 3
# Wrong-sized frames dropped in a row (each followed by a screencast restart) before Portal gives up waiting
# for the VM's own size and passes frames on as they come.
SIZE_NUDGES = 3
MAX_EVENTS = 100
BUTTONS = {"left", "middle", "right"}
MODIFIERS = {"Control", "Meta"}
PASTE_KEYS = {"v", "V"}
COPY_KEYS = {"c", "C", "x", "X"}
# Flags for a quiet, offline-friendly headless browser (the machines here have no internet).
CHROMIUM_FLAGS = (
    "--headless=new",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--password-store=basic",
    "--use-mock-keychain",
)


def chromium_path() -> str | None:
    """The system Chromium (Debian package `chromium`), if installed."""
    return CHROMIUM_PATH if Path(CHROMIUM_PATH).exists() else shutil.which("chromium")


def navigable(url: str) -> bool:
    """Only http(s) and about:blank: no file:, chrome:, data: or javascript: pages."""
    return url == "about:blank" or urlsplit(url).scheme in ("http", "https")


def jpeg_size(data_b64: str) -> tuple[int, int] | None:
    """(width, height) from the start-of-frame segment of a base64 JPEG (only its first bytes are decoded)."""
    try:
        head = base64.b64decode(data_b64[:4096])
    except ValueError:
        return None
    i = 2
    while head[:2] == b"\xff\xd8" and i + 9 <= len(head) and head[i] == 0xFF:
        marker, length = head[i + 1], int.from_bytes(head[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(head[i + 7 : i + 9], "big"), int.from_bytes(head[i + 5 : i + 7], "big")
        i += 2 + length
    return None


def _proportional_size(process: psutil.Process) -> int:
    try:
        return int(process.memory_full_info().pss)
    except (AttributeError, psutil.AccessDenied):  # no PSS on this platform: resident size
        return int(process.memory_info().rss)


def _top_level(request: Request) -> bool:
    try:
        return request.frame.parent_frame is None
    except Exception:  # a popup's first navigation has no frame yet: it is a top-level page
        return True


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child before exec
    """Linux: the kernel kills Chromium when the Portal process dies, even by SIGKILL, so a crashed node
    leaves no browser behind (its renderers exit once the browser process is gone)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class ChromiumBackend:
    name = "chromium"

    def __init__(self, *, path: str | None = None, run_as_root: bool | None = None) -> None:
        self.path = path or chromium_path()
        self._playwright: Playwright | None = None
        self._lock = asyncio.Lock()
        self._vms: set[ChromiumVm] = set()
        # Chromium refuses to run as root without --no-sandbox (CI containers run as root).
        self.no_sandbox = run_as_root if run_as_root is not None else psutil.Process().uids().effective == 0

    @property
    def available(self) -> bool:
        return self.path is not None

    @property
    def unavailable_reason(self) -> str:
        return (
            "" if self.available else f"Chromium was not found at {CHROMIUM_PATH} (install Debian's chromium)"
        )

    async def _driver(self) -> Playwright:
        async with self._lock:
            if self._playwright is None:
                self._playwright = await async_playwright().start()
            return self._playwright

    async def start(self, spec: VmSpec, on_frame: FrameSink, on_exit: ExitSink) -> ChromiumVm:
        if self.path is None:
            raise VmError(self.unavailable_reason)
        vm = ChromiumVm(self, spec, on_frame, on_exit)
        try:
            await vm.launch(await self._driver())
        except Exception as exc:
            await vm.stop()
            raise VmError(f"Chromium did not start: {exc}") from exc
        self._vms.add(vm)
        return vm

    def forget(self, vm: ChromiumVm) -> None:
        self._vms.discard(vm)

    async def discard(self, chat_id: int) -> None:
        """Nothing to clean after a dead node: its Chromium died with it (PR_SET_PDEATHSIG)."""
        return None

    async def close(self) -> None:
        for vm in list(self._vms):
            await vm.stop()
        if self._playwright is not None:
            await self._playwright.stop()
            self._playwright = None


class ChromiumVm:
    kind = "chromium"

    def __init__(
        self, backend: ChromiumBackend, spec: VmSpec, on_frame: FrameSink, on_exit: ExitSink
    ) -> None:
        self.backend = backend
        self.spec = spec
        self.chat_id = spec.chat_id
        self.width, self.height, self.rate = spec.width, spec.height, spec.rate
        self.settings = spec.settings
        self.on_frame = on_frame
        self.on_exit = on_exit
        self.clipboard = ""
        self.process: asyncio.subprocess.Process | None = None
        self.browser: Browser | None = None
        self.page: Page | None = None
        self.cdp: CDPSession | None = None
        self.profile_dir = tempfile.mkdtemp(prefix=f"portal-vm-{spec.chat_id}-")
        self._seq = 0
        self._held: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._watch: asyncio.Task[None] | None = None
        self._input_lock = asyncio.Lock()  # one emit's events are replayed together, never interleaved
        self._screencast_lock = asyncio.Lock()  # restarts of the screencast (refresh, resize) one at a time
        # Frames not of the VM's own size are stale: captured before Chromium applied the viewport emulation
        # (an 800×600 VM once showed 800×457, the headless window's content area), or during a resize the old
        # picture scaled into the new width.
        self._wrong_sized_in_a_row = 0

    # ---- lifecycle --------------------------------------------------------------------------------

    async def launch(self, playwright: Playwright) -> None:
        args = [
            self.backend.path or CHROMIUM_PATH,
            *CHROMIUM_FLAGS,
            "--remote-debugging-port=0",
            f"--user-data-dir={self.profile_dir}",
            f"--window-size={self.width},{self.height}",
        ]
        if self.backend.no_sandbox:
            args.append("--no-sandbox")
        args.append("about:blank")
        self.process = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=_die_with_parent,
        )
        endpoint = await asyncio.wait_for(self._devtools_endpoint(), START_TIMEOUT)
        self.browser = await playwright.chromium.connect_over_cdp(endpoint)
        context = self.browser.contexts[0]
        # The guard covers every page of the context: a popup (a target=_blank link) must not escape it.
        await context.route("**/*", self._guard_navigation)
        self.page = context.pages[0] if context.pages else await context.new_page()
        context.on("page", self._on_popup)
        await self.page.set_viewport_size({"width": self.width, "height": self.height})
        if self.spec.start_url and self.spec.start_url != "about:blank":
            with contextlib.suppress(Exception):  # an unreachable start page still gives a working VM
                await self.page.goto(self.spec.start_url, wait_until="commit", timeout=10_000)
        await self._first_screencast()
        self._watch = asyncio.create_task(self._watch_process(), name=f"portal-vm-{self.chat_id}")

    async def _devtools_endpoint(self) -> str:
        assert self.process is not None and self.process.stderr is not None
        while True:
            line = await self.process.stderr.readline()
            if not line:
                raise VmError("Chromium exited before it was ready")
            match = DEVTOOLS_LINE.search(line)
            if match:
                self._spawn(self._drain_stderr())  # keep the pipe from filling up
                return match.group(1).decode()

    async def _drain_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        with contextlib.suppress(Exception):
            while await self.process.stderr.readline():
                pass

    async def _watch_process(self) -> None:
        """A Chromium that exits without being stopped crashed: tell the manager."""
        assert self.process is not None
        await self.process.wait()
        if not self._stopping:
            log.warning("Chromium of chat %s exited with %s", self.chat_id, self.process.returncode)
            await self._cleanup()
            await self.on_exit(self.chat_id, "crashed")

    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None and not self._stopping

    async def stop(self) -> None:
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
        await self._cleanup()

    async def _cleanup(self) -> None:
        if self.browser is not None:
            with contextlib.suppress(Exception):
                await self.browser.close()
            self.browser = None
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            with contextlib.suppress(Exception):
                await self.process.wait()
        shutil.rmtree(self.profile_dir, ignore_errors=True)
        self.backend.forget(self)

    def memory_bytes(self) -> int | None:
        """Memory of Chromium and all its child processes, each counted by its proportional share (PSS): the
        processes share most of their pages, so adding up resident sizes would count those several times
        over and stop VMs that use far less than the cap."""
        if self.process is None or self.process.returncode is not None:
            return None
        try:
            root = psutil.Process(self.process.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            return None
        total = 0
        for process in processes:
            with contextlib.suppress(psutil.Error):
                total += _proportional_size(process)
        return total

    # ---- screen -----------------------------------------------------------------------------------

    async def _first_screencast(self) -> None:
        """Start the screencast while the start page may still be swapping renderers: Chromium then answers
        "Not attached to an active page" for a moment (seen on a busy machine), so ask again on a new
        DevTools session after the page has settled a little."""
        for attempt in range(SCREENCAST_ATTEMPTS):
            try:
                await self._start_screencast()
                return
            except PlaywrightError as exc:
                if attempt == SCREENCAST_ATTEMPTS - 1 or "Not attached" not in str(exc):
                    raise
                log.info("screencast of chat %s not ready (%s); trying again", self.chat_id, exc)
                await self._drop_cdp()
                assert self.page is not None
                with contextlib.suppress(PlaywrightError):
                    await self.page.wait_for_load_state("domcontentloaded", timeout=2_000)

    async def _drop_cdp(self) -> None:
        if self.cdp is not None:
            with contextlib.suppress(PlaywrightError):
                await self.cdp.detach()
            self.cdp = None

    async def _start_screencast(self) -> None:
        assert self.page is not None
        if self.cdp is None:
            self.cdp = await self.page.context.new_cdp_session(self.page)
            self.cdp.on("Page.screencastFrame", self._on_screencast_frame)
        await self.cdp.send(
            "Page.startScreencast",
            {
                "format": "jpeg",
                "quality": JPEG_QUALITY,
                "maxWidth": self.width,
                "maxHeight": self.height,
                "everyNthFrame": 1,
            },
        )

    def _on_screencast_frame(self, event: dict[str, Any]) -> None:
        self._spawn(self._deliver(event))

    def _spawn(self, coro: Any) -> None:
        """Run a background task and keep a reference until it finishes (asyncio holds tasks weakly)."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, event: dict[str, Any]) -> None:
        """Hand the frame to the manager, then ack it: Chromium sends the next frame only after the ack, so
        a busy server slows the screencast down instead of queueing frames (back-pressure)."""
        metadata = event.get("metadata") or {}
        data = str(event["data"])
        # The image's own size: while the screen is being resized, Chromium sends frames of the old picture
        # scaled into the new width, whose metadata already names the new size.
        size = jpeg_size(data) or (
            int(metadata.get("deviceWidth") or self.width),
            int(metadata.get("deviceHeight") or self.height),
        )
        try:
            if self._stale(size):
                self._spawn(self._nudge())
                return
            self._seq += 1
            frame = Frame(chat_id=self.chat_id, seq=self._seq, jpeg_b64=data, width=size[0], height=size[1])
            await self.on_frame(frame)
        finally:
            if self.cdp is not None:
                with contextlib.suppress(Exception):
                    await self.cdp.send("Page.screencastFrameAck", {"sessionId": event["sessionId"]})

    def _stale(self, size: tuple[int, int]) -> bool:
        """Whether to drop a frame: it is not the VM's size (at most SIZE_NUDGES in a row are dropped, so a
        browser that keeps another size still shows something)."""
        if size == (self.width, self.height):
            self._wrong_sized_in_a_row = 0
            return False
        self._wrong_sized_in_a_row += 1
        return self._wrong_sized_in_a_row <= SIZE_NUDGES

    async def _nudge(self) -> None:
        """After a stale frame: apply the viewport again and restart the screencast, since Chromium sends
        frames only when the picture changes and a still page would otherwise leave viewers without one."""
        if self.cdp is None or self.page is None or self._stopping or self._screencast_lock.locked():
            return  # a resize under way brings its own frames
        with contextlib.suppress(PlaywrightError):
            async with self._screencast_lock:
                await self.page.set_viewport_size({"width": self.width, "height": self.height})
                await self.cdp.send("Page.stopScreencast")
                await self._start_screencast()

    async def set_screen(self, width: int, height: int, rate: int) -> None:
        assert self.page is not None
        async with self._screencast_lock:
            self.width, self.height, self.rate = width, height, rate
            await self.page.set_viewport_size({"width": width, "height": height})
            if self.cdp is not None:
                await self.cdp.send("Page.stopScreencast")
            await self._start_screencast()

    async def screenshot(self) -> bytes:
        assert self.page is not None
        return await self.page.screenshot(type="jpeg", quality=85)

    async def refresh(self) -> None:
        """Chromium sends screencast frames only when the page changes: restarting the screencast makes it
        send the current screen at once (for a viewer who joined a still page)."""
        if self.cdp is None or self._stopping or self._screencast_lock.locked():
            return  # a restart under way already brings a fresh frame (many viewers join at once)
        async with self._screencast_lock:
            await self.cdp.send("Page.stopScreencast")
            await self._start_screencast()

    # ---- navigation -------------------------------------------------------------------------------

    async def _guard_navigation(self, route: Route, request: Request) -> None:
        """Navigations go only to http(s) and about:blank (file:, chrome:, data: … are refused by Chromium
        itself before any request); kiosk mode keeps the top-level page on the start URL's site. A refused
        navigation is answered 204 No Content, which browsers treat as "stay on the current page" (an
        aborted one would leave an error page instead)."""
        if request.is_navigation_request() and not self._may_open(request.url, top_level=_top_level(request)):
            await route.fulfill(status=204, body="")
            return
        await route.continue_()

    def _may_open(self, url: str, *, top_level: bool = True) -> bool:
        if not navigable(url):
            return False
        if top_level and self.spec.kiosk and self.spec.start_url and url != "about:blank":
            # Kiosk mode keeps the page on the start URL's site.
            return urlsplit(url).netloc == urlsplit(self.spec.start_url).netloc
        return True

    def _on_popup(self, popup: Page) -> None:
        if popup is not self.page:
            self._spawn(self._adopt_popup(popup))

    async def _adopt_popup(self, popup: Page) -> None:
        """Viewers only see the one page: a popup is closed and its address opened there instead (when the
        guard allows it), so a target=_blank link behaves like a plain link."""
        url = popup.url
        with contextlib.suppress(Exception):
            await popup.close()
        if self.page is not None and url and url != "about:blank" and self._may_open(url):
            with contextlib.suppress(Exception):
                await self.page.goto(url, wait_until="commit", timeout=10_000)

    # ---- input ------------------------------------------------------------------------------------

    async def input(self, events: list[dict[str, Any]]) -> None:
        """Replay the host's input; unknown types are ignored, coordinates clamped to the screen."""
        async with self._input_lock:
            for event in events[:MAX_EVENTS]:
                handler = getattr(self, f"_on_{event.get('type')}", None)
                if handler is not None and self.page is not None:
                    with contextlib.suppress(Exception):  # one bad event never breaks the VM
                        await handler(event)

    def _xy(self, event: dict[str, Any]) -> tuple[float, float]:
        x = min(max(float(event.get("x", 0)), 0.0), self.width - 1)
        y = min(max(float(event.get("y", 0)), 0.0), self.height - 1)
        return x, y

    @staticmethod
    def _button(event: dict[str, Any]) -> Any:
        button = event.get("button", "left")
        return button if button in BUTTONS else "left"

    async def _on_mousemove(self, event: dict[str, Any]) -> None:
        assert self.page is not None
        await self.page.mouse.move(*self._xy(event))

    async def _on_mousedown(self, event: dict[str, Any]) -> None:
        assert self.page is not None
        await self.page.mouse.move(*self._xy(event))
        await self.page.mouse.down(button=self._button(event))

    async def _on_mouseup(self, event: dict[str, Any]) -> None:
        assert self.page is not None
        await self.page.mouse.move(*self._xy(event))
        await self.page.mouse.up(button=self._button(event))

    async def _on_wheel(self, event: dict[str, Any]) -> None:
        assert self.page is not None
        await self.page.mouse.wheel(float(event.get("dx", 0)), float(event.get("dy", 0)))

    async def _on_keydown(self, event: dict[str, Any]) -> None:
        assert self.page is not None
        key = str(event.get("key", ""))
        shortcut = bool(self._held & MODIFIERS)
        if shortcut and key in PASTE_KEYS:
            await self.page.keyboard.insert_text(self.clipboard)  # the VM's clipboard is Portal's
            return
        if shortcut and key in COPY_KEYS:
            self.clipboard = await self._selection() or self.clipboard
        await self.page.keyboard.down(key)
        self._held.add(key)

    async def _on_keyup(self, event: dict[str, Any]) -> None:
        assert self.page is not None
        key = str(event.get("key", ""))
        if key in self._held:
            self._held.discard(key)
            await self.page.keyboard.up(key)

    async def _on_text(self, event: dict[str, Any]) -> None:
        assert self.page is not None
        await self.page.keyboard.insert_text(str(event.get("text", ""))[:10_000])

    async def _selection(self) -> str:
        assert self.page is not None
        return str(
            await self.page.evaluate(
                """() => {
                const el = document.activeElement;
                if (el && typeof el.selectionStart === "number") {
                    return el.value.substring(el.selectionStart, el.selectionEnd);
                }
                return String(window.getSelection() || "");
            }"""
            )
        )

    # ---- clipboard, credentials, settings ---------------------------------------------------------

    async def clipboard_get(self) -> str:
        return self.clipboard

    async def clipboard_set(self, text: str) -> None:
        self.clipboard = text

    async def credentials(self, user_id: int, role: str) -> dict[str, Any]:
        return {
            "chat_id": self.chat_id,
            "kind": "chromium",
            "role": role,
            "width": self.width,
            "height": self.height,
        }

    async def kick(self, user_id: int) -> None:
        return None  # viewers only ever get frames from Portal: removing them from the room is enough

    async def set_host(self, user_id: int | None) -> None:
        return None  # Portal relays only the host's input (VmManager.input_from)

    async def apply_settings(self, settings: ControlSettings) -> None:
        self.settings = settings
