"""How long a queue entry lives: the TTL from the last sign of life, `presence:ping`, connects, and the
disconnect grace (08 §53). Time moves with the server's FakeClock; the janitor is run by the test."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.helpers import Portal, parse_time
from tests.match.support import enqueue, status, tag
from tests.sockets import online


def settings(portal: Portal) -> tuple[int, int]:
    s = portal.container.settings
    return s.match_queue_ttl, s.match_disconnect_grace


async def test_an_entry_lapses_after_the_ttl_and_polling_does_not_extend_it(portal: Portal) -> None:
    ttl, _ = settings(portal)
    alice = await portal.login()
    answer = await enqueue(alice, tag())
    portal.server.clock.advance(ttl - 1)
    assert (await status(alice))["expires_at"] == answer["expires_at"]  # a pure read
    portal.server.clock.advance(1)
    assert await status(alice) == {"state": "idle"}  # lapsed, even before the janitor's pass
    await portal.container.janitor.run_once()
    assert await portal.container.live.match_entry(alice.id) is None


async def test_a_lapsed_entry_pairs_with_nobody(portal: Portal) -> None:
    ttl, _ = settings(portal)
    alice, bob = await portal.login(), await portal.login()
    t = tag()
    await enqueue(alice, t)
    portal.server.clock.advance(ttl)
    await enqueue(bob, t)
    assert (await status(bob))["state"] == "searching"
    assert await status(alice) == {"state": "idle"}


async def test_presence_ping_and_connects_refresh_the_entry(portal: Portal, sockets: Any) -> None:
    ttl, _ = settings(portal)
    alice = await portal.login()
    probe = await online(sockets, alice.client.session_token)
    await enqueue(alice, tag())
    portal.server.clock.advance(ttl - 10)
    assert await probe.call("presence:ping", {}) == {"ok": True}
    expires = parse_time((await status(alice))["expires_at"])
    assert abs(expires - (portal.server.clock.now() + timedelta(seconds=ttl))) < timedelta(seconds=1)
    portal.server.clock.advance(ttl - 10)
    await online(sockets, alice.client.session_token)  # a second socket connecting refreshes too
    portal.server.clock.advance(ttl - 10)
    assert (await status(alice))["state"] == "searching"
    portal.server.clock.advance(10)
    assert await status(alice) == {"state": "idle"}
    assert await probe.call("presence:ping", {}) == {"ok": True}  # no entry: nothing to refresh
    assert await status(alice) == {"state": "idle"}


async def test_the_last_socket_out_starts_the_grace(portal: Portal, sockets: Any) -> None:
    _, grace = settings(portal)
    alice = await portal.login()
    one = await online(sockets, alice.client.session_token)
    two = await online(sockets, alice.client.session_token)
    await enqueue(alice, tag())
    await one.close()
    await _wait_for_deadline(portal, alice.id, lambda ms: ms > _now_ms(portal) + grace * 1000)  # one left
    await two.close()
    await _wait_for_deadline(portal, alice.id, lambda ms: ms <= _now_ms(portal) + grace * 1000)
    portal.server.clock.advance(grace)
    await portal.container.janitor.run_once()
    assert await status(alice) == {"state": "idle"}


async def test_back_within_the_grace_keeps_the_entry(portal: Portal, sockets: Any) -> None:
    ttl, grace = settings(portal)
    alice = await portal.login()
    probe = await online(sockets, alice.client.session_token)
    await enqueue(alice, tag())
    await probe.close()
    await _wait_for_deadline(portal, alice.id, lambda ms: ms <= _now_ms(portal) + grace * 1000)
    portal.server.clock.advance(grace - 1)
    await online(sockets, alice.client.session_token)
    portal.server.clock.advance(ttl - 1)
    await portal.container.janitor.run_once()
    assert (await status(alice))["state"] == "searching"


async def test_a_user_who_never_connects_keeps_the_plain_ttl(portal: Portal) -> None:
    ttl, grace = settings(portal)
    alice = await portal.login()
    await enqueue(alice, tag())
    portal.server.clock.advance(max(grace, ttl - 1))
    assert (await status(alice))["state"] == "searching"


def _now_ms(portal: Portal) -> int:
    return int(portal.server.clock.time() * 1000)


async def _wait_for_deadline(portal: Portal, user_id: int, ok: Any) -> None:
    """The server handles a disconnect after the client has gone: poll the entry until it shows."""
    from tests.sockets import eventually

    async def check() -> bool:
        entry = await portal.container.live.match_entry(user_id)
        return entry is not None and bool(ok(entry.deadline_ms))

    await eventually(check)
