"""The shared browser in the room, in real browsers, with a real chromium VM (Debian's Chromium, as
tests/vm use): the owner starts it on a page served here, the others see its frames on their canvas (they
travel as binary attachments), control is requested and given (one key), the host clicks and types into the
page and the other people see the page change in later frames, the queue shows places, release and take
work, a screenshot downloads as a JPEG, the panel works from the keyboard alone, and stopping it is said in
words."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Locator, Page, expect

from portal.browser.chromium import chromium_path
from tests.vm.support import CHROMIUM_MISSING, stop_every_vm
from tests.web.conftest import People, assert_accessible, shoot
from tests.web.test_room_e2ee import open_room

pytestmark = pytest.mark.skipif(chromium_path() is None, reason=CHROMIUM_MISSING)

OVERLAY = "Control the shared browser: mouse and keyboard go to it, Tab leaves"
VM_TIMEOUT_MS = 45_000  # a VM start and its first frames on a busy 2-core machine

# A page that shows what the host does: a blue band turns green when clicked; typing "portal" into the box
# turns the page's background magenta, "keys" yellow.
PAGE = """<!doctype html><html><head><title>shared</title></head>
<body style="margin:0;background:#fff">
<input id="box" style="position:absolute;left:20px;top:20px;width:600px;height:60px;font-size:40px"
 oninput="document.body.style.background={portal:'#f0f',keys:'#ff0'}[this.value]||'#fff'">
<div id="band" style="position:absolute;left:0;top:200px;width:100%;height:200px;background:#00f"
 onclick="this.style.background='#0c0'"></div>
</body></html>"""


@contextlib.asynccontextmanager
async def serve_page() -> AsyncIterator[str]:
    async def handler(_request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html", headers={"Cache-Control": "no-store"})

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()


def canvas(page: Page) -> Locator:
    return page.locator("canvas.screen-canvas")


async def wait_for_pixel(page: Page, x: int, y: int, rgb: tuple[int, int, int]) -> None:
    """Until the canvas shows about `rgb` at the VM's pixel (x, y) (JPEG colours are approximate)."""
    await page.wait_for_function(
        """([x, y, r, g, b]) => {
            const c = document.querySelector("canvas.screen-canvas");
            if (!c || !c.dataset.drawn) return false;
            const probe = document.createElement("canvas");  // a copy: the page's canvas is never read back
            probe.width = probe.height = 1;
            const context = probe.getContext("2d", {willReadFrequently: true});
            context.drawImage(c, x, y, 1, 1, 0, 0, 1, 1);
            const [pr, pg, pb] = context.getImageData(0, 0, 1, 1).data;
            return Math.abs(pr - r) < 40 && Math.abs(pg - g) < 40 && Math.abs(pb - b) < 40;
        }""",
        arg=[x, y, *rgb],
        timeout=VM_TIMEOUT_MS,
    )


async def click_vm(page: Page, x: int, y: int) -> None:
    """Click where the VM's pixel (x, y) is drawn (the canvas keeps the aspect: letterboxing)."""
    box = await canvas(page).bounding_box()
    assert box is not None
    width, height = await canvas(page).evaluate("c => [c.width, c.height]")
    scale = min(box["width"] / width, box["height"] / height)
    left = box["x"] + (box["width"] - width * scale) / 2
    top = box["y"] + (box["height"] - height * scale) / 2
    await page.mouse.click(left + x * scale, top + y * scale)


class WireFrames:
    """What a page's Socket.IO websocket receives of `vm:frame`s: binary JPEG attachments, binary event
    headers, and frames sent as base64 text (the web client asks for binary frames at its handshake)."""

    def __init__(self, page: Page) -> None:
        self.jpegs = 0
        self.headers = 0
        self.base64 = 0
        page.on("websocket", lambda ws: ws.on("framereceived", self._received))

    def _received(self, payload: str | bytes) -> None:
        if isinstance(payload, bytes):
            self.jpegs += payload[:3] == b"\xff\xd8\xff"
        elif payload.startswith('451-["vm:frame"'):
            self.headers += 1
        elif '"jpeg_b64"' in payload:
            self.base64 += 1


async def drawn(page: Page) -> int:
    return int(await canvas(page).evaluate("c => Number(c.dataset.drawn || 0)"))


async def test_start_watch_hand_over_control_type_and_click_queue_screenshot_stop(people: People) -> None:
    await stop_every_vm(people.portal)
    alice = await people.signed_in(tier=2)
    bob = await people.signed_in()
    carol = await people.signed_in()
    async with serve_page() as url:
        chat: dict[str, Any] = await people.portal.private_chat(
            alice.login,  # type: ignore[arg-type]
            name="movie-night",
            allow_control_requests=True,
            browser_config={"browser": "chromium", "start_url": url},
        )
        for guest in (bob, carol):
            await people.portal.invite_into(alice.login, chat["id"], guest.login)  # type: ignore[arg-type]
        try:
            pages = (alice.page, bob.page, carol.page)
            await run_the_story(people, chat, *pages, alice.user, bob.user, carol.user)
        finally:
            await stop_every_vm(people.portal)


async def run_the_story(
    people: People,
    chat: dict[str, Any],
    alice: Page,
    bob: Page,
    carol: Page,
    alice_user: dict[str, Any],
    bob_user: dict[str, Any],
    carol_user: dict[str, Any],
) -> None:
    wire = WireFrames(carol)  # before the room opens (a new page load): its socket is watched from the start
    for page in (alice, bob, carol):
        await open_room(page, chat["id"])

    # Off: the owner is offered Start, the others are told who can start it.
    await expect(alice.get_by_text("The shared browser is off.")).to_be_visible()
    await expect(bob.get_by_text("The chat's owner can start it.")).to_be_visible()
    await expect(bob.get_by_role("button", name="Start the shared browser")).to_have_count(0)
    await assert_accessible(alice, context="shared browser off")
    await shoot(alice, "room-browser-off")
    await alice.get_by_role("button", name="Start the shared browser").click()

    # Everyone sees frames arrive on the canvas; the start page (blue band on white) is drawn.
    for page in (alice, bob, carol):
        await expect(canvas(page)).to_be_visible(timeout=VM_TIMEOUT_MS)
        await wait_for_pixel(page, 300, 300, (0, 0, 255))
    await expect(bob.locator(".control-host")).to_have_text("🎮 Nobody has control")
    # The frames carol's canvas drew came as binary attachments, none as base64 text.
    assert wire.jpegs >= 1 and wire.headers >= wire.jpegs and wire.base64 == 0, vars(wire)

    # The owner takes control, bob asks for it: the owner gets a one-key prompt and gives it with A.
    await alice.get_by_role("button", name="Take control").click()
    await expect(alice.get_by_text("You have control", exact=True)).to_be_visible()
    await expect(bob.locator(".control-host")).to_have_text(f"🎮 {alice_user['username']} has control")
    await bob.get_by_role("button", name="Request control").click()
    await expect(bob.locator(".control-host")).to_contain_text("you are 1st in line")
    prompt = alice.locator(".request-prompt")
    asks = f"{bob_user['username']} asks for control — press A to give, D to deny"
    await expect(prompt).to_contain_text(asks)
    await assert_accessible(alice, context="shared browser, a request waiting")
    await shoot(alice, "room-browser-control")
    await alice.locator("h1").click()  # the keyboard is not in the shared browser or a field
    await alice.keyboard.press("a")
    await expect(bob.get_by_text("You have control", exact=True)).to_be_visible()
    await expect(alice.get_by_text(f"{bob_user['username']} has control now (from you).")).to_be_visible()
    await expect(prompt).to_have_count(0)

    # Bob clicks the band and types into the box: alice and carol see the page change in later frames.
    before = await drawn(carol)
    await click_vm(bob, 300, 300)
    for page in (alice, carol):
        await wait_for_pixel(page, 300, 300, (0, 204, 0))
    assert await drawn(carol) > before
    await click_vm(bob, 200, 50)
    await expect(bob.get_by_label(OVERLAY)).to_be_focused()
    await bob.keyboard.type("portal")
    for page in (alice, carol):
        await wait_for_pixel(page, 900, 600, (255, 0, 255))
    await assert_accessible(bob, context="shared browser, hosting")
    await shoot(bob, "room-browser")  # room-browser-wide.png and room-browser-phone.png

    # The queue: carol then alice ask; alice is 2nd; bob denies carol, then releases; alice takes it.
    await carol.get_by_role("button", name="Request control").click()
    await expect(carol.locator(".control-host")).to_contain_text("you are 1st in line")
    await alice.get_by_role("button", name="Request control").click()
    await expect(alice.locator(".control-host")).to_contain_text("you are 2nd in line")
    queue = bob.locator(".control-queue li")
    await expect(queue).to_have_count(2)
    await expect(queue.nth(0)).to_contain_text(f"1. {carol_user['username']}")
    await expect(queue.nth(1)).to_contain_text(f"2. {alice_user['username']}")
    await bob.get_by_role("button", name=f"Deny {carol_user['username']}'s request").click()
    await expect(carol.get_by_text("Your request for control was turned down.")).to_be_visible()
    await expect(alice.locator(".control-host")).to_contain_text("you are 1st in line")
    await bob.get_by_role("button", name="Release control").click()
    await expect(alice.locator(".control-host")).to_contain_text("Nobody has control")
    await expect(carol.get_by_text(f"{bob_user['username']} released control.")).to_be_visible()

    # A screenshot downloads as a JPEG (anyone who may view the chat).
    async with carol.expect_download() as download_info:
        await carol.get_by_role("button", name="Screenshot").click()
    download = await download_info.value
    assert download.suggested_filename.startswith("portal-movie-night-")
    assert download.suggested_filename.endswith(".jpg")
    path = await download.path()
    data = path.read_bytes()
    assert data[:3] == b"\xff\xd8\xff", "not a JPEG"

    # Keyboard only: alice takes control, tabs into the screen, types, and Tab leaves it.
    await keyboard_pass(alice, carol)

    # The owner stops it: everyone is told, and the strip comes back.
    await alice.get_by_role("button", name="Stop", exact=True).click()
    for page in (alice, bob, carol):
        await expect(page.get_by_text("The shared browser was stopped.").first).to_be_visible()
        await expect(canvas(page)).to_have_count(0)
    await expect(alice.get_by_role("button", name="Start the shared browser")).to_be_visible()


async def keyboard_pass(alice: Page, watcher: Page) -> None:
    take = alice.get_by_role("button", name="Take control")
    await take.focus()
    await alice.keyboard.press("Enter")
    await expect(alice.get_by_text("You have control", exact=True)).to_be_visible()
    overlay = alice.get_by_label(OVERLAY)
    # Tab backwards from the first control in the bar reaches the screen (it comes before the bar).
    await alice.get_by_role("button", name="Release control").focus()
    for _ in range(10):
        if await overlay.evaluate("el => el === document.activeElement"):
            break
        await alice.keyboard.press("Shift+Tab")
    await expect(overlay).to_be_focused()
    # Keys go to the VM: select the box's text, replace it: the page turns yellow for the others.
    await alice.keyboard.press("Control+a")
    await alice.keyboard.press("Backspace")
    await alice.keyboard.type("keys")
    await wait_for_pixel(watcher, 900, 600, (255, 255, 0))
    # Tab leaves the screen.
    await alice.keyboard.press("Tab")
    await expect(overlay).not_to_be_focused()
    # The clipboard panel (the owner of a private chat): "portal" sent to the VM's clipboard, pasted there
    # with Ctrl+V over the selected box text: the page turns magenta again.
    await alice.get_by_role("button", name="Clipboard").click()
    clipboard = alice.get_by_role("dialog", name="Shared clipboard")
    await expect(clipboard.get_by_label("Clipboard text")).to_be_focused()
    await clipboard.get_by_label("Clipboard text").fill("portal")
    await clipboard.get_by_role("button", name="Send to the shared browser").click()
    await expect(clipboard).to_be_hidden()
    await overlay.focus()
    await alice.keyboard.press("Control+a")
    await alice.keyboard.press("Control+v")
    await wait_for_pixel(watcher, 900, 600, (255, 0, 255))
    await alice.keyboard.press("Tab")
    # Fullscreen from the keyboard, then back.
    fullscreen = alice.get_by_role("button", name="Fullscreen")
    await fullscreen.focus()
    await alice.keyboard.press("Enter")
    await alice.wait_for_function("() => document.fullscreenElement?.classList.contains('browser')")
    await alice.evaluate("() => document.exitFullscreen()")
    await alice.wait_for_function("() => !document.fullscreenElement")
