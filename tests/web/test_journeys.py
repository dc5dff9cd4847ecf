"""Whole journeys in a real browser: keyboard only from sign-in to a sent message; a dropped connection
that comes back by itself and re-joins the room; history paging in the room."""

from __future__ import annotations

import re

from playwright.async_api import Page, WebSocketRoute, expect

from portal.client.secure import SecureChat
from tests.helpers import identity_of
from tests.web.conftest import People
from tests.web.test_room_e2ee import message_text, open_room, say
from tests.web.test_signin import pending_code

COMPOSER = "Message (encrypted end to end)"


async def tab_to(page: Page, name: str, *, most: int = 40) -> None:
    """Press Tab until the element named `name` has the focus (fails after `most` presses)."""
    for _ in range(most):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(
            """() => { const e = document.activeElement;
                       return e ? (e.innerText || e.getAttribute('aria-label') || '').trim() : ''; }"""
        )
        if focused == name:
            return
    raise AssertionError(f"Tab never reached {name!r}")


async def test_keyboard_only_from_sign_in_to_a_sent_message(people: People) -> None:
    host = await people.portal.login(tier=2)
    chat = await people.portal.public_chat(host, name="Keyboard club")
    user = await people.portal.create_user()
    platform, platform_user_id = identity_of(user)
    person = await people.anonymous()
    page, keys = person.page, person.page.keyboard

    await page.goto("/signin")
    await expect(page.get_by_label("Username")).to_be_focused()
    await keys.type(user["username"])
    await keys.press("Enter")
    await expect(page.get_by_role("button", name="Send code via Discord")).to_be_focused()
    await keys.press("Enter")
    await expect(page.get_by_label("Code", exact=True)).to_be_focused()
    await keys.type(await pending_code(people, platform, platform_user_id))
    await keys.press("Enter")

    await expect(page.get_by_role("heading", name="Lobby")).to_be_visible()
    await expect(page.locator(".shell")).to_be_focused()
    await tab_to(page, "Keyboard club")
    await keys.press("Enter")
    await expect(page).to_have_url(re.compile(rf"/chat/{chat['id']}$"))
    composer = page.get_by_label(COMPOSER)
    await expect(composer).to_be_enabled()
    await expect(composer).to_be_focused()
    await keys.type("typed without a mouse")
    await keys.press("Enter")
    await expect(message_text(page, "typed without a mouse")).to_be_visible()
    await expect(composer).to_have_value("")


async def test_a_dropped_connection_comes_back_and_rejoins_the_room(people: People) -> None:
    alice = await people.signed_in(tier=2)
    chat = await people.portal.public_chat(alice.login)  # type: ignore[arg-type]
    # The browser's WebSockets pass through Playwright, which can cut one as a network failure would.
    routes: list[WebSocketRoute] = []

    def through(route: WebSocketRoute) -> None:
        route.connect_to_server()
        routes.append(route)

    await alice.page.route_web_socket(re.compile(r"/socket\.io/"), through)
    await open_room(alice.page, chat["id"])
    await say(alice.page, "before the drop")
    await expect(message_text(alice.page, "before the drop")).to_be_visible()

    await routes[-1].close(code=4000, reason="network gone")
    composer = alice.page.get_by_label(COMPOSER)
    banner = alice.page.get_by_role("status").filter(has_text="Connection lost. Reconnecting")
    await expect(banner).to_be_visible()
    await expect(composer).to_be_disabled()
    await expect(banner).to_be_hidden()
    await expect(composer).to_be_enabled()
    assert len(routes) == 2, "the client opened a new connection"

    # Back in the room: a message from another participant arrives, and the browser can still send.
    guest = await people.portal.login()
    async with SecureChat(guest.client) as sdk:
        await sdk.join(chat["id"])
        await sdk.send(chat["id"], "after the drop, from Python")
        await expect(message_text(alice.page, "after the drop, from Python")).to_be_visible()
        await say(alice.page, "and back from the browser")
        heard = [await sdk.next_text(chat["id"]) for _ in range(2)]  # its own message comes back too
        assert heard == ["after the drop, from Python", "and back from the browser"]


async def test_earlier_messages_load_on_request_and_stay_readable(people: People) -> None:
    alice = await people.signed_in(tier=2)
    chat = await people.portal.public_chat(alice.login)  # type: ignore[arg-type]
    await open_room(alice.page, chat["id"])
    await say(alice.page, "the key is made")  # the browser is the distributor of epoch 0
    guest = await people.portal.login()
    async with SecureChat(guest.client) as sdk:
        await sdk.join(chat["id"])
        for n in range(1, 61):
            if n % 25 == 0:
                people.web.server.clock.advance(11)  # the per-user send limit is 30 per 10 s
            await sdk.send(chat["id"], f"paged message {n:02d}")
    await alice.page.reload()
    await expect(message_text(alice.page, "paged message 60")).to_be_visible()
    oldest = message_text(alice.page, "paged message 01")
    await expect(oldest).to_have_count(0)  # the first page holds the newest 50
    await alice.page.get_by_role("button", name=re.compile("Load earlier messages")).click()
    await expect(oldest).to_be_visible()
    await expect(message_text(alice.page, "the key is made")).to_be_visible()
