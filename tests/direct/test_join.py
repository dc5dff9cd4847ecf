"""Joining a direct chat (00 §5, 08 §31, §32, §54): `room:join {token}` admits only the member it was issued
for; members may also join by `chat_id`; strangers only their direct chats; joins are idempotent and write
no "joined the chat" message."""

from __future__ import annotations

from portal.security import match_token
from tests.direct.support import in_room, join_by_token, pair, token_for
from tests.helpers import Portal
from tests.realtime.support import ACK_KEYS, join, private_room, system_texts
from tests.sockets import online


async def test_the_member_the_token_was_issued_for_joins_with_the_usual_ack(portal: Portal, sockets) -> None:
    a, b, chat_id = await pair(portal)
    probe = await online(sockets, a.client.session_token)

    ack = await join_by_token(probe, portal, chat_id, a)

    assert set(ack) == ACK_KEYS
    assert ack["chat"]["id"] == chat_id and ack["chat"]["chat_type"] == "direct"
    assert ack["chat"]["owner"] is None and ack["chat"]["archived"] is False
    assert [m["user"]["id"] for m in ack["members"]] == sorted([a.id, b.id])
    assert {m["user"]["id"]: m["online"] for m in ack["members"]} == {a.id: True, b.id: False}
    assert ack["live"]["viewer_count"] == 1

    again = await join_by_token(probe, portal, chat_id, a)  # idempotent
    assert again["live"]["viewer_count"] == 1
    by_id = await join(probe, chat_id)  # members may also join by chat_id
    assert by_id["chat"]["id"] == chat_id
    assert await system_texts(portal, chat_id) == []  # no "joined the chat" in a direct chat


async def test_another_user_with_a_members_token_is_forbidden(portal: Portal, sockets) -> None:
    a, b, chat_id = await pair(portal)
    outsider = await portal.login()
    for who, token in (
        (outsider, token_for(portal, chat_id, a)),  # a stolen token
        (b, token_for(portal, chat_id, a)),  # the peer's token
    ):
        probe = await online(sockets, who.client.session_token)
        ack = await probe.call("room:join", {"token": token})
        assert ack == {"ok": False, "error": "ERR_FORBIDDEN", "message": "Access denied"}, ack
    assert await portal.container.presence.user_ids_in(chat_id) == set()


async def test_malformed_or_unknown_tokens_are_not_found(portal: Portal, sockets) -> None:
    a, _, chat_id = await pair(portal)
    owner, group = await private_room(portal)
    secret = portal.server.settings.resolved_secret_key
    probe = await online(sockets, a.client.session_token)
    for token in (
        "",
        "nonsense",
        f"{chat_id}.",
        f"{chat_id}.{'0' * 64}",  # well-formed, not issued
        f"x{chat_id}.{'0' * 64}",
        match_token(secret, 999_999_999, a.id),  # no such chat
        match_token(secret, chat_id, owner.id),  # issued for someone who is no member
        match_token(secret, group["id"], owner.id),  # a group chat has no tokens
        match_token("another-secret", chat_id, a.id),
    ):
        ack = await probe.call("room:join", {"token": token})
        assert ack["ok"] is False and ack["error"] == "ERR_NOT_FOUND", (token, ack)
    other_id = (await pair(portal))[2]
    ack = await probe.call("room:join", {"token": token_for(portal, chat_id, a), "chat_id": other_id})
    assert ack["ok"] is False and ack["error"] == "ERR_NOT_FOUND", ack


async def test_outsiders_and_staff_cannot_join_by_chat_id(portal: Portal, sockets) -> None:
    _, _, chat_id = await pair(portal)
    for level in ("user", "admin", "owner"):
        who = await portal.login(level)
        probe = await online(sockets, who.client.session_token)
        ack = await probe.call("room:join", {"chat_id": chat_id})
        assert ack["ok"] is False and ack["error"] == "ERR_FORBIDDEN", (level, ack)


async def test_strangers_join_only_their_direct_chats(portal: Portal, sockets) -> None:
    stranger, peer = await portal.stranger(), await portal.login()
    chat_id = await portal.direct_chat(stranger, peer)
    _, group = await private_room(portal)
    probe = await in_room(portal, sockets, stranger, chat_id)
    assert (await join(probe, chat_id))["chat"]["id"] == chat_id
    ack = await probe.call("room:join", {"chat_id": group["id"]})
    assert ack["ok"] is False and ack["error"] == "ERR_FORBIDDEN", ack
    listed = await stranger.client.call("GET", "/v1/portal/chats")
    assert [(c["id"], c["chat_type"], c["archived"]) for c in listed] == [(chat_id, "direct", False)]
    assert [entry["chat_id"] for entry in probe.chat_list] == [chat_id]
