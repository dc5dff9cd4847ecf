"""`portal serve` processes a test can SIGKILL, and bursts of acknowledged writes against them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from portal.client import PortalClient
from portal.client.secure import SecureChat
from tests.messaging.support import bundle, messages_path
from tests.servers import PUBLIC_KEY, free_port, fresh_ip, wait_until_serving


@dataclass
class ServeProcess:
    """One `portal serve` OS process (tests/servers.py `serve_process`, but the test holds the handle)."""

    process: asyncio.subprocess.Process
    base_url: str

    def kill(self) -> None:
        """SIGKILL: no shutdown step runs, nothing is flushed beyond what was committed."""
        if self.process.returncode is None:
            os.kill(self.process.pid, signal.SIGKILL)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), timeout=15)
            except TimeoutError:
                self.process.kill()
        await self.process.wait()


@contextlib.asynccontextmanager
async def serve_process(
    env: dict[str, str], log: Path, port: int | None = None
) -> AsyncIterator[ServeProcess]:
    """`portal serve` configured only by `env`'s PORTAL_* variables; stopped (if still alive) on exit. A
    restart passes the port the killed process had, as a supervisor restarting it would."""
    port = port or free_port()
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("PORTAL_")}
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "portal"),
            "serve",
            "--port",
            str(port),
            env={**inherited, **env},
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    running = ServeProcess(process, f"http://127.0.0.1:{port}")
    try:
        await wait_until_serving(running.base_url, process, log)
        yield running
    finally:
        await running.stop()


def client_of(base_url: str, token: str) -> PortalClient:
    """A signed-in client of `base_url` from a client IP of its own."""
    return PortalClient(base_url, api_key=PUBLIC_KEY, session=token, headers={"X-Forwarded-For": fresh_ip()})


async def secure_member(base_url: str, token: str, chat_id: int) -> SecureChat:
    """A started SecureChat of the session on `base_url`, joined to the chat with its key in hand (only a
    session holding the room key may post)."""
    chat = SecureChat(client_of(base_url, token))
    await chat.start()
    await chat.join(chat_id)
    return chat


@dataclass
class Burst:
    """What a burst of writes got acknowledged, and what failed once the server was gone."""

    acked: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


async def send_until_gone(member: SecureChat, chat_id: int, burst: Burst) -> None:
    """POST messages back to back until the server stops answering; record every 2xx id. The bundles are
    random bytes under the member's current epoch (the server checks only their outer shape)."""
    while True:
        content = bundle(member.epochs[chat_id])
        try:
            response = await member.client.raw("POST", messages_path(chat_id), json={"content": content})
        except httpx.TransportError as exc:
            burst.failures.append(type(exc).__name__)
            return
        if response.status_code != 200:
            burst.failures.append(f"{response.status_code} {response.text[:200]}")
            return
        burst.acked.append(response.json()["id"])
