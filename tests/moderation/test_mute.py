"""`POST /v1/portal/chats/{id}/mute` and `/unmute` (04 §6.2–6.3, §7, §8; 00 §4, §5; 08 §6, §7, §38, §46).

Who may mute whom is in test_moderation_permissions.py; here: the effects, the events, the send refusal
with its shrinking `ttl`, the records and the validation edges.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from portal.client import PortalAPIError
from portal.client.secure import SecureChat
from tests.helpers import Portal, expect_error, parse_time
from tests.moderation.support import (
    RECORD_FIELDS,
    act,
    action_path,
    audit_of,
    in_room,
    member_of,
    premium,
    records_of,
    refused_with,
    restriction,
)

MUTE_MAX = 86_400


async def muted_setup(portal: Portal, sockets: Any, kind: str = "public") -> tuple[Any, ...]:
    """A premium owner, their chat, a member, and both of them joined (owner socket first)."""
    owner = await premium(portal)
    chat = await (portal.public_chat(owner) if kind == "public" else portal.private_chat(owner))
    member = await member_of(portal, owner, chat["id"])
    watcher = await in_room(sockets, owner, chat["id"])
    target = await in_room(sockets, member, chat["id"])
    return owner, chat, member, watcher, target


async def test_mute_answers_ok_stores_the_mute_and_tells_the_room(portal: Portal, sockets: Any) -> None:
    """04 §6.2, 00 §5: `{ok:true}`; `user:muted {chat_id, user_id, ttl, reason}` to everyone in the room."""
    owner, chat, member, watcher, target = await muted_setup(portal, sockets)
    now = portal.server.clock.now()

    answer = await act(owner, chat["id"], "mute", member.id, duration=120, reason="spam")

    assert answer == {"ok": True}
    expected = {"chat_id": chat["id"], "user_id": member.id, "ttl": 120, "reason": "spam"}
    assert await watcher.expect_for("user:muted", chat["id"]) == expected
    assert await target.expect_for("user:muted", chat["id"]) == expected
    row = await restriction(portal, chat["id"], member.id, "mute")
    assert row is not None and row.reason == "spam" and row.issued_by_id == owner.id
    assert row.expires_at is not None
    assert abs((row.expires_at - now).total_seconds() - 120) < 2
    [audit] = await audit_of(portal, "CHAT_MUTE", chat["id"])
    assert (audit.entity_type, audit.actor_id, audit.event_metadata["user_id"]) == (
        "chat",
        owner.id,
        member.id,
    )
    # the member is still a member: a mute is not a kick
    assert (await member.client.call("GET", f"/v1/portal/chats/{chat['id']}"))["id"] == chat["id"]


async def test_mute_without_duration_lasts_300_seconds_and_reason_is_null(
    portal: Portal, sockets: Any
) -> None:
    """04 §6.2: duration defaults to 300."""
    owner, chat, member, watcher, _ = await muted_setup(portal, sockets)
    await act(owner, chat["id"], "mute", member.id)
    assert await watcher.expect_for("user:muted", chat["id"]) == {
        "chat_id": chat["id"],
        "user_id": member.id,
        "ttl": 300,
        "reason": None,
    }
    assert await refused_with(member, chat["id"]) == ("ERR_MUTED", 300)


async def test_a_muted_send_is_refused_with_the_remaining_ttl_until_the_mute_ends(
    portal: Portal, sockets: Any
) -> None:
    """00 §4: 403 ERR_MUTED + `ttl` (seconds left, shrinking with the clock); the mute ends by itself."""
    owner, chat, member, _, _ = await muted_setup(portal, sockets)
    assert await refused_with(member, chat["id"]) == ("", None)  # not muted: only the bundle is wrong
    await act(owner, chat["id"], "mute", member.id, duration=300)
    code, ttl = await refused_with(member, chat["id"])
    assert code == "ERR_MUTED" and ttl is not None and 299 <= ttl <= 300

    portal.server.clock.advance(100)
    code, ttl = await refused_with(member, chat["id"])
    assert code == "ERR_MUTED" and ttl is not None and 199 <= ttl <= 200

    portal.server.clock.advance(199)
    code, ttl = await refused_with(member, chat["id"])
    assert code == "ERR_MUTED" and ttl == 1

    portal.server.clock.advance(1)
    assert await refused_with(member, chat["id"]) == ("", None)
    # the owner was never affected
    assert await refused_with(owner, chat["id"]) == ("", None)


async def test_the_error_envelope_of_a_muted_send(portal: Portal, sockets: Any) -> None:
    """00 §3.2: `{error:"ERR_MUTED", correlation_id, ttl}`."""
    owner, chat, member, _, _ = await muted_setup(portal, sockets)
    await act(owner, chat["id"], "mute", member.id, duration=60)
    exc = await expect_error(
        member.client.call("POST", f"/v1/portal/chats/{chat['id']}/messages", json={"content": "x"}),
        403,
        "ERR_MUTED",
    )
    assert set(exc.body) == {"error", "correlation_id", "ttl"}
    assert exc.body["ttl"] in (59, 60)


async def test_an_indefinite_mute_has_ttl_0_and_lasts_until_unmuted(portal: Portal, sockets: Any) -> None:
    """04 §6.2: duration 0 = indefinite; the event and the refusal carry ttl 0."""
    owner, chat, member, watcher, _ = await muted_setup(portal, sockets)
    await act(owner, chat["id"], "mute", member.id, duration=0, reason="")
    assert await watcher.expect_for("user:muted", chat["id"]) == {
        "chat_id": chat["id"],
        "user_id": member.id,
        "ttl": 0,
        "reason": "",
    }
    row = await restriction(portal, chat["id"], member.id, "mute")
    assert row is not None and row.expires_at is None
    portal.server.clock.advance(20 * 86400)
    assert await refused_with(member, chat["id"]) == ("ERR_MUTED", 0)

    assert await act(owner, chat["id"], "unmute", member.id) == {"ok": True}
    assert await refused_with(member, chat["id"]) == ("", None)


async def test_unmute_lifts_the_mute_tells_the_room_and_marks_the_record(
    portal: Portal, sockets: Any
) -> None:
    """04 §6.3; 08 §38: the record gets `is_lifted:true` and `lifted_at` when a person lifts it."""
    owner, chat, member, watcher, target = await muted_setup(portal, sockets)
    await act(owner, chat["id"], "mute", member.id, duration=600, reason="spam")
    await watcher.expect_for("user:muted", chat["id"])
    portal.server.clock.advance(30)
    lifted_at = portal.server.clock.now()

    assert await act(owner, chat["id"], "unmute", member.id) == {"ok": True}

    assert await watcher.expect_for("user:unmuted", chat["id"]) == {
        "chat_id": chat["id"],
        "user_id": member.id,
    }
    assert await target.expect_for("user:unmuted", chat["id"]) == {
        "chat_id": chat["id"],
        "user_id": member.id,
    }
    assert await restriction(portal, chat["id"], member.id, "mute") is None
    assert await refused_with(member, chat["id"]) == ("", None)
    [record] = await member.client.punishments()
    assert record["action_type"] == "CHAT_MUTE" and record["is_lifted"] is True
    assert abs((parse_time(record["lifted_at"]) - lifted_at).total_seconds()) < 2


async def test_unmute_is_idempotent(portal: Portal, sockets: Any) -> None:
    """Unmuting someone who is not muted answers `{ok:true}` and changes nothing."""
    owner, chat, member, _, _ = await muted_setup(portal, sockets)
    assert await act(owner, chat["id"], "unmute", member.id) == {"ok": True}
    assert await act(owner, chat["id"], "unmute", member.id) == {"ok": True}
    assert await restriction(portal, chat["id"], member.id, "mute") is None
    assert await records_of(portal, member.id) == []
    assert await refused_with(member, chat["id"]) == ("", None)


async def test_a_new_mute_replaces_the_old_one(portal: Portal, sockets: Any) -> None:
    owner, chat, member, _, _ = await muted_setup(portal, sockets)
    await act(owner, chat["id"], "mute", member.id, duration=0)
    await act(owner, chat["id"], "mute", member.id, duration=60)
    code, ttl = await refused_with(member, chat["id"])
    assert code == "ERR_MUTED" and ttl in (59, 60)
    portal.server.clock.advance(60)
    assert await refused_with(member, chat["id"]) == ("", None)


async def test_a_mute_applies_to_its_own_chat_only(portal: Portal, sockets: Any) -> None:
    """04 §6.2: other chats are unaffected."""
    owner, chat, member, _, _ = await muted_setup(portal, sockets)
    other = await portal.public_chat(owner)
    await in_room(sockets, member, other["id"])
    await act(owner, chat["id"], "mute", member.id, duration=0)
    assert (await refused_with(member, chat["id"]))[0] == "ERR_MUTED"
    assert await refused_with(member, other["id"]) == ("", None)


async def test_a_mute_may_be_set_in_advance(portal: Portal, sockets: Any) -> None:
    """08 §46: a user with no link to the chat may be muted; the mute holds once they join."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    visitor = await portal.login()
    assert await act(owner, chat["id"], "mute", visitor.id, duration=0) == {"ok": True}
    await in_room(sockets, visitor, chat["id"])
    assert await refused_with(visitor, chat["id"]) == ("ERR_MUTED", 0)


async def test_a_muted_secure_client_cannot_send_until_unmuted(portal: Portal) -> None:
    """With real E2EE clients: the mute refuses the encrypted send; after unmute it reaches the others."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    guest = await portal.login()
    async with SecureChat(owner.client) as alice, SecureChat(guest.client) as bob:
        await alice.join(chat["id"])
        await bob.join(chat["id"])
        await act(owner, chat["id"], "mute", guest.id, duration=60)
        with pytest.raises(PortalAPIError) as refused:
            await bob.send(chat["id"], "let me talk")
        assert (refused.value.status, refused.value.error) == (403, "ERR_MUTED")
        assert refused.value.body["ttl"] in (59, 60)
        await act(owner, chat["id"], "unmute", guest.id)
        await bob.send(chat["id"], "thanks")
        assert await alice.next_text(chat["id"]) == "thanks"


async def test_the_mute_record_in_the_targets_punishments(portal: Portal, sockets: Any) -> None:
    """04 §2, 08 §38: CHAT_MUTE with chat_id, issued_by_id, reason and expires_at; not lifted."""
    owner, chat, member, _, _ = await muted_setup(portal, sockets)
    now = portal.server.clock.now()
    await act(owner, chat["id"], "mute", member.id, duration=3600, reason="calm down")
    [record] = await member.client.punishments()
    assert set(record) == RECORD_FIELDS
    assert (
        record["action_type"],
        record["chat_id"],
        record["issued_by_id"],
        record["reason"],
        record["is_lifted"],
        record["lifted_at"],
    ) == ("CHAT_MUTE", chat["id"], owner.id, "calm down", False, None)
    assert abs((parse_time(record["expires_at"]) - (now + timedelta(seconds=3600))).total_seconds()) < 2
    assert abs((parse_time(record["created_at"]) - now).total_seconds()) < 2


async def test_an_indefinite_mute_record_has_no_expiry(portal: Portal, sockets: Any) -> None:
    owner, chat, member, _, _ = await muted_setup(portal, sockets)
    await act(owner, chat["id"], "mute", member.id, duration=0)
    [record] = await member.client.punishments()
    assert (record["action_type"], record["expires_at"], record["is_lifted"]) == ("CHAT_MUTE", None, False)


async def test_an_expired_mute_keeps_is_lifted_false(portal: Portal, sockets: Any) -> None:
    """08 §38: `is_lifted` changes only when a person lifts; an unmute after the end lifts nothing."""
    owner, chat, member, _, _ = await muted_setup(portal, sockets)
    await act(owner, chat["id"], "mute", member.id, duration=60)
    portal.server.clock.advance(61)
    await act(owner, chat["id"], "unmute", member.id)
    [record] = await member.client.punishments()
    assert (record["is_lifted"], record["lifted_at"]) == (False, None)
    assert parse_time(record["expires_at"]) < portal.server.clock.now()


# ---- validation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("duration", [0, 1, MUTE_MAX])
async def test_mute_duration_edges_accepted(portal: Portal, sockets: Any, duration: int) -> None:
    owner, chat, member, watcher, _ = await muted_setup(portal, sockets)
    assert await act(owner, chat["id"], "mute", member.id, duration=duration) == {"ok": True}
    assert (await watcher.expect_for("user:muted", chat["id"]))["ttl"] == duration


async def test_mute_reason_of_500_characters_is_accepted(portal: Portal, sockets: Any) -> None:
    owner, chat, member, watcher, _ = await muted_setup(portal, sockets)
    assert await act(owner, chat["id"], "mute", member.id, reason="r" * 500) == {"ok": True}
    assert (await watcher.expect_for("user:muted", chat["id"]))["reason"] == "r" * 500


BAD_MUTE_BODIES: list[tuple[Any, str]] = [
    ({}, "user_id is required"),
    ({"duration": 60}, "user_id is required"),
    ({"user_id": "5"}, "user_id must be an integer"),
    ({"user_id": None}, "user_id must be an integer"),
    ({"user_id": 5.0}, "user_id must be an integer"),
    ({"user_id": True}, "user_id must be an integer"),
    ({"user_id": 5, "duration": -1}, f"duration must be between 0 and {MUTE_MAX}"),
    ({"user_id": 5, "duration": MUTE_MAX + 1}, f"duration must be between 0 and {MUTE_MAX}"),
    ({"user_id": 5, "duration": "60"}, "duration must be an integer"),
    ({"user_id": 5, "duration": 1.5}, "duration must be an integer"),
    ({"user_id": 5, "duration": None}, "duration must be an integer"),
    ({"user_id": 5, "duration": False}, "duration must be an integer"),
    ({"user_id": 5, "reason": "r" * 501}, "reason must be at most 500 characters"),
    ({"user_id": 5, "reason": 5}, "reason must be a string"),
    ({"user_id": 5, "until": 60}, "until is not allowed"),
    ({"user_id": 5, "duration": -1, "reason": "r" * 501}, f"duration must be between 0 and {MUTE_MAX}"),
    ([5], "Invalid request"),
    ("x", "Invalid request"),
]


@pytest.mark.parametrize(
    ("action", "body", "error"),
    [
        *[("mute", b, e) for b, e in BAD_MUTE_BODIES],
        ("unmute", {}, "user_id is required"),
        ("unmute", {"user_id": "5"}, "user_id must be an integer"),
        ("unmute", {"user_id": 5, "duration": 60}, "duration is not allowed"),
        ("unmute", {"user_id": 5, "reason": "x"}, "reason is not allowed"),
        ("unmute", [], "Invalid request"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 12 else None,
)
async def test_bad_mute_bodies_are_400_and_change_nothing(
    portal: Portal, sockets: Any, action: str, body: Any, error: str
) -> None:
    """08 §6–7: the first invalid field in documented order; unknown fields; non-objects."""
    owner, chat, member, _, _ = await muted_setup(portal, sockets)
    if action == "unmute":
        await act(owner, chat["id"], "mute", member.id, duration=0)
    if isinstance(body, dict) and body.get("user_id") == 5 and type(body["user_id"]) is int:
        body = {**body, "user_id": member.id}
    await expect_error(owner.client.call("POST", action_path(chat["id"], action), json=body), 400, error)
    await expect_error(owner.client.call("POST", action_path(999_999, action), json=body), 400, error)
    muted = await restriction(portal, chat["id"], member.id, "mute")
    assert (muted is not None) is (action == "unmute")
    assert len(await records_of(portal, member.id)) == (1 if action == "unmute" else 0)


@pytest.mark.parametrize("action", ["mute", "unmute"])
async def test_broken_json_is_400_invalid_request(portal: Portal, action: str) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    response = await owner.client.raw(
        "POST",
        action_path(chat["id"], action),
        content=b'{"user_id": ',
        headers={"Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["error"]) == (400, "Invalid request")


@pytest.mark.parametrize("action", ["mute", "unmute"])
async def test_mute_errors_in_check_order(portal: Portal, action: str) -> None:
    """08 §4–5: 401 before anything; unknown chat 404; unknown user 404 "User not found"; yourself 403."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    path = action_path(chat["id"], action)
    await expect_error(
        portal.client().call("POST", path, json={"user_id": member.id}), 401, "Authentication required"
    )
    await expect_error(
        owner.client.call("POST", action_path(999_999, action), json={"user_id": member.id}),
        404,
        "Chat not found",
    )
    for user_id in (999_999, 0, -3, 2**40):
        await expect_error(owner.client.call("POST", path, json={"user_id": user_id}), 404, "User not found")
    await expect_error(owner.client.call("POST", path, json={"user_id": owner.id}), 403, "Access denied")
    # a member may not mute anyone, not even an unknown user (the actor's 403 comes first)
    await expect_error(member.client.call("POST", path, json={"user_id": 999_999}), 403, "Access denied")
    await expect_error(
        owner.client.call("POST", action_path("x", action), json={"user_id": member.id}),
        400,
        "chat_id must be an integer",
    )
    assert await restriction(portal, chat["id"], member.id, "mute") is None
    assert await records_of(portal, member.id) == []
