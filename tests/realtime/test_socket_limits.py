"""Socket.IO limits (08 §69, issue 14 item 3): event budgets per socket and per user, `vm:input`'s own
budget, a flood disconnected, sockets per session and per user, handshakes per IP; all off with
`PORTAL_RATE_LIMITS=off`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from tests.helpers import LoggedIn, Portal
from tests.servers import TestServer, fresh_ip, node_like, running_server
from tests.sockets import SocketProbe, eventually, online

LIMITED = "ERR_RATE_LIMITED"


def fresh_window(portal: Portal) -> None:
    """Start at the beginning of a clock-aligned minute (so of a 10 s window too)."""
    portal.server.clock.advance_to_next(60, into=0.01)


async def burst(probe: SocketProbe, event: str, data: Any, times: int) -> list[Any]:
    """`times` acknowledged events at once; the acks in any order."""
    return list(await asyncio.gather(*(probe.call(event, data) for _ in range(times))))


def limited(acks: list[Any]) -> list[Any]:
    return [ack for ack in acks if isinstance(ack, dict) and ack.get("error") == LIMITED]


async def another_session(portal: Portal, who: LoggedIn) -> str:
    client = portal.client()
    identity = who.user["linked_platforms"][0]
    await portal.web_login(client, identity["platform"], identity["platform_user_id"])
    assert client.session_token
    return client.session_token


async def test_every_event_counts_against_the_sockets_budget(portal: Portal, sockets) -> None:
    alice = await portal.login()
    owner = await portal.login("admin")
    chat = await portal.public_chat(owner)
    fresh_window(portal)
    probe = await online(sockets, alice.client.session_token)

    acks = await burst(probe, "presence:ping", {}, 60)
    assert limited(acks) == []
    refused = await probe.call("room:join", {"chat_id": chat["id"]})
    assert refused == {"ok": False, "error": LIMITED, "retry_after": 10}
    assert not await portal.container.presence.user_in_room(chat["id"], alice.id)  # nothing was done
    malformed = await probe.call("room:join", None)  # counted before the payload is read
    assert malformed["error"] == LIMITED

    portal.server.clock.advance(10)  # the next window
    joined = await probe.call("room:join", {"chat_id": chat["id"]})
    assert joined["ok"] is True
    assert probe.sio.connected


async def test_room_join_has_a_budget_per_user_across_sockets(portal: Portal, sockets) -> None:
    alice = await portal.login()
    fresh_window(portal)
    first = await online(sockets, alice.client.session_token)
    second = await online(sockets, alice.client.session_token)
    missing = {"chat_id": 2_000_000_000}  # refused joins count too

    assert limited(await burst(first, "room:join", missing, 20)) == []
    acks = await burst(second, "room:join", missing, 11)
    assert len(limited(acks)) == 1
    # key:distribute has a budget of its own, also per user.
    keys = {"chat_id": 2_000_000_000, "epoch": 1, "keys": []}
    assert limited(await burst(second, "key:distribute", keys, 30)) == []
    assert len(limited(await burst(first, "key:distribute", keys, 1))) == 1
    # Another user is not touched.
    bob = await portal.login()
    other = await online(sockets, bob.client.session_token)
    assert limited(await burst(other, "room:join", missing, 5)) == []


async def test_vm_input_has_its_own_budget(portal: Portal, sockets) -> None:
    alice = await portal.login()
    fresh_window(portal)
    probe = await online(sockets, alice.client.session_token)
    data = {"chat_id": 2_000_000_000, "events": []}
    acks = await burst(probe, "vm:input", data, 600)
    assert limited(acks) == []  # vm:input answers nothing while within its budget
    assert (await probe.call("vm:input", data))["error"] == LIMITED
    assert (await probe.call("presence:ping", {}))["ok"] is True  # the socket's own budget is untouched


async def test_a_socket_sending_three_times_its_budget_is_disconnected(portal: Portal, sockets) -> None:
    alice = await portal.login()
    fresh_window(portal)
    flood = await online(sockets, alice.client.session_token)
    calm = await online(sockets, alice.client.session_token)
    for _ in range(180):
        await flood.sio.emit("presence:ping", {})
    await flood.wait_disconnected()
    assert (await calm.call("presence:ping", {}))["ok"] is True


async def test_a_session_cut_for_flooding_waits_out_the_window_before_reconnecting(
    portal: Portal, sockets
) -> None:
    """Reconnecting at once (from any IP) would go on flooding: the session's handshakes are refused until
    the budget's window (10 s) has passed; the user's other sessions are not affected."""
    alice = await portal.login()
    token = alice.client.session_token
    fresh_window(portal)
    flood = await online(sockets, token)
    for _ in range(180):
        await flood.sio.emit("no:such:event", {})
    await flood.wait_disconnected()

    assert await sockets().refused(token=token) == LIMITED
    assert (await online(sockets, await another_session(portal, alice))).sio.connected
    portal.server.clock.advance(11)
    assert (await online(sockets, token)).sio.connected


async def test_at_most_ten_sockets_per_session(portal: Portal, sockets) -> None:
    alice = await portal.login()
    token = alice.client.session_token
    probes = [await online(sockets, token) for _ in range(10)]
    assert await sockets().refused(token=token) == LIMITED
    # Another session of the same user still connects.
    other = await online(sockets, await another_session(portal, alice))
    assert other.sio.connected
    await probes[0].close()
    await asyncio.sleep(0)  # the server handles the disconnect in its own task

    async def reconnects() -> bool:
        probe = sockets()
        try:
            await probe.connect(token=token)
        except Exception:
            return False
        return True

    await eventually(reconnects)


async def test_at_most_thirty_sockets_per_user(portal: Portal, sockets) -> None:
    alice = await portal.login()
    tokens = [alice.client.session_token] + [await another_session(portal, alice) for _ in range(3)]
    for index in range(30):
        await online(sockets, tokens[index // 10])
    assert await sockets().refused(token=tokens[3]) == LIMITED
    bob = await portal.login()
    assert (await online(sockets, bob.client.session_token)).sio.connected


async def test_at_most_sixty_handshakes_per_minute_per_ip(portal: Portal, sockets) -> None:
    alice = await portal.login()
    fresh_window(portal)
    ip = fresh_ip()
    for _ in range(30):  # refused handshakes count too
        assert await sockets().refused(headers={"X-Forwarded-For": ip}) == "ERR_UNAUTHORIZED"
    for _ in range(30):
        probe = sockets()
        await probe.connect(token=alice.client.session_token, headers={"X-Forwarded-For": ip})
        await probe.close()
    refused = await sockets().refused(token=alice.client.session_token, headers={"X-Forwarded-For": ip})
    assert refused == LIMITED
    assert (await online(sockets, alice.client.session_token)).sio.connected  # another IP
    portal.server.clock.advance(60)
    probe = sockets()
    await probe.connect(token=alice.client.session_token, headers={"X-Forwarded-For": ip})


@pytest_asyncio.fixture
async def unlimited(tmp_path: Path) -> AsyncIterator[TestServer]:
    async with running_server("sqlite", tmp_path, rate_limits="off") as running:
        yield running


async def test_rate_limits_off_turns_every_socket_limit_off(unlimited: TestServer) -> None:
    portal = Portal(unlimited)
    made: list[SocketProbe] = []
    try:
        alice = await portal.login()
        ip = fresh_ip()
        for _ in range(12):
            probe = SocketProbe(unlimited.base_url)
            made.append(probe)
            await probe.connect(token=alice.client.session_token, headers={"X-Forwarded-For": ip})
        acks = await burst(made[0], "room:join", {"chat_id": 2_000_000_000}, 70)
        assert limited(acks) == []
    finally:
        for probe in made:
            await probe.close()
        await portal.close()


async def test_the_session_cap_holds_across_nodes(portal: Portal, sockets) -> None:
    """One budget across nodes: on the sqlite backend a second node shares nothing, so only PostgreSQL +
    Redis runs this."""
    if not portal.server.settings.redis_url:
        return
    alice = await portal.login()
    token = alice.client.session_token
    async with node_like(portal.server) as second:
        for index in range(10):
            await online(sockets, token, portal.server.base_url if index % 2 else second.base_url)
        assert await sockets(second.base_url).refused(token=token) == LIMITED
        assert await sockets().refused(token=token) == LIMITED


async def test_unknown_events_count_against_the_budget_too(portal: Portal, sockets) -> None:
    """Ignored as before (no answer), but a flood of them is disconnected like any other."""
    alice = await portal.login()
    fresh_window(portal)
    probe = await online(sockets, alice.client.session_token)
    for _ in range(180):
        await probe.sio.emit("no:such:event", {"chat_id": 1})
    await probe.wait_disconnected()
