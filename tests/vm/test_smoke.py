"""A real Chromium per chat: start, frames to viewers, host input, screenshot, stop (00 §7, issue 5)."""

from __future__ import annotations

import asyncio

import pytest

from portal.browser.chromium import chromium_path
from tests.helpers import Portal

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="Chromium NOT INSTALLED: VM tests not run")


async def test_start_frames_input_screenshot_stop(portal: Portal, sockets) -> None:
    owner = await portal.login("user", tier=2)
    chat = await portal.private_chat(
        owner, browser_config={"browser": "chromium", "start_url": None, "kiosk": False}
    )
    probe = sockets()
    await probe.connect(token=owner.client.session_token)
    await probe.call("room:join", {"chat_id": chat["id"]})

    assert await owner.client.call("POST", f"/v1/portal/chats/{chat['id']}/start") == {"ok": True}
    try:
        assert await probe.expect("room:started") == {"chat_id": chat["id"]}
        credentials = await probe.expect("vm:credentials")
        assert credentials["kind"] == "chromium" and credentials["chat_id"] == chat["id"]
        frame = await probe.expect("vm:frame", timeout=15)
        assert frame["chat_id"] == chat["id"] and frame["width"] == 1280 and frame["jpeg_b64"]

        take = await probe.call("control:take", {"chat_id": chat["id"]})
        assert take == {"ok": True}, take
        await probe.sio.emit(
            "vm:input", {"chat_id": chat["id"], "events": [{"type": "text", "text": "hello from the host"}]}
        )
        await asyncio.sleep(0.5)
        shot = await owner.client.raw("GET", f"/v1/portal/chats/{chat['id']}/screenshot")
        assert shot.status_code == 200 and shot.headers["content-type"] == "image/jpeg"
        assert shot.content[:2] == b"\xff\xd8"
    finally:
        assert await owner.client.call("POST", f"/v1/portal/chats/{chat['id']}/stop") == {"ok": True}
    assert (await probe.expect("room:stopped"))["chat_id"] == chat["id"]
    assert not portal.container.vms.local
