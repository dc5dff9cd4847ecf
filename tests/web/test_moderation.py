"""Moderation from the room's member list in real browsers, beyond the kick and mute of the other room
tests: a warning (announced in the room), a ban with a duration and reason (the banned browser leaves to
the lobby and cannot come back) and a platform-wide timeout (the timed-out browser is signed out, with the
reason on the sign-in page)."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.web.conftest import People, Person
from tests.web.test_room_e2ee import open_room


async def moderate(page: Page, username: str, action: str, *, duration: str | None, reason: str) -> None:
    await page.get_by_role("button", name=f"Moderate {username}").click()
    await page.get_by_role("menuitem", name=action).click()
    dialog = page.get_by_role("dialog", name=f"{action} {username}")
    if duration is not None:
        await dialog.get_by_label("Duration").select_option(label=duration)
    await dialog.get_by_label("Reason").fill(reason)
    await dialog.get_by_role("button", name=action).click()
    await expect(dialog).to_be_hidden()


async def test_warn_ban_and_timeout_from_the_member_list(people: People) -> None:
    alice = await people.signed_in(tier=2)
    bob = await people.signed_in()
    carol = await people.signed_in()
    chat = await people.portal.public_chat(alice.login, name="moderated")  # type: ignore[arg-type]
    for person in (alice, bob, carol):
        await open_room(person.page, chat["id"])
    bob_name, carol_name = bob.user["username"], carol.user["username"]
    members = alice.page.get_by_role("complementary", name="Members")
    await expect(members.get_by_text(carol_name)).to_be_visible()

    await moderate(alice.page, carol_name, "Warn", duration=None, reason="mind the language")
    for page in (alice.page, carol.page):
        await expect(page.get_by_text(f"{carol_name} was warned")).to_be_visible()

    await moderate(alice.page, bob_name, "Ban", duration="1 day", reason="spam links")
    await expect(bob.page).to_have_url(re.compile(r"/$"))
    await expect(bob.page.get_by_text("You were banned from this chat.")).to_be_visible()
    await expect(alice.page.get_by_text(f"{bob_name} was banned")).to_be_visible()
    await expect(members.get_by_text(bob_name)).to_have_count(0)
    await refused_entry(bob, chat["id"])

    await moderate(alice.page, carol_name, "Time out", duration="10 minutes", reason="cool off")
    await expect(carol.page).to_have_url(re.compile(r"/signin"))
    await expect(carol.page.get_by_text("Your account was timed out.")).to_be_visible()
    await expect(alice.page.get_by_text(f"{carol_name} was timed out")).to_be_visible()


async def refused_entry(person: Person, chat_id: int) -> None:
    """A banned person opening the chat again is told so, in words, and stays out."""
    await person.page.goto(f"/chat/{chat_id}")
    await expect(person.page.get_by_role("heading", name="This chat cannot be opened")).to_be_visible()
    await expect(person.page.get_by_role("alert")).to_have_text("You are banned from this chat.")
    await expect(person.page.get_by_role("link", name="Back to the lobby")).to_be_visible()
