"""Managing a chat in a real browser: settings (checked through the API), invites (create, list, copy,
delete), the activity log, clearing and deleting with confirmation, and a plain member who may not manage."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from portal.client import PortalAPIError
from tests.web.conftest import People, Person, assert_accessible, shoot


async def owner_with_chat(people: People, name: str) -> tuple[Person, dict[str, Any]]:
    owner = await people.signed_in(tier=2)
    assert owner.login is not None
    chat = await people.portal.private_chat(owner.login, name=name, description="Our little corner")
    return owner, chat


async def test_settings_change_name_slug_wipe_and_history(people: People) -> None:
    owner, chat = await owner_with_chat(people, "Book club")
    page = owner.page
    await page.goto(f"/chat/{chat['id']}/manage")
    await expect(page.get_by_role("heading", name="Manage Book club")).to_be_visible()
    await expect(page.get_by_role("tab", name="Settings")).to_have_attribute("aria-selected", "true")
    await expect(page.get_by_text("Our little corner")).to_be_visible()
    save = page.get_by_role("button", name="Save changes")
    await expect(save).to_be_disabled()

    await page.get_by_label("Name", exact=True).fill("Reading room")
    await page.get_by_role("radio", name=re.compile("^Public")).check()
    slug = f"reading-{chat['id']}"
    await page.get_by_label("Link name").fill(slug.upper())  # lowercased as typed
    await expect(page.get_by_label("Link name")).to_have_value(slug)
    await page.get_by_label("Auto-wipe").select_option("1h")
    await page.get_by_label("Newcomers can read earlier messages").uncheck()
    await page.get_by_label("Lock control").check()
    await expect(page.get_by_text(f"Opens at {people.web.origin}/c/{slug}")).to_be_visible()
    await page.evaluate("window.scrollTo(0, 0)")
    await shoot(page, "manage-config")
    await assert_accessible(page, context="manage settings")
    await save.click()
    await expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    await expect(page.get_by_role("heading", name="Manage Reading room")).to_be_visible()
    await expect(save).to_be_disabled()

    detail = await owner.login.client.call("GET", f"/v1/portal/chats/{chat['id']}")  # type: ignore[union-attr]
    assert detail["name"] == "Reading room"
    assert detail["slug"] == slug
    assert detail["visibility"] == "public"
    assert detail["wipe_preset"] == "1h"
    assert detail["history_visible"] is False
    assert detail["locked_controls"] is True
    assert detail["allow_control_requests"] is False  # untouched

    # Back to private: a warning first; the slug goes.
    await page.get_by_role("radio", name=re.compile("^Private")).check()
    await expect(page.get_by_role("note")).to_contain_text("Making it private")
    await page.get_by_label("Auto-wipe").select_option("")
    await save.click()
    await expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    detail = await owner.login.client.call("GET", f"/v1/portal/chats/{chat['id']}")  # type: ignore[union-attr]
    assert detail["visibility"] == "private"
    assert detail["slug"] is None
    assert detail["wipe_preset"] is None


async def test_a_taken_slug_is_refused_in_words(people: People) -> None:
    owner, chat = await owner_with_chat(people, "Second")
    owner.expect_refusals(409)
    other = await people.portal.login("user", tier=2)
    taken = f"taken-{chat['id']}"
    await people.portal.public_chat(other, slug=taken)
    page = owner.page
    await page.goto(f"/chat/{chat['id']}/manage")
    await page.get_by_role("radio", name=re.compile("^Public")).check()
    await page.get_by_label("Link name").fill(taken)
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator(".manage-status")).to_contain_text("That link name is taken")


async def test_invites_create_list_copy_delete(people: People) -> None:
    owner, chat = await owner_with_chat(people, "Invite party")
    await owner.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=people.web.origin)
    page = owner.page
    await page.goto(f"/chat/{chat['id']}/manage")
    await page.get_by_role("tab", name="Invites").click()
    await expect(page).to_have_url(re.compile(r"\?tab=invites$"))
    await expect(page.get_by_text("No active invites")).to_be_visible()
    await page.get_by_label("Expires").select_option("86400")
    await page.get_by_label("Max uses").fill("5")
    await page.get_by_role("button", name="Create invite").click()

    row = page.locator("li.invite-row")
    await expect(row).to_have_count(1)
    listed = await owner.login.client.call("GET", f"/v1/portal/chats/{chat['id']}/invites")  # type: ignore[union-attr]
    (invite,) = listed["invites"]
    assert invite["max_uses"] == 5 and invite["expires_at"] is not None
    code = invite["code"]
    link = f"{people.web.origin}/i/{code}"
    await expect(row).to_contain_text("Used 0 of 5 times")
    await expect(row).to_contain_text("expires")
    await expect(page.get_by_role("textbox", name=f"Invite link {code}")).to_have_value(link)

    await page.get_by_role("button", name=f"Copy link of invite {code}").click()
    await expect(page.get_by_text("Invite link copied.")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == link

    # A second one without limits.
    await page.get_by_label("Expires").select_option("")
    await page.get_by_label("Max uses").fill("")
    await page.get_by_role("button", name="Create invite").click()
    await expect(row).to_have_count(2)
    await expect(row.filter(has_text="never expires")).to_have_count(1)
    await shoot(page, "manage-invites")
    await assert_accessible(page, context="manage invites")

    await page.get_by_role("button", name=f"Delete invite {code}").click()
    await expect(row).to_have_count(1)
    await expect(page.get_by_role("textbox", name=f"Invite link {code}")).to_have_count(0)
    listed = await owner.login.client.call("GET", f"/v1/portal/chats/{chat['id']}/invites")  # type: ignore[union-attr]
    assert code not in [i["code"] for i in listed["invites"]]


async def test_activity_log_shows_joins_and_leaves(people: People) -> None:
    owner, chat = await owner_with_chat(people, "Busy place")
    assert owner.login is not None
    guest = await people.portal.login()
    await people.portal.invite_into(owner.login, chat["id"], guest)
    await guest.client.call("POST", f"/v1/portal/chats/{chat['id']}/leave")
    page = owner.page
    await page.goto(f"/chat/{chat['id']}/manage?tab=activity")
    items = page.locator("ol.activity-list li")
    await expect(items).to_have_count(2)
    await expect(items.nth(0)).to_contain_text(f"{guest.user['username']} left")
    await expect(items.nth(1)).to_contain_text(f"{guest.user['username']} joined with an invite")
    await shoot(page, "manage-activity")
    await assert_accessible(page, context="manage activity")


async def test_clear_and_delete_ask_first(people: People) -> None:
    owner, chat = await owner_with_chat(people, "Doomed")
    page = owner.page
    await page.goto(f"/chat/{chat['id']}/manage")
    # Arrow keys move between the tabs.
    await page.get_by_role("tab", name="Settings").focus()
    await page.keyboard.press("End")
    danger = page.get_by_role("tab", name="Danger zone")
    await expect(danger).to_be_focused()
    await expect(danger).to_have_attribute("aria-selected", "true")

    await page.get_by_role("button", name="Clear messages…").click()
    dialog = page.get_by_role("dialog", name="Clear all messages?")
    await expect(dialog).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await page.get_by_role("button", name="Clear messages…").click()
    await dialog.get_by_role("button", name="Clear all messages").click()
    await expect(page.get_by_text(re.compile(r"Cleared \d+ messages?\."))).to_be_visible()
    await expect(dialog).to_be_hidden()

    await page.get_by_role("button", name="Delete chat…").click()
    dialog = page.get_by_role("dialog", name="Delete this chat?")
    confirm = dialog.get_by_role("button", name="Delete for good")
    await expect(confirm).to_be_disabled()
    await dialog.get_by_label("Chat name").fill("doomed")  # not the exact name
    await expect(confirm).to_be_disabled()
    await dialog.get_by_label("Chat name").fill("Doomed")
    await assert_accessible(page, context="delete dialog")
    await confirm.click()
    await expect(page).to_have_url(re.compile(r"/$"))
    await expect(page.get_by_text("“Doomed” was deleted.")).to_be_visible()
    try:
        await owner.login.client.call("GET", f"/v1/portal/chats/{chat['id']}")  # type: ignore[union-attr]
        raise AssertionError("the chat still exists")
    except PortalAPIError as error:
        assert error.status == 404


async def test_a_member_cannot_manage_but_can_leave(people: People) -> None:
    host = await people.portal.login("user", tier=2)
    chat = await people.portal.private_chat(host, name="Not yours")
    member = await people.signed_in()
    assert member.login is not None
    await people.portal.invite_into(host, chat["id"], member.login)
    page = member.page
    await page.goto(f"/chat/{chat['id']}/manage")
    await expect(page.get_by_role("heading", name="You cannot manage this chat")).to_be_visible()
    await expect(page.get_by_role("tab")).to_have_count(0)
    await expect(page.get_by_label("Name", exact=True)).to_have_count(0)
    await assert_accessible(page, context="no manage")
    await page.get_by_role("button", name="Leave chat…").click()
    await page.get_by_role("dialog", name="Leave this chat?").get_by_role("button", name="Leave chat").click()
    await expect(page).to_have_url(re.compile(r"/$"))
    chats = await member.login.client.call("GET", "/v1/portal/chats")
    assert chat["id"] not in [c["id"] for c in chats]
