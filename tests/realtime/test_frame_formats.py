"""The two shapes of `vm:frame` (docs/realtime.md, "Binary frames"): a socket that asks for binary frames at
its handshake gets the JPEG as a Socket.IO binary attachment, every other socket the documented base64 text,
both from the same frame — also across nodes. The frames here are handed to the notifier the way the VM
manager hands them over (the bus), so no Chromium is needed; tests/vm/test_binary_frames.py does the same
with a real VM.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import aiohttp
import pytest

from portal.events import VmFrame
from tests.helpers import Portal
from tests.realtime.conftest import SocketProbe, online
from tests.realtime.support import join, public_room
from tests.servers import another_node, fresh_ip

# JPEG-shaped bytes holding every byte value, so text handling anywhere on the way would show.
JPEG = b"\xff\xd8" + bytes(range(256)) * 16 + b"\xff\xd9"


def frame(chat_id: int, seq: int, jpeg: bytes = JPEG) -> VmFrame:
    return VmFrame(chat_id=chat_id, seq=seq, jpeg_b64=base64.b64encode(jpeg).decode(), width=1280, height=720)


async def watching(sockets: Any, token: str | None, chat_id: int, **kwargs: Any) -> SocketProbe:
    probe = await online(sockets, token, **kwargs)
    await join(probe, chat_id)
    return probe


async def test_a_base64_and_a_binary_viewer_in_one_room_each_get_their_shape(portal: Portal, sockets) -> None:
    owner, chat = await public_room(portal)
    guest = await portal.login()
    text = await watching(sockets, owner.client.session_token, chat["id"])
    binary = await watching(sockets, guest.client.session_token, chat["id"], frames="binary")

    await portal.container.notifier.emit_frame(frame(chat["id"], 1))

    got = await text.expect_for("vm:frame", chat["id"])
    assert got == frame(chat["id"], 1).payload()  # the documented shape, unchanged
    got = await binary.expect_for("vm:frame", chat["id"])
    assert list(got) == ["chat_id", "seq", "jpeg", "width", "height"]
    assert got == {"chat_id": chat["id"], "seq": 1, "jpeg": JPEG, "width": 1280, "height": 720}


async def test_an_unknown_format_keeps_the_base64_shape(portal: Portal, sockets) -> None:
    """Only "binary" switches: "base64" or a value the server does not know keeps the documented shape."""
    owner, chat = await public_room(portal)
    guest = await portal.login()
    probes = [
        await watching(sockets, owner.client.session_token, chat["id"], frames="base64"),
        await watching(sockets, guest.client.session_token, chat["id"], frames="webp"),
    ]
    await portal.container.notifier.emit_frame(frame(chat["id"], 7))
    for probe in probes:
        assert await probe.expect_for("vm:frame", chat["id"]) == frame(chat["id"], 7).payload()


async def test_a_binary_viewer_on_another_node_gets_bytes(portal: Portal, sockets) -> None:
    if portal.server.backend != "postgres":
        pytest.skip("several nodes need PostgreSQL + Redis")
    owner, chat = await public_room(portal)
    guest = await portal.login()
    async with another_node(portal.server) as node_b:
        on_a = await watching(sockets, owner.client.session_token, chat["id"])
        on_b = await online(sockets, guest.client.session_token, node_b.base_url, frames="binary")
        await join(on_b, chat["id"])

        await portal.container.notifier.emit_frame(frame(chat["id"], 3))  # node A's VM

        assert (await on_b.expect_for("vm:frame", chat["id"]))["jpeg"] == JPEG
        assert (await on_a.expect_for("vm:frame", chat["id"]))["jpeg_b64"] == frame(chat["id"], 3).jpeg_b64


# ---- on the wire ---------------------------------------------------------------------------------------


class RawSocket:
    """A bare engine.io v4 / Socket.IO v5 websocket client, to read the packets as they travel."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def send(self, text: str) -> None:
        await self.ws.send_str(text)

    async def receive(self) -> str | bytes:
        """The next websocket message that is not an engine.io ping (pings are answered)."""
        while True:
            message = await self.ws.receive(timeout=5)
            if message.type == aiohttp.WSMsgType.BINARY:
                data: bytes = message.data
                return data
            assert message.type == aiohttp.WSMsgType.TEXT, message
            if message.data == "2":
                await self.send("3")
                continue
            text: str = message.data
            return text

    async def until(self, prefix: str) -> str:
        while True:
            message = await self.receive()
            if isinstance(message, str) and message.startswith(prefix):
                return message


async def test_a_binary_frame_travels_as_an_attachment_not_as_text(portal: Portal) -> None:
    """The packets of a binary `vm:frame`: a BINARY_EVENT header (`451-`) whose `jpeg` is a placeholder,
    then one websocket binary message holding the JPEG's bytes as they are — no base64 anywhere."""
    owner, chat = await public_room(portal)
    url = portal.server.base_url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(url, headers={"X-Forwarded-For": fresh_ip()}) as ws,
    ):
        raw = RawSocket(ws)
        await raw.until("0{")  # engine.io open
        await raw.send("40" + json.dumps({"session": owner.client.session_token, "frames": "binary"}))
        await raw.until("40{")  # Socket.IO connect
        await raw.send("421" + json.dumps(["room:join", {"chat_id": chat["id"]}]))
        assert json.loads((await raw.until("431"))[3:])[0]["ok"] is True
        await portal.container.notifier.emit_frame(frame(chat["id"], 5))

        header = await raw.until('451-["vm:frame"')  # engine.io MESSAGE, Socket.IO BINARY_EVENT, 1 attachment
        name, payload = json.loads(header[len("451-") :])
        assert name == "vm:frame"
        assert payload == {
            "chat_id": chat["id"],
            "seq": 5,
            "jpeg": {"_placeholder": True, "num": 0},
            "width": 1280,
            "height": 720,
        }
        attachment = await raw.receive()
        assert attachment == JPEG  # the bytes, a quarter smaller than their base64
        assert len(attachment) < len(frame(chat["id"], 5).jpeg_b64) * 0.76
