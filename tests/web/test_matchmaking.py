"""Matchmaking in real browsers (issue 13 item 3): a member and a stranger (signed in through "Chat as a
stranger") match on a shared interest, read each other's encrypted messages, one closes the tab, the other
sees the grace countdown and then the ended chat (still readable); Next finds someone new. A keyboard-only
pass of the flow (chips, Start, Stop, Esc then Esc for Next), the tag rules said as one types, the premium
slot explained on ERR_MATCH_SLOT_LIMIT and a blocked stranger told so.

This module runs its own server, so its queues meet nobody from other tests and its clock can be moved
(the grace is the default 60 s; the test moves the server's FakeClock past it)."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Page, expect
from sqlalchemy import select

from portal.db.models import Message
from tests.servers import free_port, running_server
from tests.web.conftest import WEB_DIST, People, Person, WebServer, assert_accessible, shoot

COMPOSER = "Message (encrypted end to end)"


@pytest_asyncio.fixture(scope="module")
async def web_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WebServer]:
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    async with running_server(
        "sqlite",
        tmp_path_factory.mktemp("web-match"),
        port=port,
        allowed_origins=origin,
        console_codes="on",
        web_dir=str(WEB_DIST),
    ) as server:
        yield WebServer(server, origin)


def new_tag() -> str:
    return f"t{secrets.token_hex(4)}"  # 9 lowercase letters/digits: a valid, unshared interest


async def as_stranger(people: People, *, shots: bool = False) -> Person:
    """A visitor with no account who takes "Chat as a stranger" on the sign-in page."""
    person = await people.anonymous()
    await person.page.goto("/signin")
    if shots:
        await shoot(person.page, "signin-stranger")
    await person.page.get_by_role("button", name="Chat as a stranger").click()
    await expect(person.page).to_have_url(re.compile(r"/match$"))
    await expect(person.page.get_by_role("heading", name="Meet someone")).to_be_visible()
    person.account = await person.page.evaluate("() => JSON.parse(localStorage.getItem('portal.stranger'))")
    return person


async def add_tags(page: Page, *tags: str) -> None:
    field = page.get_by_role("textbox", name="Interests")
    for tag in tags:
        await field.fill(tag)
        await field.press("Enter")
        await expect(page.get_by_role("button", name=f"Remove {tag}")).to_be_visible()


async def start_search(page: Page, *tags: str) -> None:
    if not page.url.endswith("/match"):
        await page.goto("/match")
    await add_tags(page, *tags)
    await page.get_by_role("button", name="Start").click()


async def in_direct_chat(page: Page, peer: str) -> int:
    await expect(page).to_have_url(re.compile(r"/chat/\d+$"))
    await expect(page.get_by_role("heading", name=f"Chat with {peer}")).to_be_visible()
    await expect(page.get_by_label(COMPOSER)).to_be_enabled()  # the E2EE handshake is done
    return int(page.url.rsplit("/", 1)[1])


async def say(page: Page, text: str) -> None:
    box = page.get_by_label(COMPOSER)
    await box.fill(text)
    await box.press("Enter")
    await expect(box).to_have_value("")


async def test_a_member_and_a_stranger_match_talk_and_part(people: People) -> None:
    alice = await people.signed_in()
    bob = await as_stranger(people, shots=True)
    await expect(bob.page.get_by_role("link", name="Lobby")).to_have_count(0)  # only what strangers may use
    await shoot(bob.page, "match-stranger")
    await assert_accessible(bob.page, context="a stranger's match page")
    tag = new_tag()
    alice_name, bob_name = alice.user["username"], bob.user["username"]

    # Idle: the chips, and why a tag is refused as it is typed.
    page = alice.page
    await page.goto("/match")
    field = page.get_by_role("textbox", name="Interests")
    await expect(field).to_be_focused()
    await field.fill("ab")
    await expect(page.locator("#match-tag-hint")).to_have_text(re.compile("too short"))
    await field.fill("c++")
    await expect(page.locator("#match-tag-hint")).to_have_text(re.compile("Only letters a–z and digits"))
    await field.fill("Music")
    await expect(field).to_have_value("music")  # lowercased as typed
    await field.press("Enter")
    await add_tags(page, tag)
    await field.fill("music")
    await expect(page.locator("#match-tag-hint")).to_have_text(re.compile("already one of your interests"))
    await field.fill("")
    await shoot(page, "match-idle")
    await assert_accessible(page, context="match idle")

    # Searching: the elapsed time and Stop.
    await page.get_by_role("button", name="Start").click()
    await expect(page.get_by_role("heading", name="Looking for someone…")).to_be_visible()
    await expect(page.locator(".searching-time time")).to_have_text(re.compile(r"^0:0[1-9]$"))
    await expect(page.get_by_role("button", name="Stop")).to_be_focused()
    await shoot(page, "match-searching")
    await assert_accessible(page, context="match searching")

    # The stranger queues on the shared tag: both land in the direct chat.
    await start_search(bob.page, tag)
    chat_id = await in_direct_chat(bob.page, alice_name)
    assert await in_direct_chat(page, bob_name) == chat_id
    await expect(page.locator(".direct-match")).to_have_text(f"You both like {tag} · a stranger")
    await expect(bob.page.locator(".direct-match")).to_have_text(f"You both like {tag}")
    await expect(page.locator(".peer-status")).to_have_text(f"{bob_name} is here")

    # Encrypted both ways: each reads the other; the server holds only ciphertext.
    await say(page, "hello stranger")
    await expect(bob.page.locator(".msg-text", has_text="hello stranger")).to_be_visible()
    await say(bob.page, "hi there alice")
    await expect(page.locator(".msg-text", has_text="hi there alice")).to_be_visible()
    async with people.web.server.container.db.read() as session:
        stored = list((await session.execute(select(Message).where(Message.chat_id == chat_id))).scalars())
    user_messages = [m.content for m in stored if m.type == "user"]
    assert len(user_messages) == 2 and not any("hello" in c or "alice" in c for c in user_messages)
    await shoot(page, "match-chat")
    await assert_accessible(page, context="match chat")

    # The stranger closes the tab: the grace countdown, then the ended chat, still readable.
    await bob.page.close()
    away = page.locator(".peer-status[data-state='away']")
    await expect(away).to_have_text(re.compile(rf"^{bob_name} lost connection — waiting [01]:\d\d$"))
    await expect(page.get_by_label(COMPOSER)).to_be_enabled()  # they may come back: one may still write
    await shoot(page, "match-peer-left")
    await assert_accessible(page, context="peer left")

    people.web.server.clock.advance(61)
    await people.web.server.container.janitor.run_once()
    await expect(page.locator(".peer-status")).to_have_text(f"{bob_name} left")
    ended = page.get_by_role("region", name="Chat ended")
    await expect(ended).to_contain_text(f"{bob_name} left the chat.")
    await expect(page.get_by_label(COMPOSER)).to_have_count(0)
    await expect(page.locator(".msg-text", has_text="hi there alice")).to_be_visible()
    await shoot(page, "match-archived")
    await assert_accessible(page, context="match archived")

    # A reload reads the ended chat from REST with the keys kept in IndexedDB.
    await page.reload()
    await expect(page.get_by_role("region", name="Chat ended")).to_be_visible()
    await expect(page.locator(".msg-text", has_text="hello stranger")).to_be_visible()
    await expect(page.locator(".msg-text", has_text="hi there alice")).to_be_visible()

    # The ended chat is listed on Meet someone.
    await page.goto("/match")
    listed = page.locator(f".conversation[data-chat-id='{chat_id}']")
    await expect(listed).to_contain_text(f"Chat with {bob_name}")
    await expect(listed).to_contain_text("Ended")
    await listed.get_by_role("link").click()

    # Next: someone new waits on the same tag.
    carol = await people.signed_in()
    await start_search(carol.page, tag)
    await expect(carol.page.get_by_role("heading", name="Looking for someone…")).to_be_visible()
    await page.get_by_role("region", name="Chat ended").get_by_role("button", name="Next").click()
    second = await in_direct_chat(page, carol.user["username"])
    assert second != chat_id
    assert await in_direct_chat(carol.page, alice_name) == second


async def test_keyboard_only_match_flow(people: People) -> None:
    dave = await people.signed_in()
    erin = await people.signed_in()
    tag = new_tag()
    page = dave.page
    await page.goto("/match")
    field = page.get_by_role("textbox", name="Interests")
    await expect(field).to_be_focused()
    await page.keyboard.type(f"{tag},")  # a comma ends a tag
    await expect(page.get_by_role("button", name=f"Remove {tag}")).to_be_visible()
    await page.keyboard.type("zz")
    await page.keyboard.press("Backspace")
    await page.keyboard.press("Backspace")
    await page.keyboard.press("Enter")  # Enter on an empty field starts
    stop = page.get_by_role("button", name="Stop")
    await expect(stop).to_be_focused()
    await page.keyboard.press("Enter")  # Stop
    await expect(field).to_be_focused()
    await expect(page.get_by_role("button", name=f"Remove {tag}")).to_be_visible()
    await page.keyboard.press("Enter")  # start again
    await expect(stop).to_be_focused()

    await start_search(erin.page, tag)
    await in_direct_chat(page, erin.user["username"])
    await expect(page.get_by_label(COMPOSER)).to_be_focused()
    await page.keyboard.type("typed without a mouse")
    await page.keyboard.press("Enter")
    await expect(erin.page.locator(".msg-text", has_text="typed without a mouse")).to_be_visible()

    # Esc asks, Esc again leaves and searches on the same tag.
    await page.keyboard.press("Escape")
    await expect(page.locator(".direct-hint")).to_have_text(re.compile("Press Esc or Next again"))
    await page.keyboard.press("Escape")
    await expect(page).to_have_url(re.compile(r"/match$"))
    await expect(page.get_by_role("heading", name="Looking for someone…")).to_be_visible()
    await expect(page.get_by_text(f"who likes {tag}", exact=True)).to_be_visible()
    await expect(erin.page.get_by_role("region", name="Chat ended")).to_contain_text(
        f"{dave.user['username']} left the chat."
    )
    await expect(erin.page.locator(".peer-status")).to_have_text(f"{dave.user['username']} left")
    await expect(page.get_by_role("button", name="Stop")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(field).to_be_focused()


async def test_next_asks_first_and_a_double_click_does_not_confirm(people: People) -> None:
    frank = await people.signed_in()
    gina = await people.signed_in()
    tag = new_tag()
    await start_search(frank.page, tag)
    await start_search(gina.page, tag)
    chat_id = await in_direct_chat(frank.page, gina.user["username"])
    page = frank.page
    next_button = page.locator(".direct-controls").get_by_role("button", name="Next")
    await next_button.dblclick()
    await expect(page.locator(".direct-controls").get_by_role("button", name="Sure? Next")).to_be_visible()
    assert page.url.endswith(f"/chat/{chat_id}")
    # Stop asks too, and then ends the chat for both; the page stays on the ended chat.
    await page.get_by_role("button", name="Stop").click()
    await page.get_by_role("button", name="Sure? Stop").click()
    await expect(page.get_by_role("region", name="Chat ended")).to_contain_text("You left the chat.")
    await expect(gina.page.get_by_role("region", name="Chat ended")).to_contain_text(
        f"{frank.user['username']} left the chat."
    )


async def test_the_premium_slot_is_explained_and_a_blocked_stranger_is_told(people: People) -> None:
    hana = await people.signed_in()
    ivan = await people.signed_in()
    tag = new_tag()
    await start_search(hana.page, tag)
    await start_search(ivan.page, tag)
    await in_direct_chat(hana.page, ivan.user["username"])

    # A free account has one open one-on-one chat: a second search is refused, and why is said.
    hana.expect_refusals(409)
    page = hana.page
    await page.get_by_role("link", name="Meet someone").click()
    await expect(page.locator(".conversation .badge", has_text="Open")).to_be_visible()
    await page.get_by_role("button", name="Start").click()
    refusal = page.get_by_role("alert")
    await expect(refusal).to_contain_text("Your one-on-one chat slots are full")
    await expect(refusal).to_contain_text("Premium members may have 3")
    await expect(refusal.get_by_role("link", name="Settings → Subscription")).to_be_visible()
    await shoot(page, "match-slot-limit")
    await assert_accessible(page, context="slot limit")

    # A stranger a moderator blocked learns it at Start.
    stranger = await as_stranger(people)
    await people.web.server.container.strangers.block(stranger.id, actor=None)
    stranger.expect_refusals(403)
    await start_search(stranger.page, new_tag())
    alert = stranger.page.get_by_role("alert")
    await expect(alert).to_contain_text("You cannot meet new people as this stranger")
    # A stranger's app offers only matchmaking: the lobby and settings send them back to it.
    await stranger.page.goto("/settings")
    await expect(stranger.page).to_have_url(re.compile(r"/match$"))
    await expect(stranger.page.get_by_role("link", name="Lobby")).to_have_count(0)
