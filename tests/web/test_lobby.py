"""The lobby in a real browser: the directory with live viewer counts, creating a chat (and the slot and
premium refusals in words), and joining by slug (`/c/{slug}`) and by invite (`/i/{code}`)."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from portal.client import PortalAPIError
from tests.sockets import SocketProbe
from tests.web.conftest import People, assert_accessible, shoot


def card(page: Page, chat_id: int):  # type: ignore[no-untyped-def]
    return page.locator(f'li.chat-card[data-chat-id="{chat_id}"]')


async def test_lobby_lists_official_and_public_chats_with_live_counts(people: People) -> None:
    portal = people.portal
    staff = await portal.login("owner")
    official = await portal.official_chat(staff.id, name="Town square")
    await staff.client.call("POST", f"/v1/admin/chats/{official['id']}/update", json={"label": "Staff pick"})
    host = await portal.login("user", tier=2)
    public = await portal.public_chat(host, name="Film club")
    await host.client.call(
        "POST", f"/v1/portal/chats/{public['id']}/config/update", json={"allow_control_requests": True}
    )
    viewer = await people.signed_in()
    page = viewer.page

    await page.goto("/")
    official_section = page.get_by_role("region", name=re.compile("Official chats"))
    public_section = page.get_by_role("region", name=re.compile("Public chats"))
    await expect(official_section.get_by_role("link", name="Town square")).to_be_visible()
    await expect(card(page, official["id"]).locator(".badge.official")).to_have_text("Staff pick")
    await expect(public_section.get_by_role("link", name="Film club")).to_be_visible()
    await expect(card(page, public["id"]).get_by_test_id("watching")).to_have_text("Nobody here")
    await expect(card(page, public["id"])).to_contain_text(f"by {host.user['username']}")

    # Someone joins the public chat over the socket: the card's count changes without a reload.
    probe = SocketProbe(people.web.server.base_url)
    try:
        await probe.connect(token=host.client.session_token)
        ack = await probe.call("room:join", {"chat_id": public["id"]})
        assert ack["ok"], ack
        await expect(card(page, public["id"]).get_by_test_id("watching")).to_have_text("1 watching")
        await shoot(page, "lobby")
        await assert_accessible(page, context="lobby")
        await probe.call("room:leave", {"chat_id": public["id"]})
        await expect(card(page, public["id"]).get_by_test_id("watching")).to_have_text("Nobody here")
    finally:
        await probe.close()

    # The search box filters the cards; a search without matches says so.
    search = page.get_by_label("Find a chat")
    await search.fill("film")
    await expect(card(page, public["id"])).to_be_visible()
    await expect(card(page, official["id"])).to_have_count(0)
    await search.fill("no-such-chat-anywhere")
    await expect(page.get_by_text("No chat matches")).to_be_visible()
    await page.get_by_role("button", name="Clear the search").click()
    await expect(card(page, official["id"])).to_be_visible()

    # Opening a card goes to the chat.
    await card(page, public["id"]).get_by_role("link", name="Film club").click()
    await expect(page).to_have_url(re.compile(rf"/chat/{public['id']}$"))


async def test_creating_a_chat_through_the_dialog_lands_in_it(people: People) -> None:
    person = await people.signed_in(tier=2)
    page = person.page
    await page.goto("/")
    await expect(page.get_by_role("region", name="My chats")).to_contain_text("no chats of your own")
    await page.get_by_role("button", name="Create a chat").click()
    dialog = page.get_by_role("dialog", name="Create a chat")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("You own 0 chats. Premium gives 3 chat slots")
    await expect(dialog.get_by_label("Name")).to_be_focused()
    # Esc closes it; it opens again.
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await page.get_by_role("button", name="Create a chat").click()
    await dialog.get_by_label("Name").fill("Movie night")
    await dialog.get_by_label("Description (optional)").fill("Films every Friday")
    await dialog.get_by_label("Let viewers ask to control the shared browser").check()
    await shoot(page, "lobby-create")
    await assert_accessible(page, context="create dialog")
    await dialog.get_by_role("button", name="Create chat").click()

    await expect(page).to_have_url(re.compile(r"/chat/\d+$"))
    chat_id = int(page.url.rsplit("/", 1)[1])
    detail = await person.login.client.call("GET", f"/v1/portal/chats/{chat_id}")  # type: ignore[union-attr]
    assert detail["name"] == "Movie night"
    assert detail["description"] == "Films every Friday"
    assert detail["visibility"] == "private"
    assert detail["allow_control_requests"] is True
    assert detail["owner"]["id"] == person.id

    # Back in the lobby it is among my chats.
    await page.goto("/")
    await expect(
        page.get_by_role("region", name=re.compile("My chats")).get_by_role(
            "link", name="Movie night", exact=True
        )
    ).to_be_visible()
    # Its owner finds the way to manage it from the card.
    await page.get_by_role("link", name="Manage Movie night").click()
    await expect(page).to_have_url(re.compile(rf"/chat/{chat_id}/manage$"))
    await expect(page.get_by_role("heading", name="Manage Movie night")).to_be_visible()


async def test_creating_beyond_the_slots_is_explained(people: People) -> None:
    person = await people.signed_in(tier=2)  # Premium: 3 slots
    person.expect_refusals(409)
    assert person.login is not None
    for n in range(3):
        await people.portal.private_chat(person.login, name=f"mine {n}")
    page = person.page
    await page.goto("/")
    await page.get_by_role("button", name="Create a chat").click()
    dialog = page.get_by_role("dialog", name="Create a chat")
    await expect(dialog).to_contain_text("You own 3 chats")
    await dialog.get_by_label("Name").fill("one too many")
    await dialog.get_by_role("button", name="Create chat").click()
    alert = dialog.get_by_role("alert")
    await expect(alert).to_contain_text("You already own 3 chats")
    await expect(alert).to_contain_text("Delete one of your chats")
    await expect(alert).to_contain_text("Premium 3")
    await expect(alert.get_by_role("link", name="Settings → Subscription")).to_have_attribute(
        "href", "/settings/subscription"
    )
    await assert_accessible(page, context="slot refusal")


async def test_basic_users_are_told_chats_need_premium(people: People) -> None:
    person = await people.signed_in()  # Basic
    page = person.page
    await page.goto("/")
    await page.get_by_role("button", name="Create a chat").click()
    dialog = page.get_by_role("dialog", name="Create a chat")
    await expect(dialog).to_contain_text("Creating chats needs Premium")
    await expect(dialog).to_contain_text("Your plan is Basic")
    await expect(dialog.get_by_role("link", name=re.compile("Subscription"))).to_be_visible()
    await expect(dialog.get_by_label("Name")).to_have_count(0)
    # The server agrees.
    try:
        await person.login.client.call("POST", "/v1/portal/chats", json={"name": "nope"})  # type: ignore[union-attr]
        raise AssertionError("a Basic user created a chat")
    except PortalAPIError as error:
        assert error.status == 403


async def test_join_by_slug(people: People) -> None:
    host = await people.portal.login("user", tier=2)
    chat = await people.portal.public_chat(host, name="Slug club", slug="slug-club")
    person = await people.signed_in()
    person.expect_refusals(404)
    page = person.page
    await page.goto("/c/slug-club")
    await expect(page).to_have_url(re.compile(rf"/chat/{chat['id']}$"))

    await page.goto("/c/nobody-has-this")
    await expect(page.get_by_role("heading", name="No chat by that name")).to_be_visible()
    await expect(page.get_by_text("nobody-has-this")).to_be_visible()
    await assert_accessible(page, context="slug not found")
    await page.get_by_role("link", name="Browse the lobby").click()
    await expect(page).to_have_url(re.compile(r"/$"))


async def test_join_by_invite(people: People) -> None:
    host = await people.portal.login("user", tier=2)
    chat = await people.portal.private_chat(host, name="Secret garden")
    invite = await host.client.call("POST", f"/v1/portal/chats/{chat['id']}/invites", json={"max_uses": 1})
    person = await people.signed_in()
    page = person.page
    await page.goto(f"/i/{invite['code']}")
    await expect(page.get_by_role("heading", name="You are invited to a chat")).to_be_visible()
    await shoot(page, "invite")
    await assert_accessible(page, context="invite")
    await page.get_by_role("button", name="Join the chat").click()
    await expect(page).to_have_url(re.compile(rf"/chat/{chat['id']}$"))
    detail = await person.login.client.call("GET", f"/v1/portal/chats/{chat['id']}")  # type: ignore[union-attr]
    assert detail["name"] == "Secret garden"

    # The invite is used up now: a second person is told so, in words.
    other = await people.signed_in()
    other.expect_refusals(404)
    await other.page.goto(f"/i/{invite['code']}")
    await other.page.get_by_role("button", name="Join the chat").click()
    await expect(other.page.get_by_role("heading", name="This invite does not work")).to_be_visible()
    await expect(other.page.get_by_text("expired, was used up or was deleted")).to_be_visible()
    await assert_accessible(other.page, context="invalid invite")


async def test_signed_out_visitors_sign_in_first(people: People) -> None:
    visitor = await people.anonymous()
    await visitor.page.goto("/i/abcdefgh12345678")
    await expect(visitor.page).to_have_url(re.compile(r"/signin\?next=%2Fi%2Fabcdefgh12345678$"))
    await visitor.page.goto("/c/some-slug")
    await expect(visitor.page).to_have_url(re.compile(r"/signin\?next=%2Fc%2Fsome-slug$"))
