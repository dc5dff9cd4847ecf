"""`POST /v1/admin/subscriptions/grant|revoke`, `GET /v1/admin/subscriptions/active`
(00 §3.6; 06 §8; 02 §6.1; 08 §4, §5, §49, §58)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.admin.support import RANKS, audit_rows, post, subscription_rows
from tests.helpers import Portal, expect_error, parse_time
from tests.moderation.support import user_row

GRANT, REVOKE, ACTIVE = (
    "/v1/admin/subscriptions/grant",
    "/v1/admin/subscriptions/revoke",
    "/v1/admin/subscriptions/active",
)


async def test_grant_premium_then_extend_and_the_audit_event(portal: Portal) -> None:
    admin = await portal.login("admin")
    target = await portal.create_user()
    answer = await post(
        admin, GRANT, {"user_id": target["id"], "tier": 2, "duration_days": 30, "reason": "Contest winner"}
    )
    assert answer == {"message": f"Subscription granted to user {target['id']} for 30 days"}
    first = (await user_row(portal, target["id"])).subscription_expires_at
    assert first is not None
    portal.server.clock.advance(3600)
    await post(admin, GRANT, {"user_id": target["id"], "tier": 2, "duration_days": 10})
    row = await user_row(portal, target["id"])
    assert row.subscription_expires_at == first + timedelta(days=10)  # extends from the current expiry
    assert row.subscription_granted_by == admin.id
    audits = await audit_rows(portal, "SUBSCRIPTION_GRANT", target["id"])
    assert [a.actor_id for a in audits] == [admin.id, admin.id]
    assert audits[0].event_metadata == {
        "old_tier": 0,
        "new_tier": 2,
        "duration_days": 30,
        "reason": "Contest winner",
    }


async def test_the_trial_is_seven_days_and_once(portal: Portal) -> None:
    admin = await portal.login("admin")
    target = await portal.create_user()
    answer = await post(admin, GRANT, {"user_id": target["id"], "tier": "TRIAL", "duration_days": 99})
    assert answer == {"message": f"Subscription granted to user {target['id']} (7-day trial)"}
    row = await user_row(portal, target["id"])
    assert row.subscription_tier == 1
    assert row.subscription_expires_at is not None
    left = row.subscription_expires_at - portal.server.clock.now()
    assert timedelta(days=7) - timedelta(minutes=1) < left <= timedelta(days=7)
    await post(admin, REVOKE, {"user_id": target["id"], "reason": "reset"})
    for tier in ("TRIAL", 1, "trial"):
        await expect_error(
            post(admin, GRANT, {"user_id": target["id"], "tier": tier}), 409, "ERR_TRIAL_ALREADY_USED"
        )


async def test_lifetime_then_trial_or_premium_is_409(portal: Portal) -> None:
    admin = await portal.login("admin")
    target = await portal.create_user()
    answer = await post(admin, GRANT, {"user_id": target["id"], "tier": 3, "reason": "Early supporter"})
    assert answer == {"message": f"Subscription granted to user {target['id']} (lifetime)"}
    for body in ({"tier": "TRIAL"}, {"tier": 2, "duration_days": 5}):
        await expect_error(post(admin, GRANT, {"user_id": target["id"], **body}), 409)
    assert (await user_row(portal, target["id"])).subscription_tier == 3


async def test_revoke_sets_basic_and_a_basic_user_gets_200_too(portal: Portal) -> None:
    admin = await portal.login("admin")
    target = await portal.create_user()
    await post(admin, GRANT, {"user_id": target["id"], "tier": 2, "duration_days": 30})
    answer = await post(admin, REVOKE, {"user_id": target["id"], "reason": "Refunded"})
    assert answer == {"message": f"Subscription revoked for user {target['id']}"}
    row = await user_row(portal, target["id"])
    assert (row.subscription_tier, row.subscription_expires_at) == (0, None)
    last = (await subscription_rows(portal, target["id"]))[-1]
    assert (last.old_tier, last.new_tier, last.reason, last.granted_by_id) == (2, 0, "Refunded", admin.id)
    [audit] = await audit_rows(portal, "SUBSCRIPTION_REVOKE", target["id"])
    assert audit.actor_id == admin.id
    assert audit.event_metadata == {"old_tier": 2, "new_tier": 0, "reason": "Refunded"}

    rows = len(await subscription_rows(portal, target["id"]))
    again = await post(admin, REVOKE, {"user_id": target["id"], "reason": "again"})
    assert again == {"message": f"Subscription revoked for user {target['id']}"}
    assert len(await subscription_rows(portal, target["id"])) == rows
    assert len(await audit_rows(portal, "SUBSCRIPTION_REVOKE", target["id"])) == 1


@pytest.mark.parametrize(("actor", "target", "allowed"), [r for r in RANKS if r[0] != "moderator"])
async def test_grant_and_revoke_hierarchy(portal: Portal, actor: str, target: str, allowed: bool) -> None:
    caller = await portal.login(actor)
    victim = await portal.create_user(target)
    grant = post(caller, GRANT, {"user_id": victim["id"], "tier": 3})
    revoke = post(caller, REVOKE, {"user_id": victim["id"], "reason": "x"})
    if allowed:
        await grant
        await revoke
        assert (await user_row(portal, victim["id"])).subscription_tier == 0
    else:
        await expect_error(grant, 403, "Access denied")
        await expect_error(revoke, 403, "Access denied")
        assert await audit_rows(portal, "SUBSCRIPTION_GRANT", victim["id"]) == []


@pytest.mark.parametrize("level", ["admin", "owner"])
async def test_nobody_grants_or_revokes_their_own(portal: Portal, level: str) -> None:
    caller = await portal.login(level)
    await expect_error(post(caller, GRANT, {"user_id": caller.id, "tier": 3}), 403, "Access denied")
    await expect_error(post(caller, REVOKE, {"user_id": caller.id, "reason": "x"}), 403, "Access denied")


@pytest.mark.parametrize("path", [GRANT, REVOKE, ACTIVE])
async def test_gates(portal: Portal, path: str) -> None:
    target = await portal.create_user()
    body = (
        {"user_id": target["id"], "tier": 3, "reason": "x"}
        if path == GRANT
        else {"user_id": target["id"], "reason": "x"}
    )

    def call(client: Any) -> Any:
        return client.call("GET", path) if path == ACTIVE else client.call("POST", path, json=body)

    await expect_error(call(portal.client()), 401, "Authentication required")
    await expect_error(call((await portal.stranger()).client), 403, "Access denied")
    for level in ("user", "moderator"):
        await expect_error(call((await portal.login(level)).client), 403, "Admin access required")


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        (GRANT, {"tier": 2, "duration_days": 1}, "user_id is required"),
        (GRANT, {"user_id": 1}, "tier is required"),
        (GRANT, {"tier": "GOLD"}, "tier must be one of: 1, 2, 3, TRIAL"),
        (GRANT, {"tier": 0}, "tier must be one of: 1, 2, 3, TRIAL"),
        (GRANT, {"tier": 2.5}, "tier must be one of: 1, 2, 3, TRIAL"),
        (GRANT, {"tier": True}, "tier must be one of: 1, 2, 3, TRIAL"),
        (GRANT, {"tier": 2}, "duration_days is required"),
        (GRANT, {"tier": 2, "duration_days": 0}, "duration_days must be between 1 and 3650"),
        (GRANT, {"tier": 2, "duration_days": 3651}, "duration_days must be between 1 and 3650"),
        (GRANT, {"tier": 3, "reason": ""}, "reason must be at least 1 character"),
        (GRANT, {"tier": 3, "reason": "x" * 501}, "reason must be at most 500 characters"),
        (GRANT, {"tier": 3, "foo": 1}, "foo is not allowed"),
        (REVOKE, {}, "reason is required"),
        (REVOKE, {"reason": ""}, "reason must be at least 1 character"),
        (REVOKE, {"reason": "x" * 501}, "reason must be at most 500 characters"),
    ],
)
async def test_bad_bodies_are_400_and_change_nothing(
    portal: Portal, path: str, body: dict[str, Any], error: str
) -> None:
    admin = await portal.login("admin")
    target = await portal.create_user()
    await post(admin, GRANT, {"user_id": target["id"], "tier": 2, "duration_days": 5})
    before = await user_row(portal, target["id"])
    full = (
        {"user_id": target["id"], **body}
        if "user_id" not in body and error != "user_id is required"
        else body
    )
    await expect_error(post(admin, path, full), 400, error)
    after = await user_row(portal, target["id"])
    assert (after.subscription_tier, after.subscription_expires_at) == (2, before.subscription_expires_at)


async def test_edges_and_unknown_users(portal: Portal) -> None:
    admin = await portal.login("admin")
    for days in (1, 3650):
        target = await portal.create_user()
        assert (await post(admin, GRANT, {"user_id": target["id"], "tier": 2, "duration_days": days}))[
            "message"
        ].endswith(f"for {days} days")
    stranger = await portal.stranger()
    for user_id in (999_999_999, stranger.id):
        await expect_error(post(admin, GRANT, {"user_id": user_id, "tier": 3}), 404, "User not found")
        await expect_error(post(admin, REVOKE, {"user_id": user_id, "reason": "x"}), 404, "User not found")


async def test_active_lists_running_subscriptions(portal: Portal) -> None:
    admin = await portal.login("admin")
    trial, premium, lifetime, basic, short = [await portal.create_user() for _ in range(5)]
    await post(admin, GRANT, {"user_id": trial["id"], "tier": "TRIAL"})
    await post(admin, GRANT, {"user_id": premium["id"], "tier": 2, "duration_days": 30})
    await post(admin, GRANT, {"user_id": lifetime["id"], "tier": 3})
    await post(admin, GRANT, {"user_id": short["id"], "tier": 2, "duration_days": 1})
    portal.server.clock.advance(86400 + 1)  # the short one has ended (not swept yet)
    admin = await portal.login("admin")  # a staff session lasts a day

    listed = await admin.client.call("GET", ACTIVE)
    assert set(listed) == {"users"}
    mine = {
        u["id"]: u
        for u in listed["users"]
        if u["id"] in {trial["id"], premium["id"], lifetime["id"], basic["id"], short["id"]}
    }
    assert set(mine) == {trial["id"], premium["id"], lifetime["id"]}
    assert mine[lifetime["id"]] == {
        "id": lifetime["id"],
        "name": lifetime["username"],
        "tier": 3,
        "expires_at": None,
        "is_active": True,
    }
    assert mine[premium["id"]]["tier"] == 2 and parse_time(mine[premium["id"]]["expires_at"])
    assert mine[trial["id"]]["tier"] == 1
    ids = [u["id"] for u in listed["users"]]
    assert ids == sorted(ids)

    only = await admin.client.call("GET", ACTIVE, params={"tier": 3})
    assert {u["tier"] for u in only["users"]} == {3} and lifetime["id"] in {u["id"] for u in only["users"]}
    named = await admin.client.call("GET", ACTIVE, params={"q": premium["username"]})
    assert [u["id"] for u in named["users"]] == [premium["id"]]
    for params, error in (
        ({"tier": 0}, "tier must be between 1 and 3"),
        ({"tier": 4}, "tier must be between 1 and 3"),
        ({"limit": 0}, "limit must be between 1 and 1000"),
    ):
        await expect_error(admin.client.call("GET", ACTIVE, params=params), 400, error)
