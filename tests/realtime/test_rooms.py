"""Rooms over Socket.IO with two real clients (00 §5, issue 3)."""

from __future__ import annotations

from tests.helpers import Portal


async def make_public_chat(portal: Portal) -> tuple[object, dict]:
    owner = await portal.login("user", tier=2)
    chat = await owner.client.call("POST", "/v1/portal/chats", json={"name": "movie-night"})
    await owner.client.call(
        "POST", f"/v1/portal/chats/{chat['id']}/config/update", json={"slug": f"mn-{chat['id']}"}
    )
    return owner, chat


async def test_second_joiner_is_announced_with_viewer_count_two(portal: Portal, sockets) -> None:
    owner, chat = await make_public_chat(portal)
    guest = await portal.login()
    first, second = sockets(), sockets()
    await first.connect(token=owner.client.session_token)
    await second.connect(token=guest.client.session_token)
    assert any(entry["chat_id"] == chat["id"] for entry in await first.expect("chat:list"))
    await second.expect("chat:list")

    ack = await first.call("room:join", {"chat_id": chat["id"]})
    assert ack["ok"] is True, ack
    assert ack["live"] == {"running": False, "viewer_count": 1}

    ack2 = await second.call("room:join", {"chat_id": chat["id"]})
    assert ack2["ok"] is True, ack2
    joined = await first.expect("room:member_joined")
    while joined["user"]["id"] != guest.id:
        joined = await first.expect("room:member_joined")
    status = await first.expect("chat:status")
    while status["viewer_count"] != 2:
        status = await first.expect("chat:status")
    assert status == {"chat_id": chat["id"], "running": False, "viewer_count": 2}
    message = await first.expect("message:new")
    assert message["type"] == "system" and message["sender"] is None
