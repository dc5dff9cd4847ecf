"""`vm:frame` delivery (00 §7, issue 5): bounded by the screen rate, the newest screen always arrives, a
joiner of a still page sees it at once, and a viewer that stops reading does not slow the others.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from sqlalchemy import select

from portal.db.models import ChatRestriction
from portal.realtime.notifier import FRAME_BACKLOG, NAMESPACE
from tests.helpers import LoggedIn, Portal
from tests.sockets import SocketProbe, eventually
from tests.vm.support import (
    FRAME_TIMEOUT,
    VM_START_TIMEOUT,
    Site,
    browser,
    chat_path,
    frame_jpeg,
    joined,
    jpeg_size,
    needs_chromium,
    premium_chat,
    start,
    stop,
)

pytestmark = [needs_chromium, pytest.mark.usefixtures("clean_vms")]


@pytest.fixture(autouse=True)
def sqlite_only(portal: Portal) -> None:
    if portal.server.backend != "sqlite":
        pytest.skip("frame delivery does not depend on the database: run once (sqlite)")


async def count_frames(probe: SocketProbe, chat_id: int, seconds: float) -> list[dict[str, Any]]:
    """The frames `probe` receives during the next `seconds`."""
    probe.events["vm:frame"] = asyncio.Queue()
    await asyncio.sleep(seconds)
    return probe.pending("vm:frame", chat_id)


async def test_the_frame_rate_is_bounded_by_the_screen_rate(portal: Portal, sockets, site: Site) -> None:
    """A page that changes on every animation frame (~60/s): viewers get at most `rate` (30) frames a
    second, in order, and still a steady stream."""
    owner, chat = await premium_chat(portal, browser_config=browser(site.url("/animated")))
    chat_id = chat["id"]
    await owner.client.call(
        "POST", chat_path(chat_id, "/screen/update"), json={"width": 800, "height": 600, "rate": 30}
    )
    probe = await joined(sockets, owner, chat_id)
    await start(owner, chat_id)
    try:
        await probe.expect_for("vm:frame", chat_id, VM_START_TIMEOUT)
        await site.wait_for("/animated")
        frames = await count_frames(probe, chat_id, 3.0)
    finally:
        await stop(owner, chat_id)
    assert 6 <= len(frames) <= 3 * 30 + 2, f"{len(frames)} frames in 3 s"
    seqs = [f["seq"] for f in frames]
    assert seqs == sorted(set(seqs))
    assert all((f["width"], f["height"]) == (800, 600) for f in frames)


async def test_the_last_screen_of_a_burst_reaches_viewers(portal: Portal, sockets, site: Site) -> None:
    """Two changes 20 ms apart (two screens within one 1/30 s slot), then a still page: the frame viewers
    keep is the final screen (the same bytes Chromium sends for that screen when asked again by a joiner),
    not the one in between."""
    owner, chat = await premium_chat(portal, browser_config=browser(site.url("/burst")))
    chat_id = chat["id"]
    member = await portal.login()
    await portal.invite_into(owner, chat_id, member)
    probe = await joined(sockets, owner, chat_id)
    await start(owner, chat_id)
    try:
        await probe.expect_for("vm:frame", chat_id, VM_START_TIMEOUT)
        await site.wait_for("/burst")
        await asyncio.sleep(1.5)  # the burst is over and the page is still
        last = probe.pending("vm:frame", chat_id)[-1]
        late = await joined(sockets, member, chat_id)
        fresh = await late.expect_for("vm:frame", chat_id, FRAME_TIMEOUT)
    finally:
        await stop(owner, chat_id)
    assert frame_jpeg(fresh) == frame_jpeg(last)
    assert fresh["seq"] > last["seq"]


async def test_joiners_of_a_still_page_get_the_screen_at_once(portal: Portal, sockets, site: Site) -> None:
    """Chromium sends frames only when the page changes: people who join later — several at the same
    moment too — still each get the current screen."""
    owner, chat = await premium_chat(portal, browser_config=browser(site.url("/landed")))
    chat_id = chat["id"]
    members = [await portal.login() for _ in range(4)]
    for member in members:
        await portal.invite_into(owner, chat_id, member)
    await start(owner, chat_id)  # nobody in the room
    try:
        await site.wait_for("/landed")
        await asyncio.sleep(1.0)
        probe = await joined(sockets, members[0], chat_id)
        frame = await probe.expect_for("vm:frame", chat_id, FRAME_TIMEOUT)
        assert jpeg_size(frame_jpeg(frame)) == (1280, 720)
        await asyncio.sleep(0.5)
        others = await asyncio.gather(*(joined(sockets, m, chat_id) for m in members[1:]))
        for other in others:
            assert jpeg_size(frame_jpeg(await other.expect_for("vm:frame", chat_id, FRAME_TIMEOUT))) == (
                1280,
                720,
            )
    finally:
        await stop(owner, chat_id)


def pause_reading(probe: SocketProbe) -> Any:
    """The client stops reading its websocket (a stalled viewer): its TCP buffers fill up."""
    ws = probe.sio.eio.ws
    connection = getattr(ws, "_conn", None) or ws._response.connection
    transport = connection.transport
    sock = transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    transport.pause_reading()
    return transport


def server_queue(portal: Portal, probe: SocketProbe) -> int:
    """Packets the server holds for this viewer's websocket (what a stalled viewer could cost it)."""
    sio = portal.container.notifier.sio
    eio_sid = sio.manager.eio_sid_from_sid(probe.sio.get_sid(), NAMESPACE)
    return int(sio.eio.sockets[eio_sid].queue.qsize())


async def owner_and_member_watching(
    portal: Portal, sockets: Any, page: str
) -> tuple[LoggedIn, LoggedIn, int, SocketProbe, SocketProbe]:
    """A premium owner's chat showing `page`, an invited member, both joined (owner first), VM started."""
    owner, chat = await premium_chat(portal, browser_config=browser(page))
    chat_id = chat["id"]
    member = await portal.login()
    await portal.invite_into(owner, chat_id, member)
    owner_probe = await joined(sockets, owner, chat_id)
    member_probe = await joined(sockets, member, chat_id)
    await start(owner, chat_id)
    return owner, member, chat_id, owner_probe, member_probe


async def test_a_viewer_that_stops_reading_does_not_slow_the_others(
    portal: Portal, sockets, site: Site
) -> None:
    """Back-pressure (issue 5): frames for a viewer whose socket is backed up are skipped — the server holds
    at most a few packets for it — while the other viewers keep their frame rate."""
    owner, _member, chat_id, fast, slow = await owner_and_member_watching(portal, sockets, site.url("/noise"))
    try:
        await fast.expect_for("vm:frame", chat_id, VM_START_TIMEOUT)
        await site.wait_for("/noise")
        before = len(await count_frames(fast, chat_id, 2.0))
        transport = pause_reading(slow)
        slow.events["vm:frame"] = asyncio.Queue()

        async def stalled() -> bool:
            return server_queue(portal, slow) > FRAME_BACKLOG

        await eventually(stalled, timeout=15, interval=0.05)  # its buffers are full: frames are skipped
        peak = 0
        fast.events["vm:frame"] = asyncio.Queue()
        for _ in range(30):
            await asyncio.sleep(0.1)
            peak = max(peak, server_queue(portal, slow))
        during = len(fast.pending("vm:frame", chat_id)) / 3.0 * 2.0
        assert peak <= FRAME_BACKLOG + 4, f"the server queued {peak} packets for a stalled viewer"
        assert during >= max(2, before * 0.4), (
            f"{before} frames/2 s before, {during} while one viewer stalled"
        )

        transport.resume_reading()
        slow.events["vm:frame"] = asyncio.Queue()
        await slow.expect_for("vm:frame", chat_id, FRAME_TIMEOUT)  # it catches up and gets frames again
    finally:
        await stop(owner, chat_id)


async def test_another_tab_of_a_viewer_also_gets_the_still_screen(
    portal: Portal, sockets, site: Site
) -> None:
    owner, chat = await premium_chat(portal, browser_config=browser(site.url("/landed")))
    chat_id = chat["id"]
    first = await joined(sockets, owner, chat_id)
    await start(owner, chat_id)
    try:
        await first.expect_for("vm:frame", chat_id, VM_START_TIMEOUT)
        await site.wait_for("/landed")
        await asyncio.sleep(1.0)
        second_tab = await joined(sockets, owner, chat_id)  # the same user, another socket
        await second_tab.expect_for("vm:frame", chat_id, 5.0)
    finally:
        await stop(owner, chat_id)


async def frames_after(probe: SocketProbe, chat_id: int, count: int) -> None:
    """Wait until `probe` has received `count` more frames (a clock made of the VM's own frames)."""
    for _ in range(count):
        await probe.expect_for("vm:frame", chat_id, FRAME_TIMEOUT)


async def test_a_rest_banned_viewer_still_in_the_room_sees_no_screen(
    portal: Portal, sockets, site: Site
) -> None:
    """Issue 5 "ban drops a user from the VM": a REST ban leaves the socket in the room (08 §50) but its
    `vm:frame`s stop at once; an unban gives it the current screen again."""
    owner, member, chat_id, watcher, banned = await owner_and_member_watching(
        portal, sockets, site.url("/animated")
    )
    try:
        await banned.expect_for("vm:frame", chat_id, VM_START_TIMEOUT)
        await owner.client.call("POST", chat_path(chat_id, "/ban"), json={"user_id": member.id})
        await banned.expect_for("user:banned", chat_id)
        await frames_after(watcher, chat_id, 5)  # frames already on their way when the ban landed
        banned.events["vm:frame"] = asyncio.Queue()  # forget them
        await frames_after(watcher, chat_id, 15)
        assert banned.pending("vm:frame", chat_id) == []

        await owner.client.call("POST", chat_path(chat_id, "/unban"), json={"user_id": member.id})
        await banned.expect_for("vm:frame", chat_id, FRAME_TIMEOUT)
    finally:
        await stop(owner, chat_id)


async def test_a_timed_ban_that_runs_out_gives_the_screen_back(portal: Portal, sockets, site: Site) -> None:
    """A timed REST ban hides the screen from the socket that stayed; when it runs out, the janitor's sweep
    puts that socket back on the screen and into the viewer count (as an unban does)."""
    owner, member, chat_id, watcher, banned = await owner_and_member_watching(
        portal, sockets, site.url("/animated")
    )
    try:
        await banned.expect_for("vm:frame", chat_id, VM_START_TIMEOUT)
        ban = {"user_id": member.id, "duration": 60}
        watcher.events["chat:status"] = asyncio.Queue()  # only what the ban and its end send
        await owner.client.call("POST", chat_path(chat_id, "/ban"), json=ban)
        await banned.expect_for("user:banned", chat_id)
        await frames_after(watcher, chat_id, 5)
        banned.events["vm:frame"] = asyncio.Queue()
        await frames_after(watcher, chat_id, 15)
        assert banned.pending("vm:frame", chat_id) == []

        uncounted = await watcher.expect_where(
            "chat:status", lambda s: s["chat_id"] == chat_id, FRAME_TIMEOUT
        )
        assert uncounted == {"chat_id": chat_id, "running": True, "viewer_count": 1}  # 08 §50

        portal.server.clock.advance(61)
        report = await portal.container.janitor.run_once()

        assert report.chat_bans_lifted >= 1  # the shared server's clock may end other tests' bans too
        await banned.expect_for("vm:frame", chat_id, FRAME_TIMEOUT)
        counted = await watcher.expect_where("chat:status", lambda s: s["chat_id"] == chat_id, FRAME_TIMEOUT)
        assert counted == {"chat_id": chat_id, "running": True, "viewer_count": 2}
        async with portal.container.db.read() as session:
            left = await session.execute(select(ChatRestriction).where(ChatRestriction.chat_id == chat_id))
            assert left.scalars().all() == []  # the expired row itself is gone
    finally:
        await stop(owner, chat_id)
