"""The chat room's end-to-end encryption in real browsers (issue 10's main "must show"): two people talk
through `/chat/{id}`, the database holds only ciphertext, a reload keeps the history readable (keys from
IndexedDB), a kick rotates the epoch and the kicked browser cannot read what follows; a browser alone in a
chat makes and hands out the key, and an SDK participant (`SecureChat`) and the browser read each other."""

from __future__ import annotations

import base64
import json
import re
import secrets
from typing import Any

import pytest
from nacl.exceptions import CryptoError
from nacl.secret import SecretBox
from playwright.async_api import Page, expect
from sqlalchemy import select

from portal.client.e2ee import safety_code
from portal.client.secure import SecureChat
from portal.db.models import ChatKeyBlob, Message
from tests.web.conftest import People, assert_accessible, shoot


async def open_room(page: Page, chat_id: int) -> None:
    await page.goto(f"/chat/{chat_id}")
    await expect(page.get_by_label("Message (encrypted end to end)")).to_be_enabled()


async def say(page: Page, text: str) -> None:
    box = page.get_by_label("Message (encrypted end to end)")
    await box.fill(text)
    await box.press("Enter")
    # The box empties once the message is sent; the first send in a new chat may wait for its key (the page
    # waits up to 20 s for it, "Waiting for the encryption key…"), which a loaded machine makes slow.
    await expect(box).to_have_value("", timeout=20_000)


def message_text(page: Page, text: str) -> Any:
    return page.locator(".msg-text", has_text=text)


async def stored_messages(people: People, chat_id: int) -> list[Message]:
    async with people.web.server.container.db.read() as session:
        return list((await session.execute(select(Message).where(Message.chat_id == chat_id))).scalars())


async def browser_chat_keys(page: Page, user_id: int, chat_id: int) -> dict[int, bytes]:
    """The chat keys this browser keeps in IndexedDB (what a reload reads)."""
    raw: dict[str, list[int]] = await page.evaluate(
        """([userId, chatId]) => new Promise((resolve, reject) => {
            const open = indexedDB.open("portal");
            open.onerror = () => reject(open.error);
            open.onsuccess = () => {
                const db = open.result;
                const prefix = `${userId}:${chatId}:`;
                const store = db.transaction("chatkeys").objectStore("chatkeys");
                const keys = store.getAllKeys(IDBKeyRange.bound(prefix, prefix + "\\uffff"));
                const values = store.getAll(IDBKeyRange.bound(prefix, prefix + "\\uffff"));
                values.onsuccess = () => {
                    const out = {};
                    keys.result.forEach((k, i) => {
                        out[String(k).slice(prefix.length)] = Array.from(values.result[i]);
                    });
                    resolve(out);
                };
            };
        })""",
        [user_id, chat_id],
    )
    return {int(epoch): bytes(key) for epoch, key in raw.items()}


async def create_chat_in_the_lobby(page: Page, name: str) -> dict[str, Any]:
    await page.goto("/")
    await page.get_by_role("button", name="Create a chat").click()
    dialog = page.get_by_role("dialog", name="Create a chat")
    await dialog.get_by_label("Name").fill(name)
    await dialog.get_by_role("button", name="Create chat").click()
    await expect(page).to_have_url(re.compile(r"/chat/\d+$"))
    return {"id": int(page.url.rsplit("/", 1)[1]), "name": name}


async def make_invite_link(page: Page, chat_id: int) -> str:
    """An invite made on the chat's manage page; its link as the page shows it."""
    await page.goto(f"/chat/{chat_id}/manage?tab=invites")
    await page.get_by_role("button", name="Create invite").click()
    field = page.get_by_role("textbox", name=re.compile(r"^Invite link "))
    await expect(field).to_have_count(1)
    link = await field.input_value()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/i/[\w-]+", link), link
    return link


def opens(key: bytes, content: str) -> bool:
    sealed = base64.b64decode(json.loads(content)["ct"])
    try:
        SecretBox(key).decrypt(sealed[24:], sealed[:24])
    except CryptoError:
        return False
    return True


@pytest.mark.parametrize("web_server", ["sqlite", "postgres"], indirect=True)
async def test_two_people_talk_encrypted_reload_and_a_kick_rotates_the_key(people: People) -> None:
    # Everything through the pages: both sign in with a code, Alice creates the chat in the lobby and makes
    # an invite on its manage page, Bob opens the link and joins.
    alice = await people.signed_in_by_code(tier=2)
    bob = await people.signed_in_by_code()
    chat = await create_chat_in_the_lobby(alice.page, "Two of us")
    link = await make_invite_link(alice.page, chat["id"])
    await bob.page.goto(link)
    await bob.page.get_by_role("button", name="Join the chat").click()
    await expect(bob.page).to_have_url(re.compile(rf"/chat/{chat['id']}$"))
    await expect(bob.page.get_by_label("Message (encrypted end to end)")).to_be_enabled()
    words = [f"{w}{secrets.token_hex(3)}" for w in ("narwhal", "pumpkin", "lighthouse")]

    await open_room(alice.page, chat["id"])
    await say(alice.page, f"hello bob, the {words[0]} sings")
    await expect(message_text(bob.page, f"the {words[0]} sings")).to_be_visible()
    await say(bob.page, f"hi alice, a {words[1]} https://example.org/x?y=1.")
    await expect(message_text(alice.page, f"a {words[1]}")).to_be_visible()
    # A URL becomes a safe link (text, not HTML).
    link = alice.page.get_by_role("link", name="https://example.org/x?y=1")
    await expect(link).to_have_attribute("rel", "noopener noreferrer")

    # The server holds only ciphertext.
    rows = await stored_messages(people, chat["id"])
    user_rows = [r for r in rows if r.type == "user"]
    assert len(user_rows) == 2
    for row in rows:
        assert not any(word in row.content for word in words), row.content
    for row in user_rows:
        assert json.loads(row.content)["v"] == 2

    # A reload reads the history with the key kept in IndexedDB.
    await bob.page.reload()
    await expect(message_text(bob.page, f"the {words[0]} sings")).to_be_visible()
    await expect(message_text(bob.page, f"a {words[1]}")).to_be_visible()
    await expect(bob.page.locator(".msg-text.locked")).to_have_count(0)

    # Alice kicks Bob through his member menu: his page leaves, the epoch moves on.
    await alice.page.get_by_role("button", name=f"Moderate {bob.user['username']}").click()
    await alice.page.get_by_role("menuitem", name="Kick").click()
    dialog = alice.page.get_by_role("dialog")
    await dialog.get_by_label("Reason").fill("testing the key change")
    await dialog.get_by_role("button", name="Kick").click()
    await expect(dialog).to_be_hidden()  # closes once the kick is acknowledged
    await expect(bob.page).to_have_url(re.compile(r"/$"))
    await expect(bob.page.get_by_text("You were removed from")).to_be_visible()
    await expect(alice.page.get_by_text("Encryption key changed (epoch 1)")).to_be_visible()
    await expect(alice.page.get_by_role("button", name=re.compile("epoch 1"))).to_be_visible()

    await say(alice.page, f"after the kick: {words[2]}")
    await expect(message_text(alice.page, f"after the kick: {words[2]}")).to_be_visible()

    # Cryptographically: the new message is at epoch 1, no epoch-1 key was ever sealed for Bob, and none of
    # the keys Bob's browser kept opens it.
    rows = await stored_messages(people, chat["id"])
    newest = [r for r in rows if r.type == "user" and r.epoch == 1]
    assert len(newest) == 1
    assert not any(word in r.content for r in rows for word in words)
    async with people.web.server.container.db.read() as session:
        query = select(ChatKeyBlob).where(ChatKeyBlob.chat_id == chat["id"], ChatKeyBlob.epoch == 1)
        blobs = (await session.execute(query)).scalars()
        assert bob.id not in {b.user_id for b in blobs}
    bob_keys = await browser_chat_keys(bob.page, bob.id, chat["id"])
    assert 0 in bob_keys and 1 not in bob_keys
    assert opens(bob_keys[0], user_rows[0].content)  # his key works on what he was allowed to read
    assert not any(opens(key, newest[0].content) for key in bob_keys.values())
    alice_keys = await browser_chat_keys(alice.page, alice.id, chat["id"])
    assert opens(alice_keys[1], newest[0].content)


async def test_a_browser_alone_makes_the_key_and_talks_with_an_sdk_participant(people: People) -> None:
    alice = await people.signed_in(tier=2)
    chat = await people.portal.public_chat(alice.login)  # type: ignore[arg-type]
    await open_room(alice.page, chat["id"])
    # Alone in a chat with no key yet: the browser is named distributor, makes the key, and sends.
    await say(alice.page, "first words, from the distributor")
    await expect(message_text(alice.page, "first words, from the distributor")).to_be_visible()

    guest = await people.portal.login()
    async with SecureChat(guest.client) as sdk:
        await sdk.join(chat["id"])  # the browser hands the SDK the key
        history = await guest.client.call("GET", f"/v1/portal/chats/{chat['id']}/history")
        texts = [sdk.open(m) for m in history if m["type"] == "user"]
        assert texts == ["first words, from the distributor"]

        await say(alice.page, "hello SDK")
        assert await sdk.next_text(chat["id"]) == "hello SDK"
        await sdk.send(chat["id"], "hello browser, from Python")
        await expect(message_text(alice.page, "hello browser, from Python")).to_be_visible()

        # The encryption panel: epoch, the key held here, both sessions with their safety codes.
        await alice.page.get_by_role("button", name=re.compile("End-to-end encrypted")).click()
        panel = alice.page.get_by_role("dialog", name="End-to-end encryption")
        await expect(panel.get_by_text("You hold the key of this epoch.")).to_be_visible()
        await expect(panel.locator(".e2ee-sessions > li")).to_have_count(2)
        await expect(panel.get_by_text(safety_code(sdk.key_pair.public_key_b64))).to_be_visible()
        await expect(panel.get_by_text("(this browser)").first).to_be_visible()
        await assert_accessible(alice.page, context="encryption panel")
        await shoot(alice.page, "room-encryption")
        await alice.page.keyboard.press("Escape")
        await expect(panel).to_be_hidden()
