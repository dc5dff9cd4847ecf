"""The sign-in page in a real browser, through the real code flow (spec 01 §4): a returning user (username →
platform → the bot fetches the pending code → type it), a new person signing up (→ the profile prompt),
"I already have a code" (a bot's quick-login code), the errors in words (unknown username, wrong code, a
code requested from another network, too many pending codes, client-side validation) and a keyboard-only
pass. Screenshots: signin-username, signin-platforms, signin-signup, signin-code, signin-errors.
"""

from __future__ import annotations

import re

from playwright.async_api import Locator, Page, expect

from tests.helpers import identity_of, unique_platform_id
from tests.web.conftest import People, Person, assert_accessible, shoot


def signed_in_link(page: Page, username: str) -> Locator:
    """The top bar's account link, named "Signed in as <name>: settings"."""
    return page.get_by_role("link", name=re.compile(rf"^Signed in as {re.escape(username)}\s?: settings$"))


async def open_signin(person: Person, path: str = "/signin") -> Page:
    page = person.page
    await page.goto(path)
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await expect(page.get_by_label("Username")).to_be_focused()
    return page


async def ask_code_for(page: Page, username: str) -> None:
    await page.get_by_label("Username").fill(username)
    await page.get_by_role("button", name="Continue").click()
    send = page.get_by_role("button", name="Send code via Discord")
    await expect(send).to_be_focused()
    await send.click()
    await expect(page.get_by_label("Code", exact=True)).to_be_focused()


async def pending_code(people: People, platform: str, platform_user_id: str) -> str:
    """What the Portal bot does after a web request: fetch the pending code to DM it."""
    bot = await people.portal.default_bot()
    fetched = await bot.login_code(platform, platform_user_id, "tester")
    assert fetched["code"], "no pending code"
    return str(fetched["code"])


async def test_returning_user_signs_in_and_lands_where_they_wanted(people: People) -> None:
    user = await people.portal.create_user()
    platform, platform_user_id = identity_of(user)
    person = await people.anonymous()
    page = person.page
    # Signed out, a deep link goes to sign in first and comes back after.
    await page.goto("/settings/sessions")
    await expect(page).to_have_url(re.compile(r"/signin\?next=%2Fsettings%2Fsessions$"))
    await expect(page.get_by_label("Username")).to_be_focused()
    await expect(page.get_by_text("Browse the web together")).to_be_visible()
    await assert_accessible(page, context="sign in: username")
    await shoot(page, "signin-username")

    await page.get_by_label("Username").fill(user["username"])
    await page.get_by_role("button", name="Continue").click()
    send = page.get_by_role("button", name="Send code via Discord")
    await expect(send).to_be_focused()
    await expect(page.get_by_text(user["username"], exact=True)).to_be_visible()
    await assert_accessible(page, context="sign in: platforms")
    await shoot(page, "signin-platforms")

    await send.click()
    code_input = page.get_by_label("Code", exact=True)
    await expect(code_input).to_be_focused()
    await expect(code_input).to_have_attribute("autocomplete", "one-time-code")
    await expect(page.get_by_text("Your code was sent by the Portal bot on Discord")).to_be_visible()
    await expect(page.get_by_text(re.compile(r"It expires in \d+:\d\d"))).to_be_visible()
    # The test server logs codes to its console: the page says where to look.
    await expect(page.get_by_text("This server is running locally")).to_be_visible()
    await expect(page.get_by_text(f"login code for {platform}:{platform_user_id}: CODE")).to_be_visible()
    await assert_accessible(page, context="sign in: code")
    await shoot(page, "signin-code")

    code = await pending_code(people, platform, platform_user_id)
    await code_input.fill(f"  {code} ")  # pasted with spaces: trimmed
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/settings/sessions$"))
    await expect(signed_in_link(page, user["username"])).to_be_visible()
    cookies = {c["name"]: c for c in await person.context.cookies()}
    assert "psession" in cookies and cookies["psession"]["httpOnly"]


async def test_new_person_signs_up_and_is_asked_for_a_username(people: People) -> None:
    person = await people.anonymous()
    page = await open_signin(person)
    await page.get_by_role("button", name="Sign up with Discord or Telegram").click()
    await expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    await expect(page.get_by_role("radio", name="Discord")).to_be_focused()
    await expect(page.get_by_text("Copy User ID")).to_be_visible()
    await page.get_by_role("radio", name="Telegram").check()
    await expect(page.get_by_text("@userinfobot")).to_be_visible()
    await page.get_by_role("radio", name="Discord").check()
    # Client-side check: a name is not an id.
    await page.get_by_label("Discord user ID").fill("niels")
    await page.get_by_role("button", name="Send me a code").click()
    await expect(page.get_by_role("alert")).to_contain_text("a number like")
    await assert_accessible(page, context="sign up")
    await shoot(page, "signin-signup")

    platform_user_id = unique_platform_id()
    await page.get_by_label("Discord user ID").fill(platform_user_id)
    await page.get_by_role("button", name="Send me a code").click()
    await expect(page.get_by_label("Code", exact=True)).to_be_focused()
    code = await pending_code(people, "discord", platform_user_id)
    await page.get_by_label("Code", exact=True).fill(code)
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"/settings/profile\?welcome=1$"))
    await expect(page.get_by_text("Welcome to Portal!")).to_be_visible()
    username = page.get_by_label("Username", exact=True)
    await expect(username).to_be_focused()
    await expect(username).to_have_value(re.compile(r"^user_[0-9a-f]{8}$"))


async def test_i_already_have_a_code_from_the_bot(people: People) -> None:
    user = await people.portal.create_user()
    platform, platform_user_id = identity_of(user)
    bot = await people.portal.default_bot()
    sent = await bot.send_code(platform, platform_user_id, "tester")  # the bot's /login quick login
    person = await people.anonymous()
    page = await open_signin(person)
    await page.get_by_role("button", name="I already have a code").click()
    await expect(page.get_by_label("Code", exact=True)).to_be_focused()
    await expect(page.get_by_text("login code for discord:ID: CODE")).to_be_visible()
    await page.get_by_label("Code", exact=True).fill(str(sent["code"]))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/$"))
    await expect(signed_in_link(page, user["username"])).to_be_visible()


async def test_errors_are_said_in_words(people: People) -> None:
    user = await people.portal.create_user()
    platform, platform_user_id = identity_of(user)
    person = await people.anonymous()
    person.expect_refusals(401, 404)  # the unknown username, the wrong code
    page = await open_signin(person)
    alert = page.get_by_role("alert")

    # Validation before asking the server.
    await page.get_by_label("Username").fill("a")
    await page.get_by_role("button", name="Continue").click()
    await expect(alert).to_contain_text("3 to 32 characters")

    # Unknown username: offers signing up.
    await page.get_by_label("Username").fill("nobody-has-this-name")
    await page.get_by_role("button", name="Continue").click()
    await expect(alert).to_contain_text("No one has that username")
    await alert.get_by_role("button", name="Sign up with Discord or Telegram").click()
    await expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    await page.get_by_role("button", name="Back").click()

    # A wrong code, then a malformed one.
    await ask_code_for(page, user["username"])
    await page.get_by_label("Code", exact=True).fill("AAAA0000")
    await page.get_by_role("button", name="Sign in").click()
    await expect(alert).to_contain_text("That code did not work")
    await expect(alert).to_contain_text("requested from another network")
    await assert_accessible(page, context="sign in: wrong code")
    await shoot(page, "signin-errors")
    await page.get_by_label("Code", exact=True).fill("abc")
    await page.get_by_role("button", name="Sign in").click()
    await expect(alert).to_contain_text("exactly 8 letters and digits")

    # The code the first person asked for does not work from another network.
    code = await pending_code(people, platform, platform_user_id)
    other = await people.anonymous()
    other.expect_refusals(401)
    other_page = await open_signin(other)
    await other_page.get_by_role("button", name="I already have a code").click()
    await other_page.get_by_label("Code", exact=True).fill(code)
    await other_page.get_by_role("button", name="Sign in").click()
    await expect(other_page.get_by_role("alert")).to_contain_text("That code did not work")
    await expect(other_page).to_have_url(re.compile(r"/signin$"))


async def test_too_many_pending_codes(people: People) -> None:
    person = await people.anonymous()
    person.expect_refusals(429)
    client = people.portal.client(ip=person.ip)  # the same network as the browser
    for _ in range(5):
        await client.request_code("discord", unique_platform_id())
    user = await people.portal.create_user()
    page = await open_signin(person)
    await page.get_by_label("Username").fill(user["username"])
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_role("button", name="Send code via Discord").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("Too many codes were requested from this network")
    await expect(alert).to_contain_text(re.compile(r"Try again in \d+ min"))


async def test_keyboard_only_sign_in(people: People) -> None:
    user = await people.portal.create_user()
    platform, platform_user_id = identity_of(user)
    person = await people.anonymous()
    page = await open_signin(person)
    keys = page.keyboard
    await keys.type(user["username"])
    await keys.press("Tab")
    await expect(page.get_by_role("button", name="Continue")).to_be_focused()
    await keys.press("Shift+Tab")
    await keys.press("Enter")  # Enter in the field submits
    await expect(page.get_by_role("button", name="Send code via Discord")).to_be_focused()
    await keys.press("Enter")
    await expect(page.get_by_label("Code", exact=True)).to_be_focused()
    await keys.type(await pending_code(people, platform, platform_user_id))
    await keys.press("Tab")
    await expect(page.get_by_role("button", name="Sign in")).to_be_focused()
    await keys.press("Enter")
    await expect(page).to_have_url(re.compile(r"/$"))
    # The button that was focused is gone: focus goes to the top of the page (a frame after it renders),
    # so the skip link is the first stop on the next page.
    await expect(page.locator(".shell")).to_be_focused()
    await keys.press("Tab")
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
