"""The janitor's periodic expiries (08 §58, §59): effects visible through the API."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from portal.db.models import SubscriptionHistory, User
from portal.db.uow import users_changed
from tests.helpers import Portal


async def test_sweep_downgrades_expired_premium_and_writes_history(portal: Portal) -> None:
    user = await portal.create_user()
    await portal.container.subscriptions.grant(actor=None, user_id=user["id"], tier=2, duration_days=1)

    portal.server.clock.advance(86400 + 1)
    report = await portal.container.janitor.run_once()

    assert report.subscriptions_expired >= 1
    async with portal.container.db.read() as session:
        row = await session.get(User, user["id"])
        reasons = (
            (
                await session.execute(
                    select(SubscriptionHistory.reason).where(SubscriptionHistory.user_id == user["id"])
                )
            )
            .scalars()
            .all()
        )
    assert row is not None and row.subscription_tier == 0 and row.subscription_expires_at is None
    assert list(reasons).count("expired") == 1


async def test_sweep_leaves_running_subscriptions_alone(portal: Portal) -> None:
    user = await portal.create_user()
    await portal.container.subscriptions.grant(actor=None, user_id=user["id"], tier=2, duration_days=2)
    portal.server.clock.advance(86400)
    await portal.container.janitor.run_once()
    async with portal.container.db.read() as session:
        row = await session.get(User, user["id"])
    assert row is not None and row.subscription_tier == 2


async def test_sweep_lifts_a_finished_timeout_but_not_a_running_one(portal: Portal) -> None:
    finished, running = await portal.create_user(), await portal.create_user()
    now = portal.server.clock.now()
    async with portal.container.db.transaction() as session:
        await session.execute(
            update(User)
            .where(User.id == finished["id"])
            .values(state=1, state_expires_at=now + timedelta(seconds=60))
        )
        await session.execute(
            update(User)
            .where(User.id == running["id"])
            .values(state=2, state_expires_at=now + timedelta(days=9))
        )
        users_changed(session, [finished["id"], running["id"]])

    portal.server.clock.advance(61)
    await portal.container.janitor.run_once()

    async with portal.container.db.read() as session:
        lifted = await session.get(User, finished["id"])
        still = await session.get(User, running["id"])
    assert lifted is not None and (lifted.state, lifted.state_expires_at) == (0, None)
    assert still is not None and still.state == 2
