"""Joins in bursts: `room:members` and `chat:status`, with the production interval
(`PORTAL_ROOM_LIST_INTERVAL`; other tests run with 0): the first change is announced at once, the burst shares
trailing announcements, and the last list everyone receives is the current one (docs/decisions.md,
"Coalesced room lists"); and joins beyond a node's slots wait for one ("Joins in progress per node")."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

from portal.clock import FakeClock
from portal.services.coalesce import Coalescer
from portal.services.rooms import JOINS_IN_PROGRESS
from tests.messaging.support import own_backend, portal_on, serve
from tests.realtime.support import join
from tests.servers import TestServer
from tests.sockets import SocketProbe, eventually, online

INTERVAL = 1.0
NEWCOMERS = 6


async def test_a_burst_of_joins_shares_its_member_lists_and_ends_on_the_current_one(
    server: TestServer, tmp_path: Path
) -> None:
    async with (
        own_backend(server.backend, tmp_path, room_list_interval=INTERVAL) as settings,
        serve(settings, server.backend, FakeClock()) as node,
        portal_on(node) as here,
    ):
        owner = await here.login("user", tier=2)
        chat = await here.public_chat(owner)
        newcomers = [await here.login() for _ in range(NEWCOMERS)]
        watcher = SocketProbe(node.base_url)
        probes = [SocketProbe(node.base_url) for _ in newcomers]
        try:
            await watcher.connect(token=owner.client.session_token)
            await join(watcher, chat["id"])
            for probe, who in zip(probes, newcomers, strict=True):
                await probe.connect(token=who.client.session_token)
            watcher.clear()
            loop = asyncio.get_running_loop()
            started = loop.time()
            for probe in probes:
                await join(probe, chat["id"])
            burst = loop.time() - started
            everyone = {owner.id, *(who.id for who in newcomers)}

            async def complete() -> bool:
                lists = watcher.pending("room:members")
                return bool(lists) and _ids(lists[-1]) == everyone

            await eventually(complete, timeout=INTERVAL * 3)
            lists = watcher.pending("room:members")
            # One at the start, then at most one per interval the burst lasted, plus the trailing one.
            assert len(lists) <= 2 + math.ceil(burst / INTERVAL), (len(lists), burst)
            assert len(lists) < NEWCOMERS

            async def counted() -> bool:
                statuses = watcher.pending("chat:status", chat["id"])
                return bool(statuses) and statuses[-1]["viewer_count"] == NEWCOMERS + 1

            await eventually(counted, timeout=INTERVAL * 3)
            assert len(watcher.pending("chat:status", chat["id"])) <= 2 + math.ceil(burst / INTERVAL)
        finally:
            for probe in [watcher, *probes]:
                await probe.close()


def _ids(event: dict[str, Any]) -> set[int]:
    return {m["user"]["id"] for m in event["members"]}


async def test_the_coalescer_announces_once_then_trails_with_the_state_it_reads() -> None:
    coalescer = Coalescer(0.2)
    state = {"value": 0}
    sent: list[tuple[str, int]] = []

    async def now() -> None:
        sent.append(("now", state["value"]))

    async def later() -> None:
        sent.append(("later", state["value"]))

    for value in range(1, 5):
        state["value"] = value
        await coalescer.run("room", now, later)
    assert sent == [("now", 1)]

    async def trailed() -> bool:
        return len(sent) == 2

    await eventually(trailed, timeout=2)
    assert sent == [("now", 1), ("later", 4)]  # one trailing announcement, with the state as it was then
    await coalescer.close()


async def test_a_zero_interval_announces_every_change() -> None:
    coalescer = Coalescer(0)
    sent: list[int] = []
    for value in range(3):

        async def now(value: int = value) -> None:
            sent.append(value)

        await coalescer.run("room", now, now)
    assert sent == [0, 1, 2]


async def test_joins_beyond_the_nodes_slots_wait_for_one_and_then_complete(portal: Any, sockets: Any) -> None:
    """At most JOINS_IN_PROGRESS joins run at once on a node (a storm queues instead of timing out on the
    database pool): one more waits, holding nothing, and completes as soon as a slot is free."""
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    guest = await portal.login()
    probe = await online(sockets, guest.client.session_token)
    slots = portal.container.rooms._join_slots
    for _ in range(JOINS_IN_PROGRESS):
        await slots.acquire()  # every slot taken by joins in progress
    released = False
    try:
        pending = asyncio.create_task(probe.call("room:join", {"chat_id": chat["id"]}))

        async def waiting() -> bool:
            return len(slots._waiters or ()) == 1

        await eventually(waiting)
        assert not pending.done()
        assert await portal.container.presence.user_ids_in(chat["id"]) == set()  # nothing recorded yet
        slots.release()
        released = True
        ack = await pending
        assert ack["ok"] is True
        assert guest.id in await portal.container.presence.user_ids_in(chat["id"])
    finally:
        for _ in range(JOINS_IN_PROGRESS - (1 if released else 0)):
            slots.release()
