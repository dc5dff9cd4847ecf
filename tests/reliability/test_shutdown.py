"""A `portal serve` stopped with SIGTERM while sockets are in rooms: its sockets leave their rooms while the
LiveStore is still open, so nothing is left behind for other nodes to sweep and the log has no error."""

from __future__ import annotations

from pathlib import Path

from portal.clock import FakeClock
from portal.live.presence import Presence
from tests.messaging.support import own_backend, portal_on, serve
from tests.servers import TestServer, process_env, serve_handle
from tests.sockets import SocketProbe


async def test_a_stopping_node_takes_its_sockets_out_of_their_rooms_first(
    server: TestServer, tmp_path: Path
) -> None:
    async with own_backend(server.backend, tmp_path) as settings:
        async with serve(settings, server.backend, FakeClock()) as first, portal_on(first) as here:
            owner = await here.login("user", tier=2)
            chat = await here.public_chat(owner)
            guests = [await here.login() for _ in range(3)]
            env = process_env(first, tmp_path / "var", PORTAL_BROWSER_BACKEND="none", PORTAL_LOG_LEVEL="INFO")
        log = tmp_path / "serve.log"
        async with serve_handle(env, log) as node:
            probes = [SocketProbe(node.base_url) for _ in guests]
            for probe, guest in zip(probes, guests, strict=True):
                await probe.connect(token=guest.client.session_token)
                assert (await probe.call("room:join", {"chat_id": chat["id"]}))["ok"] is True
            await node.stop()
        text = log.read_text()
        assert "Traceback" not in text and "ERROR" not in text, text[-3000:]
        if server.backend == "postgres":  # the shared presence is clean without any sweep
            async with serve(settings, server.backend, FakeClock()) as later:
                presence: Presence = later.container.presence
                assert await presence.sockets_in(chat["id"]) == []
                assert await presence.online_user_ids() == []
        for probe in probes:
            await probe.close()
