"""`POST /v1/admin/users/{id}/ban|unban|timeout|warn` and `GET /v1/admin/punishments/search`
(00 §3.3, §3.5, §6; 06 §9; 02 §3.6; 08 §4, §5, §37, §38, §57, §59)."""

from __future__ import annotations

from typing import Any

import pytest

from portal.domain import UserState
from tests.admin.support import RANKS, RECORD_FIELDS, audit_rows, post
from tests.helpers import LoggedIn, Portal, expect_error, parse_time
from tests.moderation.support import lobby, try_login, user_row

BAN_MAX, TIMEOUT_MIN, TIMEOUT_MAX = 31_536_000, 60, 2_592_000
SEARCH = "/v1/admin/punishments/search"


def path(user_id: int, action: str) -> str:
    return f"/v1/admin/users/{user_id}/{action}"


# ---- ban ----------------------------------------------------------------------------------------------


async def test_a_permanent_ban_answers_the_record_ends_sessions_and_refuses_sign_in(
    portal: Portal, sockets: Any
) -> None:
    admin = await portal.login("admin")
    target = await portal.login()
    probe = await lobby(sockets, target)
    record = await post(admin, path(target.id, "ban"), {"reason": "Repeated harassment"})
    assert set(record) == RECORD_FIELDS
    assert record["user_id"] == target.id and record["action_type"] == "PLATFORM_BAN"
    assert (record["reason"], record["expires_at"], record["is_lifted"], record["lifted_at"]) == (
        "Repeated harassment",
        None,
        False,
        None,
    )
    assert (record["issued_by_id"], record["chat_id"]) == (admin.id, None)
    parse_time(record["created_at"])

    assert await probe.expect("session:ended") == {"reason": "banned"}
    await probe.wait_disconnected()
    await expect_error(target.client.call("GET", "/v1/users/me"), 401)
    assert await try_login(portal, target) == (403, "Account restricted")
    assert (await user_row(portal, target.id)).state == UserState.BANNED

    [audit] = await audit_rows(portal, "USER_BAN", target.id)
    assert audit.actor_id == admin.id
    assert audit.event_metadata == {"reason": "Repeated harassment", "duration": 0}
    # the user sees it in their own history once the ban is lifted
    await post(admin, path(target.id, "unban"), {"reason": "Appeal approved"})
    again = await try_login(portal, target)
    assert isinstance(again, dict)


async def test_a_timed_ban_lifts_itself(portal: Portal) -> None:
    admin = await portal.login("admin")
    target = await portal.login()
    record = await post(admin, path(target.id, "ban"), {"reason": "Cool off", "duration": 3600})
    assert (parse_time(record["expires_at"]) - parse_time(record["created_at"])).total_seconds() == 3600
    assert await try_login(portal, target) == (403, "Account restricted")
    portal.server.clock.advance(3601)
    again = await try_login(portal, target)
    assert isinstance(again, dict) and again["state"] == 0


@pytest.mark.parametrize(("actor", "target", "allowed"), [r for r in RANKS if r[0] != "moderator"])
async def test_ban_hierarchy(portal: Portal, actor: str, target: str, allowed: bool) -> None:
    caller = await portal.login(actor)
    victim = await portal.create_user(target)
    call = post(caller, path(victim["id"], "ban"), {"reason": "x"})
    if allowed:
        assert (await call)["action_type"] == "PLATFORM_BAN"
    else:
        await expect_error(call, 403, "Access denied")
        assert (await user_row(portal, victim["id"])).state == UserState.ACTIVE
        assert await audit_rows(portal, "USER_BAN", victim["id"]) == []


@pytest.mark.parametrize("action", ["ban", "unban", "timeout", "warn"])
async def test_nobody_punishes_themselves(portal: Portal, action: str) -> None:
    owner = await portal.login("owner")
    body = {"reason": "x", **({"duration": 60} if action == "timeout" else {})}
    await expect_error(post(owner, path(owner.id, action), body), 403, "Access denied")
    assert (await user_row(portal, owner.id)).state == UserState.ACTIVE


@pytest.mark.parametrize(
    ("action", "minimum"),
    [("ban", "admin"), ("unban", "admin"), ("timeout", "moderator"), ("warn", "moderator")],
)
async def test_level_gates(portal: Portal, action: str, minimum: str) -> None:
    target = await portal.create_user()
    body = {"reason": "x", **({"duration": 60} if action == "timeout" else {})}
    await expect_error(
        portal.client().call("POST", path(target["id"], action), json=body), 401, "Authentication required"
    )
    stranger = await portal.stranger()
    await expect_error(post(stranger, path(target["id"], action), body), 403, "Access denied")
    below = ["user"] if minimum == "moderator" else ["user", "moderator"]
    text = "Moderator access required" if minimum == "moderator" else "Admin access required"
    for level in below:
        caller = await portal.login(level)
        await expect_error(post(caller, path(target["id"], action), body), 403, text)


@pytest.mark.parametrize(
    ("action", "body", "error"),
    [
        ("ban", {}, "reason is required"),
        ("ban", {"reason": ""}, "reason must be at least 1 character"),
        ("ban", {"reason": "x" * 501}, "reason must be at most 500 characters"),
        ("ban", {"reason": "x", "duration": BAN_MAX + 1}, f"duration must be between 0 and {BAN_MAX}"),
        ("ban", {"reason": "x", "duration": -1}, f"duration must be between 0 and {BAN_MAX}"),
        ("ban", {"reason": "x", "duration": "60"}, "duration must be an integer"),
        ("ban", {"reason": "x", "until": 1}, "until is not allowed"),
        ("unban", {}, "reason is required"),
        ("timeout", {"reason": "x"}, "duration is required"),
        ("timeout", {"duration": 60}, "reason is required"),
        (
            "timeout",
            {"reason": "x", "duration": TIMEOUT_MIN - 1},
            f"duration must be between 60 and {TIMEOUT_MAX}",
        ),
        (
            "timeout",
            {"reason": "x", "duration": TIMEOUT_MAX + 1},
            f"duration must be between 60 and {TIMEOUT_MAX}",
        ),
        ("warn", {}, "reason is required"),
        ("warn", {"reason": "x" * 501}, "reason must be at most 500 characters"),
    ],
)
async def test_bad_bodies_are_400_and_change_nothing(
    portal: Portal, action: str, body: dict[str, Any], error: str
) -> None:
    owner = await portal.login("owner")
    target = await portal.create_user()
    await expect_error(post(owner, path(target["id"], action), body), 400, error)
    assert (await user_row(portal, target["id"])).state == UserState.ACTIVE
    found = await owner.client.call("GET", SEARCH, params={"user_id": target["id"]})
    assert found["total"] == 0


async def test_limits_at_their_edges_are_accepted(portal: Portal) -> None:
    owner = await portal.login("owner")
    for action, body in (
        ("ban", {"reason": "r" * 500, "duration": BAN_MAX}),
        ("timeout", {"reason": "r", "duration": TIMEOUT_MIN}),
        ("timeout", {"reason": "r", "duration": TIMEOUT_MAX}),
    ):
        target = await portal.create_user()
        record = await post(owner, path(target["id"], action), body)
        seconds = (parse_time(record["expires_at"]) - parse_time(record["created_at"])).total_seconds()
        assert seconds == body["duration"]


async def test_unknown_users_are_not_found(portal: Portal) -> None:
    owner = await portal.login("owner")
    stranger = await portal.stranger()
    for user_id in (999_999_999, stranger.id):
        for action in ("ban", "unban", "warn"):
            await expect_error(post(owner, path(user_id, action), {"reason": "x"}), 404, "User not found")
        await expect_error(
            post(owner, path(user_id, "timeout"), {"reason": "x", "duration": 60}), 404, "User not found"
        )


# ---- unban --------------------------------------------------------------------------------------------


async def test_unban_with_nothing_in_force_is_200_with_null_record_and_writes_nothing(portal: Portal) -> None:
    admin = await portal.login("admin")
    target = await portal.create_user()
    answer = await post(admin, path(target["id"], "unban"), {"reason": "nothing"})
    assert answer == {"user_id": target["id"], **{k: None for k in RECORD_FIELDS - {"user_id"}}}
    assert await audit_rows(portal, "USER_UNBAN", target["id"]) == []


async def test_unban_lifts_a_ban_and_a_timeout(portal: Portal) -> None:
    admin = await portal.login("admin")
    target = await portal.login()
    ban = await post(admin, path(target.id, "ban"), {"reason": "b"})
    lifted = await post(admin, path(target.id, "unban"), {"reason": "Appeal approved"})
    assert lifted["id"] == ban["id"] and lifted["is_lifted"] is True and lifted["lifted_at"]
    assert lifted["user_id"] == target.id and lifted["action_type"] == "PLATFORM_BAN"
    assert (await user_row(portal, target.id)).state == UserState.ACTIVE
    [audit] = await audit_rows(portal, "USER_UNBAN", target.id)
    assert audit.actor_id == admin.id
    assert audit.event_metadata == {"reason": "Appeal approved", "lifted": "PLATFORM_BAN"}
    # again: idempotent
    assert (await post(admin, path(target.id, "unban"), {"reason": "again"}))["id"] is None

    moderator = await portal.login("moderator")
    timeout = await post(moderator, path(target.id, "timeout"), {"reason": "t", "duration": 600})
    lifted = await post(admin, path(target.id, "unban"), {"reason": "early"})
    assert lifted["id"] == timeout["id"] and lifted["action_type"] == "PLATFORM_TIMEOUT"
    assert isinstance(await try_login(portal, target), dict)


# ---- timeout and warn ---------------------------------------------------------------------------------


async def test_a_moderator_times_out_and_warns_a_user(portal: Portal, sockets: Any) -> None:
    moderator = await portal.login("moderator")
    target = await portal.login()
    probe = await lobby(sockets, target)
    record = await post(moderator, path(target.id, "timeout"), {"reason": "Spamming", "duration": 600})
    assert set(record) == RECORD_FIELDS and record["action_type"] == "PLATFORM_TIMEOUT"
    assert record["issued_by_id"] == moderator.id and record["reason"] == "Spamming"
    assert await probe.expect("session:ended") == {"reason": "timeout"}
    assert await try_login(portal, target) == (403, "Account restricted")
    [audit] = await audit_rows(portal, "USER_TIMEOUT", target.id)
    assert audit.actor_id == moderator.id
    assert audit.event_metadata == {"reason": "Spamming", "duration": 600, "chat_id": None}

    warning = await post(moderator, path(target.id, "warn"), {"reason": "Please keep it civil"})
    assert set(warning) == RECORD_FIELDS
    assert (warning["action_type"], warning["expires_at"], warning["user_id"]) == (
        "PLATFORM_WARNING",
        None,
        target.id,
    )
    [audit] = await audit_rows(portal, "USER_WARN", target.id)
    assert audit.actor_id == moderator.id and audit.event_metadata == {
        "reason": "Please keep it civil",
        "chat_id": None,
    }


@pytest.mark.parametrize(("actor", "target", "allowed"), RANKS)
@pytest.mark.parametrize("action", ["timeout", "warn"])
async def test_timeout_and_warn_hierarchy(
    portal: Portal, action: str, actor: str, target: str, allowed: bool
) -> None:
    caller = await portal.login(actor)
    victim = await portal.create_user(target)
    body = {"reason": "x", **({"duration": 60} if action == "timeout" else {})}
    call = post(caller, path(victim["id"], action), body)
    if allowed:
        assert (await call)["user_id"] == victim["id"]
    else:
        await expect_error(call, 403, "Access denied")
        event = "USER_TIMEOUT" if action == "timeout" else "USER_WARN"
        assert await audit_rows(portal, event, victim["id"]) == []


# ---- search -------------------------------------------------------------------------------------------


async def punished(portal: Portal) -> tuple[LoggedIn, LoggedIn, dict[str, Any], list[dict[str, Any]]]:
    """An admin, a moderator and a user with a warning, a timeout (lifted) and a ban, in that order."""
    admin = await portal.login("admin")
    moderator = await portal.login("moderator")
    target = await portal.create_user()
    made = [
        await post(moderator, path(target["id"], "warn"), {"reason": "w"}),
        await post(moderator, path(target["id"], "timeout"), {"reason": "t", "duration": 60}),
    ]
    await post(admin, path(target["id"], "unban"), {"reason": "lift"})
    made.append(await post(admin, path(target["id"], "ban"), {"reason": "b", "duration": 3600}))
    return admin, moderator, target, made


async def test_search_filters_newest_first(portal: Portal) -> None:
    admin, moderator, target, (warning, timeout, ban) = await punished(portal)

    async def ids(**params: Any) -> list[int]:
        found = await moderator.client.call("GET", SEARCH, params={"user_id": target["id"], **params})
        assert set(found) == {"punishments", "total", "limit", "offset"}
        assert found["total"] >= len(found["punishments"])
        return [p["id"] for p in found["punishments"]]

    assert await ids() == [ban["id"], timeout["id"], warning["id"]]
    found = await moderator.client.call("GET", SEARCH, params={"user_id": target["id"]})
    assert (found["total"], found["limit"], found["offset"]) == (3, 25, 0)
    assert set(found["punishments"][0]) == RECORD_FIELDS
    assert await ids(action_type="PLATFORM_TIMEOUT") == [timeout["id"]]
    assert await ids(issued_by=moderator.id) == [timeout["id"], warning["id"]]
    assert await ids(issued_by=admin.id) == [ban["id"]]
    # active: not lifted, not expired (the warning never expires; the timeout was lifted)
    assert await ids(active_only="true") == [ban["id"], warning["id"]]
    portal.server.clock.advance(3601)
    assert await ids(active_only="true") == [warning["id"]]
    # the expired ban keeps is_lifted false with expires_at in the past (08 §38)
    [expired] = [
        p
        for p in (await moderator.client.call("GET", SEARCH, params={"user_id": target["id"]}))["punishments"]
        if p["id"] == ban["id"]
    ]
    assert expired["is_lifted"] is False
    assert await ids(limit=1) == [ban["id"]]
    assert await ids(limit=1, offset=1) == [timeout["id"]]
    assert await ids(chat_id=999_999_999) == []
    assert await ids(issued_by=10**12) == []


async def test_search_finds_chat_actions_too(portal: Portal) -> None:
    admin = await portal.login("admin")
    owner = await portal.login(tier=2)
    chat = await portal.private_chat(owner)
    victim = await portal.login()
    await portal.invite_into(owner, chat["id"], victim)
    await owner.client.call("POST", f"/v1/portal/chats/{chat['id']}/ban", json={"user_id": victim.id})
    found = await admin.client.call("GET", SEARCH, params={"chat_id": chat["id"]})
    assert [(p["action_type"], p["user_id"], p["chat_id"]) for p in found["punishments"]] == [
        ("CHAT_BAN", victim.id, chat["id"])
    ]


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"limit": 0}, "limit must be between 1 and 100"),
        ({"limit": 101}, "limit must be between 1 and 100"),
        ({"offset": -1}, "offset must be between 0 and 1000000000"),
        ({"action_type": "BAN"}, "action_type must be one of: "),
        ({"user_id": "x"}, "user_id must be an integer"),
        ({"active_only": "maybe"}, "active_only must be a boolean"),
    ],
)
async def test_search_bad_queries(portal: Portal, params: dict[str, Any], error: str) -> None:
    moderator = await portal.login("moderator")
    exc = await expect_error(moderator.client.call("GET", SEARCH, params=params), 400)
    assert exc.error.startswith(error), exc.error


async def test_search_limit_edges_and_gates(portal: Portal) -> None:
    moderator = await portal.login("moderator")
    for limit in (1, 100):
        assert (await moderator.client.call("GET", SEARCH, params={"limit": limit}))["limit"] == limit
    await expect_error(portal.client().call("GET", SEARCH), 401, "Authentication required")
    stranger = await portal.stranger()
    await expect_error(stranger.client.call("GET", SEARCH), 403, "Access denied")
    user = await portal.login()
    await expect_error(user.client.call("GET", SEARCH), 403, "Moderator access required")
