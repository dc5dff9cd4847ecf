"""`POST /v1/portal/chats/{id}/timeout` and `/warn` (04 §6.7–6.8, §7, §8; 00 §3.3, §5; 08 §6, §17, §38,
§46, §57, §59, §63).

A timeout ends every session of the user (`session:ended {reason:"timeout"}`, then a disconnect), refuses
sign-in with 403 "Account restricted" until it ends, and lifts itself (the janitor, or lazily at sign-in).
A warning is a record and a system message. Who may do it to whom is in test_moderation_permissions.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.helpers import LoggedIn, Portal, expect_error, parse_time, set_user_state
from tests.messaging.support import frozen
from tests.moderation.support import (
    RECORD_FIELDS,
    act,
    action_path,
    audit_of,
    chats_path,
    in_room,
    lobby,
    member_of,
    memberships,
    premium,
    records_of,
    system_texts,
    try_login,
    user_row,
)
from tests.sockets import eventually

TIMEOUT_MIN, TIMEOUT_MAX = 60, 2_592_000


async def second_session(portal: Portal, who: LoggedIn) -> LoggedIn:
    """Another signed-in session of the same user (another device)."""
    platform = who.user["linked_platforms"][0]
    client = portal.client()
    user = await portal.web_login(client, platform["platform"], platform["platform_user_id"])
    return LoggedIn(client, user)


async def chat_with_member(portal: Portal, sockets: Any) -> tuple[LoggedIn, dict[str, Any], LoggedIn, Any]:
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    watcher = await in_room(sockets, owner, chat["id"])
    return owner, chat, member, watcher


async def _last_two_are(portal: Portal, chat_id: int, texts: list[str]) -> bool:
    return (await system_texts(portal, chat_id))[-2:] == texts


# ---- timeout ------------------------------------------------------------------------------------------


async def test_timeout_ends_every_session_of_the_user(portal: Portal, sockets: Any) -> None:
    """04 §6.7, 00 §5, 08 §57: each session's sockets get `session:ended {reason:"timeout"}` and are
    disconnected; the sessions answer 401 afterwards; "<username> was timed out" is posted in the chat."""
    owner, chat, member, watcher = await chat_with_member(portal, sockets)
    phone = await second_session(portal, member)
    in_chat = await in_room(sockets, member, chat["id"])
    elsewhere = await lobby(sockets, phone)

    assert await act(owner, chat["id"], "timeout", member.id, duration=600, reason="cool off") == {"ok": True}

    for probe in (in_chat, elsewhere):
        assert await probe.expect("session:ended") == {"reason": "timeout"}
        await probe.wait_disconnected()
    text = f"{member.user['username']} was timed out"
    message = await watcher.expect_where("message:new", lambda m: m["content"] == text)
    assert (message["type"], message["sender"], message["chat_id"]) == ("system", None, chat["id"])
    # the disconnect then writes "left the chat" (the last socket out)
    left = f"{member.user['username']} left the chat"
    assert await eventually(lambda: _last_two_are(portal, chat["id"], [text, left]))
    for session in (member, phone):
        await expect_error(session.client.call("GET", "/v1/users/me"), 401, "Authentication required")
    row = await user_row(portal, member.id)
    assert row.state == 1
    # a timeout is platform-wide, not a kick: the membership stays
    assert member.id in await memberships(portal, chat["id"])
    # the owner is unaffected
    assert (await owner.client.call("GET", "/v1/users/me"))["id"] == owner.id


async def test_a_timed_out_user_cannot_sign_in_until_it_ends_then_it_lifts_at_sign_in(portal: Portal) -> None:
    """00 §3.3: verify answers 403 "Account restricted"; at the end the timeout lifts itself lazily."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    await act(owner, chat["id"], "timeout", member.id, duration=TIMEOUT_MIN)

    assert await try_login(portal, member) == (403, "Account restricted")
    ends = (await user_row(portal, member.id)).state_expires_at
    assert ends is not None
    # The test clock runs on from real time, and a sign-in takes several requests: a margin of a few
    # seconds keeps a loaded machine from ending the timeout during the "still restricted" sign-in.
    portal.server.clock.set(ends - timedelta(seconds=5))
    assert await try_login(portal, member) == (403, "Account restricted")
    portal.server.clock.set(ends)
    answer = await try_login(portal, member)
    assert isinstance(answer, dict) and answer["id"] == member.id and answer["state"] == 0
    row = await user_row(portal, member.id)
    assert (row.state, row.state_expires_at) == (0, None)


async def test_the_janitor_lifts_a_finished_timeout(portal: Portal) -> None:
    """00 §3.3, 08 §63: the periodic job lifts it without anyone signing in."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    with frozen(portal.server.clock) as clock:  # a slow machine must not let real seconds slip in
        await act(owner, chat["id"], "timeout", member.id, duration=120)
        clock.advance(119)
        await portal.container.janitor.run_once()
        assert (await user_row(portal, member.id)).state == 1
        clock.advance(1)
        await portal.container.janitor.run_once()
        row = await user_row(portal, member.id)
    assert (row.state, row.state_expires_at) == (0, None)
    answer = await try_login(portal, member)
    assert isinstance(answer, dict) and answer["id"] == member.id


async def test_a_timed_out_users_socket_is_refused(portal: Portal, sockets: Any) -> None:
    """00 §5: a session ended by the timeout cannot connect again."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    token = member.client.session_token
    await act(owner, chat["id"], "timeout", member.id, duration=TIMEOUT_MIN)
    assert await sockets().refused(token=token) == "ERR_UNAUTHORIZED"


async def test_the_timeout_record(portal: Portal) -> None:
    """08 §38: PLATFORM_TIMEOUT with chat_id, issued_by_id, reason and expires_at; after the end it keeps
    `is_lifted:false`; the audit log has USER_TIMEOUT."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    now = portal.server.clock.now()
    await act(owner, chat["id"], "timeout", member.id, duration=3600, reason="flood")

    [record] = await records_of(portal, member.id)
    assert (record.action_type, record.chat_id, record.issued_by_id, record.reason, record.is_lifted) == (
        "PLATFORM_TIMEOUT",
        chat["id"],
        owner.id,
        "flood",
        False,
    )
    assert abs((record.expires_at - (now + timedelta(seconds=3600))).total_seconds()) < 2
    [audit] = await audit_of(portal, "USER_TIMEOUT", member.id)
    assert (audit.entity_type, audit.actor_id) == ("user", owner.id)
    assert (audit.event_metadata["duration"], audit.event_metadata["chat_id"]) == (3600, chat["id"])

    portal.server.clock.advance(3600)
    answer = await try_login(portal, member)
    assert isinstance(answer, dict)
    client = portal.client()
    platform = member.user["linked_platforms"][0]
    await portal.web_login(client, platform["platform"], platform["platform_user_id"])
    [shown] = await client.punishments()
    assert set(shown) == RECORD_FIELDS
    assert (shown["action_type"], shown["chat_id"], shown["issued_by_id"], shown["is_lifted"]) == (
        "PLATFORM_TIMEOUT",
        chat["id"],
        owner.id,
        False,
    )
    assert shown["lifted_at"] is None
    assert parse_time(shown["expires_at"]) <= portal.server.clock.now()


async def test_a_second_timeout_replaces_the_first(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    await act(owner, chat["id"], "timeout", member.id, duration=3600)
    await act(owner, chat["id"], "timeout", member.id, duration=TIMEOUT_MIN)
    portal.server.clock.advance(TIMEOUT_MIN)
    assert isinstance(await try_login(portal, member), dict)
    assert [r.action_type for r in await records_of(portal, member.id)] == ["PLATFORM_TIMEOUT"] * 2


async def test_a_timeout_never_shortens_a_platform_ban(portal: Portal) -> None:
    """00 §3.3: a banned account (state 2) stays banned when someone times it out from a chat."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    await set_user_state(portal, member.id, 2, None)
    assert await act(owner, chat["id"], "timeout", member.id, duration=TIMEOUT_MIN) == {"ok": True}
    row = await user_row(portal, member.id)
    assert (row.state, row.state_expires_at) == (2, None)
    portal.server.clock.advance(TIMEOUT_MIN)
    await portal.container.janitor.run_once()
    assert await try_login(portal, member) == (403, "Account restricted")


@pytest.mark.parametrize("duration", [TIMEOUT_MIN, TIMEOUT_MAX])
async def test_timeout_duration_edges_accepted(portal: Portal, duration: int) -> None:
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    now = portal.server.clock.now()
    assert await act(owner, chat["id"], "timeout", member.id, duration=duration, reason="r" * 500) == {
        "ok": True
    }
    row = await user_row(portal, member.id)
    assert row.state == 1
    assert abs((row.state_expires_at - now).total_seconds() - duration) < 2


# ---- the link an owner needs (08 §46, §63) ------------------------------------------------------------


@pytest.mark.parametrize("action", ["timeout", "warn"])
async def test_an_owner_needs_a_link_to_the_target(portal: Portal, sockets: Any, action: str) -> None:
    """08 §63: an owner's warn/timeout of a user with no link to the chat is 404 "Member not found"."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    stranger_to_chat = await portal.login()
    body = {"duration": TIMEOUT_MIN} if action == "timeout" else {}
    await expect_error(act(owner, chat["id"], action, stranger_to_chat.id, **body), 404, "Member not found")
    assert await records_of(portal, stranger_to_chat.id) == []
    assert (await user_row(portal, stranger_to_chat.id)).state == 0


@pytest.mark.parametrize("action", ["timeout", "warn"])
async def test_an_activity_row_is_a_link(portal: Portal, sockets: Any, action: str) -> None:
    """08 §46: a user who joined and left (no membership, no socket, an activity row) may be targeted."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    visitor = await portal.login()
    probe = await in_room(sockets, visitor, chat["id"])
    await probe.close()
    await visitor.client.call("POST", chats_path(chat["id"], "/leave"))
    assert visitor.id not in await memberships(portal, chat["id"])
    body = {"duration": TIMEOUT_MIN} if action == "timeout" else {}
    assert await act(owner, chat["id"], action, visitor.id, **body) == {"ok": True}


@pytest.mark.parametrize("action", ["timeout", "warn"])
async def test_presence_in_the_room_is_a_link(portal: Portal, sockets: Any, action: str) -> None:
    """08 §46: presence alone counts. An Admin viewing another Admin's private chat has no membership and
    no activity row; its owner (acting as owner on a level ≤ their own) may target them only while in."""
    owner = await portal.login("admin")
    chat = await portal.private_chat(owner)
    viewer = await portal.login("admin")
    body = {"duration": TIMEOUT_MIN} if action == "timeout" else {}
    await expect_error(act(owner, chat["id"], action, viewer.id, **body), 404, "Member not found")
    await in_room(sockets, viewer, chat["id"])
    assert viewer.id not in await memberships(portal, chat["id"])
    assert await act(owner, chat["id"], action, viewer.id, **body) == {"ok": True}


@pytest.mark.parametrize("action", ["timeout", "warn"])
async def test_by_rank_no_link_is_needed(portal: Portal, action: str) -> None:
    """08 §46: acting by rank, any target that passes can_act_on (a Moderator in a User's public chat)."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    moderator = await portal.login("moderator")
    visitor = await portal.login()
    body = {"duration": TIMEOUT_MIN} if action == "timeout" else {}
    assert await act(moderator, chat["id"], action, visitor.id, **body) == {"ok": True}
    [record] = await records_of(portal, visitor.id)
    assert (record.chat_id, record.issued_by_id) == (chat["id"], moderator.id)


@pytest.mark.parametrize("action", ["timeout", "warn"])
@pytest.mark.parametrize("level", ["moderator", "admin"])
async def test_by_rank_the_hierarchy_decides_before_the_link(portal: Portal, action: str, level: str) -> None:
    """Acting by rank, a target the actor does not outrank is 403 "Access denied" even with no link to the
    chat (not 404 "Member not found": the link only matters to an owner acting as owner)."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    moderator = await portal.login("moderator")
    unlinked = await portal.login(level)
    body = {"duration": TIMEOUT_MIN} if action == "timeout" else {}

    await expect_error(act(moderator, chat["id"], action, unlinked.id, **body), 403, "Access denied")
    assert await records_of(portal, unlinked.id) == []
    assert (await user_row(portal, unlinked.id)).state == 0


@pytest.mark.parametrize("action", ["timeout", "warn"])
async def test_as_owner_the_link_decides_before_the_hierarchy(portal: Portal, action: str) -> None:
    """An owner acting as owner (no rank over the chat's owner) on an unlinked user above their level
    still gets 404 "Member not found"."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    unlinked = await portal.login("moderator")
    body = {"duration": TIMEOUT_MIN} if action == "timeout" else {}

    await expect_error(act(owner, chat["id"], action, unlinked.id, **body), 404, "Member not found")
    assert await records_of(portal, unlinked.id) == []
    assert (await user_row(portal, unlinked.id)).state == 0


async def test_a_platform_owner_owning_the_chat_acts_by_rank_too(portal: Portal) -> None:
    """08 §45: both paths apply to an Owner in their own chat; the rank path needs no link."""
    owner = await portal.login("owner")
    chat = await portal.public_chat(owner)
    visitor = await portal.login()
    assert await act(owner, chat["id"], "warn", visitor.id) == {"ok": True}


# ---- warn ---------------------------------------------------------------------------------------------


async def test_warn_posts_the_message_and_records_a_warning(portal: Portal, sockets: Any) -> None:
    """04 §6.8, 08 §17: `{ok:true}`; "<username> was warned" (never the reason); PLATFORM_WARNING record;
    USER_WARN audit event; the user stays signed in and in the room."""
    owner, chat, member, watcher = await chat_with_member(portal, sockets)
    target = await in_room(sockets, member, chat["id"])
    now = portal.server.clock.now()

    assert await act(owner, chat["id"], "warn", member.id, reason="be nice") == {"ok": True}

    text = f"{member.user['username']} was warned"
    for probe in (watcher, target):
        message = await probe.expect_where(
            "message:new", lambda m: m["type"] == "system" and "warned" in m["content"]
        )
        assert (message["content"], message["sender"], message["epoch"]) == (text, None, "0000000000000000")
    assert "be nice" not in " ".join(await system_texts(portal, chat["id"]))
    [record] = await member.client.punishments()
    assert set(record) == RECORD_FIELDS
    assert (
        record["action_type"],
        record["chat_id"],
        record["issued_by_id"],
        record["reason"],
        record["expires_at"],
        record["is_lifted"],
        record["lifted_at"],
    ) == ("PLATFORM_WARNING", chat["id"], owner.id, "be nice", None, False, None)
    assert abs((parse_time(record["created_at"]) - now).total_seconds()) < 2
    [audit] = await audit_of(portal, "USER_WARN", member.id)
    assert (audit.entity_type, audit.actor_id, audit.event_metadata["chat_id"]) == (
        "user",
        owner.id,
        chat["id"],
    )
    assert target.sio.connected and target.pending("session:ended") == []
    assert (await user_row(portal, member.id)).state == 0


async def test_warn_without_reason(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    assert await act(owner, chat["id"], "warn", member.id) == {"ok": True}
    assert await act(owner, chat["id"], "warn", member.id, reason="r" * 500) == {"ok": True}
    assert [(r["action_type"], r["reason"]) for r in await member.client.punishments()] == [
        ("PLATFORM_WARNING", "r" * 500),
        ("PLATFORM_WARNING", None),
    ]
    assert (await system_texts(portal, chat["id"]))[-2:] == [f"{member.user['username']} was warned"] * 2


# ---- validation ---------------------------------------------------------------------------------------

BAD_BODIES: list[tuple[str, Any, str]] = [
    ("timeout", {"user_id": 5}, "duration is required"),
    (
        "timeout",
        {"user_id": 5, "duration": TIMEOUT_MIN - 1},
        f"duration must be between 60 and {TIMEOUT_MAX}",
    ),
    (
        "timeout",
        {"user_id": 5, "duration": TIMEOUT_MAX + 1},
        f"duration must be between 60 and {TIMEOUT_MAX}",
    ),
    ("timeout", {"user_id": 5, "duration": 0}, f"duration must be between 60 and {TIMEOUT_MAX}"),
    ("timeout", {"user_id": 5, "duration": "600"}, "duration must be an integer"),
    ("timeout", {"user_id": 5, "duration": 600.0}, "duration must be an integer"),
    ("timeout", {"user_id": 5, "duration": None}, "duration must be an integer"),
    (
        "timeout",
        {"user_id": 5, "duration": 600, "reason": "r" * 501},
        "reason must be at most 500 characters",
    ),
    ("timeout", {"user_id": 5, "duration": 600, "reason": 1}, "reason must be a string"),
    ("timeout", {"user_id": 5, "duration": 600, "until": "x"}, "until is not allowed"),
    ("timeout", {"duration": 600}, "user_id is required"),
    ("timeout", {"user_id": "5", "duration": 5}, "user_id must be an integer"),
    ("timeout", [], "Invalid request"),
    ("warn", {}, "user_id is required"),
    ("warn", {"user_id": 5.5}, "user_id must be an integer"),
    ("warn", {"user_id": 5, "reason": "r" * 501}, "reason must be at most 500 characters"),
    ("warn", {"user_id": 5, "reason": False}, "reason must be a string"),
    ("warn", {"user_id": 5, "duration": 60}, "duration is not allowed"),
    ("warn", "warn", "Invalid request"),
]


@pytest.mark.parametrize(
    ("action", "body", "error"), BAD_BODIES, ids=[str(i) for i in range(len(BAD_BODIES))]
)
async def test_bad_bodies_are_400_and_change_nothing(
    portal: Portal, action: str, body: Any, error: str
) -> None:
    """08 §6–7: 400 with the first invalid field, before the chat is looked up; nothing recorded."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    if isinstance(body, dict) and body.get("user_id") == 5 and type(body["user_id"]) is int:
        body = {**body, "user_id": member.id}
    await expect_error(owner.client.call("POST", action_path(chat["id"], action), json=body), 400, error)
    await expect_error(owner.client.call("POST", action_path(999_999, action), json=body), 400, error)
    assert await records_of(portal, member.id) == []
    assert (await user_row(portal, member.id)).state == 0
    texts = await system_texts(portal, chat["id"])
    assert not any("timed out" in t or "warned" in t for t in texts)


@pytest.mark.parametrize("action", ["timeout", "warn"])
async def test_errors_in_check_order(portal: Portal, action: str) -> None:
    """08 §4–5: 401; broken JSON 400; unknown chat 404; unknown user 404; yourself 403; stranger 403."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    path = action_path(chat["id"], action)
    body: dict[str, Any] = {"duration": TIMEOUT_MIN} if action == "timeout" else {}
    await expect_error(
        portal.client().call("POST", path, json={"user_id": member.id, **body}),
        401,
        "Authentication required",
    )
    response = await owner.client.raw(
        "POST", path, content=b"{,}", headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["error"]) == (400, "Invalid request")
    await expect_error(
        owner.client.call("POST", action_path(999_999, action), json={"user_id": member.id, **body}),
        404,
        "Chat not found",
    )
    await expect_error(act(owner, chat["id"], action, 999_999, **body), 404, "User not found")
    await expect_error(act(owner, chat["id"], action, owner.id, **body), 403, "Access denied")
    stranger = await portal.stranger()
    await expect_error(act(stranger, chat["id"], action, member.id, **body), 403, "Access denied")
    assert await records_of(portal, member.id) == []
    assert await records_of(portal, owner.id) == []
