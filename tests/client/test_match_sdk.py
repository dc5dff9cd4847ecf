"""The SDK's matchmaking in a few lines, as a script would use it: a registered user and a stranger queue on
a shared tag, hear `match:found`, join the direct chat by its token with `SecureChat`, talk end to end
encrypted, and one leaves — the other hears `room:peer_left` with no grace, then `room:destroyed`."""

from __future__ import annotations

from portal.client.secure import SecureChat
from tests.helpers import Portal
from tests.match.support import tag


async def test_two_sdk_clients_match_talk_and_leave(portal: Portal) -> None:
    alice = await portal.login()
    stranger = await portal.stranger()
    music = tag()
    async with SecureChat(alice.client) as a, SecureChat(stranger.client) as s:
        assert (await alice.client.match(music, tag()))["state"] == "searching"
        assert (await stranger.client.match(music))["state"] == "searching"
        found_a = await a.rt.next("match:found")
        found_s = await s.rt.next("match:found")
        chat_id = found_a["chat_id"]
        assert found_s["chat_id"] == chat_id and found_a["matched_on"] == [music]
        assert found_a["peer"]["is_stranger"] is True and found_s["peer"]["id"] == alice.id

        status = await alice.client.match_status()
        assert status["state"] == "matched" and status["token"] == found_a["token"]
        newest = {"chat_id": chat_id, "token": found_a["token"], "expires_at": status["expires_at"]}
        assert status["chats"] == [newest]

        await a.join(token=found_a["token"])
        await s.join(token=found_s["token"])
        await a.send(chat_id, "hi, stranger")
        assert await s.next_text(chat_id) == "hi, stranger"
        await s.send(chat_id, "hello!")
        # Every member hears every message, its own too.
        assert [await a.next_text(chat_id) for _ in range(2)] == ["hi, stranger", "hello!"]

        assert await stranger.client.match_leave() == {"message": "Left direct chat"}
        left = await a.rt.next("room:peer_left")
        assert left == {"chat_id": chat_id, "user_id": stranger.id, "grace_until_ms": 0}
        assert await a.rt.next("room:destroyed") == {"chat_id": chat_id, "archived": True}
        assert (await alice.client.match_status())["state"] == "idle"
