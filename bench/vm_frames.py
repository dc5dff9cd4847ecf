"""Benchmark of browser-VM frame delivery (see bench/README.md).

`python -m bench.vm_frames` starts a Portal server in a child process (SQLite + memory LiveStore, rate limits
off, the local Chromium backend) with one public chat whose VM shows a page that changes on every animation
frame. The parent connects 1, 5 and 20 Socket.IO viewers in turn, counts the `vm:frame`s each receives, and
reads the server process's CPU time (psutil) — the Python side of the relay; Chromium's own processes are
reported apart. Viewers run in the parent, so their decoding is not charged to the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from typing import Any

import httpx
import psutil
import socketio

VIEWERS = (1, 5, 20)
WARMUP = 3.0
MEASURE = float(os.environ.get("PORTAL_BENCH_SECONDS", "10"))
PAGE = """<!doctype html><html><body style="margin:0;background:#fff;font:40px sans-serif">
<div id="d" style="width:200px;height:120px"></div><p id="t"></p>
<script>let n=0;(function tick(){n++;document.getElementById('d').style.background=n%2?'#f00':'#00f';
document.getElementById('t').textContent='frame '+n;requestAnimationFrame(tick)})();</script></body></html>"""


# ---- the server (child process) -------------------------------------------------------------------------


async def serve() -> None:
    from aiohttp import web

    from bench.support import serving, sign_in

    page_app = web.Application()

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    page_app.router.add_get("/", page)
    runner = web.AppRunner(page_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    page_url = f"http://127.0.0.1:{runner.addresses[0][1]}/"

    vm_settings: dict[str, Any] = {
        "browser_backend": "chromium",
        "vm_idle_timeout": 3600,
        "log_level": "WARNING",
    }
    async with serving(**vm_settings) as (container, base):
        tokens = await sign_in(container, max(VIEWERS) + 1)
        owner_auth = await container.sessions.authenticate(tokens[0])
        assert owner_auth is not None, "the first token was just signed in"
        owner_id = owner_auth.user.id
        await container.subscriptions.grant(actor=None, user_id=owner_id, tier=3, duration_days=None)
        async with httpx.AsyncClient(base_url=base, cookies={"psession": tokens[0]}, timeout=60) as owner:
            body = {
                "name": "bench",
                "browser_config": {"browser": "chromium", "start_url": page_url, "kiosk": False},
            }
            chat = (await owner.post("/v1/portal/chats", json=body)).json()
            slug = f"bench-{uuid.uuid4().hex[:6]}"
            await owner.post(f"/v1/portal/chats/{chat['id']}/config/update", json={"slug": slug})
            started = await owner.post(f"/v1/portal/chats/{chat['id']}/start")
            assert started.status_code == 200, started.text
        print(json.dumps({"base": base, "chat_id": chat["id"], "tokens": tokens[1:]}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent is done
    await runner.cleanup()


# ---- the viewers (parent process) -----------------------------------------------------------------------


class Viewer:
    def __init__(self, base: str, token: str, chat_id: int) -> None:
        self.base, self.token, self.chat_id = base, token, chat_id
        self.sio = socketio.AsyncClient(reconnection=False)
        self.frames = 0
        self.bytes = 0
        self.sio.on("vm:frame", self._frame)

    async def _frame(self, frame: dict[str, Any]) -> None:
        self.frames += 1
        self.bytes += len(frame["jpeg_b64"])

    async def connect(self) -> None:
        await self.sio.connect(self.base, auth={"session": self.token}, transports=["websocket"])
        ack = await self.sio.call("room:join", {"chat_id": self.chat_id}, timeout=30)
        assert ack["ok"], ack

    async def close(self) -> None:
        await self.sio.disconnect()


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def chromium_cpu(server: psutil.Process) -> float:
    total = 0.0
    for child in server.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += cpu_seconds(child)
    return total


async def measure(info: dict[str, Any], server: psutil.Process, count: int) -> dict[str, float]:
    viewers = [Viewer(info["base"], token, info["chat_id"]) for token in info["tokens"][:count]]
    await asyncio.gather(*(v.connect() for v in viewers))
    await asyncio.sleep(WARMUP)
    for v in viewers:
        v.frames = v.bytes = 0
    cpu, browser, started = cpu_seconds(server), chromium_cpu(server), time.perf_counter()
    await asyncio.sleep(MEASURE)
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(server) - cpu
    browser = chromium_cpu(server) - browser
    rates = [v.frames / elapsed for v in viewers]
    result = {
        "viewers": count,
        "fps_mean": sum(rates) / count,
        "fps_min": min(rates),
        "delivered_fps": sum(rates),
        "mbit_s": sum(v.bytes for v in viewers) * 8 / elapsed / 1e6,
        "server_cpu": cpu / elapsed,
        "server_cpu_per_viewer": cpu / elapsed / count,
        "chromium_cpu": browser / elapsed,
    }
    await asyncio.gather(*(v.close() for v in viewers))
    return result


async def main() -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.vm_frames",
        "serve",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        info = json.loads(await child.stdout.readline())
        server = psutil.Process(child.pid)
        print(f"one Chromium VM (1280x720, rate 30), {MEASURE:.0f} s per run; server CPU = Portal's process")
        print("viewers  frames/s each (min)  delivered/s  Mbit/s  server CPU  per viewer  Chromium CPU")
        for count in VIEWERS:
            r = await measure(info, server, count)
            each = f"{r['fps_mean']:>8.1f} ({r['fps_min']:>5.1f})"
            print(
                f"{r['viewers']:>7}  {each}  {r['delivered_fps']:>11.1f}  {r['mbit_s']:>6.1f}"
                f"  {r['server_cpu']:>9.1%}  {r['server_cpu_per_viewer']:>10.2%}  {r['chromium_cpu']:>11.1%}"
            )
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            await asyncio.wait_for(child.wait(), 30)
        except TimeoutError:
            child.kill()


if __name__ == "__main__":
    asyncio.run(serve() if sys.argv[1:] == ["serve"] else main())
