"""An abusive Socket.IO client in its own OS process (so its CPU is not the test server's event loop):
`python -m tests.reliability.abuser BASE_URL SESSION_TOKEN flood|huge`. It connects, abuses until the
server drops it, and reconnects from a fresh client IP, until it is killed. It prints `connected` once,
after its first connection, so the test knows the abuse has begun."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sys

import socketio

BIG = 5 * 1024 * 1024


async def flood(sio: socketio.AsyncClient) -> None:
    """Events as fast as the socket takes them, without waiting for acks (disconnected at 3× the budget)."""
    while sio.connected:
        await sio.emit("presence:ping", {})
        await sio.emit("no:such:event", {"x": 1})
        await asyncio.sleep(0)


async def huge(sio: socketio.AsyncClient) -> None:
    """A 5 MB packet: engine.io refuses packets over 1 MB and closes the connection."""
    await sio.emit("room:join", {"chat_id": 1, "pad": "x" * BIG})
    await sio.wait()  # until the server closes the connection


async def main(base_url: str, token: str, kind: str) -> None:
    abuse = {"flood": flood, "huge": huge}[kind]
    announced = False
    for n in itertools.count(1):
        sio = socketio.AsyncClient(reconnection=False)
        try:
            await sio.connect(
                base_url,
                auth={"session": token},
                # a client IP per connection, as a botnet would: the handshakes-per-IP limit does not stop it
                headers={"X-Forwarded-For": f"172.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"},
                transports=["websocket"],
                wait_timeout=10,
            )
            if not announced:
                print("connected", flush=True)
                announced = True
            await abuse(sio)
        except (socketio.exceptions.SocketIOError, OSError):
            await asyncio.sleep(0.05)
        finally:
            with contextlib.suppress(Exception):
                await sio.eio.disconnect(abort=True)


if __name__ == "__main__":
    # Lowest CPU priority: on the test machine the abusers share the node's two cores, which a real
    # abuser (on a machine of its own) does not; what is measured is what their traffic costs the node.
    os.nice(19)
    asyncio.run(main(*sys.argv[1:4]))
