"""Pages not covered by the feature tests, looked at: the dark theme of the main pages, the page-not-found
page, an unknown chat link, the manage page's danger zone and what a non-manager sees there. Each is
checked by axe-core and photographed at both sizes (test-artifacts/screenshots/)."""

from __future__ import annotations

from playwright.async_api import expect

from tests.web.conftest import People, assert_accessible, shoot
from tests.web.test_room_e2ee import open_room, say


async def test_the_dark_theme_of_the_main_pages(people: People) -> None:
    visitor = await people.anonymous(dark=True)
    await visitor.page.goto("/signin")
    await expect(visitor.page.get_by_label("Username")).to_be_focused()
    await assert_accessible(visitor.page, context="dark sign-in")
    await shoot(visitor.page, "dark-signin")

    alice = await people.signed_in(tier=2, dark=True)
    chat = await people.portal.public_chat(alice.login, name="Night owls")  # type: ignore[arg-type]
    await alice.page.goto("/")
    await expect(alice.page.get_by_role("link", name="Night owls").first).to_be_visible()
    await assert_accessible(alice.page, context="dark lobby")
    await shoot(alice.page, "dark-lobby")

    await open_room(alice.page, chat["id"])
    await say(alice.page, "hello from the dark side: https://example.org")
    await expect(alice.page.locator(".msg-text", has_text="hello from the dark side")).to_be_visible()
    await assert_accessible(alice.page, context="dark room")
    await shoot(alice.page, "dark-room")

    await alice.page.goto("/settings/profile")
    await expect(alice.page.get_by_role("heading", name="Settings")).to_be_visible()
    await assert_accessible(alice.page, context="dark settings")
    await shoot(alice.page, "dark-settings")


async def test_not_found_pages(people: People) -> None:
    alice = await people.signed_in()
    alice.expect_refusals(404)  # the unknown slug's lookup
    await alice.page.goto("/no/such/page")
    await expect(alice.page.get_by_role("heading", name="Page not found")).to_be_visible()
    await assert_accessible(alice.page, context="page not found")
    await shoot(alice.page, "not-found")

    await alice.page.goto("/c/no-such-chat")
    await expect(alice.page.get_by_role("heading").first).to_be_visible()
    await expect(alice.page.get_by_text("no-such-chat").first).to_be_visible()
    await assert_accessible(alice.page, context="unknown slug")
    await shoot(alice.page, "slug-not-found")


async def test_the_danger_zone_and_a_non_manager(people: People) -> None:
    alice = await people.signed_in(tier=2)
    bob = await people.signed_in()
    chat = await people.portal.private_chat(alice.login, name="Careful")  # type: ignore[arg-type]
    await people.portal.invite_into(alice.login, chat["id"], bob.login)  # type: ignore[arg-type]
    await alice.page.goto(f"/chat/{chat['id']}/manage?tab=danger")
    await expect(alice.page.get_by_role("button", name="Delete chat…")).to_be_visible()
    await assert_accessible(alice.page, context="danger zone")
    await shoot(alice.page, "manage-danger")

    await bob.page.goto(f"/chat/{chat['id']}/manage")
    await expect(bob.page.get_by_text("You cannot manage this chat")).to_be_visible()
    await assert_accessible(bob.page, context="not a manager")
    await shoot(bob.page, "manage-not-allowed")
