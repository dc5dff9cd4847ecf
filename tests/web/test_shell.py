"""The app shell in a real browser: it loads under the CSP with a clean console, sends signed-out visitors
to sign in (keeping where they were going), and shows a signed-in person the top bar."""

from __future__ import annotations

from playwright.async_api import expect

from tests.web.conftest import People


async def test_a_signed_out_visitor_is_sent_to_sign_in_and_keeps_the_destination(people: People) -> None:
    visitor = await people.anonymous()
    await visitor.page.goto("/i/SOMECODE")
    await expect(visitor.page).to_have_url(f"{people.web.origin}/signin?next=%2Fi%2FSOMECODE")


async def test_a_signed_in_person_sees_the_top_bar_and_unknown_pages_say_so(people: People) -> None:
    alice = await people.signed_in()
    await alice.page.goto("/")
    bar = alice.page.get_by_role("navigation", name="Main")
    await expect(bar.get_by_role("link", name="Lobby")).to_be_visible()
    await expect(
        alice.page.get_by_role("link", name=f"Signed in as {alice.user['username']}: settings")
    ).to_be_visible()
    await alice.page.goto("/no/such/page")
    await expect(alice.page.get_by_role("heading", name="Page not found")).to_be_visible()
