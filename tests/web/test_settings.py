"""The settings pages in a real browser: profile (rename, a taken name, the avatar), sessions (this device,
ending another one, this one ended from elsewhere → sign-in with the reason), subscription and slots (Basic
and Premium), punishments (none, then a warning and a mute), and log out (the old cookie stops working).
Screenshots: settings-profile, settings-sessions, settings-subscription(-premium), settings-punishments.
"""

from __future__ import annotations

import re

from playwright.async_api import Page, Route, expect

from tests.helpers import identity_of, unique_name
from tests.servers import fresh_ip
from tests.web.conftest import REPO, People, Person, assert_accessible, shoot
from tests.web.test_signin import signed_in_link

ICON = (REPO / "web" / "public" / "favicon.svg").read_bytes()


async def fake_avatar_cdn(page: Page) -> None:
    """The default avatars live on Discord's CDN, which tests do not reach: serve a stand-in picture."""

    async def fulfil(route: Route) -> None:
        await route.fulfill(status=200, content_type="image/svg+xml", body=ICON)

    await page.route("https://cdn.discordapp.com/**", fulfil)


async def open_settings(person: Person, tab: str) -> Page:
    page = person.page
    await page.goto(f"/settings/{tab}")
    await expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
    await expect(page.get_by_role("link", name=tab.capitalize(), exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    return page


async def test_profile_rename_taken_name_and_avatar(people: People) -> None:
    other = await people.portal.create_user()
    person = await people.signed_in()
    page = person.page
    await fake_avatar_cdn(page)
    await page.goto("/settings")  # the first section
    await expect(page.get_by_role("link", name="Profile", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    await expect(page.get_by_text("Discord", exact=True)).to_be_visible()  # the linked app
    await expect(page.get_by_text(identity_of(person.user)[1])).to_be_visible()

    name = page.get_by_label("Username", exact=True)
    await name.fill(other["username"])
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "Someone already has that username. Try another one."
    )
    await name.fill("no spaces allowed")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("alert")).to_contain_text("3 to 32 characters")

    new_name = unique_name("renamed")
    await name.fill(new_name)
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_text(f"Your username is now {new_name}.")).to_be_visible()
    await expect(signed_in_link(page, new_name)).to_be_visible()
    assert (await person.login.client.me())["username"] == new_name  # type: ignore[union-attr]

    await page.get_by_text("Or one of the default pictures").click()
    await page.get_by_role("radio", name="Default picture 3").check()
    await expect(page.get_by_text("Your avatar was changed.")).to_be_visible()
    me = await person.login.client.me()  # type: ignore[union-attr]
    assert me["avatar_source"] == "discord_2"
    assert me["avatar_url"] == "https://cdn.discordapp.com/embed/avatars/2.png"
    await expect(page.locator(".topbar .me img")).to_have_attribute("src", me["avatar_url"])
    await page.get_by_role("radio", name=re.compile(r"^Automatic")).check()
    await expect(page.get_by_role("radio", name=re.compile(r"^Automatic"))).to_be_checked()
    await expect(page.locator(".topbar .me img")).to_have_count(0)  # no platform picture: the initial

    await assert_accessible(page, context="settings: profile")
    dismiss = page.get_by_role("button", name="Dismiss")
    while await dismiss.count():
        await dismiss.first.click()
    await shoot(page, "settings-profile")


async def test_sessions_list_and_end_another(people: People) -> None:
    person = await people.signed_in()
    platform, platform_user_id = identity_of(person.user)
    elsewhere_ip = fresh_ip()
    elsewhere = people.portal.client(ip=elsewhere_ip)
    await people.portal.web_login(elsewhere, platform, platform_user_id)
    page = await open_settings(person, "sessions")

    active = page.get_by_role("list", name="Active sessions").get_by_role("listitem")
    await expect(active).to_have_count(2)
    await expect(active.first).to_contain_text("This device")
    await expect(active.first).to_contain_text(person.ip)
    await expect(active.nth(1)).to_contain_text(elsewhere_ip)
    await expect(active.nth(1)).to_contain_text("portal-tests/1.0")  # not a browser: its own words
    await assert_accessible(page, context="settings: sessions")
    await shoot(page, "settings-sessions")

    await active.nth(1).get_by_role("button", name=re.compile(r"^End session")).click()
    await expect(active).to_have_count(1)
    await expect(page.get_by_text("Past sessions (1)")).to_be_visible()
    refused = await elsewhere.raw("GET", "/v1/users/me")
    assert refused.status_code == 401
    await page.get_by_text("Past sessions (1)").click()
    await expect(page.get_by_role("list", name="Past sessions")).to_contain_text("portal-tests/1.0")


async def test_this_session_ended_elsewhere_returns_to_sign_in(people: People) -> None:
    person = await people.signed_in()
    person.expect_refusals(401)  # a request still on its way when the session ends is refused, rightly
    platform, platform_user_id = identity_of(person.user)
    page = await open_settings(person, "sessions")
    await expect(page.get_by_text("This device")).to_be_visible()
    elsewhere = people.portal.client()
    await people.portal.web_login(elsewhere, platform, platform_user_id)
    token = person.login.client.session_token  # type: ignore[union-attr]
    assert token is not None
    await elsewhere.destroy_session(token[-6:])
    await expect(page).to_have_url(re.compile(r"/signin"))
    await expect(page.get_by_role("status").filter(has_text="ended from another device")).to_have_text(
        "This session was ended from another device."
    )
    await expect(page.get_by_label("Username")).to_be_visible()


async def test_subscription_basic_and_premium(people: People) -> None:
    basic = await people.signed_in()
    page = await open_settings(basic, "subscription")
    await expect(page.locator(".settings-tier-name")).to_contain_text("Basic")
    await expect(page.locator("#settings-slots")).to_have_text("You own 0 of 0 group-chat slots.")
    await expect(page.get_by_role("heading", name="What Premium adds")).to_be_visible()
    await assert_accessible(page, context="settings: subscription (basic)")

    premium = await people.signed_in(tier=2)
    chat = await people.portal.private_chat(premium.login, name=unique_name("mine"))  # type: ignore[arg-type]
    page = await open_settings(premium, "subscription")
    await expect(page.locator(".settings-tier-name")).to_contain_text("Premium")
    # 30 days from the server's clock, which other tests may have moved a little ahead; the browser words a
    # month as "next month" (numeric: "auto").
    ends = re.compile(r"Premium ends on .+ \((in 30 days|in 1 month|next month)\)")
    await expect(page.get_by_text(ends)).to_be_visible()
    await expect(page.locator("#settings-slots")).to_have_text("You own 1 of 3 group-chat slots.")
    await expect(page.get_by_role("list", name="Your group chats")).to_contain_text(chat["name"])
    await expect(page.get_by_role("heading", name="What Premium adds")).to_have_count(0)
    await page.get_by_text("Subscription history (1)").click()
    await expect(page.get_by_text("Basic → Premium")).to_be_visible()
    await assert_accessible(page, context="settings: subscription (premium)")
    await shoot(page, "settings-subscription")


async def test_punishments_empty_then_listed(people: People) -> None:
    person = await people.signed_in()
    page = await open_settings(person, "punishments")
    await expect(page.get_by_text("A clean record.")).to_be_visible()

    admin = await people.portal.login("admin")
    chat = await people.portal.private_chat(admin)
    await people.portal.invite_into(admin, chat["id"], person.login)  # type: ignore[arg-type]
    target = {"user_id": person.id}
    await admin.client.call(
        "POST", f"/v1/portal/chats/{chat['id']}/warn", json={**target, "reason": "Be nice"}
    )
    await admin.client.call(
        "POST", f"/v1/portal/chats/{chat['id']}/mute", json={**target, "duration": 600, "reason": "Spamming"}
    )
    await page.reload()
    rows = page.get_by_role("table").get_by_role("row")
    await expect(rows).to_have_count(3)  # the header and two actions, newest first
    await expect(rows.nth(1)).to_contain_text("Muted in a chat")
    await expect(rows.nth(1)).to_contain_text("Spamming")
    await expect(rows.nth(1)).to_contain_text("In force")
    await expect(rows.nth(2)).to_contain_text("Warning")
    await expect(rows.nth(2)).to_contain_text("Be nice")
    await assert_accessible(page, context="settings: punishments")
    await shoot(page, "settings-punishments")


async def test_log_out(people: People) -> None:
    person = await people.signed_in()
    person.expect_refusals(401)  # a request still on its way when the session ends is refused, rightly
    page = await open_settings(person, "profile")
    token = person.login.client.session_token  # type: ignore[union-attr]
    await page.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(re.compile(r"/signin$"))
    await expect(page.get_by_role("status").filter(has_text="You signed out.")).to_be_visible()
    assert "psession" not in {c["name"] for c in await person.context.cookies()}
    old = people.portal.client(session=token)
    assert (await old.raw("GET", "/v1/users/me")).status_code == 401
    # Back in the history: still signed out.
    await page.goto("/settings")
    await expect(page).to_have_url(re.compile(r"/signin\?next=%2Fsettings$"))
