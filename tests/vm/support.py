"""Helpers for the browser-VM tests: a tiny web site for the VM to open, JPEG checks, Chromium processes.

The VM runs a real Chromium (Debian's package). Its start page is served here, on loopback, by a small
aiohttp server that records every request, so a test can tell what the browser asked for.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import psutil
import pytest
from aiohttp import web

from portal.browser.chromium import chromium_path
from tests.helpers import LoggedIn, Portal
from tests.sockets import SocketProbe, online

CHROMIUM_MISSING = (
    "Chromium NOT INSTALLED (/usr/bin/chromium): the real browser-VM tests did NOT run "
    "(install Debian's `chromium`; .ci/run does)"
)
needs_chromium = pytest.mark.skipif(chromium_path() is None, reason=CHROMIUM_MISSING)
VM_START_TIMEOUT = 30.0  # a Chromium start on a busy 2-core machine can take several seconds
FRAME_TIMEOUT = 15.0

# An input box at a known place (for clicks), nothing that moves: the page is still once loaded.
INPUT_PAGE = """<!doctype html><html><head><title>input</title></head>
<body style="margin:0;background:#fff">
<input id="box" autofocus style="position:absolute;left:20px;top:20px;width:400px;height:40px;font-size:24px">
</body></html>"""

# A small square changing colour on every animation frame: Chromium has a new frame all the time.
ANIMATED_PAGE = """<!doctype html><html><body style="margin:0;background:#fff">
<div id="d" style="width:60px;height:60px"></div>
<script>let n=0;(function tick(){n++;document.getElementById('d').style.background=n%2?'#f00':'#00f';
requestAnimationFrame(tick)})();</script></body></html>"""

# Noise on a big canvas: large frames that fill a socket that is not read quickly.
NOISE_PAGE = """<!doctype html><html><body style="margin:0">
<canvas id="c" width="1024" height="768"></canvas>
<script>const c=document.getElementById('c'),x=c.getContext('2d');
(function draw(){const d=x.createImageData(c.width,c.height),a=d.data;
for(let i=0;i<a.length;i+=4){a[i]=Math.random()*255;a[i+1]=Math.random()*255;a[i+2]=Math.random()*255;
a[i+3]=255}x.putImageData(d,0,0);requestAnimationFrame(draw)})();</script></body></html>"""

# Two quick changes, then nothing: the second one must still reach viewers.
BURST_PAGE = """<!doctype html><html><body style="margin:0;background:#fff">
<script>setTimeout(()=>{document.body.style.background='#f00';
setTimeout(()=>{document.body.style.background='#0a0';document.body.textContent='settled'},20)},300);
</script></body></html>"""

# Runs `js` 100 ms after loading; 800 ms later, if this document is still there, it asks for /attempted.
GO_PAGE = """<!doctype html><html><body>navigating
<script>setTimeout(()=>{%s},100);setTimeout(()=>fetch('/attempted'),800);</script></body></html>"""

# One big link covering the top-left corner (target given by the query).
LINK_PAGE = """<!doctype html><html><body style="margin:0">
<a href="%s" target="%s" style="display:block;width:300px;height:300px;background:#f00">link</a>
<script>setTimeout(()=>fetch('/attempted'),1500);</script></body></html>"""


# Three links, one under the other (100 px tall each): another site in place, another site as a popup,
# this site as a popup.
KIOSK_PAGE = """<!doctype html><html><body style="margin:0">
<a href="%(off)s" style="display:block;height:100px;background:#f00">off-site</a>
<a href="%(off)s" target="_blank" style="display:block;height:100px;background:#0f0">off-site popup</a>
<a href="%(same)s" target="_blank" style="display:block;height:100px;background:#00f">same-site popup</a>
</body></html>"""


@dataclass
class Site:
    """The pages the VM opens, on http://127.0.0.1:{port}; `requests` lists every path asked for."""

    port: int = 0
    requests: list[str] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def go_url(self, js: str) -> str:
        return self.url("/go?js=" + quote(js))

    def link_url(self, to: str, target: str = "_self") -> str:
        return self.url(f"/link?target={target}&to=" + quote(to))

    def kiosk_url(self, off: str, same: str) -> str:
        return self.url(f"/kiosk?off={quote(off)}&same={quote(same)}")

    async def wait_for(self, path: str, timeout: float = 10.0) -> None:
        async def seen() -> None:
            while not any(r.startswith(path) for r in self.requests):
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(seen(), timeout)

    def asked_for(self, path: str) -> bool:
        return any(r.startswith(path) for r in self.requests)


def _html(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/html", headers={"Cache-Control": "no-store"})


@contextlib.asynccontextmanager
async def serve_site() -> AsyncIterator[Site]:
    site = Site()

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        site.requests.append(f"{request.path_qs}@{request.host}")
        site._arrived.set()
        return await handler(request)

    def page(render: Any) -> Any:
        async def handler(request: web.Request) -> web.Response:
            return _html(render(request))

        return handler

    app = web.Application(middlewares=[record])
    fixed = {"/input": INPUT_PAGE, "/animated": ANIMATED_PAGE, "/noise": NOISE_PAGE, "/burst": BURST_PAGE}
    for path, text in fixed.items():
        app.router.add_get(path, page(lambda _r, text=text: text))
    for path in ("/landed", "/attempted"):
        app.router.add_get(path, page(lambda _r: "<p>ok</p>"))
    app.router.add_get("/go", page(lambda r: GO_PAGE % r.query["js"]))
    app.router.add_get("/link", page(lambda r: LINK_PAGE % (r.query["to"], r.query.get("target", "_self"))))
    app.router.add_get(
        "/kiosk", page(lambda r: KIOSK_PAGE % {"off": r.query["off"], "same": r.query["same"]})
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    site.port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield site
    finally:
        await runner.cleanup()


# ---- JPEG -------------------------------------------------------------------------------------------


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame segment; fails on anything that is not a JPEG."""
    assert data[:2] == b"\xff\xd8", "no JPEG start-of-image marker"
    assert data.rstrip(b"\x00")[-2:] == b"\xff\xd9", "no JPEG end-of-image marker"
    i = 2
    while i + 4 <= len(data):
        assert data[i] == 0xFF, f"broken JPEG segment at {i}"
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    raise AssertionError("no JPEG start-of-frame segment")


def frame_jpeg(frame: dict[str, Any]) -> bytes:
    return base64.b64decode(frame["jpeg_b64"], validate=True)


# ---- processes --------------------------------------------------------------------------------------


def chromium_pids() -> set[int]:
    """Chromium processes started by this test process (the servers run in it)."""
    found = set()
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "chrom" in child.name():
                found.add(child.pid)
    return found


def browser_roots(pids: set[int]) -> set[int]:
    """The browser processes among `pids` (not their renderers, GPU, zygote … children)."""
    roots = set()
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            parent = psutil.Process(pid).parent()
            if parent is None or parent.pid not in pids:
                roots.add(pid)
    return roots


async def gone(pids: set[int], timeout: float = 10.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
        if not alive:
            return True
        await asyncio.sleep(0.05)
    return False


# ---- chats with a VM --------------------------------------------------------------------------------


def chat_path(chat_id: int, rest: str = "") -> str:
    return f"/v1/portal/chats/{chat_id}{rest}"


async def joined(sockets: Any, who: LoggedIn, chat_id: int, base_url: str | None = None) -> SocketProbe:
    probe = await online(sockets, who.client.session_token, base_url)
    ack = await probe.call("room:join", {"chat_id": chat_id})
    assert ack["ok"] is True, ack
    probe.join_ack = ack  # type: ignore[attr-defined]
    return probe


async def start(who: LoggedIn, chat_id: int) -> None:
    assert await who.client.call("POST", chat_path(chat_id, "/start")) == {"ok": True}


async def stop(who: LoggedIn, chat_id: int) -> None:
    assert await who.client.call("POST", chat_path(chat_id, "/stop")) == {"ok": True}


async def premium_chat(portal: Portal, **fields: Any) -> tuple[LoggedIn, dict[str, Any]]:
    owner = await portal.login("user", tier=2)
    return owner, await portal.private_chat(owner, **fields)


def browser(start_url: str | None = None, *, kiosk: bool = False) -> dict[str, Any]:
    return {"browser": "chromium", "start_url": start_url, "kiosk": kiosk}


async def input_events(probe: SocketProbe, chat_id: int, events: list[dict[str, Any]]) -> Any:
    """Send `vm:input` and wait until the server has handled it (its ack carries nothing)."""
    return await probe.call("vm:input", {"chat_id": chat_id, "events": events}, timeout=15)


def click(x: int, y: int) -> list[dict[str, Any]]:
    return [
        {"type": "mousemove", "x": x, "y": y},
        {"type": "mousedown", "x": x, "y": y, "button": "left"},
        {"type": "mouseup", "x": x, "y": y, "button": "left"},
    ]


def chord(*keys: str) -> list[dict[str, Any]]:
    """Control held while each key is pressed and released (Ctrl+A, Ctrl+C, …)."""
    events = [{"type": "keydown", "key": "Control", "code": "ControlLeft"}]
    for key in keys:
        events += [{"type": "keydown", "key": key}, {"type": "keyup", "key": key}]
    return [*events, {"type": "keyup", "key": "Control", "code": "ControlLeft"}]


async def clipboard(who: LoggedIn, chat_id: int) -> str:
    return str((await who.client.call("GET", chat_path(chat_id, "/clipboard")))["text"])


async def copy_all(probe: SocketProbe, who: LoggedIn, chat_id: int) -> str:
    """Select all and copy in the VM (as the host), then read the VM clipboard over REST."""
    await input_events(probe, chat_id, chord("a", "c"))
    return await clipboard(who, chat_id)


async def stop_every_vm(portal: Portal) -> None:
    vms = portal.container.vms
    for chat_id in list(vms.local):
        with contextlib.suppress(Exception):
            await vms.stop_chat(chat_id)
