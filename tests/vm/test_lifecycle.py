"""A chat's VM lifecycle (00 §7, 03 §3.3–3.4, §4.7–4.8, 08 §26, §60): start and stop from the portal and the
admin API, credentials, capacity, a missing backend, the idle timer, crashes, deletion and the memory cap.

Real Chromium starts are few: each one checks everything its start can show. Tests whose outcome does not
depend on the database run on the sqlite backend only.
"""

from __future__ import annotations

import contextlib
from typing import Any

import psutil
import pytest

from tests.helpers import LoggedIn, Portal, expect_error
from tests.servers import TestServer, node_like
from tests.sockets import SocketProbe, eventually, online
from tests.vm.support import (
    FRAME_TIMEOUT,
    VM_START_TIMEOUT,
    browser_roots,
    chat_path,
    chromium_pids,
    gone,
    joined,
    needs_chromium,
    premium_chat,
    start,
    stop,
)

pytestmark = pytest.mark.usefixtures("clean_vms")
IDLE = 60


def sqlite_only(portal: Portal) -> None:
    if portal.server.backend != "sqlite":
        pytest.skip("the VM lifecycle does not depend on the database: run once (sqlite)")


def on(portal: Portal, node: TestServer, who: LoggedIn) -> LoggedIn:
    """The same signed-in user, talking to another node."""
    return LoggedIn(portal.client(base_url=node.base_url, session=who.client.session_token), who.user)


def admin_path(chat_id: int, action: str) -> str:
    return f"/v1/admin/chats/{chat_id}/{action}"


async def running(who: LoggedIn, chat_id: int) -> bool:
    return bool((await who.client.call("GET", chat_path(chat_id)))["live"]["running"])


async def status(probe: SocketProbe, chat_id: int, is_running: bool) -> dict[str, Any]:
    return dict(
        await probe.expect_where(
            "chat:status",
            lambda s: s["chat_id"] == chat_id and s["running"] is is_running,
            VM_START_TIMEOUT,
        )
    )


# ---- who may start and stop (a node whose VMs are switched off: no browser is needed) --------------------


async def test_without_a_backend_start_is_503_naming_the_setting(portal: Portal, sockets) -> None:
    """00 §7: backend `none` → 503 ERR_VM_UNAVAILABLE with a message naming the setting; nothing changes."""
    sqlite_only(portal)
    async with node_like(portal.server, browser_backend="none") as node:
        owner, chat = await premium_chat(portal)
        owner_b = on(portal, node, owner)
        probe = await joined(sockets, owner_b, chat["id"], node.base_url)
        error = await expect_error(owner_b.client.call("POST", chat_path(chat["id"], "/start")), 503)
        assert error.body["error"] == "ERR_VM_UNAVAILABLE"
        assert "PORTAL_BROWSER_BACKEND" in error.body["message"]
        admin = on(portal, node, await portal.login("owner"))
        error = await expect_error(admin.client.call("POST", admin_path(chat["id"], "start")), 503)
        assert error.body["error"] == "ERR_VM_UNAVAILABLE"
        assert "PORTAL_BROWSER_BACKEND" in error.body["message"]
        assert not await running(owner_b, chat["id"])
        await probe.assert_silent("room:started", chat["id"])
        assert await owner_b.client.call("POST", chat_path(chat["id"], "/stop")) == {"ok": True}
        await probe.assert_silent("room:stopped", chat["id"])


@pytest.mark.parametrize(
    ("actor", "may"),
    [
        ("owner", True),
        ("platform-owner", True),
        ("admin", False),
        ("moderator", False),
        ("member", False),
        ("viewer", False),
    ],
)
async def test_portal_start_and_stop_are_for_the_owner_or_a_platform_owner(
    portal: Portal, actor: str, may: bool
) -> None:
    """03 §3.3–3.4: the chat owner or a platform Owner; Admins use the admin API. With VMs switched off,
    an allowed start answers 503 and a refused one 403 (permission comes first, 08 §4)."""
    sqlite_only(portal)
    async with node_like(portal.server, browser_backend="none") as node:
        owner, private = await premium_chat(portal)
        public = await portal.public_chat(owner)
        chat = public if actor in ("moderator", "viewer") else private
        if actor == "owner":
            who = owner
        elif actor == "platform-owner":
            who = await portal.login("owner")
        elif actor == "member":
            who = await portal.login()
            await portal.invite_into(owner, chat["id"], who)
        else:
            who = await portal.login("user" if actor == "viewer" else actor)
        who = on(portal, node, who)
        start_call = who.client.call("POST", chat_path(chat["id"], "/start"))
        stop_call = who.client.call("POST", chat_path(chat["id"], "/stop"))
        if may:
            await expect_error(start_call, 503, "ERR_VM_UNAVAILABLE")
            assert await stop_call == {"ok": True}
        else:
            await expect_error(start_call, 403, "Access denied")
            await expect_error(stop_call, 403, "Access denied")


@pytest.mark.parametrize(
    ("actor", "owner_level", "expected"),
    [
        ("admin", "user", 503),
        ("admin", "moderator", 503),
        ("admin", "admin", 403),
        ("owner", "admin", 503),
        ("moderator", "user", 403),
    ],
)
async def test_admin_start_and_stop_need_rank_over_the_owner(
    portal: Portal, actor: str, owner_level: str, expected: int
) -> None:
    """03 §4.7–4.8: Admin+ and the hierarchy against the chat owner."""
    sqlite_only(portal)
    async with node_like(portal.server, browser_backend="none") as node:
        owner = await portal.login(owner_level, tier=2)
        chat = await portal.public_chat(owner)
        who = on(portal, node, await portal.login(actor))
        for action in ("start", "stop"):
            call = who.client.call("POST", admin_path(chat["id"], action))
            if expected == 403:
                text = "Admin access required" if actor == "moderator" else "Access denied"
                await expect_error(call, 403, text)
            elif action == "start":
                await expect_error(call, 503, "ERR_VM_UNAVAILABLE")
            else:
                await expect_error(call, 409, "Chat is not running")


# ---- a real start and stop ------------------------------------------------------------------------------


@needs_chromium
async def test_portal_start_announces_pushes_credentials_and_is_idempotent(portal: Portal, sockets) -> None:
    """03 §3.3, 08 §26: `room:started`, `chat:status {running:true}`, `vm:credentials` for every session
    already in the room (host/viewer role; none for a banned user whose socket stayed), the join ack's `vm`
    for later joiners; a second start is `{ok:true}` and changes nothing. 03 §3.4: stop is idempotent,
    `room:stopped`, `chat:status`."""
    sqlite_only(portal)
    owner, chat = await premium_chat(portal)
    chat_id = chat["id"]
    member = await portal.login()
    await portal.invite_into(owner, chat_id, member)
    lister = await online(sockets, owner.client.session_token)  # lists the chat, not in the room
    host = await joined(sockets, member, chat_id)
    second_session = await portal.login()  # a second user with two sessions in the room
    await portal.invite_into(owner, chat_id, second_session)
    viewer = await joined(sockets, second_session, chat_id)
    assert await host.call("control:take", {"chat_id": chat_id}) == {"ok": True}
    assert (await host.expect_for("control:update", chat_id))["host_user_id"] == member.id
    banned_user = await portal.login()
    await portal.invite_into(owner, chat_id, banned_user)
    banned = await joined(sockets, banned_user, chat_id)
    await owner.client.call("POST", chat_path(chat_id, "/ban"), json={"user_id": banned_user.id})
    platform_owner = await portal.login("owner")

    await start(platform_owner, chat_id)
    assert await host.expect_for("room:started", chat_id, VM_START_TIMEOUT) == {"chat_id": chat_id}
    assert await viewer.expect_for("room:started", chat_id) == {"chat_id": chat_id}
    assert await status(lister, chat_id, True) == {"chat_id": chat_id, "running": True, "viewer_count": 2}
    credentials = {"chat_id": chat_id, "kind": "chromium", "width": 1280, "height": 720}
    assert await host.expect_for("vm:credentials", chat_id) == {**credentials, "role": "host"}
    assert await viewer.expect_for("vm:credentials", chat_id) == {**credentials, "role": "viewer"}
    await lister.assert_silent("vm:credentials", chat_id)  # not in the room: nothing pushed
    assert await banned.expect_for("room:started", chat_id) == {"chat_id": chat_id}
    assert banned.pending("vm:credentials", chat_id) == []  # banned (its socket stays, 08 §50): nothing
    assert await running(owner, chat_id)

    late = await joined(sockets, owner, chat_id)
    assert late.join_ack["vm"] == {**credentials, "role": "viewer"}
    assert late.join_ack["live"] == {"running": True, "viewer_count": 3}
    assert (await late.expect_for("vm:frame", chat_id, FRAME_TIMEOUT))["width"] == 1280

    await start(owner, chat_id)  # already running: ok, nothing happens
    await host.assert_silent("room:started", chat_id)
    assert host.pending("vm:credentials", chat_id) == []

    await stop(platform_owner, chat_id)
    for probe in (host, viewer, late):
        assert await probe.expect_for("room:stopped", chat_id) == {"chat_id": chat_id, "reason": "stopped"}
    assert await host.expect_for("control:update", chat_id) == {
        "chat_id": chat_id,
        "host_user_id": None,
        "queue": [],
    }
    assert await status(lister, chat_id, False) == {"chat_id": chat_id, "running": False, "viewer_count": 3}
    await stop(owner, chat_id)  # already stopped
    await host.assert_silent("room:stopped", chat_id)
    again = await joined(sockets, owner, chat_id)
    assert again.join_ack["vm"] is None and again.join_ack["live"]["running"] is False


@needs_chromium
async def test_with_implicit_hosting_a_restart_gives_the_earliest_joiner_control(
    portal: Portal, sockets
) -> None:
    """00 §7 `implicit_hosting` "makes the first joiner host when nobody is": a stop resets control (08 §60),
    so at the next start the earliest joiner still in the room hosts, and their credentials say so."""
    sqlite_only(portal)
    owner, chat = await premium_chat(portal)
    chat_id = chat["id"]
    await owner.client.call("POST", chat_path(chat_id, "/config/update"), json={"implicit_hosting": True})
    first, second = await portal.login(), await portal.login()
    for who in (first, second):
        await portal.invite_into(owner, chat_id, who)
    first_probe = await joined(sockets, first, chat_id)
    second_probe = await joined(sockets, second, chat_id)
    assert first_probe.join_ack["control"]["host_user_id"] == first.id
    await start(owner, chat_id)
    assert (await first_probe.expect_for("vm:credentials", chat_id, VM_START_TIMEOUT))["role"] == "host"
    await stop(owner, chat_id)
    assert (await second_probe.expect_for("control:update", chat_id))["host_user_id"] is None
    second_probe.clear()

    await start(owner, chat_id)

    hosted = await second_probe.expect_for("control:update", chat_id, VM_START_TIMEOUT)
    assert hosted == {"chat_id": chat_id, "host_user_id": first.id, "queue": []}
    assert (await second_probe.expect_for("vm:credentials", chat_id))["role"] == "viewer"
    assert (
        await first_probe.expect_where(
            "vm:credentials", lambda c: c["chat_id"] == chat_id and c["role"] == "host"
        )
    )["kind"] == "chromium"
    await stop(owner, chat_id)


@needs_chromium
async def test_admin_start_pushes_nothing_and_is_not_idempotent(portal: Portal, sockets) -> None:
    """03 §4.7–4.8, 08 §26: messages, `room:started`/`room:stopped`, no credential push (joiners get them
    in the ack), 409 "Chat is already running" / "Chat is not running"."""
    sqlite_only(portal)
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    chat_id = chat["id"]
    viewer = await joined(sockets, await portal.login(), chat_id)
    admin = await portal.login("admin")

    started = await admin.client.call("POST", admin_path(chat_id, "start"))
    assert started == {"message": f"Chat '{chat['name']}' started"}
    assert await viewer.expect_for("room:started", chat_id, VM_START_TIMEOUT) == {"chat_id": chat_id}
    late = await joined(sockets, owner, chat_id)
    assert late.join_ack["vm"]["kind"] == "chromium"
    await viewer.assert_silent("vm:credentials", chat_id)
    again = admin.client.call("POST", admin_path(chat_id, "start"))
    await expect_error(again, 409, "Chat is already running")
    await start(owner, chat_id)  # the portal start stays idempotent
    await viewer.assert_silent("vm:credentials", chat_id)

    stopped = await admin.client.call("POST", admin_path(chat_id, "stop"))
    assert stopped == {"message": f"Chat '{chat['name']}' stopped"}
    assert await viewer.expect_for("room:stopped", chat_id) == {"chat_id": chat_id, "reason": "stopped"}
    await expect_error(admin.client.call("POST", admin_path(chat_id, "stop")), 409, "Chat is not running")
    assert not await running(owner, chat_id)


@needs_chromium
async def test_vm_max_refuses_one_more_with_capacity(portal: Portal, sockets) -> None:
    """00 §7: `PORTAL_VM_MAX` running VMs per node; one more → 503 ERR_VM_CAPACITY, nothing changes."""
    sqlite_only(portal)
    async with node_like(portal.server, vm_max=1) as node:
        owner = on(portal, node, await portal.login("user", tier=2))
        first = await portal.private_chat(owner)
        second = await portal.private_chat(owner)
        watcher = await joined(sockets, owner, second["id"], node.base_url)
        await start(owner, first["id"])
        full = owner.client.call("POST", chat_path(second["id"], "/start"))
        await expect_error(full, 503, "ERR_VM_CAPACITY")
        admin = on(portal, node, await portal.login("owner"))
        full = admin.client.call("POST", admin_path(second["id"], "start"))
        await expect_error(full, 503, "ERR_VM_CAPACITY")
        assert not await running(owner, second["id"])
        await watcher.assert_silent("room:started", second["id"])
        await stop(owner, first["id"])
        await start(owner, second["id"])
        assert await watcher.expect_for("room:started", second["id"], VM_START_TIMEOUT)
        await stop(owner, second["id"])


# ---- the idle timer (08 §60) ----------------------------------------------------------------------------


@needs_chromium
async def test_the_idle_timer(portal: Portal, sockets) -> None:
    """08 §60: starting with nobody joined arms the timer; a join cancels it; the last viewer leaving arms
    it again; at the deadline the VM stops (`chat:status`); a stop cancels it."""
    sqlite_only(portal)
    clock = portal.server.clock
    async with node_like(portal.server, vm_idle_timeout=IDLE) as node:
        vms = node.container.vms
        owner = on(portal, node, await portal.login("user", tier=2))
        chat = await portal.private_chat(owner)
        chat_id = chat["id"]
        lister = await online(sockets, owner.client.session_token, node.base_url)

        # Started with nobody in the room: stops IDLE seconds later.
        await start(owner, chat_id)
        clock.advance(IDLE - 1)
        assert await vms.stop_idle() == 0 and await running(owner, chat_id)
        clock.advance(2)
        await vms.stop_idle()  # (the node's own once-a-second sweep may have done it already)
        stopped = await status(lister, chat_id, False)
        assert stopped == {"chat_id": chat_id, "running": False, "viewer_count": 0}
        assert not await running(owner, chat_id)

        # A join cancels the timer; the last viewer leaving arms it again, from that moment.
        await start(owner, chat_id)
        viewer = await joined(sockets, owner, chat_id, node.base_url)
        clock.advance(IDLE + 1)
        assert await vms.stop_idle() == 0 and await running(owner, chat_id)
        assert (await viewer.call("room:leave", {"chat_id": chat_id}))["ok"] is True
        clock.advance(IDLE - 1)
        assert await vms.stop_idle() == 0 and await running(owner, chat_id)
        clock.advance(2)
        await vms.stop_idle()
        await status(lister, chat_id, False)

        # A stop cancels it.
        await start(owner, chat_id)
        assert await node.container.live.zscore("vm:idle", str(chat_id)) is not None
        await stop(owner, chat_id)
        assert await node.container.live.zscore("vm:idle", str(chat_id)) is None
        clock.advance(IDLE + 1)
        assert await vms.stop_idle() == 0


# ---- crash, deletion, the memory cap --------------------------------------------------------------------


@needs_chromium
async def test_a_crashed_browser_is_reported_and_can_be_started_again(portal: Portal, sockets) -> None:
    """Issue 5: a Chromium that dies → `room:stopped`, control reset, live state corrected."""
    sqlite_only(portal)
    owner, chat = await premium_chat(portal)
    chat_id = chat["id"]
    lister = await online(sockets, owner.client.session_token)
    host = await joined(sockets, owner, chat_id)
    before = chromium_pids()
    await start(owner, chat_id)
    await host.expect_for("room:started", chat_id, VM_START_TIMEOUT)
    assert await host.call("control:take", {"chat_id": chat_id}) == {"ok": True}
    await host.expect_for("control:update", chat_id)
    started = chromium_pids() - before
    for pid in browser_roots(started):
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()

    assert await host.expect_for("room:stopped", chat_id, VM_START_TIMEOUT) == {
        "chat_id": chat_id,
        "reason": "crashed",
    }
    assert await host.expect_for("control:update", chat_id) == {
        "chat_id": chat_id,
        "host_user_id": None,
        "queue": [],
    }
    assert await status(lister, chat_id, False) == {"chat_id": chat_id, "running": False, "viewer_count": 1}
    assert not await running(owner, chat_id)
    await expect_error(owner.client.call("GET", chat_path(chat_id, "/clipboard")), 409, "ERR_VM_NOT_RUNNING")
    assert await gone(started)

    await start(owner, chat_id)
    assert await host.expect_for("room:started", chat_id, VM_START_TIMEOUT) == {"chat_id": chat_id}
    await stop(owner, chat_id)


@needs_chromium
async def test_deleting_the_chat_stops_its_browser(portal: Portal, sockets) -> None:
    """03 §3.5: destroy stops the VM; no process, no live state, no idle timer is left."""
    sqlite_only(portal)
    owner, chat = await premium_chat(portal)
    chat_id = chat["id"]
    viewer = await joined(sockets, owner, chat_id)
    before = chromium_pids()
    await start(owner, chat_id)
    await viewer.expect_for("room:started", chat_id, VM_START_TIMEOUT)
    started = chromium_pids() - before
    assert started

    await owner.client.call("POST", chat_path(chat_id, "/delete"))
    assert await viewer.expect_for("room:destroyed", chat_id) == {"chat_id": chat_id}
    assert await gone(started)
    vms = portal.container.vms
    assert chat_id not in vms.local and not await vms.is_running(chat_id)
    assert await portal.container.live.zscore("vm:idle", str(chat_id)) is None


@needs_chromium
async def test_a_browser_over_the_memory_cap_is_stopped(portal: Portal, sockets) -> None:
    """Issue 5: per-VM memory cap (`PORTAL_VM_MEMORY_MB`): the watchdog stops a VM above it."""
    sqlite_only(portal)
    async with node_like(portal.server, vm_memory_mb=1) as node:
        owner = on(portal, node, await portal.login("user", tier=2))
        chat = await portal.private_chat(owner)
        viewer = await joined(sockets, owner, chat["id"], node.base_url)
        before = chromium_pids()
        await start(owner, chat["id"])
        started = chromium_pids() - before
        await node.container.vms.check_memory()  # (the node's once-a-second watchdog may be first)
        stopped = await viewer.expect_for("room:stopped", chat["id"], VM_START_TIMEOUT)
        assert stopped == {"chat_id": chat["id"], "reason": "memory"}
        assert not await running(owner, chat["id"])
        assert await gone(started)


# ---- several nodes (PostgreSQL + Redis) ------------------------------------------------------------------


def two_nodes(portal: Portal) -> None:
    if portal.server.backend != "postgres":
        pytest.skip("several nodes share state through Redis: postgres backend only")


@needs_chromium
async def test_a_dead_nodes_vm_is_marked_stopped_by_another_node(portal: Portal, sockets) -> None:
    """A node that dies takes its VMs with it: another node's sweep announces `room:stopped` and corrects
    the live state (PresenceKeeper → `vms.sweep_dead()`). A node that was only unresponsive and stops
    later leaves the VM started since on another node alone."""
    two_nodes(portal)
    import asyncio

    from portal.realtime.server import PresenceKeeper

    owner, chat = await premium_chat(portal)
    chat_id = chat["id"]
    watcher = await joined(sockets, owner, chat_id)
    async with node_like(portal.server, node_ttl=1) as node_b:
        await start(on(portal, node_b, owner), chat_id)
        await watcher.expect_for("room:started", chat_id, VM_START_TIMEOUT)
        assert await portal.container.vms.node_of(chat_id) == node_b.container.node_id
        b_id = node_b.container.node_id
        heartbeat = next(t for t in asyncio.all_tasks() if t.get_name() == f"portal-presence:{b_id}")
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
        presence = portal.container.presence
        await eventually(lambda: _dead(presence, b_id), timeout=5)

        await PresenceKeeper(portal.container).run_once()
        assert await watcher.expect_for("room:stopped", chat_id) == {"chat_id": chat_id, "reason": "crashed"}
        assert not await running(owner, chat_id)
        await start(owner, chat_id)  # node A may start it again
        await watcher.expect_for("room:started", chat_id, VM_START_TIMEOUT)
    # Node B was only unresponsive: when it stops, the Chromium it still held ends without touching the VM
    # node A runs now (no `room:stopped`, still running, still node A's).
    try:
        assert await running(owner, chat_id)
        assert await portal.container.vms.node_of(chat_id) == portal.container.node_id
        assert watcher.pending("room:stopped", chat_id) == []
    finally:
        await stop(owner, chat_id)
    assert await watcher.expect_for("room:stopped", chat_id) == {"chat_id": chat_id, "reason": "stopped"}


async def _dead(presence: Any, node_id: str) -> bool:
    return node_id in await presence.dead_nodes()


@needs_chromium
async def test_calls_on_another_node_reach_the_vm(portal: Portal, sockets, site) -> None:
    """A VM runs on the node that started it; REST calls and socket input arriving on another node are
    forwarded to it (NodeRpc over Redis), and its frames reach viewers on every node."""
    two_nodes(portal)
    from tests.vm.support import browser, chord, click, frame_jpeg, input_events, jpeg_size

    owner, chat = await premium_chat(portal, browser_config=browser(site.url("/input")))
    chat_id = chat["id"]
    async with node_like(portal.server) as node_b:
        owner_b = on(portal, node_b, owner)
        host = await joined(sockets, owner_b, chat_id, node_b.base_url)
        await start(owner, chat_id)  # on node A
        assert await host.expect_for("room:started", chat_id, VM_START_TIMEOUT) == {"chat_id": chat_id}
        assert await portal.container.vms.node_of(chat_id) == portal.container.node_id
        assert (await host.expect_for("vm:frame", chat_id, FRAME_TIMEOUT))["width"] == 1280
        assert await host.call("control:take", {"chat_id": chat_id}) == {"ok": True}
        await site.wait_for("/input")

        await input_events(host, chat_id, [*click(100, 40), {"type": "text", "text": "across nodes"}])
        await input_events(host, chat_id, chord("a", "c"))
        clip = await owner_b.client.call("GET", chat_path(chat_id, "/clipboard"))
        assert clip == {"text": "across nodes"}
        body = {"text": "set on node B"}
        assert await owner_b.client.call("POST", chat_path(chat_id, "/clipboard/update"), json=body) == {
            "ok": True
        }
        assert await owner.client.call("GET", chat_path(chat_id, "/clipboard")) == body
        shot = await owner_b.client.raw("GET", chat_path(chat_id, "/screenshot"))
        assert shot.status_code == 200 and jpeg_size(shot.content) == (1280, 720)
        size = {"width": 1024, "height": 768, "rate": 30}
        await owner_b.client.call("POST", chat_path(chat_id, "/screen/update"), json=size)
        frame = await host.expect_where(
            "vm:frame", lambda f: f["chat_id"] == chat_id and f["height"] == 768, FRAME_TIMEOUT
        )
        assert (frame["width"], frame["height"]) == jpeg_size(frame_jpeg(frame)) == (1024, 768)

        await stop(owner_b, chat_id)
        assert await host.expect_for("room:stopped", chat_id) == {"chat_id": chat_id, "reason": "stopped"}
        assert chat_id not in portal.container.vms.local
        assert not await running(owner, chat_id)
