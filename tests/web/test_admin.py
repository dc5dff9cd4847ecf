"""Operators in the web client (issue 13 item 5): platform actions on a user's profile (reached from the
room's member menu), the admin page's bots, subscriptions, announcements and audit log, and a User who
sees none of it."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from portal.client import PortalAPIError
from tests.web.conftest import People, assert_accessible, shoot
from tests.web.test_room_e2ee import open_room


async def quiet(page: Page) -> None:
    """Close the notices (toasts) so a screenshot shows the page under them."""
    buttons = page.locator(".notice").get_by_role("button")
    while await buttons.count():
        await buttons.first.click()
    await expect(page.locator(".notice")).to_have_count(0)


async def act(page: Page, action: str, name: str, *, reason: str, duration: str | None = None) -> None:
    await page.get_by_role("button", name=f"{action}…").click()
    dialog = page.get_by_role("dialog", name=f"{action} {name}")
    if duration is not None:
        await dialog.get_by_label("Duration").select_option(label=duration)
    await dialog.get_by_label("Reason").fill(reason)
    await dialog.get_by_role("button", name=action, exact=True).click()
    await expect(dialog).to_be_hidden()


async def test_moderator_warns_and_times_out_from_the_member_menu_and_profile(people: People) -> None:
    owner = await people.signed_in(tier=2)
    mod = await people.signed_in("moderator")
    bob = await people.signed_in()
    chat = await people.portal.public_chat(owner.login, name="lounge")  # type: ignore[arg-type]
    for person in (mod, bob):
        await open_room(person.page, chat["id"])
    name = bob.user["username"]
    page = mod.page

    # The member menu leads to the profile, where the platform actions are.
    await page.get_by_role("button", name=f"Moderate {name}").click()
    await page.get_by_role("menuitem", name="Profile and platform actions").click()
    await expect(page).to_have_url(re.compile(rf"/u/{name}$"))
    await expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    actions = page.get_by_role("region", name="Platform actions")
    await expect(actions.get_by_role("button")).to_have_text(["Warn…", "Time out…"])  # a Moderator's two
    await assert_accessible(page, context="profile")
    await shoot(page, "profile-operator")

    # A reason is required, said in words.
    await page.get_by_role("button", name="Warn…").click()
    dialog = page.get_by_role("dialog", name=f"Warn {name}")
    await dialog.get_by_role("button", name="Warn", exact=True).click()
    await expect(dialog.get_by_role("alert")).to_contain_text("Give a reason")
    await dialog.get_by_role("button", name="Cancel").click()

    await act(page, "Warn", name, reason="mind the language")
    await expect(page.get_by_text(f"{name} was warned.")).to_be_visible()
    record = page.get_by_role("region", name="Record")
    await expect(record.get_by_text("mind the language")).to_be_visible()

    await act(page, "Time out", name, reason="cool off", duration="10 minutes")
    await expect(bob.page).to_have_url(re.compile(r"/signin"))
    await expect(bob.page.get_by_text("Your account was timed out.")).to_be_visible()
    await expect(page.get_by_text("Timed out", exact=True)).to_be_visible()
    await expect(record.get_by_text("cool off")).to_be_visible()
    bob.expect_refusals(401, 403)

    # The audit log (Moderator+) lists both, with actor and target by name.
    await page.get_by_role("link", name="Admin").click()
    await expect(page).to_have_url(re.compile(r"/admin/users$"))  # a Moderator has no bots tab
    await expect(page.get_by_role("link", name="Bots")).to_have_count(0)
    await page.get_by_role("link", name="Audit log").click()
    rows = page.get_by_role("table", name="Audit events, newest first").get_by_role("row")
    timeout_row = rows.filter(has_text="User timeout")
    await expect(timeout_row.get_by_role("link", name=mod.user["username"])).to_be_visible()
    await expect(timeout_row.get_by_role("link", name=name)).to_be_visible()
    await expect(rows.filter(has_text="User warn").get_by_role("link", name=name)).to_be_visible()


async def test_admin_bots_subscriptions_announcements_and_audit(people: People) -> None:
    admin = await people.signed_in("admin")
    carol = await people.signed_in()
    await admin.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=people.web.origin)
    page = admin.page
    await page.goto("/")
    await page.get_by_role("link", name="Admin").click()
    await expect(page).to_have_url(re.compile(r"/admin/bots$"))

    # Register a bot: the key is shown once, with a copy button.
    await page.get_by_role("button", name="Register a bot").click()
    dialog = page.get_by_role("dialog", name="Register a bot")
    await dialog.get_by_label("Name", exact=True).fill("Helper Bot")
    await dialog.get_by_label("Owner").fill(carol.user["username"])
    await dialog.get_by_role("button", name="Register").click()
    key_dialog = page.get_by_role("dialog", name="Helper Bot is registered")
    key_field = key_dialog.get_by_label("API key of Helper Bot")
    first_key = await key_field.input_value()
    assert first_key.startswith("hbot_")
    await key_dialog.get_by_role("button", name="Copy").click()
    assert await page.evaluate("navigator.clipboard.readText()") == first_key
    await key_dialog.get_by_role("button", name="I have saved it").click()
    await expect(key_dialog).to_be_hidden()
    table = page.get_by_role("table", name="Bots")
    row = table.get_by_role("row").filter(has_text="Helper Bot")
    await expect(row.get_by_role("link", name=carol.user["username"])).to_be_visible()
    old_bot = people.portal.bot_client(first_key)
    assert (await old_bot.call("GET", "/v1/bot/me"))["name"] == "Helper Bot"

    # Verify it, then regenerate its key (with a confirmation): the old key answers 401.
    await row.get_by_role("button", name="Actions for Helper Bot").click()
    await page.get_by_role("menuitem", name="Verify").click()
    await expect(row.get_by_text("Verified")).to_be_visible()
    await row.get_by_role("button", name="Actions for Helper Bot").click()
    await page.get_by_role("menuitem", name="Regenerate key…").click()
    confirm = page.get_by_role("dialog", name="Regenerate the key of Helper Bot")
    await confirm.get_by_role("button", name="Regenerate key").click()
    key_dialog = page.get_by_role("dialog", name="A new key for Helper Bot")
    new_key = await key_dialog.get_by_label("API key of Helper Bot").input_value()
    assert new_key.startswith("hbot_") and new_key != first_key
    await assert_accessible(page, context="bot key")
    await key_dialog.get_by_role("button", name="I have saved it").click()
    with pytest.raises(PortalAPIError) as refused:
        await old_bot.call("GET", "/v1/bot/me")
    assert refused.value.status == 401
    assert (await people.portal.bot_client(new_key).call("GET", "/v1/bot/me"))["name"] == "Helper Bot"
    await assert_accessible(page, context="bots")
    await quiet(page)
    await shoot(page, "admin-bots")

    # Grant Premium for 30 days: carol is in the active list.
    await page.get_by_role("link", name="Subscriptions").click()
    grant = page.get_by_role("form", name="Grant a subscription")
    await grant.get_by_label("User").fill(carol.user["username"])
    await grant.get_by_label("Plan").select_option(label="Premium")
    await grant.get_by_label("Days").fill("30")
    await grant.get_by_label("Reason").fill("contest winner")
    await grant.get_by_role("button", name="Grant").click()
    subs = page.get_by_role("table", name="Active subscriptions")
    await expect(subs.get_by_role("row").filter(has_text=carol.user["username"])).to_contain_text("Premium")
    assert (await carol.login.client.me())["subscription_tier"] == 2  # type: ignore[union-attr]
    # Lifetime → Trial is refused by the server (409), said in words next to the form.
    await grant.get_by_label("User").fill(carol.user["username"])
    await grant.get_by_label("Plan").select_option(label="Lifetime")
    await grant.get_by_role("button", name="Grant").click()
    await expect(subs.get_by_role("row").filter(has_text=carol.user["username"])).to_contain_text("Lifetime")
    await grant.get_by_label("User").fill(carol.user["username"])
    await grant.get_by_label("Plan").select_option(label="Trial (7 days, once per user)")
    admin.expect_refusals(409)
    await grant.get_by_role("button", name="Grant").click()
    await expect(grant.get_by_role("alert")).not_to_be_empty()
    await assert_accessible(page, context="subscriptions")
    await quiet(page)
    await shoot(page, "admin-subscriptions")

    # An announcement: created, shows in the list, then ended.
    await page.get_by_role("link", name="Announcements").click()
    await page.get_by_label("Title").fill("Maintenance tonight")
    await page.get_by_label("Text").fill("Portal restarts at 02:00 UTC.")
    await page.get_by_label("Level").select_option(label="Warning")
    await page.get_by_role("button", name="Publish").click()
    card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Maintenance tonight"))
    await expect(card.get_by_text("Showing now")).to_be_visible()
    assert any(
        a["title"] == "Maintenance tonight" for a in await carol.login.client.call("GET", "/v1/announcements")
    )  # type: ignore[union-attr]
    await assert_accessible(page, context="announcements")
    await quiet(page)
    await shoot(page, "admin-announcements")
    await card.get_by_role("button", name="End now: “Maintenance tonight”").click()
    confirm = page.get_by_role("dialog", name="End “Maintenance tonight”")
    await confirm.get_by_role("button", name="End announcement").click()
    await expect(card.get_by_text("Ended", exact=True)).to_be_visible()
    assert not any(
        a["title"] == "Maintenance tonight" for a in await carol.login.client.call("GET", "/v1/announcements")
    )  # type: ignore[union-attr]

    # The audit log lists all of it, with the actor and the target.
    await page.get_by_role("link", name="Audit log").click()
    rows = page.get_by_role("table", name="Audit events, newest first").get_by_role("row")
    me = admin.user["username"]
    for event in (
        "Bot register",
        "Bot verify",
        "Bot key regenerate",
        "Subscription grant",
        "Announcement create",
        "Announcement end",
    ):
        await expect(rows.filter(has_text=event).first.get_by_role("link", name=me)).to_be_visible()
    await expect(
        rows.filter(has_text="Subscription grant").first.get_by_role("link", name=carol.user["username"])
    ).to_be_visible()
    await expect(
        rows.filter(has_text="Bot register").filter(has_text="Helper Bot").get_by_role("link", name=me)
    ).to_be_visible()
    # A filter: only the announcement events.
    await page.get_by_label("Event").fill("ANNOUNCEMENT_END")
    await page.get_by_role("button", name="Filter", exact=True).click()
    await expect(rows).to_have_count(2)  # the header and the one event
    await page.get_by_role("button", name="Clear").click()
    await expect(rows.filter(has_text="Bot register").filter(has_text="Helper Bot")).to_have_count(1)
    await assert_accessible(page, context="audit")
    await quiet(page)
    await shoot(page, "admin-audit")


async def test_a_user_sees_no_operator_actions(people: People) -> None:
    owner = await people.signed_in(tier=2)
    user = await people.signed_in()
    mod = await people.signed_in("moderator")
    chat = await people.portal.public_chat(owner.login, name="plain")  # type: ignore[arg-type]
    await open_room(user.page, chat["id"])
    await open_room(mod.page, chat["id"])
    page = user.page
    members = page.get_by_role("complementary", name="Members")
    await expect(members.get_by_text(mod.user["username"])).to_be_visible()
    await expect(page.get_by_role("button", name=re.compile(r"^Moderate "))).to_have_count(0)
    await expect(page.get_by_role("link", name="Admin")).to_have_count(0)

    # Another user's profile is the public card only.
    await page.goto(f"/u/{owner.user['username']}")
    await expect(page.get_by_role("heading", name=owner.user["username"], level=1)).to_be_visible()
    await expect(page.get_by_role("region", name="Platform actions")).to_have_count(0)
    await expect(page.get_by_role("region", name="Account")).to_have_count(0)

    # /admin refuses, in words; the API agrees.
    await page.goto("/admin")
    await expect(page.get_by_role("heading", name="You are not an operator")).to_be_visible()
    await assert_accessible(page, context="not an operator")
    with pytest.raises(PortalAPIError) as refused:
        await user.login.client.call("GET", "/v1/admin/audit/logs")  # type: ignore[union-attr]
    assert refused.value.status == 403

    # A Moderator on an Admin's profile (not below them): no actions, said so.
    admin = await people.signed_in("admin")
    await mod.page.goto(f"/u/{admin.user['username']}")
    await expect(mod.page.get_by_text("is at or above your level")).to_be_visible()
    await expect(mod.page.get_by_role("region", name="Platform actions")).to_have_count(0)
