"""`POST /v1/admin/chats/{id}/delete|transfer|kick|start|stop`.

Spec: 03 §4.5–4.8; 06 §7.5–7.9; 04 §6.9; 00 §3.2, §3.5, §3.6, §5; 08 §4, §5, §18, §24, §39, §44, §46, §49.
"""

from __future__ import annotations

from typing import Any

import pytest

from portal.db.models import Chat
from tests.api.admin_chats_support import (  # noqa: F401  (the `sockets` fixture)
    BASE,
    admin_chat,
    audit_rows,
    chat_of,
    in_room,
    member_ids,
    next_event,
    sockets_fixture,
)
from tests.helpers import LoggedIn, Portal, expect_error
from tests.servers import node_like

RANKS = [
    ("admin", "user", True),
    ("admin", "moderator", True),
    ("admin", "admin", False),
    ("admin", "owner", False),
    ("owner", "admin", True),
    ("owner", "owner", True),
]


async def post(who: LoggedIn, chat_id: int, action: str, body: Any = None) -> dict[str, Any]:
    kwargs = {"json": body} if body is not None else {}
    return dict(await who.client.call("POST", f"{BASE}/{chat_id}/{action}", **kwargs))


async def chat_epoch(portal: Portal, chat_id: int) -> int:
    async with portal.container.db.read() as session:
        chat = await session.get(Chat, chat_id)
        assert chat is not None
        return chat.epoch


# ---- delete -------------------------------------------------------------------------------------------


async def test_delete_answers_the_message_and_the_chat_is_gone_everywhere(portal: Portal) -> None:
    admin = await portal.login("admin")
    owner, chat = await chat_of(portal, "user", visibility="public")
    assert await post(admin, chat["id"], "delete") == {"message": f"Chat '{chat['name']}' deleted"}

    path = f"{BASE}/{chat['id']}"
    await expect_error(admin.client.call("GET", path), 404, "Chat not found")
    await expect_error(post(admin, chat["id"], "update", {"name": "again"}), 404, "Chat not found")
    await expect_error(post(admin, chat["id"], "delete"), 404, "Chat not found")
    await expect_error(post(admin, chat["id"], "kick", {"user_id": owner.id}), 404, "Chat not found")
    assert chat["id"] not in {c["id"] for c in await admin.client.call("GET", BASE)}
    await expect_error(owner.client.call("GET", f"/v1/portal/chats/{chat['id']}"), 404, "Chat not found")
    await expect_error(
        portal.client().call("GET", f"/v1/portal/directory/{chat['slug']}"), 404, "Chat not found"
    )
    assert chat["id"] not in {c["id"] for c in await owner.client.call("GET", "/v1/portal/chats")}
    assert chat["id"] not in {c["id"] for c in await owner.client.call("GET", "/v1/users/me/chats")}

    [row] = await audit_rows(portal, "CHAT_DELETE", chat["id"])
    assert row.actor_id == admin.id and row.event_metadata["name"] == chat["name"]


async def test_delete_of_a_private_chat_drops_its_members(portal: Portal) -> None:
    admin = await portal.login("admin")
    owner, chat = await chat_of(portal, "user", visibility="private")
    member = await portal.login()
    await portal.invite_into(owner, chat["id"], member)
    assert await member_ids(portal, chat["id"]) == {member.id}
    await post(admin, chat["id"], "delete")
    assert await member_ids(portal, chat["id"]) == set()
    await expect_error(member.client.call("GET", f"/v1/portal/chats/{chat['id']}"), 404, "Chat not found")


async def test_delete_tells_the_room_room_destroyed(portal: Portal, sockets: Any) -> None:
    admin = await portal.login("admin")
    owner, chat = await chat_of(portal, "user", visibility="public")
    viewer = await portal.login()
    owner_probe = await in_room(sockets, owner, chat["id"])
    viewer_probe = await in_room(sockets, viewer, chat["id"])
    await post(admin, chat["id"], "delete")
    for probe in (owner_probe, viewer_probe):
        assert await next_event(probe, "room:destroyed", chat_id=chat["id"]) == {"chat_id": chat["id"]}
    # The sockets left the room: a join now fails.
    ack = await viewer_probe.call("room:join", {"chat_id": chat["id"]})
    assert ack["ok"] is False and ack["error"] == "ERR_NOT_FOUND"


@pytest.mark.parametrize(("actor", "owner", "allowed"), RANKS)
async def test_delete_needs_rank_over_the_owner(
    portal: Portal, actor: str, owner: str, allowed: bool
) -> None:
    caller = await portal.login(actor)
    _, chat = await chat_of(portal, owner, visibility="private")
    call = post(caller, chat["id"], "delete")
    if allowed:
        assert (await call)["message"] == f"Chat '{chat['name']}' deleted"
    else:
        await expect_error(call, 403, "Access denied")
        assert (await admin_chat(caller, chat["id"]))["name"] == chat["name"]
        assert not [r for r in await audit_rows(portal, "CHAT_DELETE", chat["id"]) if r.actor_id == caller.id]


async def test_an_admin_deletes_their_own_chat(portal: Portal) -> None:
    admin, chat = await chat_of(portal, "admin", visibility="public")
    assert (await post(admin, chat["id"], "delete"))["message"] == f"Chat '{chat['name']}' deleted"


async def test_a_deleted_chats_id_is_never_given_to_a_new_chat(portal: Portal) -> None:
    """Audit events, activity and live state name chats by id (08 §39): a new chat must not inherit the
    id, and so the audit trail, of a deleted one (SQLite needs AUTOINCREMENT for that, migration 0004)."""
    admin = await portal.login("admin")
    _, chat = await chat_of(portal, "user")  # the newest chat
    await post(admin, chat["id"], "delete")
    _, again = await chat_of(portal, "user")
    assert again["id"] != chat["id"]
    assert await audit_rows(portal, "CHAT_DELETE", again["id"]) == []


async def test_delete_ignores_a_body(portal: Portal) -> None:
    admin = await portal.login("admin")
    _, chat = await chat_of(portal, "user")
    response = await admin.client.raw("POST", f"{BASE}/{chat['id']}/delete", json={"anything": 1})
    assert response.status_code == 200, response.text


# ---- transfer -----------------------------------------------------------------------------------------


async def test_transfer_gives_the_chat_to_a_basic_user(portal: Portal) -> None:
    """Slots are ignored (a Basic user has none), 08 §24; the answer names the new owner's id (06 §7.6)."""
    owner_ = await portal.login("owner")
    old, chat = await chat_of(portal, "user", visibility="public")
    basic = await portal.login()
    answer = await post(owner_, chat["id"], "transfer", {"new_owner_id": basic.id})
    assert answer == {"message": f"Chat '{chat['name']}' transferred to user {basic.id}"}

    entry = await admin_chat(owner_, chat["id"])
    assert entry["owner_id"] == basic.id and entry["visibility"] == "public"
    portal_view = await basic.client.call("GET", f"/v1/portal/chats/{chat['id']}")
    assert portal_view["owner"]["id"] == basic.id
    assert "history_visible" in portal_view  # the new owner manages it
    assert [c["id"] for c in await basic.client.call("GET", "/v1/users/me/chats")] == [chat["id"]]
    assert chat["id"] not in {c["id"] for c in await old.client.call("GET", "/v1/users/me/chats")}
    # A public chat's old owner does not become a member.
    assert old.id not in await member_ids(portal, chat["id"])

    [row] = await audit_rows(portal, "CHAT_TRANSFER", chat["id"])
    assert row.actor_id == owner_.id
    assert row.event_metadata["user_id"] == basic.id
    assert row.event_metadata["old_owner_id"] == old.id


async def test_transfer_of_a_private_chat_keeps_the_old_owner_as_a_member(portal: Portal) -> None:
    owner_ = await portal.login("owner")
    old, chat = await chat_of(portal, "user", visibility="private")
    member, newcomer = await portal.login(), await portal.login()
    await portal.invite_into(old, chat["id"], member)
    await portal.invite_into(old, chat["id"], newcomer)

    await post(owner_, chat["id"], "transfer", {"new_owner_id": newcomer.id})
    members = await newcomer.client.call("GET", f"/v1/portal/chats/{chat['id']}/members")
    assert members["total"] == 3
    roles = [(m["user"]["id"], m["role"]) for m in members["members"]]
    assert roles[0] == (newcomer.id, "owner")
    assert sorted(roles[1:]) == sorted([(old.id, "member"), (member.id, "member")])
    # The old owner still sees the chat, and can leave it like any member.
    assert (await old.client.call("GET", f"/v1/portal/chats/{chat['id']}"))["owner"]["id"] == newcomer.id
    detail = await owner_.client.call("GET", f"{BASE}/{chat['id']}")
    assert detail["member_count"] == 2
    assert {m["user"]["id"] for m in detail["members"]} == {old.id, member.id}
    assert await old.client.call("POST", f"/v1/portal/chats/{chat['id']}/leave") == {"ok": True}


async def test_transfer_to_the_current_owner_is_a_no_op(portal: Portal) -> None:
    owner_ = await portal.login("owner")
    old, chat = await chat_of(portal, "user", visibility="private")
    before = await admin_chat(owner_, chat["id"])
    answer = await post(owner_, chat["id"], "transfer", {"new_owner_id": old.id})
    assert answer == {"message": f"Chat '{chat['name']}' transferred to user {old.id}"}
    assert await admin_chat(owner_, chat["id"]) == before
    assert await member_ids(portal, chat["id"]) == set()
    assert await audit_rows(portal, "CHAT_TRANSFER", chat["id"]) == []


async def test_transfer_to_an_unknown_user_or_a_stranger_is_404(portal: Portal) -> None:
    owner_ = await portal.login("owner")
    _, chat = await chat_of(portal, "user")
    before = await admin_chat(owner_, chat["id"])
    stranger = await portal.stranger()
    for missing in (stranger.id, 2_000_000_000, 0, -5, 2**31, 2**63):
        await expect_error(
            post(owner_, chat["id"], "transfer", {"new_owner_id": missing}), 404, "User not found"
        )
    assert await admin_chat(owner_, chat["id"]) == before
    # The chat is looked up first.
    await expect_error(post(owner_, 2_000_000_000, "transfer", {"new_owner_id": 0}), 404, "Chat not found")


async def test_transfer_is_owner_only(portal: Portal) -> None:
    admin = await portal.login("admin")
    _, chat = await chat_of(portal, "user")
    target = await portal.login()
    await expect_error(
        post(admin, chat["id"], "transfer", {"new_owner_id": target.id}), 403, "Owner access required"
    )
    assert (await admin_chat(admin, chat["id"]))["owner_id"] != target.id


async def test_transfer_to_an_admin_of_an_owners_chat(portal: Portal) -> None:
    """Transfer is gated by level only: an Owner moves any chat, to any registered user."""
    owner_ = await portal.login("owner")
    _, chat = await chat_of(portal, "owner", visibility="public")
    admin = await portal.login("admin")
    await post(owner_, chat["id"], "transfer", {"new_owner_id": admin.id})
    assert (await admin_chat(owner_, chat["id"]))["owner_id"] == admin.id
    await post(owner_, chat["id"], "transfer", {"new_owner_id": owner_.id})
    assert (await admin_chat(owner_, chat["id"]))["owner_id"] == owner_.id


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "new_owner_id is required"),
        ({"new_owner_id": None}, "new_owner_id must be an integer"),
        ({"new_owner_id": "7"}, "new_owner_id must be an integer"),
        ({"new_owner_id": 7.0}, "new_owner_id must be an integer"),
        ({"new_owner_id": [7]}, "new_owner_id must be an integer"),
        ({"new_owner_id": 7, "reason": "x"}, "reason is not allowed"),
    ],
)
async def test_transfer_validation(portal: Portal, body: dict[str, Any], error: str) -> None:
    owner_ = await portal.login("owner")
    _, chat = await chat_of(portal, "user")
    await expect_error(post(owner_, chat["id"], "transfer", body), 400, error)
    response = await owner_.client.raw("POST", f"{BASE}/{chat['id']}/transfer")
    assert response.status_code == 400 and response.json()["error"] == "new_owner_id is required"


async def test_transfer_tells_the_room_room_members(portal: Portal, sockets: Any) -> None:
    owner_ = await portal.login("owner")
    old, chat = await chat_of(portal, "user", visibility="private")
    member = await portal.login()
    await portal.invite_into(old, chat["id"], member)
    probe = await in_room(sockets, member, chat["id"])
    await post(owner_, chat["id"], "transfer", {"new_owner_id": member.id})
    while True:
        event = await next_event(probe, "room:members", chat_id=chat["id"])
        ids = [m["user"]["id"] for m in event["members"]]
        if ids and ids[0] == member.id:
            break
    assert ids == [member.id, old.id]
    assert [m["online"] for m in event["members"]] == [True, False]


# ---- kick ---------------------------------------------------------------------------------------------


async def test_kick_removes_the_membership_and_answers_the_message(portal: Portal) -> None:
    admin = await portal.login("admin")
    owner, chat = await chat_of(portal, "user", visibility="private")
    member = await portal.login()
    await portal.invite_into(owner, chat["id"], member)
    answer = await post(admin, chat["id"], "kick", {"user_id": member.id})
    assert answer == {"message": f"Kicked {member.user['username']} from chat '{chat['name']}'"}
    assert await member_ids(portal, chat["id"]) == set()
    # Without the membership the private chat is closed to them again.
    await expect_error(member.client.call("GET", f"/v1/portal/chats/{chat['id']}"), 403, "Access denied")
    # A second kick finds nobody.
    await expect_error(post(admin, chat["id"], "kick", {"user_id": member.id}), 404, "Member not found")

    [row] = await audit_rows(portal, "CHAT_KICK", chat["id"])
    assert row.actor_id == admin.id and row.event_metadata["user_id"] == member.id


async def test_kick_tells_the_target_and_the_room(portal: Portal, sockets: Any) -> None:
    admin = await portal.login("admin")
    owner, chat = await chat_of(portal, "user", visibility="public")
    viewer = await portal.login()
    owner_probe = await in_room(sockets, owner, chat["id"])
    viewer_probe = await in_room(sockets, viewer, chat["id"])
    second_viewer_socket = await in_room(sockets, viewer, chat["id"])

    epoch = await chat_epoch(portal, chat["id"])
    await post(admin, chat["id"], "kick", {"user_id": viewer.id})
    changed = await next_event(owner_probe, "room:epoch_changed", chat_id=chat["id"])
    assert changed["epoch"] == epoch + 1 == await chat_epoch(portal, chat["id"])
    note = await next_event(owner_probe, "message:new", content=f"{viewer.user['username']} was kicked")
    assert (note["type"], note["sender"]) == ("system", None)
    for probe in (viewer_probe, second_viewer_socket):
        kicked = await next_event(probe, "room:kicked", chat_id=chat["id"])
        assert kicked == {"chat_id": chat["id"], "reason": None}
    members = await next_event(owner_probe, "room:members", chat_id=chat["id"])
    while viewer.id in [m["user"]["id"] for m in members["members"]]:
        members = await next_event(owner_probe, "room:members", chat_id=chat["id"])
    assert [m["user"]["id"] for m in members["members"]] == [owner.id]
    assert viewer.id not in await member_ids(portal, chat["id"])
    detail = await admin.client.call("GET", f"{BASE}/{chat['id']}")
    assert (detail["member_count"], detail["members"]) == (0, [])
    # The kicked sockets are out of the room: they get no more room events, and may join again
    # (a public chat; a kick is not a ban).
    ack = await viewer_probe.call("room:join", {"chat_id": chat["id"]})
    assert ack["ok"] is True, ack


async def test_kick_of_a_user_only_in_the_room(portal: Portal, sockets: Any) -> None:
    """A target with a socket in the room but no membership row can be kicked (08 §46)."""
    admin = await portal.login("admin")
    owner, chat = await chat_of(portal, "user", visibility="private")
    await in_room(sockets, owner, chat["id"])
    answer = await post(admin, chat["id"], "kick", {"user_id": owner.id})
    assert answer["message"] == f"Kicked {owner.user['username']} from chat '{chat['name']}'"


async def test_kick_of_someone_not_in_the_chat_is_404(portal: Portal) -> None:
    admin = await portal.login("admin")
    owner, chat = await chat_of(portal, "user", visibility="public")
    outsider = await portal.login()
    await expect_error(post(admin, chat["id"], "kick", {"user_id": outsider.id}), 404, "Member not found")
    # The owner of a chat who is not in its room is not a member either.
    await expect_error(post(admin, chat["id"], "kick", {"user_id": owner.id}), 404, "Member not found")
    for missing in (2_000_000_000, 0, -1, 2**63):
        await expect_error(post(admin, chat["id"], "kick", {"user_id": missing}), 404, "User not found")
    assert await audit_rows(portal, "CHAT_KICK", chat["id"]) == []


async def test_kicking_yourself_is_403(portal: Portal) -> None:
    admin, chat = await chat_of(portal, "admin", visibility="private")
    await expect_error(post(admin, chat["id"], "kick", {"user_id": admin.id}), 403, "Access denied")
    owner_ = await portal.login("owner")
    _, other = await chat_of(portal, "user", visibility="public")
    await expect_error(post(owner_, other["id"], "kick", {"user_id": owner_.id}), 403, "Access denied")


@pytest.mark.parametrize(("actor", "owner", "allowed"), RANKS)
async def test_kick_needs_rank_over_the_owner(portal: Portal, actor: str, owner: str, allowed: bool) -> None:
    caller = await portal.login(actor)
    chat_owner, chat = await chat_of(portal, owner, visibility="private")
    member = await portal.login()
    await portal.invite_into(chat_owner, chat["id"], member)
    call = post(caller, chat["id"], "kick", {"user_id": member.id})
    if allowed:
        assert (await call)["message"].startswith(f"Kicked {member.user['username']} ")
        assert await member_ids(portal, chat["id"]) == set()
    else:
        await expect_error(call, 403, "Access denied")
        assert await member_ids(portal, chat["id"]) == {member.id}


@pytest.mark.parametrize(
    ("actor", "target", "allowed"),
    [
        ("admin", "user", True),
        ("admin", "moderator", True),
        ("admin", "admin", False),
        ("admin", "owner", False),
        ("owner", "admin", True),
        ("owner", "owner", True),
    ],
)
async def test_kick_needs_rank_over_the_target(
    portal: Portal, actor: str, target: str, allowed: bool
) -> None:
    """Even in the actor's own chat (08 §49 covers the owner check only)."""
    caller, chat = await chat_of(portal, actor, visibility="private")
    victim = await portal.login(target)
    await portal.invite_into(caller, chat["id"], victim)
    call = post(caller, chat["id"], "kick", {"user_id": victim.id})
    if allowed:
        await call
        assert await member_ids(portal, chat["id"]) == set()
    else:
        await expect_error(call, 403, "Access denied")
        assert await member_ids(portal, chat["id"]) == {victim.id}


async def test_kick_checks_the_owner_before_the_target(portal: Portal) -> None:
    """08 §4: resource permission (rank over the owner) before the target rules and "not found"s."""
    admin = await portal.login("admin")
    _, chat = await chat_of(portal, "owner", visibility="public")
    for user_id in (admin.id, 2_000_000_000):
        await expect_error(post(admin, chat["id"], "kick", {"user_id": user_id}), 403, "Access denied")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "user_id is required"),
        ({"user_id": None}, "user_id must be an integer"),
        ({"user_id": "3"}, "user_id must be an integer"),
        ({"user_id": 3.5}, "user_id must be an integer"),
        ({"user_id": 3, "ban": True}, "ban is not allowed"),
        ({"user_id": 3, "reason": "spam"}, "reason is not allowed"),
    ],
)
async def test_kick_validation(portal: Portal, body: dict[str, Any], error: str) -> None:
    admin = await portal.login("admin")
    owner, chat = await chat_of(portal, "user", visibility="private")
    member = await portal.login()
    await portal.invite_into(owner, chat["id"], member)
    await expect_error(post(admin, chat["id"], "kick", body), 400, error)
    assert await member_ids(portal, chat["id"]) == {member.id}


# ---- start / stop -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("actor", "owner", "allowed"), RANKS)
async def test_admin_start_and_stop_need_rank_over_the_owner(
    portal: Portal, actor: str, owner: str, allowed: bool
) -> None:
    """Rank over the owner passes to the VM layer (tests/vm covers real VMs). On a node without a browser
    backend: start → 503 ERR_VM_UNAVAILABLE, stop → 409 "Chat is not running"; without rank → 403."""
    caller = await portal.login(actor)
    _, chat = await chat_of(portal, owner, visibility="public")
    async with node_like(portal.server, browser_backend="none") as node:
        client = portal.client(base_url=node.base_url, session=caller.client.session_token)
        start = client.call("POST", f"{BASE}/{chat['id']}/start")
        stop = client.call("POST", f"{BASE}/{chat['id']}/stop")
        if allowed:
            await expect_error(start, 503, "ERR_VM_UNAVAILABLE")
            await expect_error(stop, 409, "Chat is not running")
        else:
            await expect_error(start, 403, "Access denied")
            await expect_error(stop, 403, "Access denied")


async def test_an_admin_may_start_and_stop_their_own_chat(portal: Portal) -> None:
    admin, chat = await chat_of(portal, "admin", visibility="private")
    async with node_like(portal.server, browser_backend="none") as node:
        client = portal.client(base_url=node.base_url, session=admin.client.session_token)
        await expect_error(client.call("POST", f"{BASE}/{chat['id']}/start"), 503, "ERR_VM_UNAVAILABLE")
        await expect_error(client.call("POST", f"{BASE}/{chat['id']}/stop"), 409, "Chat is not running")
