"""Notifications and announcements in a real browser: an admin's notification arrives live (the bell's
unread count changes without a reload, a toast says so); the panel lists it with its type, marks one read
(keyboard and mouse, and one read meanwhile elsewhere: 409), marks all read, pages with "Load more" and has
an empty state; keyboard only: Tab to the bell, Enter opens, Esc closes and focus returns. An admin's
announcements show as banners on every page (lobby, room, settings, sign-in) and a dismissal lasts for the
tab's session. Screenshots: notifications-open, notifications-empty, announcement-banner.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from playwright.async_api import Locator, Page, Route, expect

from tests.helpers import LoggedIn
from tests.web.conftest import People, assert_accessible, shoot


async def send(admin: LoggedIn, user_id: int, title: str, body: str, kind: str = "info") -> None:
    answer = await admin.client.call(
        "POST",
        "/v1/admin/notifications",
        json={"title": title, "body": body, "type": kind, "user_ids": [user_id]},
    )
    assert answer["count"] == 1


async def signed_in_lobby(page: Page) -> None:
    """The lobby with its socket connected (a notification sent before would only be counted on load)."""
    await page.goto("/")
    await expect(page.get_by_role("heading", name="Lobby")).to_be_visible()
    await expect(page.get_by_text("Connecting…")).to_have_count(0)


def bell_of(page: Page) -> Locator:
    return page.get_by_role("button", name=re.compile(r"^Notifications, "))


async def tab_to(page: Page, target: Locator, *, most: int = 40) -> None:
    """Press Tab until `target` has the focus (fails after `most` presses)."""
    for _ in range(most):
        await page.keyboard.press("Tab")
        if await target.evaluate("e => e === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {target}")


async def test_a_notification_arrives_live_and_is_read(people: People) -> None:
    admin = await people.portal.login("admin")
    person = await people.signed_in()
    page, keys = person.page, person.page.keyboard
    await signed_in_lobby(page)
    bell = bell_of(page)
    await expect(bell).to_have_attribute("aria-label", "Notifications, 1 unread")  # the welcome
    await expect(bell).to_have_attribute("aria-expanded", "false")

    await send(admin, person.id, "Maintenance tonight", "Portal restarts at 02:00 UTC.", "warning")
    await send(admin, person.id, "Chat restored", "An admin restored the chat you reported.", "success")
    await expect(bell).to_have_attribute("aria-label", "Notifications, 3 unread")  # live, no reload
    await expect(bell.locator(".bell-count")).to_have_text("3")
    await expect(page.get_by_text("New notification: Chat restored")).to_be_visible()

    # Keyboard only: Tab to the bell, Enter opens the panel with the focus in it.
    await tab_to(page, bell)
    await expect(bell).to_have_accessible_name("Notifications, 3 unread")
    await keys.press("Enter")
    panel = page.get_by_role("region", name="Notifications")
    await expect(panel).to_be_focused()
    await expect(bell).to_have_attribute("aria-expanded", "true")
    items = panel.get_by_role("listitem")
    await expect(items).to_have_count(3)
    await expect(items.nth(0)).to_contain_text("Chat restored")  # newest first
    await expect(items.nth(0)).to_contain_text("An admin restored the chat you reported.")
    await expect(items.nth(0)).to_contain_text("just now")
    await expect(items.nth(0)).to_have_class(re.compile(r"bell-success.*bell-unread"))
    await expect(items.nth(1)).to_have_class(re.compile(r"bell-warning"))
    await expect(items.nth(2)).to_contain_text("Welcome to Portal")

    await keys.press("Tab")
    await expect(panel.get_by_role("button", name="Mark all read")).to_be_focused()
    await keys.press("Tab")
    await expect(panel.get_by_role("button", name="Mark read: Chat restored")).to_be_focused()
    await keys.press("Enter")
    await expect(bell).to_have_attribute("aria-label", "Notifications, 2 unread")
    await expect(items.nth(0)).not_to_have_class(re.compile(r"bell-unread"))
    await expect(items.nth(0)).to_be_focused()  # the keyboard stays on the notification it read
    await shoot(page, "notifications-open")
    await assert_accessible(page, context="notifications panel")

    # With the mouse: a click on an unread notification reads it.
    await items.nth(1).get_by_text("Portal restarts at 02:00 UTC.").click()
    await expect(bell).to_have_attribute("aria-label", "Notifications, 1 unread")
    await expect(items.nth(1)).not_to_have_class(re.compile(r"bell-unread"))

    # Read meanwhile elsewhere (the API, another tab): the button answers 409 and the panel catches up.
    listed = await person.login.client.call("GET", "/v1/notifications")  # type: ignore[union-attr]
    welcome = next(n for n in listed["notifications"] if n["title"] == "Welcome to Portal")
    await person.login.client.call("POST", f"/v1/notifications/{welcome['id']}/read")  # type: ignore[union-attr]
    person.expect_refusals(409)
    await panel.get_by_role("button", name="Mark read: Welcome to Portal").click()
    await expect(bell).to_have_attribute("aria-label", "Notifications, none unread")
    await expect(panel.get_by_role("button", name=re.compile(r"^Mark read"))).to_have_count(0)
    await expect(panel.get_by_role("button", name="Mark all read")).to_be_disabled()

    # Mark all read, by keyboard, after two more arrive while the panel is open.
    await send(admin, person.id, "Server move", "Portal moves to a new server on Sunday.", "info")
    await send(admin, person.id, "Login problem", "Codes by Telegram are delayed.", "error")
    await expect(bell).to_have_attribute("aria-label", "Notifications, 2 unread")
    await expect(items).to_have_count(5)
    await expect(items.nth(0)).to_have_class(re.compile(r"bell-error.*bell-unread"))
    await panel.focus()
    await keys.press("Tab")
    await expect(panel.get_by_role("button", name="Mark all read")).to_be_focused()
    await keys.press("Enter")
    await expect(bell).to_have_attribute("aria-label", "Notifications, none unread")
    await expect(bell.locator(".bell-count")).to_have_count(0)
    assert (await person.login.client.call("GET", "/v1/notifications/unread-count"))["unread"] == 0  # type: ignore[union-attr]

    # Esc closes and gives the focus back to the bell; a click outside closes too.
    await keys.press("Escape")
    await expect(panel).to_have_count(0)
    await expect(bell).to_be_focused()
    await expect(bell).to_have_attribute("aria-expanded", "false")
    await keys.press("Enter")
    await expect(panel).to_be_visible()
    await page.get_by_role("heading", name="Lobby").click()
    await expect(panel).to_have_count(0)

    # A reload shows what the server keeps.
    await page.reload()
    await expect(bell_of(page)).to_have_attribute("aria-label", "Notifications, none unread")


async def test_load_more_and_the_empty_panel(people: People) -> None:
    admin = await people.portal.login("admin")
    person = await people.signed_in(dark=True)
    for number in range(1, 21):
        await send(admin, person.id, f"Note {number}", f"Body of note {number}.")
    page = person.page
    await signed_in_lobby(page)
    bell = bell_of(page)
    await expect(bell).to_have_attribute("aria-label", "Notifications, 21 unread")
    await bell.click()
    panel = page.get_by_role("region", name="Notifications")
    items = panel.get_by_role("listitem")
    await expect(items).to_have_count(20)
    await expect(items.nth(0)).to_contain_text("Note 20")
    await panel.get_by_role("button", name="Load more").click()
    await expect(items).to_have_count(21)
    await expect(items.nth(20)).to_contain_text("Welcome to Portal")
    await expect(panel.get_by_role("button", name="Load more")).to_have_count(0)
    await shoot(page, "notifications-dark")
    await assert_accessible(page, context="notifications panel, dark")

    # The empty state (every account starts with its welcome, so the server's answers are stood in for).
    empty = await people.signed_in()

    async def nothing(route: Route) -> None:
        body: Any = (
            {"unread": 0}
            if "unread-count" in route.request.url
            else {"notifications": [], "total": 0, "unread": 0, "offset": 0, "limit": 20}
        )
        await route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    await empty.page.route(re.compile(r"/v1/notifications(\?|/unread-count)"), nothing)
    await signed_in_lobby(empty.page)
    await expect(bell_of(empty.page)).to_have_attribute("aria-label", "Notifications, none unread")
    await bell_of(empty.page).click()
    empty_panel = empty.page.get_by_role("region", name="Notifications")
    await expect(empty_panel.get_by_text("No notifications yet.")).to_be_visible()
    await expect(empty_panel.get_by_role("button", name="Mark all read")).to_be_disabled()
    await shoot(empty.page, "notifications-empty")
    await assert_accessible(empty.page, context="notifications, empty")


@asynccontextmanager
async def announced(admin: LoggedIn, **body: Any) -> AsyncIterator[dict[str, Any]]:
    """An announcement for the duration of a test: the web server is shared, so it is ended afterwards."""
    created = await admin.client.call("POST", "/v1/admin/announcements", json=body)
    try:
        yield created
    finally:
        await admin.client.call("POST", f"/v1/admin/announcements/{created['id']}/end")


async def test_announcements_show_on_every_page_and_can_be_dismissed(people: People) -> None:
    admin = await people.portal.login("admin")
    chat = await people.portal.official_chat(admin.id, name="Town square")
    async with (
        announced(
            admin,
            title="Scheduled maintenance",
            body="Portal restarts at 02:00 UTC for about five minutes.",
            level="warning",
        ),
        announced(
            admin,
            title="Database migration",
            body="Chats are read-only from 01:50 UTC until the restart.",
            level="critical",
        ),
        announced(
            admin, title="New: meet someone", body="Try one-on-one chats from the top bar.", level="info"
        ),
    ):
        person = await people.signed_in()
        page = person.page
        await signed_in_lobby(page)
        region = page.get_by_role("region", name="Announcements")
        maintenance = region.locator(".announcement", has_text="Scheduled maintenance")
        migration = region.locator(".announcement", has_text="Database migration")
        await expect(region.locator(".announcement")).to_have_count(3)
        await expect(region.locator(".announcement").nth(0)).to_contain_text("New: meet someone")  # newest
        await expect(maintenance).to_have_class(re.compile(r"announcement-warning"))
        await expect(migration).to_have_class(re.compile(r"announcement-critical"))
        await expect(maintenance).to_contain_text("Portal restarts at 02:00 UTC for about five minutes.")
        await shoot(page, "announcement-banner")
        await assert_accessible(page, context="announcement banners")

        await page.goto(f"/chat/{chat['id']}")
        await expect(page.get_by_role("heading", name="Town square")).to_be_visible()
        await expect(maintenance).to_be_visible()
        await shoot(page, "announcement-banner-room")
        await page.goto("/settings/profile")
        await expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
        await expect(maintenance).to_be_visible()

        # Dismissed for this tab's session: gone after a reload and on other pages, the others stay.
        await maintenance.get_by_role("button", name="Dismiss announcement: Scheduled maintenance").click()
        await expect(maintenance).to_have_count(0)
        await expect(migration).to_be_visible()
        await page.reload()
        await expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
        await expect(migration).to_be_visible()
        await expect(maintenance).to_have_count(0)
        await page.goto("/")
        await expect(page.get_by_role("heading", name="Lobby")).to_be_visible()
        await expect(region.locator(".announcement")).to_have_count(2)

        # Keyboard: the dismiss button is reachable and the focus moves to the next banner's.
        await tab_to(page, region.get_by_role("button", name="Dismiss announcement: Database migration"))
        await page.keyboard.press("Enter")
        await expect(migration).to_have_count(0)
        await expect(
            region.get_by_role("button", name="Dismiss announcement: New: meet someone")
        ).to_be_focused()

        # Signed out: announcements are public.
        visitor = await people.anonymous(width=390, height=844)
        await visitor.page.goto("/signin")
        await expect(
            visitor.page.get_by_role("region", name="Announcements").locator(".announcement")
        ).to_have_count(3)

    # Ended: the next load shows none.
    async with page.expect_response(re.compile(r"/v1/announcements$")):
        await page.reload()
    await expect(page.get_by_role("heading", name="Lobby")).to_be_visible()
    await expect(page.get_by_role("region", name="Announcements")).to_have_count(0)
