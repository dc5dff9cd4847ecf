"""Two server processes on one PostgreSQL + Redis (issue 3): a REST action on process A (the test server)
reaches a socket held by process B (`portal serve` in its own OS process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import Portal
from tests.servers import process_env, serve_process
from tests.sockets import SocketProbe


async def test_rest_on_one_process_reaches_a_socket_on_another(portal: Portal, tmp_path: Path) -> None:
    if portal.server.backend != "postgres":
        pytest.skip("several processes need PostgreSQL + Redis; the sqlite backend is one process by design")
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    guest = await portal.login()
    env = process_env(portal.server, tmp_path / "var", PORTAL_BROWSER_BACKEND="none")
    async with serve_process(env, tmp_path / "serve.log") as other:
        probe = SocketProbe(other)
        try:
            await probe.connect(token=guest.client.session_token)
            ack = await probe.call("room:join", {"chat_id": chat["id"]})
            assert ack["ok"] is True and ack["live"]["viewer_count"] == 1

            # A config change and a kick over REST on this process…
            path = f"/v1/portal/chats/{chat['id']}/config/update"
            await owner.client.call("POST", path, json={"history_visible": False})
            assert await probe.expect_for("room:config", chat["id"]) == {
                "chat_id": chat["id"],
                "history_visible": False,
            }
            await owner.client.call("POST", f"/v1/portal/chats/{chat['id']}/kick", json={"user_id": guest.id})

            # …reach the socket held by the other process, which removes it from the room.
            assert await probe.expect("room:kicked") == {"chat_id": chat["id"], "reason": None}
            detail = await owner.client.call("GET", f"/v1/portal/chats/{chat['id']}")
            assert detail["live"]["viewer_count"] == 0
        finally:
            await probe.close()
