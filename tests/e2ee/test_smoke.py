"""Two SDK clients exchange end-to-end encrypted messages (00 §4)."""

from __future__ import annotations

from portal.client.secure import SecureChat
from tests.helpers import Portal


async def test_two_members_read_each_other(portal: Portal) -> None:
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    guest = await portal.login()
    async with SecureChat(owner.client) as alice, SecureChat(guest.client) as bob:
        await alice.join(chat["id"])
        await bob.join(chat["id"])
        await alice.send(chat["id"], "hello bob")
        assert await bob.next_text(chat["id"]) == "hello bob"
        await bob.send(chat["id"], "hi alice")
        assert await alice.next_text(chat["id"]) in ("hello bob", "hi alice")
