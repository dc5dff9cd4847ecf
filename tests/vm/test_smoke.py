"""A real Chromium shared in a chat, end to end (issue 5's must-show; 00 §5–7, 08 §26–27).

Viewers get `vm:frame`s, the host types into a page, a screenshot shows the change, the typed text comes back
through the VM clipboard (select all + copy), a non-host's input changes nothing, the clipboard is set,
read back and pasted, and stopping the VM ends its Chromium processes.
"""

from __future__ import annotations

import pytest

from tests.helpers import Portal, expect_error
from tests.vm.support import (
    FRAME_TIMEOUT,
    VM_START_TIMEOUT,
    browser,
    chat_path,
    chord,
    chromium_pids,
    click,
    clipboard,
    copy_all,
    frame_jpeg,
    gone,
    input_events,
    joined,
    jpeg_size,
    needs_chromium,
    premium_chat,
    start,
    stop,
)

pytestmark = [needs_chromium, pytest.mark.usefixtures("clean_vms")]


def sqlite_only(portal: Portal) -> None:
    if portal.server.backend != "sqlite":
        pytest.skip("the browser does not depend on the database: one real run (sqlite) is enough")


@pytest.mark.timeout(180)
async def test_a_real_browser_is_shared_typed_into_copied_pasted_and_freed(portal: Portal, sockets, site):
    sqlite_only(portal)
    owner, chat = await premium_chat(portal, browser_config=browser(site.url("/input")))
    chat_id = chat["id"]
    member = await portal.login()
    await portal.invite_into(owner, chat_id, member)
    host = await joined(sockets, owner, chat_id)
    viewer = await joined(sockets, member, chat_id)
    assert host.join_ack["vm"] is None and host.join_ack["live"]["running"] is False
    before = chromium_pids()

    await start(owner, chat_id)
    try:
        for probe in (host, viewer):
            assert await probe.expect_for("room:started", chat_id, VM_START_TIMEOUT) == {"chat_id": chat_id}
        assert await viewer.expect_for("vm:credentials", chat_id) == {
            "chat_id": chat_id,
            "kind": "chromium",
            "role": "viewer",
            "width": 1280,
            "height": 720,
        }
        frame = await viewer.expect_for("vm:frame", chat_id, FRAME_TIMEOUT)
        assert set(frame) == {"chat_id", "seq", "jpeg_b64", "width", "height"}
        assert (frame["width"], frame["height"]) == (1280, 720)
        assert jpeg_size(frame_jpeg(frame)) == (1280, 720)
        assert isinstance(frame["seq"], int) and frame["seq"] >= 1
        started = chromium_pids() - before
        assert started, "no Chromium process was started"

        # The owner takes control and types into the page's input box.
        assert await host.call("control:take", {"chat_id": chat_id}) == {"ok": True}
        blank = await member.client.raw("GET", chat_path(chat_id, "/screenshot"))
        assert blank.status_code == 200 and blank.headers["content-type"] == "image/jpeg"
        assert jpeg_size(blank.content) == (1280, 720)
        await input_events(host, chat_id, [*click(200, 40), {"type": "text", "text": "hello portal"}])
        assert await copy_all(host, owner, chat_id) == "hello portal"
        assert await portal.container.vms.check_memory() == 0  # well under the default cap (1024 MB)
        typed = await member.client.raw("GET", chat_path(chat_id, "/screenshot"))
        assert typed.status_code == 200 and typed.content != blank.content
        later = await viewer.expect_for("vm:frame", chat_id, FRAME_TIMEOUT)
        assert later["seq"] > frame["seq"]
        seqs = [f["seq"] for f in viewer.pending("vm:frame", chat_id)]
        assert seqs == sorted(set(seqs)), "frame numbers must only go up"

        # Someone who does not host types, selects and deletes: nothing changes.
        intruder = [*click(200, 40), {"type": "text", "text": "intruder"}]
        assert await input_events(viewer, chat_id, intruder) is None  # dropped without a reply
        await input_events(viewer, chat_id, [*chord("a"), {"type": "keydown", "key": "Delete"}])
        assert await copy_all(host, owner, chat_id) == "hello portal"

        # The clipboard: set, read back, pasted over the selection with Ctrl+V, copied back.
        text = "from the clipboard ✓ — ünïcödé"
        assert await owner.client.call(
            "POST", chat_path(chat_id, "/clipboard/update"), json={"text": text}
        ) == {"ok": True}
        assert await clipboard(owner, chat_id) == text
        await input_events(host, chat_id, chord("a", "v"))
        await owner.client.call("POST", chat_path(chat_id, "/clipboard/update"), json={"text": "placeholder"})
        assert await copy_all(host, owner, chat_id) == text
    finally:
        await stop(owner, chat_id)

    for probe in (host, viewer):
        assert await probe.expect_for("room:stopped", chat_id) == {"chat_id": chat_id, "reason": "stopped"}
    assert await gone(started), "Chromium processes are left after stop"
    await expect_error(owner.client.call("GET", chat_path(chat_id, "/clipboard")), 409, "ERR_VM_NOT_RUNNING")
    await expect_error(owner.client.call("GET", chat_path(chat_id, "/screenshot")), 409, "ERR_VM_NOT_RUNNING")
    detail = await owner.client.call("GET", chat_path(chat_id))
    assert detail["live"] == {"running": False, "viewer_count": 2}
