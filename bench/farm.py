"""Many light Socket.IO clients in a child process (bench/message_fanout.py, join_storm.py, scale.py).

A python-socketio `AsyncClient` per socket costs the client side far more than the server (a task per
event, a Packet object per frame): 200 of them receiving fan-out starve their own pings on 2 cores. These
are raw Engine.IO v4 / Socket.IO v5 WebSockets (aiohttp): they answer pings, send events with acks and
only parse the frames they wait for.

    python -m bench.farm MODE BASE CHAT_ID [API_KEY]   # tokens on stdin (one JSON line), then commands

Modes: `receive` (connect, join the chat, note when each user `message:new` arrives), `keyed` (connect;
on "go", join the chat with a fresh E2EE key pair (portal.client.e2ee) and wait for the chat key to arrive
and unwrap), `idle` (connect only). The child prints one JSON line per command: "ready" after connecting,
"report" answers what it measured. Times are `time.monotonic()`, the same clock in every process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
import time
from collections import Counter
from typing import Any

import aiohttp

from portal.client.e2ee import KeyPair

STORM_DEADLINE = 60.0  # seconds a storm's join may take to be answered, and then to be keyed
IN_FLIGHT = 4  # connects and set-up joins at once per process (the storm itself is all at once)


class RawSocket:
    def __init__(self, http: aiohttp.ClientSession, base: str, token: str) -> None:
        self.http, self.url, self.token = http, base.replace("http", "ws", 1) + "/socket.io/", token
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.acks: dict[int, asyncio.Future[Any]] = {}
        self.next_ack = 0
        self.handlers: dict[str, Any] = {}  # a frame prefix → handler(frame text)
        self.reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self.ws = await self.http.ws_connect(
            self.url, params={"EIO": "4", "transport": "websocket"}, heartbeat=None
        )
        opened = await self.ws.receive_str()
        assert opened.startswith("0"), opened
        await self.ws.send_str("40" + json.dumps({"session": self.token}))
        while True:
            frame = await self.ws.receive_str()
            if frame.startswith("40"):
                break
            if frame.startswith("44"):
                raise ConnectionRefusedError(frame)
            if frame == "2":
                await self.ws.send_str("3")
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            frame: str = message.data
            if frame == "2":
                await self.ws.send_str("3")
            elif frame.startswith("43"):
                number, _, body = frame[2:].partition("[")
                future = self.acks.pop(int(number), None)
                if future is not None and not future.done():
                    future.set_result(json.loads("[" + body)[0])
            else:
                for prefix, handler in self.handlers.items():
                    if frame.startswith(prefix):
                        handler(frame)

    async def call(self, event: str, data: Any, timeout: float = 120) -> Any:
        assert self.ws is not None
        self.next_ack += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.acks[self.next_ack] = future
        await self.ws.send_str(f"42{self.next_ack}" + json.dumps([event, data]))
        return await asyncio.wait_for(future, timeout)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader


async def gated(coroutines: list[Any], in_flight: int = IN_FLIGHT) -> list[Any]:
    gate = asyncio.Semaphore(in_flight)

    async def one(coroutine: Any) -> Any:
        async with gate:
            return await coroutine

    return list(await asyncio.gather(*(one(c) for c in coroutines)))


async def main(mode: str, base: str, chat_id: int, api_key: str) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tokens: list[str] = json.loads(sys.stdin.readline())
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        sockets = [RawSocket(http, base, token) for token in tokens]
        arrivals: Counter[str] = Counter()
        last: dict[str, float] = {}
        keyed: dict[int, float] = {}
        failures: list[str] = []

        def on_message(frame: str) -> None:
            data = json.loads(frame[2:])[1]
            if data.get("type") == "user":
                arrivals[str(data["id"])] += 1
                last[str(data["id"])] = time.monotonic()

        async def join(socket: RawSocket) -> None:
            ack = await socket.call("room:join", {"chat_id": chat_id})
            assert ack.get("ok") is True, ack

        pairs = [KeyPair.generate() for _ in sockets]

        async def register(pair: KeyPair, token: str) -> None:
            """The session's public key, as `SecureChat.start` registers it (`POST /v1/portal/keys`)."""
            response = await http.post(
                f"{base}/v1/portal/keys",
                json={"public_key": pair.public_key_b64},
                headers={"X-API-Key": api_key, "Cookie": f"psession={token}"},
            )
            assert response.status == 200, await response.text()

        async def join_keyed(n: int, socket: RawSocket) -> None:
            pair = pairs[n]
            got = asyncio.get_running_loop().create_future()

            def on_key(frame: str) -> None:
                data = json.loads(frame[2:])[1]
                if data["chat_id"] == chat_id and not got.done():
                    pair.unwrap(data["blob"])  # the work a real client does with it
                    got.set_result(time.monotonic())

            socket.handlers['42["key:received"'] = on_key
            try:
                ack = await socket.call("room:join", {"chat_id": chat_id}, timeout=STORM_DEADLINE)
            except TimeoutError:
                failures.append(f"no ack within {STORM_DEADLINE:.0f} s")
                return
            if ack.get("ok") is not True:
                failures.append(str(ack.get("error")))
                return
            if ack.get("key"):
                on_key("42" + json.dumps(["key:received", {"chat_id": chat_id, **ack["key"]}]))
            try:
                keyed[n] = await asyncio.wait_for(got, STORM_DEADLINE)
            except TimeoutError:
                failures.append(f"no key within {STORM_DEADLINE:.0f} s of the ack")

        for socket in sockets:
            if mode == "receive":
                socket.handlers['42["message:new"'] = on_message
        if mode == "keyed":
            await gated([register(pair, token) for pair, token in zip(pairs, tokens, strict=True)])
        await gated([s.connect() for s in sockets], IN_FLIGHT * (4 if mode == "idle" else 1))
        if mode == "receive":
            await gated([join(s) for s in sockets])
        print(json.dumps({"ready": len(sockets)}), flush=True)
        loop = asyncio.get_running_loop()
        while line := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
            if line == "go" and mode == "keyed":
                started = time.monotonic()
                await gated([join_keyed(n, s) for n, s in enumerate(sockets)], len(sockets))
                last_keyed = max(keyed.values(), default=started)
                print(
                    json.dumps({"started": started, "last_keyed": last_keyed, "failed": failures}), flush=True
                )
            elif line == "report":
                print(json.dumps({"arrivals": arrivals, "last": last}), flush=True)
        await gated([s.close() for s in sockets], 100)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] if sys.argv[4:] else ""))


class Farm:
    """The parent's handle on farm child processes sharing `tokens` between them."""

    def __init__(self, processes: list[asyncio.subprocess.Process]) -> None:
        self.processes = processes

    @classmethod
    async def start(
        cls, mode: str, base: str, chat_id: int, tokens: list[str], *, processes: int = 2, api_key: str = ""
    ) -> Farm:
        children = []
        for n in range(processes):
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.farm",
                mode,
                base,
                str(chat_id),
                api_key,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            assert child.stdin is not None
            child.stdin.write((json.dumps(tokens[n::processes]) + "\n").encode())
            children.append(child)
        farm = cls(children)
        await asyncio.gather(*(farm._answer(child) for child in children))
        return farm

    @staticmethod
    async def _answer(child: asyncio.subprocess.Process) -> dict[str, Any]:
        assert child.stdout is not None
        line = await child.stdout.readline()
        if not line:
            raise RuntimeError(f"a farm process ended early ({await child.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def command(self, line: str) -> list[dict[str, Any]]:
        for child in self.processes:
            assert child.stdin is not None
            child.stdin.write((line + "\n").encode())
        return list(await asyncio.gather(*(self._answer(child) for child in self.processes)))

    async def close(self) -> None:
        for child in self.processes:
            assert child.stdin is not None
            child.stdin.write(b"\n")
        for child in self.processes:
            try:
                await asyncio.wait_for(child.wait(), 60)
            except TimeoutError:
                child.kill()
                await child.wait()
