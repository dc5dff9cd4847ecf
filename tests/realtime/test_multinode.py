"""Two nodes on one PostgreSQL + Redis: an action on node A reaches sockets held by node B (00 §1)."""

from __future__ import annotations

import pytest

from tests.helpers import Portal
from tests.realtime.conftest import SocketProbe
from tests.servers import another_node


async def test_logout_on_one_node_ends_the_socket_on_another(portal: Portal) -> None:
    if portal.server.backend != "postgres":
        pytest.skip("several nodes need PostgreSQL + Redis; the sqlite backend is one process by design")
    alice = await portal.login()
    async with another_node(portal.server) as node_b:
        probe = SocketProbe(node_b.base_url)
        try:
            await probe.connect(token=alice.client.session_token)
            assert await probe.expect("chat:list") == []

            await alice.client.logout()  # served by node A

            assert await probe.expect("session:ended") == {"reason": "logout"}
            await probe.wait_disconnected()
        finally:
            await probe.close()


async def test_rest_on_one_node_sees_a_session_made_on_another(portal: Portal) -> None:
    if portal.server.backend != "postgres":
        pytest.skip("several nodes need PostgreSQL + Redis; the sqlite backend is one process by design")
    alice = await portal.login()
    async with another_node(portal.server) as node_b:
        client = portal.client(base_url=node_b.base_url)
        client.session_token = alice.client.session_token
        me = await client.me()
        assert me["id"] == alice.id
