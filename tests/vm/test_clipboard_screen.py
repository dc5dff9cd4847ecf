"""The VM's clipboard, screen and screenshot endpoints (00 §6, 08 §27).

Permissions and validation are checked with the VM stopped (08 §4: 400 and 403 come before the 409 of a
stopped VM, so an allowed caller sees 409 ERR_VM_NOT_RUNNING); one real start checks the running answers.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import LoggedIn, Portal, expect_error
from tests.vm.support import (
    FRAME_TIMEOUT,
    VM_START_TIMEOUT,
    chat_path,
    frame_jpeg,
    joined,
    jpeg_size,
    needs_chromium,
    start,
    stop,
)

pytestmark = pytest.mark.usefixtures("clean_vms")
SIZES = [
    {"width": 800, "height": 600, "rate": 30},
    {"width": 1024, "height": 768, "rate": 30},
    {"width": 1280, "height": 720, "rate": 30},
    {"width": 1366, "height": 768, "rate": 30},
    {"width": 1600, "height": 900, "rate": 30},
    {"width": 1920, "height": 1080, "rate": 30},
]
LIMIT = 65_536


def screen(width: int = 1280, height: int = 720, rate: int = 30) -> dict[str, Any]:
    return {"width": width, "height": height, "rate": rate, "sizes": SIZES}


async def public_chat(portal: Portal) -> tuple[LoggedIn, dict[str, Any]]:
    owner = await portal.login("user", tier=2)
    return owner, await portal.public_chat(owner)


# ---- screen ---------------------------------------------------------------------------------------------


async def test_any_viewer_reads_the_screen(portal: Portal) -> None:
    """08 §27: `{width, height, rate, sizes}`, 1280×720@30 by default, six sizes @30; any viewer."""
    owner, chat = await public_chat(portal)
    private = await portal.private_chat(owner)
    member = await portal.login()
    await portal.invite_into(owner, private["id"], member)
    viewer = await portal.login()
    assert await viewer.client.call("GET", chat_path(chat["id"], "/screen")) == screen()
    assert await member.client.call("GET", chat_path(private["id"], "/screen")) == screen()
    assert await owner.client.call("GET", chat_path(private["id"], "/screen")) == screen()
    await expect_error(viewer.client.call("GET", chat_path(private["id"], "/screen")), 403, "Access denied")
    stranger = await portal.stranger()
    await expect_error(stranger.client.call("GET", chat_path(chat["id"], "/screen")), 403, "Access denied")
    await expect_error(viewer.client.call("GET", chat_path(2_000_000_000, "/screen")), 404, "Chat not found")
    await expect_error(portal.client().call("GET", chat_path(chat["id"], "/screen")), 401)


@pytest.mark.parametrize("size", SIZES)
async def test_managers_set_any_allowed_size_while_stopped(portal: Portal, size: dict[str, int]) -> None:
    owner, chat = await public_chat(portal)
    assert await owner.client.call("POST", chat_path(chat["id"], "/screen/update"), json=size) == screen(
        **size
    )
    viewer = await portal.login()
    assert await viewer.client.call("GET", chat_path(chat["id"], "/screen")) == screen(**size)


async def test_screen_update_is_for_managers(portal: Portal) -> None:
    """00 §6: update by chat managers: the owner, or rank over the owner on a listed chat."""
    owner, chat = await public_chat(portal)
    body = {"width": 1024, "height": 768, "rate": 30}
    viewer = await portal.login()
    await expect_error(viewer.client.call("POST", chat_path(chat["id"], "/screen/update"), json=body), 403)
    moderator = await portal.login("moderator")
    answer = await moderator.client.call("POST", chat_path(chat["id"], "/screen/update"), json=body)
    assert answer == screen(1024, 768)
    private = await portal.private_chat(owner)
    member = await portal.login()
    await portal.invite_into(owner, private["id"], member)
    admin = await portal.login("admin")
    for who in (member, admin):  # private chats: the owner only
        call = who.client.call("POST", chat_path(private["id"], "/screen/update"), json=body)
        await expect_error(call, 403, "Access denied")
    assert await owner.client.call("GET", chat_path(private["id"], "/screen")) == screen()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"width": 1280, "height": 721, "rate": 30}, "height must be one of: 720"),
        ({"width": 1280, "height": 720, "rate": 60}, "rate must be one of: 30"),
        ({"width": 640, "height": 480}, "width must be one of: 800, 1024, 1280, 1366, 1600, 1920"),
        (
            {"width": 3840, "height": 2160, "rate": 30},
            "width must be one of: 800, 1024, 1280, 1366, 1600, 1920",
        ),
        ({"width": 1280, "height": 768, "rate": 30}, "height must be one of: 720"),
        ({"width": 1366, "height": 720, "rate": 30}, "height must be one of: 768"),
        ({"height": 720, "rate": 30}, "width is required"),
        ({"width": "1280", "height": 720}, "width must be an integer"),
        ({"width": 1280, "height": 720, "depth": 24}, "depth is not allowed"),
        ([1280, 720], "Invalid request"),
    ],
)
async def test_a_size_not_in_the_list_is_400_and_changes_nothing(
    portal: Portal, body: Any, error: str | None
) -> None:
    """08 §27: a size not in the list gets 400, in the 08 §6 template naming the first field that no
    allowed size has (given the fields before it)."""
    owner, chat = await public_chat(portal)
    await expect_error(
        owner.client.call("POST", chat_path(chat["id"], "/screen/update"), json=body), 400, error
    )
    assert await owner.client.call("GET", chat_path(chat["id"], "/screen")) == screen()


# ---- clipboard ------------------------------------------------------------------------------------------


async def test_clipboard_permissions_come_before_the_stopped_vm(portal: Portal, sockets) -> None:
    """00 §6: host or manager; private chats: the owner only. Allowed callers then get 409
    ERR_VM_NOT_RUNNING while the VM is stopped (08 §27), for both GET and update."""
    owner, chat = await public_chat(portal)
    host = await portal.login()
    probe = await joined(sockets, host, chat["id"])
    assert await probe.call("control:take", {"chat_id": chat["id"]}) == {"ok": True}
    viewer = await portal.login()
    await joined(sockets, viewer, chat["id"])
    moderator = await portal.login("moderator")

    for who, allowed in ((owner, True), (host, True), (moderator, True), (viewer, False)):
        get = who.client.call("GET", chat_path(chat["id"], "/clipboard"))
        put = who.client.call("POST", chat_path(chat["id"], "/clipboard/update"), json={"text": "x"})
        for call in (get, put):
            if allowed:
                await expect_error(call, 409, "ERR_VM_NOT_RUNNING")
            else:
                await expect_error(call, 403, "Access denied")

    private = await portal.private_chat(owner)
    member = await portal.login()
    await portal.invite_into(owner, private["id"], member)
    member_probe = await joined(sockets, member, private["id"])
    assert await member_probe.call("control:take", {"chat_id": private["id"]}) == {"ok": True}
    admin = await portal.login("admin")
    for who in (member, admin):  # even the host, even an Admin: the owner only
        await expect_error(
            who.client.call("GET", chat_path(private["id"], "/clipboard")), 403, "Access denied"
        )
    await expect_error(
        owner.client.call("GET", chat_path(private["id"], "/clipboard")), 409, "ERR_VM_NOT_RUNNING"
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"text": "é" * (LIMIT // 2) + "a"}, f"text must be at most {LIMIT} bytes"),
        ({"text": "a" * (LIMIT + 1)}, f"text must be at most {LIMIT} bytes"),
        ({}, "text is required"),
        ({"text": 5}, "text must be a string"),
        ({"text": None}, "text must be a string"),
        ({"text": "x", "html": "<b>x</b>"}, "html is not allowed"),
    ],
)
async def test_clipboard_update_validation(portal: Portal, body: Any, error: str) -> None:
    """08 §27: at most 65 536 UTF-8 bytes (65 537 is refused, multi-byte characters count as bytes)."""
    owner = await portal.login("user", tier=2)
    chat = await portal.private_chat(owner)
    call = owner.client.call("POST", chat_path(chat["id"], "/clipboard/update"), json=body)
    await expect_error(call, 400, error)


async def test_screenshot_while_stopped_is_409_for_viewers(portal: Portal) -> None:
    owner, chat = await public_chat(portal)
    viewer = await portal.login()
    await expect_error(
        viewer.client.call("GET", chat_path(chat["id"], "/screenshot")), 409, "ERR_VM_NOT_RUNNING"
    )
    private = await portal.private_chat(owner)
    await expect_error(
        viewer.client.call("GET", chat_path(private["id"], "/screenshot")), 403, "Access denied"
    )


# ---- a running VM ---------------------------------------------------------------------------------------


@needs_chromium
async def test_a_running_vm_clipboard_screen_and_screenshot(portal: Portal, sockets) -> None:
    """With the VM running: 65 536 bytes fit and read back; a size set while stopped applies at start; a
    size set while running applies live (the next frames and screenshots have it); any viewer may take a
    screenshot (`image/jpeg`)."""
    if portal.server.backend != "sqlite":
        pytest.skip("the browser does not depend on the database: run once (sqlite)")
    owner, chat = await public_chat(portal)
    chat_id = chat["id"]
    small = {"width": 800, "height": 600, "rate": 30}
    await owner.client.call("POST", chat_path(chat_id, "/screen/update"), json=small)
    probe = await joined(sockets, owner, chat_id)
    await start(owner, chat_id)
    try:
        credentials = await probe.expect_for("vm:credentials", chat_id, VM_START_TIMEOUT)
        assert (credentials["width"], credentials["height"]) == (800, 600)
        frame = await probe.expect_for("vm:frame", chat_id, FRAME_TIMEOUT)
        assert (frame["width"], frame["height"]) == (800, 600) == jpeg_size(frame_jpeg(frame))

        largest = "é" * (LIMIT // 2)  # exactly 65 536 bytes
        update = owner.client.call("POST", chat_path(chat_id, "/clipboard/update"), json={"text": largest})
        assert await update == {"ok": True}
        assert await owner.client.call("GET", chat_path(chat_id, "/clipboard")) == {"text": largest}
        await owner.client.call("POST", chat_path(chat_id, "/clipboard/update"), json={"text": ""})
        assert await owner.client.call("GET", chat_path(chat_id, "/clipboard")) == {"text": ""}

        viewer = await portal.login()
        shot = await viewer.client.raw("GET", chat_path(chat_id, "/screenshot"))
        assert shot.status_code == 200 and shot.headers["content-type"] == "image/jpeg"
        assert jpeg_size(shot.content) == (800, 600)

        big = {"width": 1024, "height": 768, "rate": 30}
        answer = await owner.client.call("POST", chat_path(chat_id, "/screen/update"), json=big)
        assert answer == screen(1024, 768)
        frame = await probe.expect_where(
            "vm:frame", lambda f: f["chat_id"] == chat_id and f["height"] == 768, FRAME_TIMEOUT
        )
        assert (frame["width"], frame["height"]) == jpeg_size(frame_jpeg(frame)) == (1024, 768)
        shot = await viewer.client.raw("GET", chat_path(chat_id, "/screenshot"))
        assert jpeg_size(shot.content) == (1024, 768)
    finally:
        await stop(owner, chat_id)
