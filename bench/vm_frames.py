"""Benchmark of browser-VM frame delivery, base64 and binary (see bench/README.md).

`python -m bench.vm_frames` starts a Portal server in a child process (SQLite + memory LiveStore, rate limits
off, the local Chromium backend) with one public chat whose VM shows a page that changes on every animation
frame. For each frame format (`base64`: the documented `jpeg_b64` text; `binary`: `auth.frames = "binary"`,
the JPEG as a Socket.IO binary attachment) the parent connects 1, 5 and 20 Socket.IO viewers in turn, counts
the `vm:frame`s each receives and the bytes they take on the wire (the engine.io payloads, exactly as
python-socketio encodes them), and reads the server process's CPU time (psutil) — the Python side of the
relay; Chromium's own processes are reported apart. Viewers run in the parent, so their decoding is not
charged to the server.

The ceiling, run the same way: a bare python-socketio app on the same uvicorn, in a child process, that
emits one captured frame of the VM to a room at the rate Portal delivered, in the same format (decoding the
base64 once per frame for binary, as Portal does). "Per extra viewer" is (CPU at 20 viewers − CPU at 1) / 19.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import sys
import time
import timeit
import uuid
from typing import Any

import httpx
import psutil
import socketio
from socketio import packet as sio_packet

VIEWERS = (1, 5, 20)
FORMATS = ("base64", "binary")
WARMUP = 3.0
MEASURE = float(os.environ.get("PORTAL_BENCH_SECONDS", "10"))
TARGET_PER_VIEWER = 0.002  # 0.2 % of a core per extra viewer
HEADER = "run             viewers  each frames/s (min)  delivered/s  KB/frame  Mbit/s  server CPU  Chromium"
PAGE = """<!doctype html><html><body style="margin:0;background:#fff;font:40px sans-serif">
<div id="d" style="width:200px;height:120px"></div><p id="t"></p>
<script>let n=0;(function tick(){n++;document.getElementById('d').style.background=n%2?'#f00':'#00f';
document.getElementById('t').textContent='frame '+n;requestAnimationFrame(tick)})();</script></body></html>"""


# ---- the Portal server (child process) ------------------------------------------------------------------


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


# ---- the ceiling (child process) ------------------------------------------------------------------------


async def ceiling(fmt: str, fps: float) -> None:
    """A bare python-socketio app: every socket joins one room, which gets the frame (read from stdin) `fps`
    times a second in `fmt` — Portal's relay minus Portal."""
    import uvicorn

    frame = json.loads(sys.stdin.readline())
    sio = socketio.AsyncServer(async_mode="asgi", logger=False, engineio_logger=False)

    @sio.event  # type: ignore[untyped-decorator, unused-ignore]
    async def connect(sid: str, _environ: dict[str, Any], _auth: Any = None) -> None:
        await sio.enter_room(sid, "screen")

    server = uvicorn.Server(
        uvicorn.Config(socketio.ASGIApp(sio), host="127.0.0.1", port=0, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no "started" event
        await asyncio.sleep(0.01)
    print(
        json.dumps({"base": f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"}), flush=True
    )
    seq, started = 0, time.monotonic()
    while not task.done():
        seq += 1
        data = {**frame, "seq": seq}
        if fmt == "binary":
            data["jpeg"] = base64.b64decode(data.pop("jpeg_b64"))
        await sio.emit("vm:frame", data, room="screen")
        await asyncio.sleep(max(0.0, started + seq / fps - time.monotonic()))


# ---- the viewers (parent process) -----------------------------------------------------------------------


def wire_bytes(frame: dict[str, Any]) -> int:
    """The bytes of the engine.io payloads this frame took (one text message, or a header + an attachment)."""
    encoded = sio_packet.Packet(sio_packet.EVENT, data=["vm:frame", frame]).encode()
    parts = encoded if isinstance(encoded, list) else [encoded]
    return sum(len(p) if isinstance(p, bytes) else len(p.encode()) + 1 for p in parts)  # +1: engine.io "4"


class Viewer:
    def __init__(self, base: str, token: str, chat_id: int, fmt: str) -> None:
        self.base, self.token, self.chat_id, self.fmt = base, token, chat_id, fmt
        self.sio = socketio.AsyncClient(reconnection=False)
        self.frames = 0
        self.bytes = 0
        self.last: dict[str, Any] | None = None
        self.sio.on("vm:frame", self._frame)

    async def _frame(self, frame: dict[str, Any]) -> None:
        self.frames += 1
        self.bytes += wire_bytes(frame)
        self.last = frame

    async def connect(self) -> None:
        await self.sio.connect(
            self.base,
            auth={"session": self.token, "frames": self.fmt},
            transports=["websocket"],
            wait_timeout=30,  # a loaded 2-core machine: 20 handshakes at once can take seconds
        )
        if self.chat_id:
            ack = await self.sio.call("room:join", {"chat_id": self.chat_id}, timeout=30)
            assert ack["ok"], ack

    async def close(self) -> None:
        await self.sio.disconnect()


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def children_cpu(server: psutil.Process) -> float:
    total = 0.0
    for child in server.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += cpu_seconds(child)
    return total


async def measure(
    base: str, tokens: list[str], chat_id: int, server: psutil.Process, count: int, fmt: str
) -> dict[str, Any]:
    viewers = [Viewer(base, token, chat_id, fmt) for token in tokens[:count]]
    await asyncio.gather(*(v.connect() for v in viewers))
    await asyncio.sleep(WARMUP)
    for v in viewers:
        v.frames = v.bytes = 0
    cpu, browser, started = cpu_seconds(server), children_cpu(server), time.perf_counter()
    await asyncio.sleep(MEASURE)
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(server) - cpu
    browser = children_cpu(server) - browser
    rates = [v.frames / elapsed for v in viewers]
    delivered = sum(v.frames for v in viewers)
    result = {
        "viewers": count,
        "fps_mean": sum(rates) / count,
        "fps_min": min(rates),
        "delivered_fps": sum(rates),
        "mbit_s": sum(v.bytes for v in viewers) * 8 / elapsed / 1e6,
        "kb_frame": sum(v.bytes for v in viewers) / max(delivered, 1) / 1000,
        "server_cpu": cpu / elapsed,
        "chromium_cpu": browser / elapsed,
        "frame": viewers[0].last,
    }
    await asyncio.gather(*(v.close() for v in viewers))
    return result


def per_extra_viewer(runs: list[dict[str, Any]]) -> float:
    first, last = runs[0], runs[-1]
    added: int = last["viewers"] - first["viewers"]
    return (float(last["server_cpu"]) - float(first["server_cpu"])) / added


def print_runs(label: str, runs: list[dict[str, Any]], chromium: bool) -> None:
    for r in runs:
        each = f"{r['fps_mean']:>6.1f} ({r['fps_min']:>5.1f})"
        extra = f"  {r['chromium_cpu']:>8.1%}" if chromium else ""
        print(
            f"{label:<15} {r['viewers']:>7}  {each:>19}  {r['delivered_fps']:>11.1f}  {r['kb_frame']:>8.1f}"
            f"  {r['mbit_s']:>6.1f}  {r['server_cpu']:>10.1%}{extra}"
        )


async def child(*args: str) -> tuple[asyncio.subprocess.Process, dict[str, Any]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.vm_frames",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    return process, {}


async def ended(process: asyncio.subprocess.Process) -> None:
    if process.stdin is not None:
        process.stdin.close()
    try:
        await asyncio.wait_for(process.wait(), 30)
    except TimeoutError:
        process.kill()


async def run_ceiling(fmt: str, fps: float, frame: dict[str, Any], tokens: list[str]) -> list[dict[str, Any]]:
    process, _ = await child("ceiling", fmt, str(fps))
    try:
        assert process.stdin is not None and process.stdout is not None
        sample = {k: frame[k] for k in ("chat_id", "width", "height")}
        sample["jpeg_b64"] = (
            frame["jpeg_b64"] if "jpeg_b64" in frame else base64.b64encode(frame["jpeg"]).decode()
        )
        process.stdin.write((json.dumps(sample) + "\n").encode())
        await process.stdin.drain()
        base = json.loads(await process.stdout.readline())["base"]
        server = psutil.Process(process.pid)
        return [await measure(base, tokens, 0, server, count, fmt) for count in VIEWERS]
    finally:
        process.kill()
        await process.wait()


def decode_cost(frame: dict[str, Any]) -> float:
    """Seconds one base64 decode of this frame takes (what a node pays per frame with binary viewers)."""
    text = frame["jpeg_b64"] if "jpeg_b64" in frame else base64.b64encode(frame["jpeg"]).decode()
    return float(min(timeit.repeat(lambda: base64.b64decode(text), number=200, repeat=5)) / 200)


async def main() -> None:
    process, _ = await child("serve")
    results: dict[str, list[dict[str, Any]]] = {}
    ceilings: dict[str, list[dict[str, Any]]] = {}
    try:
        assert process.stdout is not None
        info = json.loads(await process.stdout.readline())
        server = psutil.Process(process.pid)
        print(
            f"one Chromium VM (1280x720, rate 30), {MEASURE:.0f} s per run; server CPU = the server process's"
        )
        print(HEADER)
        for fmt in FORMATS:
            results[fmt] = [
                await measure(info["base"], info["tokens"], info["chat_id"], server, n, fmt) for n in VIEWERS
            ]
            print_runs(f"Portal {fmt}", results[fmt], chromium=True)
    finally:
        await ended(process)
    sample = next(r["frame"] for r in results["base64"] if r["frame"])
    # The ceiling emits at the best rate Portal delivered (Chromium's, on a quiet machine ~28/s).
    fps = max(r["fps_mean"] for runs in results.values() for r in runs)
    for fmt in FORMATS:
        ceilings[fmt] = await run_ceiling(fmt, fps, sample, info["tokens"])
        print_runs(f"ceiling {fmt}", ceilings[fmt], chromium=False)
    print()
    print("per extra viewer   Portal   ceiling  ratio   (target: Portal <= 0.20 % of a core)")
    for fmt in FORMATS:
        portal, bare = per_extra_viewer(results[fmt]), per_extra_viewer(ceilings[fmt])
        ok = "ok" if portal <= TARGET_PER_VIEWER else "OVER"
        ratio = f"{portal / bare:5.2f}x" if bare > 0 else "  n/a"
        print(f"{fmt:<17} {portal:>7.3%}  {bare:>7.3%}  {ratio}  {ok}")
    saved = 1 - results["binary"][-1]["kb_frame"] / results["base64"][-1]["kb_frame"]
    print(f"binary frames take {saved:.0%} fewer bytes on the wire")
    print(
        f"one base64 decode per frame per node (binary viewers present): {decode_cost(sample) * 1e6:.0f} µs"
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        asyncio.run(serve())
    elif sys.argv[1:2] == ["ceiling"]:
        asyncio.run(ceiling(sys.argv[2], float(sys.argv[3])))
    else:
        asyncio.run(main())
