"""Two nodes on one PostgreSQL + Redis: an action on node A reaches sockets held by node B, presence is
shared, and a node that dies is cleaned up by another (00 §1)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest

from portal.realtime.server import PresenceKeeper
from tests.helpers import Portal
from tests.realtime.conftest import SocketProbe, eventually, online
from tests.realtime.support import join, membership, public_room, user_ref, viewer_count
from tests.servers import another_node, node_like


def need_two_nodes(portal: Portal) -> None:
    if portal.server.backend != "postgres":
        pytest.skip("several nodes need PostgreSQL + Redis; the sqlite backend is one process by design")


async def test_logout_on_one_node_ends_the_socket_on_another(portal: Portal) -> None:
    need_two_nodes(portal)
    alice = await portal.login()
    async with another_node(portal.server) as node_b:
        probe = SocketProbe(node_b.base_url)
        try:
            await probe.connect(token=alice.client.session_token)
            await probe.expect("chat:list")

            await alice.client.logout()  # served by node A

            assert await probe.expect("session:ended") == {"reason": "logout"}
            await probe.wait_disconnected()
        finally:
            await probe.close()


async def test_rest_on_one_node_sees_a_session_made_on_another(portal: Portal) -> None:
    need_two_nodes(portal)
    alice = await portal.login()
    async with another_node(portal.server) as node_b:
        client = portal.client(base_url=node_b.base_url)
        client.session_token = alice.client.session_token
        me = await client.me()
        assert me["id"] == alice.id


async def test_viewer_count_is_shared_between_nodes(portal: Portal, sockets) -> None:
    need_two_nodes(portal)
    owner, chat = await public_room(portal)
    guest = await portal.login()
    async with another_node(portal.server) as node_b:
        on_a = await online(sockets, owner.client.session_token)
        on_b = await online(sockets, guest.client.session_token, node_b.base_url)
        await join(on_a, chat["id"])

        ack = await join(on_b, chat["id"])

        assert ack["live"]["viewer_count"] == 2
        assert [m["user"]["id"] for m in ack["members"]] == sorted([owner.id, guest.id])
        two = {"chat_id": chat["id"], "running": False, "viewer_count": 2}
        assert await on_a.expect_where("chat:status", lambda s: s == two) == two
        assert await on_b.expect_where("chat:status", lambda s: s == two) == two
        assert await on_a.expect_where("room:member_joined", lambda m: m["user"]["id"] == guest.id)
        for base_url in (portal.server.base_url, node_b.base_url):
            fresh = await online(sockets, owner.client.session_token, base_url)
            entry = next(e for e in fresh.chat_list if e["chat_id"] == chat["id"])
            assert entry == two
        assert await viewer_count(portal, owner, chat["id"]) == 2

        # typing crosses nodes too
        portal.server.clock.advance_to_next(1)
        await on_b.call("typing", {"chat_id": chat["id"]})
        assert await on_a.expect("typing") == {"chat_id": chat["id"], "user_id": guest.id}

        # and /v1/portal/status on A counts the user whose only socket is on B
        status = await owner.client.call("GET", "/v1/portal/status")
        assert guest.id in [entry["user_id"] for entry in status["users"]]


async def test_rest_kick_on_node_a_reaches_the_socket_on_node_b(portal: Portal, sockets) -> None:
    need_two_nodes(portal)
    owner, chat = await public_room(portal)
    guest = await portal.login()
    async with another_node(portal.server) as node_b:
        watcher = await online(sockets, owner.client.session_token)
        await join(watcher, chat["id"])
        on_b = await online(sockets, guest.client.session_token, node_b.base_url)
        await join(on_b, chat["id"])

        await owner.client.call("POST", f"/v1/portal/chats/{chat['id']}/kick", json={"user_id": guest.id})

        assert await on_b.expect("room:kicked") == {"chat_id": chat["id"], "reason": None}
        assert await watcher.expect_where("room:member_left", lambda m: m["user"]["id"] == guest.id) == {
            "chat_id": chat["id"],
            "user": user_ref(guest),
        }
        await watcher.expect_where(
            "chat:status", lambda s: s["chat_id"] == chat["id"] and s["viewer_count"] == 1
        )
        assert await viewer_count(portal, owner, chat["id"]) == 1
        assert await membership(portal, chat["id"], guest.id) is None
        on_b.clear()
        await owner.client.call(
            "POST", f"/v1/portal/chats/{chat['id']}/config/update", json={"allow_control_requests": True}
        )
        await watcher.expect("room:config")
        await on_b.assert_silent("room:config")


async def test_delete_on_node_a_destroys_the_room_on_node_b(portal: Portal, sockets) -> None:
    need_two_nodes(portal)
    owner, chat = await public_room(portal)
    guest, lobby = await portal.login(), await portal.login()
    async with another_node(portal.server) as node_b:
        joined_b = await online(sockets, guest.client.session_token, node_b.base_url)
        await join(joined_b, chat["id"])
        lobby_b = await online(sockets, lobby.client.session_token, node_b.base_url)
        owner_a = await online(sockets, owner.client.session_token)
        await join(owner_a, chat["id"])

        await owner.client.call("POST", f"/v1/portal/chats/{chat['id']}/delete")

        for probe in (joined_b, lobby_b, owner_a):
            assert await probe.expect_for("room:destroyed", chat["id"]) == {"chat_id": chat["id"]}
        await joined_b.assert_silent("room:destroyed", chat["id"])
        for probe in (lobby_b, owner_a):
            assert probe.pending("room:destroyed", chat["id"]) == []
        assert await node_b.container.presence.viewer_count(chat["id"]) == 0
        ack = await joined_b.call("room:join", {"chat_id": chat["id"]})
        assert ack["ok"] is False and ack["error"] == "ERR_NOT_FOUND"


async def test_config_change_on_node_a_reaches_node_b(portal: Portal, sockets) -> None:
    need_two_nodes(portal)
    owner, chat = await public_room(portal)
    guest, lobby = await portal.login(), await portal.login()
    async with another_node(portal.server) as node_b:
        joined_b = await online(sockets, guest.client.session_token, node_b.base_url)
        await join(joined_b, chat["id"])
        lobby_b = await online(sockets, lobby.client.session_token, node_b.base_url)
        path = f"/v1/portal/chats/{chat['id']}/config/update"

        await owner.client.call("POST", path, json={"name": "renamed-on-a"})
        assert await joined_b.expect("room:config") == {"chat_id": chat["id"], "name": "renamed-on-a"}

        await owner.client.call("POST", path, json={"slug": None})
        assert await joined_b.expect("room:config") == {
            "chat_id": chat["id"],
            "slug": None,
            "visibility": "private",
        }
        assert await lobby_b.expect_for("room:destroyed", chat["id"]) == {"chat_id": chat["id"]}
        assert lobby_b.pending("room:config") == []


async def test_a_node_that_dies_is_removed_from_rooms_by_another_node(portal: Portal, sockets) -> None:
    """A node that stops refreshing its liveness key (crash, no shutdown cleanup) loses its sockets:
    another node's PresenceKeeper makes them leave their rooms and go offline."""
    need_two_nodes(portal)
    owner, chat = await public_room(portal)
    guest = await portal.login()
    async with node_like(portal.server, node_ttl=1) as node_b:
        watcher = await online(sockets, owner.client.session_token)
        await join(watcher, chat["id"])
        await online(sockets, guest.client.session_token)  # the guest also has a socket on node A
        doomed = await online(sockets, guest.client.session_token, node_b.base_url)
        await join(doomed, chat["id"])
        await watcher.expect_where(
            "chat:status", lambda s: s["chat_id"] == chat["id"] and s["viewer_count"] == 2
        )
        presence = portal.container.presence
        b_id = node_b.container.node_id

        # Node B "crashes": its heartbeat stops; nothing of its shutdown runs.
        heartbeat = next(t for t in asyncio.all_tasks() if t.get_name() == f"portal-presence:{b_id}")
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
        await eventually(lambda: _is_dead(presence, b_id), timeout=5)  # its 1 s liveness key lapses

        await PresenceKeeper(portal.container).run_once()  # node A's sweep

        assert await watcher.expect_where("room:member_left", lambda m: m["user"]["id"] == guest.id) == {
            "chat_id": chat["id"],
            "user": user_ref(guest),
        }
        await watcher.expect_where(
            "message:new", lambda m: m["content"] == f"{guest.user['username']} left the chat"
        )
        status = await watcher.expect_where(
            "chat:status", lambda s: s["chat_id"] == chat["id"] and s["viewer_count"] == 1
        )
        assert status == {"chat_id": chat["id"], "running": False, "viewer_count": 1}
        assert await viewer_count(portal, owner, chat["id"]) == 1
        assert b_id not in await presence.dead_nodes()  # forgotten once swept
        assert await presence.sockets_of_node(b_id) == {}
        online_ids = [e["user_id"] for e in (await owner.client.call("GET", "/v1/portal/status"))["users"]]
        assert guest.id in online_ids  # still connected through node A
    # Node B's late shutdown (its sockets closing) must not take the guest offline a second time.
    online_ids = [e["user_id"] for e in (await owner.client.call("GET", "/v1/portal/status"))["users"]]
    assert guest.id in online_ids
    assert await viewer_count(portal, owner, chat["id"]) == 1


async def test_a_node_restarted_under_its_name_sweeps_its_crashed_run(portal: Portal, sockets) -> None:
    """A crashed node's liveness key outlives it by PORTAL_NODE_TTL (here 300 s). The node restarted under the
    same name (`portal serve` uses hostname:port) knows its previous run is dead: that run's sockets leave
    their rooms in the new run's first beat, so the room's keys are not asked of dead sessions."""
    need_two_nodes(portal)
    owner, chat = await public_room(portal)
    guest = await portal.login()
    name = f"host-{uuid.uuid4().hex}:8080"
    watcher = await online(sockets, owner.client.session_token)
    await join(watcher, chat["id"])
    async with node_like(portal.server, node_ttl=300, node_name=name) as crashed:
        doomed = await online(sockets, guest.client.session_token, crashed.base_url)
        await join(doomed, chat["id"])
        await watcher.expect_where("room:member_joined", lambda m: m["user"]["id"] == guest.id)
        crashed_id = crashed.container.node_id
        heartbeat = next(t for t in asyncio.all_tasks() if t.get_name() == f"portal-presence:{crashed_id}")
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
        assert crashed_id not in await portal.container.presence.dead_nodes()  # its key has ~300 s left

        async with node_like(portal.server, node_ttl=300, node_name=name) as restarted:
            assert await watcher.expect_where("room:member_left", lambda m: m["user"]["id"] == guest.id) == {
                "chat_id": chat["id"],
                "user": user_ref(guest),
            }
            presence = portal.container.presence

            async def forgotten() -> bool:  # the sweep's last steps come after the events
                return crashed_id not in await presence.dead_nodes() + await presence.alive_nodes()

            await eventually(forgotten, timeout=5)
            assert await presence.sockets_of_node(crashed_id) == {}
            assert restarted.container.node_id in await presence.alive_nodes()


async def test_a_stopped_node_counts_as_dead_at_once(portal: Portal) -> None:
    """A stopping node drops its liveness key: whatever sockets it could not take out of their rooms in time
    are swept by the other nodes' next beat, not after PORTAL_NODE_TTL."""
    need_two_nodes(portal)
    presence = portal.container.presence
    async with node_like(portal.server, node_ttl=300) as node_b:
        b_id = node_b.container.node_id
        assert b_id in await presence.alive_nodes()
    assert b_id not in await presence.alive_nodes()


async def test_a_node_name_claimed_again_by_the_same_run_changes_nothing(portal: Portal) -> None:
    presence = portal.container.presence
    name = f"again-{uuid.uuid4().hex}:1"
    assert await presence.claim_name(name, "run-one") is None
    assert await presence.claim_name(name, "run-one") is None
    assert await presence.claim_name(name, "run-two") == "run-one"


async def _is_dead(presence, node_id: str) -> bool:
    return node_id in await presence.dead_nodes()


def _socketio_listeners() -> int:
    """Running python-socketio Redis listeners in this event loop (one per node that has served a socket)."""
    return sum(
        1
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "") == "AsyncPubSubManager._thread"
    )


async def test_a_stopped_node_stops_listening_to_the_other_nodes(portal: Portal, sockets) -> None:
    """python-socketio leaves its Redis listener running after the web server stops; a stopped node must
    not go on receiving (and handling) every other node's emits."""
    need_two_nodes(portal)
    await online(sockets, (await portal.login()).client.session_token)  # node A's listener is running
    before = _socketio_listeners()
    guest = await portal.login()
    async with another_node(portal.server) as node_b:
        probe = await online(sockets, guest.client.session_token, node_b.base_url)
        assert _socketio_listeners() == before + 1
        await probe.close()
    assert _socketio_listeners() == before
