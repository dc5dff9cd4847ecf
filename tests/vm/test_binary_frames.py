"""Binary `vm:frame`s from a real Chromium VM (docs/realtime.md, "Binary frames"): the SDK asks for them and
reads each frame's JPEG as bytes, while a client that did not ask, in the same room, gets the same screens in
the documented base64 shape.
"""

from __future__ import annotations

import base64

import pytest

from portal.client.realtime import RealtimeClient
from tests.helpers import Portal
from tests.servers import fresh_ip
from tests.vm.support import (
    FRAME_TIMEOUT,
    VM_START_TIMEOUT,
    Site,
    browser,
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
        pytest.skip("frame formats do not depend on the database: run once (sqlite)")


async def test_the_sdk_reads_binary_frames_beside_a_base64_one(portal: Portal, sockets, site: Site) -> None:
    owner, chat = await premium_chat(portal, browser_config=browser(site.url("/landed")))
    chat_id = chat["id"]
    member = await portal.login()
    await portal.invite_into(owner, chat_id, member)
    token = owner.client.session_token
    assert token is not None
    text_viewer = await joined(sockets, member, chat_id)  # a plain client: no `frames` at its handshake
    async with RealtimeClient(portal.server.base_url, token, headers={"X-Forwarded-For": fresh_ip()}) as rt:
        await rt.join(chat_id=chat_id)
        await start(owner, chat_id)
        try:
            frame = await rt.next_frame(chat_id, VM_START_TIMEOUT)
            same = await text_viewer.expect_where(
                "vm:frame", lambda f: f["chat_id"] == chat_id and f["seq"] == frame["seq"], FRAME_TIMEOUT
            )
        finally:
            await stop(owner, chat_id)
    assert isinstance(frame["jpeg"], bytes)
    assert jpeg_size(frame["jpeg"]) == (frame["width"], frame["height"]) == (1280, 720)
    assert set(same) == {"chat_id", "seq", "jpeg_b64", "width", "height"}
    assert base64.b64decode(same["jpeg_b64"], validate=True) == frame["jpeg"]
