"""`GET /v1/users/me/subscription` and the grant rules behind it.

Grants go through `container.subscriptions.grant`, the action `portal admin subscriptions grant` runs
(the admin REST endpoints come later). Spec: 02 §3.5, §6; 00 §3.6; 08 §58.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.errors import PortalError
from tests.api.users_support import (
    login_again,
)
from tests.helpers import DAY, LoggedIn, Portal, expect_error
from tests.helpers import parse_time as ts

SUBSCRIPTION_FIELDS = {"subscription_tier", "expires_at", "is_active", "history", "created_at", "updated_at"}
HISTORY_FIELDS = {"id", "old_tier", "new_tier", "reason", "granted_by_id", "created_at"}


async def grant(portal: Portal, user_id: int, tier: int | str, days: int | None = None, reason=None):
    return await portal.container.subscriptions.grant(
        actor=None, user_id=user_id, tier=tier, duration_days=days, reason=reason
    )


async def grant_error(portal: Portal, user_id: int, tier: int | str, days: int | None = None) -> PortalError:
    with pytest.raises(PortalError) as caught:
        await grant(portal, user_id, tier, days)
    return caught.value


async def test_basic_user_subscription(portal: Portal) -> None:
    alice = await portal.login()
    sub = await alice.client.subscription()
    me = await alice.client.me()
    assert set(sub) == SUBSCRIPTION_FIELDS
    assert sub["subscription_tier"] == 0
    assert sub["expires_at"] is None
    assert sub["is_active"] is False
    assert sub["history"] == []
    # 02 §3.5: created_at/updated_at are the user's.
    assert sub["created_at"] == me["created_at"]
    assert sub["updated_at"] == me["updated_at"]


async def test_premium_grant_shows_in_subscription_and_me(portal: Portal) -> None:
    alice = await portal.login()
    now = portal.server.clock.now()
    result = await grant(portal, alice.id, 2, 30, reason="Contest winner")
    assert result.message == f"Subscription granted to user {alice.id} for 30 days"

    sub = await alice.client.subscription()
    assert sub["subscription_tier"] == 2
    assert sub["is_active"] is True
    expires = ts(sub["expires_at"])
    assert abs(expires - (now + timedelta(days=30))) < timedelta(seconds=30)
    [row] = sub["history"]
    assert set(row) == HISTORY_FIELDS
    assert (row["old_tier"], row["new_tier"]) == (0, 2)
    assert row["reason"] == "Contest winner"
    assert row["granted_by_id"] is None
    assert isinstance(row["id"], int)
    ts(row["created_at"])

    me = await alice.client.me()
    assert me["subscription_tier"] == 2
    assert me["subscription_expires_at"] == sub["expires_at"]
    assert me["subscription_granted_by"] is None
    assert sub["updated_at"] == me["updated_at"]


async def test_premium_expires_lazily_with_a_history_row(portal: Portal) -> None:
    """08 §58: expiry is applied lazily and writes a history row with reason "expired"."""
    alice = await portal.login()
    await grant(portal, alice.id, 2, 1, reason="one day")
    clock = portal.server.clock
    clock.advance(DAY - 60)
    assert (await alice.client.subscription())["subscription_tier"] == 2
    clock.advance(61)

    sub = await alice.client.subscription()
    assert sub["subscription_tier"] == 0
    assert sub["expires_at"] is None
    assert sub["is_active"] is False
    assert [(h["old_tier"], h["new_tier"], h["reason"]) for h in sub["history"]] == [
        (2, 0, "expired"),
        (0, 2, "one day"),
    ]
    assert sub["history"][0]["granted_by_id"] is None
    me = await alice.client.me()
    assert (me["subscription_tier"], me["subscription_expires_at"]) == (0, None)
    # Reading again does not write a second "expired" row.
    assert len((await alice.client.subscription())["history"]) == 2


async def test_trial_lasts_seven_days(portal: Portal) -> None:
    alice = await portal.login()
    now = portal.server.clock.now()
    result = await grant(portal, alice.id, "TRIAL", 100)  # duration is ignored for trials
    assert result.message == f"Subscription granted to user {alice.id} (7-day trial)"
    sub = await alice.client.subscription()
    assert sub["subscription_tier"] == 1
    assert sub["is_active"] is True
    assert abs(ts(sub["expires_at"]) - (now + timedelta(days=7))) < timedelta(seconds=30)
    assert [(h["old_tier"], h["new_tier"]) for h in sub["history"]] == [(0, 1)]

    portal.server.clock.advance(7 * DAY + 1)
    sub = await alice.client.subscription()
    assert (sub["subscription_tier"], sub["is_active"], sub["expires_at"]) == (0, False, None)
    assert sub["history"][0]["reason"] == "expired"


@pytest.mark.parametrize("tier", [1, "trial", "TRIAL"])
async def test_trial_accepts_its_number_or_name(portal: Portal, tier: int | str) -> None:
    user = await portal.create_user()
    result = await grant(portal, user["id"], tier)
    assert result.message == f"Subscription granted to user {user['id']} (7-day trial)"


async def test_lifetime_has_no_expiry(portal: Portal) -> None:
    alice = await portal.login()
    await grant(portal, alice.id, 3, 30)
    sub = await alice.client.subscription()
    assert (sub["subscription_tier"], sub["expires_at"], sub["is_active"]) == (3, None, True)
    portal.server.clock.advance(4000 * DAY)  # the session is long gone; the tier is not
    profile = await portal.client().user(alice.id)
    assert profile["subscription_tier"] == 3


async def test_premium_granted_again_extends_from_current_expiry(portal: Portal) -> None:
    """08 §58: Premium on an active Premium extends it from the current expiry."""
    alice = await portal.login()
    await grant(portal, alice.id, 2, 30)
    first = ts((await alice.client.subscription())["expires_at"])
    portal.server.clock.advance(10 * DAY)
    result = await grant(portal, alice.id, 2, 30)
    assert result.message == f"Subscription granted to user {alice.id} for 30 days"
    sub = await alice.client.subscription()
    assert ts(sub["expires_at"]) == first + timedelta(days=30)
    assert [(h["old_tier"], h["new_tier"]) for h in sub["history"]] == [(2, 2), (0, 2)]


async def test_premium_after_expiry_starts_now(portal: Portal) -> None:
    alice = await portal.login()
    await grant(portal, alice.id, 2, 1)
    clock = portal.server.clock
    clock.advance(5 * DAY)
    now = clock.now()
    await grant(portal, alice.id, 2, 10)
    sub = await alice.client.subscription()
    assert abs(ts(sub["expires_at"]) - (now + timedelta(days=10))) < timedelta(seconds=30)
    assert [(h["old_tier"], h["new_tier"], h["reason"]) for h in sub["history"]] == [
        (0, 2, None),
        (2, 0, "expired"),
        (0, 2, None),
    ]


async def test_premium_during_trial_starts_now(portal: Portal) -> None:
    alice = await portal.login()
    await grant(portal, alice.id, "TRIAL")
    portal.server.clock.advance(DAY)
    now = portal.server.clock.now()
    await grant(portal, alice.id, 2, 30)
    sub = await alice.client.subscription()
    assert sub["subscription_tier"] == 2
    assert abs(ts(sub["expires_at"]) - (now + timedelta(days=30))) < timedelta(seconds=30)


# ---- grant rules --------------------------------------------------------------------------------------


async def test_second_trial_is_refused(portal: Portal) -> None:
    alice = await portal.login()
    await grant(portal, alice.id, "TRIAL")
    error = await grant_error(portal, alice.id, "TRIAL")
    assert (error.status, error.message) == (409, "ERR_TRIAL_ALREADY_USED")
    # Still refused once the trial has run out.
    portal.server.clock.advance(8 * DAY)
    error = await grant_error(portal, alice.id, 1)
    assert (error.status, error.message) == (409, "ERR_TRIAL_ALREADY_USED")
    sub = await alice.client.subscription()
    assert sub["subscription_tier"] == 0
    assert [(h["old_tier"], h["new_tier"]) for h in sub["history"]] == [(1, 0), (0, 1)]


@pytest.mark.parametrize(("tier", "days"), [("TRIAL", None), (2, 30)])
async def test_trial_or_premium_to_a_lifetime_user_is_409(
    portal: Portal, tier: int | str, days: int | None
) -> None:
    alice = await portal.login()
    await grant(portal, alice.id, 3)
    error = await grant_error(portal, alice.id, tier, days)
    assert error.status == 409
    sub = await alice.client.subscription()
    assert (sub["subscription_tier"], sub["expires_at"]) == (3, None)
    assert len(sub["history"]) == 1


async def test_premium_needs_duration_days(portal: Portal) -> None:
    alice = await portal.login()
    error = await grant_error(portal, alice.id, 2, None)
    assert (error.status, error.message) == (400, "duration_days is required")
    assert (await alice.client.subscription())["history"] == []


@pytest.mark.parametrize("days", [0, -1, 3651])
async def test_premium_duration_out_of_range(portal: Portal, days: int) -> None:
    alice = await portal.login()
    error = await grant_error(portal, alice.id, 2, days)
    assert (error.status, error.message) == (400, "duration_days must be between 1 and 3650")
    assert (await alice.client.subscription())["subscription_tier"] == 0


@pytest.mark.parametrize("days", [1, 3650])
async def test_premium_duration_limits_accepted(portal: Portal, days: int) -> None:
    alice = await portal.login()
    now = portal.server.clock.now()
    result = await grant(portal, alice.id, 2, days)
    assert result.message == f"Subscription granted to user {alice.id} for {days} days"
    sub = await alice.client.subscription()
    assert abs(ts(sub["expires_at"]) - (now + timedelta(days=days))) < timedelta(seconds=30)


@pytest.mark.parametrize("user_id", [987_654_321, 0, -5, 2**31, 10**20])
async def test_grant_to_unknown_user_is_404(portal: Portal, user_id: int) -> None:
    error = await grant_error(portal, user_id, 2, 30)
    assert (error.status, error.message) == (404, "User not found")


async def test_grant_to_a_stranger_is_404(portal: Portal) -> None:
    stranger: LoggedIn = await portal.stranger()
    error = await grant_error(portal, stranger.id, 2, 30)
    assert (error.status, error.message) == (404, "User not found")


@pytest.mark.parametrize("tier", [0, 4, "BASIC", "gold", True])
async def test_grant_of_an_unknown_tier_is_400(portal: Portal, tier: object) -> None:
    user = await portal.create_user()
    error = await grant_error(portal, user["id"], tier, 30)  # type: ignore[arg-type]
    assert (error.status, error.message) == (400, "tier must be one of: 1, 2, 3, TRIAL")


async def test_subscription_endpoint_needs_a_registered_session(portal: Portal) -> None:
    await expect_error(portal.client().subscription(), 401, "Authentication required")
    stranger = await portal.stranger()
    await expect_error(stranger.client.subscription(), 403, "Access denied")


async def test_concurrent_reads_after_expiry_write_one_history_row(portal: Portal) -> None:
    """Lazy expiry under concurrency: several requests at once still write one "expired" row."""
    import asyncio

    alice = await portal.login()
    others = [await login_again(portal, alice) for _ in range(3)]
    await grant(portal, alice.id, 2, 1)
    portal.server.clock.advance(DAY + 61)
    clients = [alice.client, *others]
    results = await asyncio.gather(*(c.subscription() for c in clients for _ in range(2)))
    assert {r["subscription_tier"] for r in results} == {0}
    sub = await alice.client.subscription()
    assert [(h["old_tier"], h["new_tier"], h["reason"]) for h in sub["history"]] == [
        (2, 0, "expired"),
        (0, 2, None),
    ]
