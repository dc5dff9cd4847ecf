"""The chat room's everyday behaviour in real browsers: typing shown to the other, deletes (mine, the last
N by the owner) gone on both pages, a mute with its live countdown, accessibility and screenshots."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.web.conftest import People, assert_accessible, shoot
from tests.web.test_room_e2ee import message_text, open_room, say


async def test_typing_deletes_mute_countdown_and_a_look_at_the_room(people: People) -> None:
    alice = await people.signed_in(tier=2)
    bob = await people.signed_in()
    chat = await people.portal.private_chat(alice.login, name="book-club")  # type: ignore[arg-type]
    await people.portal.invite_into(alice.login, chat["id"], bob.login)  # type: ignore[arg-type]
    await open_room(alice.page, chat["id"])
    await open_room(bob.page, chat["id"])
    bob_name = bob.user["username"]

    # Typing reaches the other page, and goes away after a while without keystrokes.
    await bob.page.get_by_label("Message (encrypted end to end)").press_sequentially("hel")
    typing = alice.page.get_by_text(f"{bob_name} is typing…")
    await expect(typing).to_be_visible()
    await expect(typing).to_be_hidden(timeout=8000)

    await say(bob.page, "bob one")
    await say(bob.page, "bob two")
    await say(alice.page, "alice one: see https://example.org/page")
    await expect(message_text(bob.page, "alice one")).to_be_visible()
    await expect(message_text(alice.page, "bob two")).to_be_visible()
    await assert_accessible(alice.page, context="room")
    await shoot(alice.page, "room")

    # Bob deletes his messages: gone on both pages, Alice's stays.
    await bob.page.get_by_role("button", name="Chat actions").click()
    await bob.page.get_by_role("menuitem", name="Delete my messages").click()
    await bob.page.get_by_role("dialog").get_by_role("button", name="Delete", exact=True).click()
    await expect(bob.page.get_by_role("dialog")).to_be_hidden()
    for page in (alice.page, bob.page):
        await expect(message_text(page, "bob one")).to_have_count(0)
        await expect(message_text(page, "bob two")).to_have_count(0)
        await expect(message_text(page, "alice one")).to_be_visible()

    # The owner deletes the last 2 messages.
    await say(alice.page, "alice two")
    await say(alice.page, "alice three")
    await expect(message_text(bob.page, "alice three")).to_be_visible()
    await alice.page.get_by_role("button", name="Chat actions").click()
    await alice.page.get_by_role("menuitem", name="Delete last messages…").click()
    dialog = alice.page.get_by_role("dialog")
    await dialog.get_by_label("How many").fill("2")
    await dialog.get_by_role("button", name="Delete", exact=True).click()
    await expect(dialog).to_be_hidden()
    for page in (alice.page, bob.page):
        await expect(message_text(page, "alice three")).to_have_count(0)
        await expect(message_text(page, "alice two")).to_have_count(0)
        await expect(message_text(page, "alice one")).to_be_visible()

    # The owner deletes one message of Bob's by id from its own button.
    await say(bob.page, "bob three")
    await expect(message_text(alice.page, "bob three")).to_be_visible()
    await alice.page.get_by_role("button", name=f"Delete message from {bob_name}").click()
    await expect(message_text(bob.page, "bob three")).to_have_count(0)

    # Alice mutes Bob through the member menu: a notice on both pages, Bob's live countdown.
    await alice.page.get_by_role("button", name=f"Moderate {bob_name}").click()
    await alice.page.get_by_role("menuitem", name="Mute").click()
    dialog = alice.page.get_by_role("dialog", name=f"Mute {bob_name}")
    await dialog.get_by_label("Duration").select_option("300")
    await dialog.get_by_label("Reason").fill("calm down")
    await shoot(alice.page, "room-moderation")
    await assert_accessible(alice.page, context="moderation dialog")
    await dialog.get_by_role("button", name="Mute").click()
    await expect(dialog).to_be_hidden()
    await expect(alice.page.get_by_text(f"{bob_name} was muted for 5 min (calm down).")).to_be_visible()
    await expect(bob.page.get_by_text("You were muted for 5 min (calm down).")).to_be_visible()
    countdown = bob.page.get_by_text(re.compile(r"You are muted for [45] min( \d+ s)?"))
    await expect(countdown).to_be_visible()
    first = await countdown.text_content()
    await expect(countdown).not_to_have_text(first or "")  # it counts down
    await expect(bob.page.get_by_label("Message (encrypted end to end)")).to_be_disabled()

    # After a reload the page does not know yet: the refused send (ERR_MUTED with its ttl) starts it.
    await bob.page.reload()
    await say_refused(bob.page, "let me talk")
    await expect(bob.page.get_by_text(re.compile(r"You are muted for [45] min"))).to_be_visible()
    # Chromium logs every refused fetch (here the expected 403 ERR_MUTED) as a console error: only that one
    # is expected.
    refused = [p for p in bob.problems if "403" in p and f"/v1/portal/chats/{chat['id']}/messages" in p]
    assert len(refused) == 1, bob.problems
    bob.problems.remove(refused[0])

    # The members panel on a phone: a toggle opens it.
    await alice.page.set_viewport_size({"width": 390, "height": 844})
    toggle = alice.page.get_by_role("button", name=re.compile("Members"))
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    await expect(alice.page.get_by_role("complementary", name="Members")).to_be_visible()
    await shoot(alice.page, "room-members")


async def say_refused(page: Page, text: str) -> None:
    box = page.get_by_label("Message (encrypted end to end)")
    await expect(box).to_be_enabled()
    await box.fill(text)
    await box.press("Enter")
