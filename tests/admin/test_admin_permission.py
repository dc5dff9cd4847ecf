"""`POST /v1/admin/users/{id}/permission` (00 §3.3, §3.5, §6; 06 §11; 08 §3, §4, §5, §40, §49, §57, §63)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.admin.support import audit_rows, permission_rows, post
from tests.helpers import Portal, expect_error
from tests.moderation.support import lobby, try_login, user_row

LEVEL = {"user": 0, "moderator": 1, "admin": 2, "owner": 3}


def path(user_id: int) -> str:
    return f"/v1/admin/users/{user_id}/permission"


async def test_an_owner_makes_a_user_admin_and_everything_is_recorded(portal: Portal, sockets: Any) -> None:
    owner = await portal.login("owner")
    target = await portal.login()
    probe = await lobby(sockets, target)
    answer = await post(owner, path(target.id), {"permission_level": 2, "reason": "Trusted"})
    assert answer == {"message": f"Permission level for user {target.id} set to 2"}

    row = await user_row(portal, target.id)
    assert row.permission_level == 2 and row.permission_since is not None
    [history] = await permission_rows(portal, target.id)
    assert (history.old_level, history.new_level, history.reason, history.changed_by_id) == (
        0,
        2,
        "Trusted",
        owner.id,
    )
    [audit] = await audit_rows(portal, "PERMISSION_CHANGE", target.id)
    assert audit.actor_id == owner.id
    assert audit.event_metadata == {"old_level": 0, "new_level": 2, "reason": "Trusted"}
    # 00 §3.3, 08 §57: the level change ends the target's sessions
    assert await probe.expect("session:ended") == {"reason": "permission_changed"}
    await probe.wait_disconnected()
    await expect_error(target.client.call("GET", "/v1/users/me"), 401, "Authentication required")
    # a new sign-in shows the new level
    again = await try_login(portal, target)
    assert isinstance(again, dict) and again["permission_level"] == 2


async def test_the_same_level_again_is_200_and_writes_nothing(portal: Portal) -> None:
    owner = await portal.login("owner")
    target = await portal.login("moderator")
    history, audit = (
        await permission_rows(portal, target.id),
        await audit_rows(portal, "PERMISSION_CHANGE", target.id),
    )
    answer = await post(owner, path(target.id), {"permission_level": 1})
    assert answer == {"message": f"Permission level for user {target.id} set to 1"}
    assert len(await permission_rows(portal, target.id)) == len(history)
    assert len(await audit_rows(portal, "PERMISSION_CHANGE", target.id)) == len(audit)
    # the session lives on
    assert (await target.client.call("GET", "/v1/users/me"))["id"] == target.id


@pytest.mark.parametrize(
    ("actor", "target", "level", "allowed"),
    [
        # Admins assign up to User: they demote Moderators, promote nobody
        ("admin", "moderator", 0, True),
        ("admin", "user", 1, False),
        ("admin", "user", 2, False),
        ("admin", "moderator", 2, False),
        # Owners assign up to Admin
        ("owner", "user", 1, True),
        ("owner", "user", 2, True),
        ("owner", "admin", 0, True),
        ("owner", "user", 3, False),
        ("owner", "admin", 3, False),
        # hierarchy: Admin on Admin refused, Owner on Owner allowed (demoting to Admin)
        ("admin", "admin", 0, False),
        ("admin", "owner", 0, False),
        ("owner", "owner", 2, True),
    ],
)
async def test_assign_up_to_rules_and_hierarchy(
    portal: Portal, actor: str, target: str, level: int, allowed: bool
) -> None:
    caller = await portal.login(actor)
    victim = await portal.create_user(target)
    before = len(await audit_rows(portal, "PERMISSION_CHANGE", victim["id"]))
    call = post(caller, path(victim["id"]), {"permission_level": level})
    if allowed:
        assert (await call)["message"] == f"Permission level for user {victim['id']} set to {level}"
        assert (await user_row(portal, victim["id"])).permission_level == level
    else:
        await expect_error(call, 403, "Access denied")
        assert (await user_row(portal, victim["id"])).permission_level == LEVEL[target]
        assert len(await audit_rows(portal, "PERMISSION_CHANGE", victim["id"])) == before


@pytest.mark.parametrize("level", ["admin", "owner"])
async def test_nobody_changes_their_own_level(portal: Portal, level: str) -> None:
    caller = await portal.login(level)
    await expect_error(post(caller, path(caller.id), {"permission_level": 0}), 403, "Access denied")
    assert (await user_row(portal, caller.id)).permission_level == LEVEL[level]


async def test_gates_come_before_the_body(portal: Portal) -> None:
    target = await portal.create_user()
    anonymous = portal.client()
    await expect_error(anonymous.call("POST", path(target["id"]), json={}), 401, "Authentication required")
    stranger = await portal.stranger()
    await expect_error(post(stranger, path(target["id"]), {}), 403, "Access denied")
    for level in ("user", "moderator"):
        caller = await portal.login(level)
        await expect_error(
            post(caller, path(target["id"]), {"permission_level": 0}), 403, "Admin access required"
        )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "permission_level is required"),
        ({"permission_level": 4}, "permission_level must be between 0 and 3"),
        ({"permission_level": -1}, "permission_level must be between 0 and 3"),
        ({"permission_level": "1"}, "permission_level must be an integer"),
        ({"permission_level": 1, "reason": "x" * 501}, "reason must be at most 500 characters"),
        ({"permission_level": 1, "extra": 1}, "extra is not allowed"),
    ],
)
async def test_bad_bodies_are_400_and_change_nothing(
    portal: Portal, body: dict[str, Any], error: str
) -> None:
    owner = await portal.login("owner")
    target = await portal.create_user()
    await expect_error(post(owner, path(target["id"]), body), 400, error)
    assert (await user_row(portal, target["id"])).permission_level == 0
    assert await permission_rows(portal, target["id"]) == []


async def test_unknown_users_and_strangers_are_not_found(portal: Portal) -> None:
    owner = await portal.login("owner")
    stranger = await portal.stranger()
    for user_id in (999_999_999, stranger.id):
        await expect_error(post(owner, path(user_id), {"permission_level": 1}), 404, "User not found")


async def test_reason_at_500_characters_is_kept(portal: Portal) -> None:
    owner = await portal.login("owner")
    target = await portal.create_user()
    await post(owner, path(target["id"]), {"permission_level": 1, "reason": "r" * 500})
    [history] = await permission_rows(portal, target["id"])
    assert history.reason == "r" * 500
