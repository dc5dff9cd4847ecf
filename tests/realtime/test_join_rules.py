"""Who may join which room (00 §5 "Joining rules", 00 §3.5, 08 §1, §14, §32)."""

from __future__ import annotations

from tests.helpers import LoggedIn, Portal
from tests.realtime.conftest import SocketProbe, online
from tests.realtime.support import join, membership, system_texts, user_ref, viewer_count


async def refused(probe: SocketProbe, payload: dict, code: str) -> dict:
    ack = await probe.call("room:join", payload)
    assert ack["ok"] is False and ack["error"] == code, ack
    return ack


async def assert_nothing_recorded(portal: Portal, owner: LoggedIn, chat_id: int, who: LoggedIn) -> None:
    assert await viewer_count(portal, owner, chat_id) == 0
    assert await membership(portal, chat_id, who.id) is None
    assert not [t for t in await system_texts(portal, chat_id) if t.startswith(who.user["username"])]


async def test_private_chat_admits_owner_member_admin_and_owner_level(portal: Portal, sockets) -> None:
    owner = await portal.login("user", tier=2)
    chat = await portal.private_chat(owner)
    member, admin, platform_owner = (
        await portal.login(),
        await portal.login("admin"),
        await portal.login("owner"),
    )
    await portal.invite_into(owner, chat["id"], member)

    for who in (owner, member, admin, platform_owner):
        ack = await join(await online(sockets, who.client.session_token), chat["id"])
        assert ack["chat"]["id"] == chat["id"] and ack["chat"]["visibility"] == "private"
    assert await viewer_count(portal, owner, chat["id"]) == 4


async def test_private_chat_refuses_outsiders_moderators_and_strangers(portal: Portal, sockets) -> None:
    """Moderators never act by rank in private chats (00 §3.5); strangers join only direct chats (08 §32)."""
    owner = await portal.login("user", tier=2)
    chat = await portal.private_chat(owner)
    outsider, moderator, stranger = (
        await portal.login(),
        await portal.login("moderator"),
        await portal.stranger(),
    )

    for who in (outsider, moderator, stranger):
        probe = await online(sockets, who.client.session_token)
        ack = await refused(probe, {"chat_id": chat["id"]}, "ERR_FORBIDDEN")
        assert ack["message"] == "Access denied"
        await assert_nothing_recorded(portal, owner, chat["id"], who)
        # The refused socket is not in the room: the owner's join reaches only the owner.
        assert probe.pending("room:member_joined") == []


async def test_refused_socket_receives_nothing_from_the_room(portal: Portal, sockets) -> None:
    owner = await portal.login("user", tier=2)
    chat = await portal.private_chat(owner)
    outsider = await portal.login()
    probe = await online(sockets, outsider.client.session_token)
    await refused(probe, {"chat_id": chat["id"]}, "ERR_FORBIDDEN")

    await join(await online(sockets, owner.client.session_token), chat["id"])

    await probe.assert_silent("room:member_joined")
    assert probe.pending("message:new", chat["id"]) == []
    assert probe.pending("chat:status", chat["id"]) == []


async def test_strangers_may_not_join_group_chats(portal: Portal, sockets) -> None:
    admin = await portal.login("admin")
    official = await portal.official_chat(admin.id)
    owner = await portal.login("user", tier=2)
    public = await portal.public_chat(owner)
    stranger = await portal.stranger()
    probe = await online(sockets, stranger.client.session_token)

    await refused(probe, {"chat_id": official["id"]}, "ERR_FORBIDDEN")
    await refused(probe, {"chat_id": public["id"]}, "ERR_FORBIDDEN")
    await refused(probe, {"slug": public["slug"]}, "ERR_FORBIDDEN")
    await assert_nothing_recorded(portal, owner, public["id"], stranger)
    await assert_nothing_recorded(portal, admin, official["id"], stranger)


async def test_any_registered_user_may_join_official_and_public_chats(portal: Portal, sockets) -> None:
    admin = await portal.login("admin")
    official = await portal.official_chat(admin.id)
    owner = await portal.login("user", tier=2)
    public = await portal.public_chat(owner)
    for level in ("user", "moderator", "admin"):
        who = await portal.login(level)
        probe = await online(sockets, who.client.session_token)
        await join(probe, official["id"])
        await join(probe, public["id"])
    assert await viewer_count(portal, owner, public["id"]) == 3
    assert await viewer_count(portal, admin, official["id"]) == 3


async def test_private_chat_ack_lists_owner_then_members_with_online(portal: Portal, sockets) -> None:
    """08 §14: for a private chat `members` is the owner and the members, with `online`."""
    owner = await portal.login("user", tier=2)
    chat = await portal.private_chat(owner)
    first, second = await portal.login(), await portal.login()
    await portal.invite_into(owner, chat["id"], first)
    await portal.invite_into(owner, chat["id"], second)
    admin = await portal.login("admin")
    await join(await online(sockets, admin.client.session_token), chat["id"])

    ack = await join(await online(sockets, second.client.session_token), chat["id"])

    expected = [
        {"user": {**user_ref(owner), "permission_level": 0}, "online": False},
        *sorted(
            (
                {"user": {**user_ref(first), "permission_level": 0}, "online": False},
                {"user": {**user_ref(second), "permission_level": 0}, "online": True},
            ),
            key=lambda m: m["user"]["id"],
        ),
    ]
    assert ack["members"] == expected  # the Admin in the room is not a member
    assert ack["live"]["viewer_count"] == 2


async def test_member_join_of_a_private_chat_keeps_its_invite_membership(portal: Portal, sockets) -> None:
    owner = await portal.login("user", tier=2)
    chat = await portal.private_chat(owner)
    member = await portal.login()
    await portal.invite_into(owner, chat["id"], member)
    before = await membership(portal, chat["id"], member.id)
    assert before is not None and before.method == "invite"
    portal.server.clock.advance(60)

    await join(await online(sockets, member.client.session_token), chat["id"])

    after = await membership(portal, chat["id"], member.id)
    assert after is not None and after.id == before.id
    assert (after.method, after.invite_code) == ("invite", before.invite_code)
    assert after.joined_at > before.joined_at
    events = (await owner.client.call("GET", f"/v1/portal/chats/{chat['id']}/activity"))["events"]
    assert [e["action"] for e in events if e["user"]["id"] == member.id] == ["join"]


async def test_former_member_of_a_private_chat_is_refused(portal: Portal, sockets) -> None:
    owner = await portal.login("user", tier=2)
    chat = await portal.private_chat(owner)
    member = await portal.login()
    await portal.invite_into(owner, chat["id"], member)
    await member.client.call("POST", f"/v1/portal/chats/{chat['id']}/leave")

    probe = await online(sockets, member.client.session_token)
    await refused(probe, {"chat_id": chat["id"]}, "ERR_FORBIDDEN")


async def test_deleted_chat_is_not_found(portal: Portal, sockets) -> None:
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    await owner.client.call("POST", f"/v1/portal/chats/{chat['id']}/delete")
    probe = await online(sockets, owner.client.session_token)
    await refused(probe, {"chat_id": chat["id"]}, "ERR_NOT_FOUND")
    await refused(probe, {"slug": chat["slug"]}, "ERR_NOT_FOUND")


async def test_not_found_comes_before_forbidden(portal: Portal, sockets) -> None:
    """08 §4: 404 before 403 — a stranger asking for a missing chat hears ERR_NOT_FOUND."""
    stranger = await portal.stranger()
    probe = await online(sockets, stranger.client.session_token)
    await refused(probe, {"chat_id": 2**31 - 1}, "ERR_NOT_FOUND")
    await refused(probe, {"slug": "nothing-here"}, "ERR_NOT_FOUND")
