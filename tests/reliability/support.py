"""Bursts of acknowledged writes against `portal serve` processes (tests/servers.py `serve_handle`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from portal.client import PortalClient
from portal.client.secure import SecureChat
from tests.messaging.support import bundle, messages_path
from tests.servers import PUBLIC_KEY, fresh_ip


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
