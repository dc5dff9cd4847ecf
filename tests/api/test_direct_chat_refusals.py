"""Group-only endpoints on a direct chat (08 §48, §63).

The usual gates come first (401, 403 for outsiders, 404); members then get 409 ERR_DIRECT_CHAT from config,
invites, activity, start/stop, clipboard, screen, clear, delete and delete-last, and nothing changes.
Members keep delete-mine and history. Direct chats are written to the database here (matchmaking, which
makes them, is a later issue).
"""

from __future__ import annotations

from typing import Any

from portal.db.models import Chat
from tests.helpers import LoggedIn, Portal, expect_error
from tests.messaging.support import history

SCREEN = {"width": 1280, "height": 720, "rate": 30}

# (method, path under /v1/portal/chats/{id}, body): every group-only endpoint of 08 §48.
GROUP_ONLY: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/config/update", {"name": "renamed"}),
    ("POST", "/invites", {}),
    ("GET", "/invites", None),
    ("POST", "/invites/abcdefghijklmnop/delete", None),
    ("GET", "/activity", None),
    ("POST", "/start", None),
    ("POST", "/stop", None),
    ("GET", "/clipboard", None),
    ("POST", "/clipboard/update", {"text": "x"}),
    ("GET", "/screen", None),
    ("POST", "/screen/update", SCREEN),
    ("GET", "/screenshot", None),
    ("POST", "/messages/delete", {"ids": ["1764361234567-0"]}),
    ("POST", "/messages/delete-last", {"count": 1}),
    ("POST", "/clear", None),
]


def call(who: LoggedIn, chat_id: int, method: str, path: str, body: dict[str, Any] | None) -> Any:
    kwargs = {"json": body} if body is not None else {}
    return who.client.call(method, f"/v1/portal/chats/{chat_id}{path}", **kwargs)


async def test_members_get_409_and_outsiders_403_on_every_group_only_endpoint(portal: Portal) -> None:
    a, b = await portal.login(), await portal.login()
    chat_id = await portal.direct_chat(a, b)
    outsider, admin, owner = await portal.login(), await portal.login("admin"), await portal.login("owner")
    for method, path, body in GROUP_ONLY:
        for member in (a, b):
            await expect_error(call(member, chat_id, method, path, body), 409, "ERR_DIRECT_CHAT")
        for who in (outsider, admin, owner):  # not in the chat: the visibility gate answers first
            await expect_error(call(who, chat_id, method, path, body), 403, "Access denied")
        await expect_error(call(a, 999_999_999, method, path, body), 404)

    async with portal.container.db.read() as session:
        chat = await session.get(Chat, chat_id)
    assert chat is not None and chat.name == "neon-wanderers" and chat.epoch == 0


async def test_members_keep_history_and_delete_mine(portal: Portal) -> None:
    """Both answer as in a group chat (sending needs a joined socket: direct chats get one from matching)."""
    a, b = await portal.login(), await portal.login()
    chat_id = await portal.direct_chat(a, b)
    for member in (a, b):
        assert await history(member, chat_id) == []
        deleted = await call(member, chat_id, "POST", "/messages/delete-mine", None)
        assert deleted == {"deleted": 0}


# (method, path under /v1/admin/chats/{id}, body): the admin chat actions that change a chat.
ADMIN_GROUP_ONLY: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/update", {"name": "renamed"}),
    ("POST", "/kick", {"user_id": 0}),
    ("POST", "/start", None),
    ("POST", "/stop", None),
    ("POST", "/delete", None),
]


async def test_admin_chat_actions_answer_409_on_a_direct_chat_to_everyone(portal: Portal) -> None:
    """The admin routes have no visibility gate (their Admin+ gate came first), so an Admin or Owner who is
    not in the direct chat gets 409 ERR_DIRECT_CHAT too; a transfer says the chat is not a group chat (404);
    nothing changes."""
    a, b = await portal.login(), await portal.login()
    chat_id = await portal.direct_chat(a, b)
    for level in ("admin", "owner"):
        staff = await portal.login(level)
        for method, path, body in ADMIN_GROUP_ONLY:
            if body is not None and "user_id" in body:
                body = {"user_id": a.id}
            kwargs = {"json": body} if body is not None else {}
            call = staff.client.call(method, f"/v1/admin/chats/{chat_id}{path}", **kwargs)
            await expect_error(call, 409, "ERR_DIRECT_CHAT")
    owner = await portal.login("owner")
    transfer = owner.client.call("POST", f"/v1/admin/chats/{chat_id}/transfer", json={"new_owner_id": a.id})
    await expect_error(transfer, 404, "Chat not found")
    moderator = await portal.login("moderator")  # the route's level gate answers first
    await expect_error(moderator.client.call("POST", f"/v1/admin/chats/{chat_id}/start"), 403)

    async with portal.container.db.read() as session:
        chat = await session.get(Chat, chat_id)
    assert chat is not None and chat.name == "neon-wanderers" and chat.owner_id is None
