"""`GET /v1/statistics/users|bots|app|application` (01 §7; 00 §6; 08 §43): shapes, what is counted
(registered users by the tier in force, strangers left out; active bots by type), the app object made of
the three statistics objects, the public key and the PUBLIC tier."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from portal import __version__
from portal.db.models import Bot, User
from portal.db.uow import users_changed
from tests.helpers import Portal, expect_error, parse_time

USER_KEYS = {"total_count", "basic_count", "trial_count", "premium_count", "lifetime_count"}
BOT_KEYS = {"total_count", "official_count", "verified_count", "community_count"}


async def stats(portal: Portal, what: str) -> Any:
    return await portal.client().call("GET", f"/v1/statistics/{what}")


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {key: after[key] - before[key] for key in after}


async def test_users_by_effective_tier_without_strangers(portal: Portal) -> None:
    await portal.default_bot()  # the bot that delivers login codes (its owner is a user too)
    before = await stats(portal, "users")
    assert before.keys() == USER_KEYS
    await portal.create_user()
    await portal.login(tier="TRIAL")
    await portal.login(tier=2, duration_days=30)
    await portal.login(tier=3)
    await portal.stranger()
    ended = await portal.create_user()
    await portal.container.subscriptions.grant(actor=None, user_id=ended["id"], tier=2, duration_days=1)
    # An ended Premium that the janitor has not downgraded yet counts as Basic.
    async with portal.container.db.transaction() as session:
        await session.execute(
            update(User)
            .where(User.id == ended["id"])
            .values(subscription_expires_at=portal.server.clock.now() - timedelta(seconds=1))
        )
        users_changed(session, [ended["id"]])

    after = await stats(portal, "users")
    assert delta(after, before) == {
        "total_count": 5,
        "basic_count": 2,
        "trial_count": 1,
        "premium_count": 1,
        "lifetime_count": 1,
    }
    assert after["total_count"] == sum(after[k] for k in USER_KEYS - {"total_count"})


async def test_active_bots_by_type(portal: Portal) -> None:
    before = await stats(portal, "bots")
    assert before.keys() == BOT_KEYS
    made = [(await portal.register_bot())[1]["id"] for _ in range(5)]
    async with portal.container.db.transaction() as session:
        for bot_id, bot_type, active in zip(
            made, (1, 2, 2, 3, 1), (True, True, True, True, False), strict=True
        ):
            await session.execute(
                update(Bot).where(Bot.id == bot_id).values(bot_type=bot_type, is_active=active)
            )

    after = await stats(portal, "bots")
    assert delta(after, before) == {
        "total_count": 4,
        "official_count": 1,
        "verified_count": 2,
        "community_count": 1,
    }
    assert after["total_count"] == sum(after[k] for k in BOT_KEYS - {"total_count"})


@pytest.mark.parametrize("path", ["app", "application"])
async def test_the_app_is_made_of_the_three_objects(portal: Portal, path: str) -> None:
    app = await stats(portal, path)
    assert app.keys() == {"application_name", "version", "started_at", "users", "bots", "chats"}
    assert (app["application_name"], app["version"]) == ("Portal", __version__)
    assert parse_time(app["started_at"]) <= portal.server.clock.now()
    assert app["users"] == await stats(portal, "users")
    assert app["bots"] == await stats(portal, "bots")
    assert app["chats"] == await stats(portal, "chats")


@pytest.mark.parametrize("path", ["users", "bots", "app", "application", "chats"])
async def test_the_public_key_is_required(portal: Portal, path: str) -> None:
    url = f"/v1/statistics/{path}"
    await expect_error(portal.client(api_key=False).call("GET", url), 401, "Invalid API key")
    await expect_error(portal.client(api_key="wrong").call("GET", url), 401, "Invalid API key")
    response = await portal.client().raw("GET", url)
    assert response.status_code == 200 and response.headers["X-RateLimit-Limit"] == "120"
    # A signed-in caller without the key is refused too: the key is what these take.
    alice = await portal.login()
    await expect_error(
        portal.client(api_key=False, session=alice.client.session_token).call("GET", url),
        401,
        "Invalid API key",
    )
