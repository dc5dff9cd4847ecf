"""`POST /v1/admin/notifications` (00 §6; 08 §41, §63): targeted and broadcast sends, the answer, the rows,
`notification:new` to each recipient (captured, and on a real socket), the audit events, the Admin+ gate,
bad bodies and limits at their edges (nothing sent on any failure)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.events import capture_events
from tests.helpers import Portal, expect_error
from tests.notify.support import (
    SEND,
    audit_after,
    last_audit_id,
    notifications_of,
    registered_count,
    send,
)
from tests.sockets import online


@pytest.mark.parametrize("level", ["admin", "owner"])
async def test_a_targeted_send(portal: Portal, level: str) -> None:
    staff = await portal.login(level)
    alice, bob = await portal.login(), await portal.login()
    before = await last_audit_id(portal)
    body = {"title": "Hi", "body": "Hello there", "type": "warning", "user_ids": [alice.id, bob.id, alice.id]}

    async with capture_events(portal.container) as sent:
        answer = await send(staff, body)

    assert answer == {"message": "Notification sent to 2 users", "count": 2}
    for who in (alice, bob):
        [_, row] = await notifications_of(portal, who.id)
        assert (row.title, row.body, row.type, row.created_by, row.read_at) == (
            "Hi",
            "Hello there",
            "warning",
            staff.id,
            None,
        )
    events = sent.named("notification:new")
    assert [e.rooms for e in events] == [(f"user:{alice.id}",), (f"user:{bob.id}",)]
    assert events[0].payload["title"] == "Hi" and events[0].payload["created_by"] == staff.id
    [audit] = await audit_after(portal, "NOTIFICATION_SEND", before)
    assert (audit.actor_id, audit.entity_type, audit.entity_id) == (staff.id, None, None)
    assert audit.event_metadata == {
        "title": "Hi",
        "type": "warning",
        "count": 2,
        "user_ids": [alice.id, bob.id],
    }


async def test_one_recipient_is_the_audit_target_and_type_defaults_to_info(portal: Portal) -> None:
    admin, alice = await portal.login("admin"), await portal.login()
    before = await last_audit_id(portal)
    answer = await send(admin, {"title": "T", "body": "B", "user_ids": [alice.id]})
    assert answer == {"message": "Notification sent to 1 users", "count": 1}
    assert (await notifications_of(portal, alice.id))[-1].type == "info"
    [audit] = await audit_after(portal, "NOTIFICATION_SEND", before)
    assert (audit.entity_type, audit.entity_id, audit.actor_id) == ("user", alice.id, admin.id)
    assert audit.event_metadata["user_ids"] == [alice.id]


async def test_a_broadcast_reaches_every_registered_user_and_no_stranger(portal: Portal) -> None:
    admin, alice = await portal.login("admin"), await portal.login()
    stranger = await portal.stranger()
    everyone = await registered_count(portal)
    before = await last_audit_id(portal)

    async with capture_events(portal.container) as sent:
        answer = await send(admin, {"title": "All", "body": "Everyone", "type": "error"})

    assert answer == {"message": f"Notification sent to {everyone} users", "count": everyone}
    rooms = {e.rooms for e in sent.named("notification:new")}
    assert len(rooms) == everyone
    assert (f"user:{alice.id}",) in rooms and (f"user:{admin.id}",) in rooms
    assert (f"user:{stranger.id}",) not in rooms
    assert await notifications_of(portal, stranger.id) == []
    assert (await notifications_of(portal, alice.id))[-1].title == "All"
    [audit] = await audit_after(portal, "NOTIFICATION_BROADCAST", before)
    assert (audit.actor_id, audit.entity_type, audit.entity_id) == (admin.id, None, None)
    assert audit.event_metadata == {"title": "All", "type": "error", "count": everyone}
    assert await audit_after(portal, "NOTIFICATION_SEND", before) == []


async def test_null_user_ids_is_a_broadcast(portal: Portal) -> None:
    admin = await portal.login("admin")
    answer = await send(admin, {"title": "All", "body": "Everyone", "user_ids": None})
    assert answer["count"] == await registered_count(portal)


async def test_the_recipient_socket_hears_notification_new(portal: Portal, sockets: Any) -> None:
    admin, alice, bob = await portal.login("admin"), await portal.login(), await portal.login()
    alice_socket = await online(sockets, alice.client.session_token)
    bob_socket = await online(sockets, bob.client.session_token)

    await send(admin, {"title": "Ping", "body": "Live", "type": "success", "user_ids": [alice.id]})

    pushed = await alice_socket.expect("notification:new")
    [_, row] = await notifications_of(portal, alice.id)
    assert pushed == {
        "id": row.id,
        "title": "Ping",
        "body": "Live",
        "type": "success",
        "read_at": None,
        "created_at": pushed["created_at"],
        "created_by": admin.id,
    }
    listed = await alice.client.call("GET", "/v1/notifications")
    assert listed["notifications"][0] == pushed
    await bob_socket.assert_silent("notification:new")


async def test_an_unknown_or_stranger_id_sends_nothing(portal: Portal) -> None:
    admin, alice = await portal.login("admin"), await portal.login()
    stranger = await portal.stranger()
    before = await last_audit_id(portal)
    for bad in (999_999_999, 0, -1, stranger.id):
        async with capture_events(portal.container) as sent:
            await expect_error(
                send(admin, {"title": "T", "body": "B", "user_ids": [alice.id, bad]}), 404, "User not found"
            )
        assert sent.names() == []
    assert len(await notifications_of(portal, alice.id)) == 1  # the welcome only
    assert await audit_after(portal, "NOTIFICATION_SEND", before) == []


async def test_the_level_gate(portal: Portal) -> None:
    alice = await portal.login()
    body = {"title": "T", "body": "B", "user_ids": [alice.id]}
    await expect_error(portal.client().call("POST", SEND, json=body), 401, "Authentication required")
    stranger = await portal.stranger()
    await expect_error(send(stranger, body), 403, "Access denied")
    for level in ("user", "moderator"):
        who = await portal.login(level)
        await expect_error(send(who, body), 403, "Admin access required")
        await expect_error(who.client.call("POST", SEND, json={}), 403, "Admin access required")
    await expect_error(portal.client().call("POST", SEND, content=b"{"), 401, "Authentication required")
    assert len(await notifications_of(portal, alice.id)) == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"body": "B"}, "title is required"),
        ({"title": "T"}, "body is required"),
        ({"title": "", "body": "B"}, "title must be at least 1 character"),
        ({"title": "x" * 101, "body": "B"}, "title must be at most 100 characters"),
        ({"title": "T", "body": ""}, "body must be at least 1 character"),
        ({"title": "T", "body": "x" * 2001}, "body must be at most 2000 characters"),
        ({"title": "T", "body": "B", "type": "danger"}, "type must be one of: info, success, warning, error"),
        ({"title": "T", "body": "B", "user_ids": []}, "user_ids must contain 1 to 1000 items"),
        (
            {"title": "T", "body": "B", "user_ids": list(range(1, 1002))},
            "user_ids must contain 1 to 1000 items",
        ),
        ({"title": "T", "body": "B", "user_ids": ["1"]}, "user_ids must be an integer"),
        ({"title": "T", "body": "B", "user_ids": 1}, "user_ids must be a list"),
        ({"title": 5, "body": "B"}, "title must be a string"),
        ({"title": "T", "body": "B", "everyone": True}, "everyone is not allowed"),
        ([], "Invalid request"),
        (None, "Invalid request"),
    ],
)
async def test_bad_bodies_are_400_and_send_nothing(portal: Portal, body: Any, error: str) -> None:
    admin = await portal.login("admin")
    before = await last_audit_id(portal)
    kwargs: dict[str, Any] = {"content": b"{not json"} if body is None else {"json": body}
    async with capture_events(portal.container) as sent:
        await expect_error(admin.client.call("POST", SEND, **kwargs), 400, error)
    assert sent.names() == []
    assert await audit_after(portal, "NOTIFICATION_BROADCAST", before) == []


async def test_limits_at_their_edges_are_accepted(portal: Portal) -> None:
    admin, alice = await portal.login("admin"), await portal.login()
    answer = await send(admin, {"title": "x" * 100, "body": "y" * 2000, "user_ids": [alice.id]})
    assert answer["count"] == 1
    answer = await send(admin, {"title": "x", "body": "y", "user_ids": [alice.id] * 1000})
    assert answer["count"] == 1  # 1000 ids (the same one) are allowed, and it is sent once
    rows = await notifications_of(portal, alice.id)
    assert [(len(r.title), len(r.body)) for r in rows[1:]] == [(100, 2000), (1, 1)]
