"""Subscription tiers, grants and expiry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import history as history_db
from portal.db import users as users_db
from portal.db.models import SubscriptionHistory, User
from portal.domain import MAX_REASON_LENGTH
from portal.errors import AccessDenied, BadRequest, Conflict, ErrorCode, NotFound, coded
from portal.schemas.admin_users import ActiveSubscriptionOut, ActiveSubscriptionsOut
from portal.services.audit import AuditEvent
from portal.services.base import Service
from portal.services.permissions import can_act_on


class Tier(IntEnum):
    BASIC = 0
    TRIAL = 1
    PREMIUM = 2
    LIFETIME = 3


TRIAL_DAYS = 7
TIER_NAMES = {"BASIC": Tier.BASIC, "TRIAL": Tier.TRIAL, "PREMIUM": Tier.PREMIUM, "LIFETIME": Tier.LIFETIME}


def effective_tier(user: User, now: datetime) -> int:
    """The tier in force now: a Trial or Premium past its expiry counts as Basic."""
    timed = user.subscription_tier in (Tier.TRIAL, Tier.PREMIUM)
    if timed and user.subscription_expires_at is not None and user.subscription_expires_at <= now:
        return Tier.BASIC
    return user.subscription_tier


def effective_expiry(user: User, now: datetime) -> datetime | None:
    return user.subscription_expires_at if effective_tier(user, now) in (Tier.TRIAL, Tier.PREMIUM) else None


def is_premium(user: User, now: datetime) -> bool:
    return effective_tier(user, now) >= Tier.TRIAL


def parse_tier(value: int | str) -> Tier:
    """Accept 1–3 or the names (`"TRIAL"` dispatches the trial flow)."""
    if isinstance(value, bool):
        raise BadRequest("tier must be one of: 1, 2, 3, TRIAL")
    if isinstance(value, int) and value in (1, 2, 3):
        return Tier(value)
    if isinstance(value, str):
        name = value.strip().upper()
        if name.isdigit() and int(name) in (1, 2, 3):
            return Tier(int(name))
        if name in TIER_NAMES and name != "BASIC":
            return TIER_NAMES[name]
    raise BadRequest("tier must be one of: 1, 2, 3, TRIAL")


@dataclass(frozen=True)
class Grant:
    tier: Tier
    expires_at: datetime | None
    message: str


class SubscriptionService(Service):
    async def apply_expiry(self, session: AsyncSession, user: User, now: datetime) -> bool:
        """Write the downgrade of an expired Trial/Premium (lazily on read, and by the sweep)."""
        if effective_tier(user, now) == user.subscription_tier:
            return False
        old = user.subscription_tier
        # A conditional write, so the lazy path and the sweep racing on one user write one history
        # row: whoever loses finds the tier already changed and matches no row.
        if not await users_db.downgrade_expired(session, user, now):
            await session.refresh(user)
            return False
        await history_db.add(
            session,
            SubscriptionHistory(
                user_id=user.id,
                old_tier=old,
                new_tier=Tier.BASIC,
                reason="expired",
                granted_by_id=None,
                created_at=now,
            ),
        )
        return True

    async def grant(
        self,
        *,
        actor: User | None,
        user_id: int,
        tier: int | str,
        duration_days: int | None = None,
        reason: str | None = None,
    ) -> Grant:
        """Grant a tier. `actor=None` is the CLI/system: no level rules, but every validation."""
        wanted = parse_tier(tier)
        if wanted == Tier.PREMIUM:
            if duration_days is None:
                raise BadRequest("duration_days is required")
            if isinstance(duration_days, bool) or not 1 <= duration_days <= 3650:
                raise BadRequest("duration_days must be between 1 and 3650")
        if reason is not None and not reason:
            raise BadRequest("reason must be at least 1 character")
        if reason is not None and len(reason) > MAX_REASON_LENGTH:
            raise BadRequest(f"reason must be at most {MAX_REASON_LENGTH} characters")
        now = self.c.clock.now()
        async with self.c.db.transaction() as session:
            user = await self._target(session, actor, user_id, now)
            grant = self._plan(user, wanted, duration_days, now)
            old_tier = user.subscription_tier
            await self._set_tier(session, actor, user, grant.tier, grant.expires_at, reason, now)
            user.trial_used = user.trial_used or grant.tier == Tier.TRIAL
            await self.c.audit.record(
                session,
                AuditEvent.SUBSCRIPTION_GRANT,
                actor=actor,
                on=("user", user.id),
                old_tier=old_tier,
                new_tier=int(grant.tier),
                duration_days=duration_days,
                reason=reason,
            )
        return grant

    async def revoke(self, *, actor: User | None, user_id: int, reason: str) -> str:
        """Back to Basic (00 §3.6, 06 §8.2). A user already on Basic (an expired subscription included)
        gets the same 200 and nothing is written."""
        if not isinstance(reason, str) or not reason:
            raise BadRequest(
                "reason is required" if reason is None else "reason must be at least 1 character"
            )
        if len(reason) > MAX_REASON_LENGTH:
            raise BadRequest(f"reason must be at most {MAX_REASON_LENGTH} characters")
        now = self.c.clock.now()
        async with self.c.db.transaction() as session:
            user = await self._target(session, actor, user_id, now)
            old_tier = user.subscription_tier
            if old_tier != Tier.BASIC:
                await self._set_tier(session, actor, user, Tier.BASIC, None, reason, now)
                await self.c.audit.record(
                    session,
                    AuditEvent.SUBSCRIPTION_REVOKE,
                    actor=actor,
                    on=("user", user.id),
                    old_tier=old_tier,
                    new_tier=int(Tier.BASIC),
                    reason=reason,
                )
        return f"Subscription revoked for user {user_id}"

    async def _target(self, session: AsyncSession, actor: User | None, user_id: int, now: datetime) -> User:
        """The registered user whose tier changes (locked), with an expired subscription applied first;
        an actor (not the CLI) must be able to act on them and may not change their own."""
        user = await users_db.get_for_update(session, user_id)
        if user is None or user.is_stranger:
            raise NotFound("User")
        if actor is not None and (actor.id == user.id or not can_act_on(actor, user)):
            raise AccessDenied()
        await self.apply_expiry(session, user, now)
        return user

    async def _set_tier(
        self,
        session: AsyncSession,
        actor: User | None,
        user: User,
        tier: Tier,
        expires_at: datetime | None,
        reason: str | None,
        now: datetime,
    ) -> None:
        """Change the tier and keep the history row that says who did it and why."""
        old_tier = user.subscription_tier
        user.subscription_tier = tier
        user.subscription_expires_at = expires_at
        user.subscription_granted_by = actor.id if actor else None
        user.updated_at = now
        await history_db.add(
            session,
            SubscriptionHistory(
                user_id=user.id,
                old_tier=old_tier,
                new_tier=tier,
                reason=reason,
                granted_by_id=actor.id if actor else None,
                created_at=now,
            ),
        )

    async def active(
        self, *, tier: int | None = None, q: str | None = None, offset: int = 0, limit: int | None = None
    ) -> ActiveSubscriptionsOut:
        """Every registered user above Basic whose subscription has not ended (expired ones are left out
        before the sweep writes them down), by id."""
        if tier is not None and (isinstance(tier, bool) or tier not in (1, 2, 3)):
            raise BadRequest("tier must be one of: 1, 2, 3")
        now = self.c.clock.now()
        async with self.c.db.read() as session:
            rows = await users_db.active_subscribers(session, now, tier=tier, q=q, offset=offset, limit=limit)
        return ActiveSubscriptionsOut(
            users=[
                ActiveSubscriptionOut(
                    id=u.id,
                    name=u.username,
                    tier=u.subscription_tier,
                    expires_at=u.subscription_expires_at if u.subscription_tier != Tier.LIFETIME else None,
                    is_active=True,
                )
                for u in rows
            ]
        )

    def _plan(self, user: User, wanted: Tier, duration_days: int | None, now: datetime) -> Grant:
        current = user.subscription_tier  # expiry already applied
        if current == Tier.LIFETIME and wanted != Tier.LIFETIME:
            raise Conflict("User already has a lifetime subscription")
        if wanted == Tier.TRIAL:
            if user.trial_used:
                raise coded(ErrorCode.TRIAL_ALREADY_USED, 409)
            if current == Tier.PREMIUM:
                raise Conflict("User already has an active subscription")
            return Grant(
                Tier.TRIAL,
                now + timedelta(days=TRIAL_DAYS),
                f"Subscription granted to user {user.id} ({TRIAL_DAYS}-day trial)",
            )
        if wanted == Tier.PREMIUM:
            assert duration_days is not None
            start = (
                user.subscription_expires_at
                if current == Tier.PREMIUM and user.subscription_expires_at
                else now
            )
            return Grant(
                Tier.PREMIUM,
                start + timedelta(days=duration_days),
                f"Subscription granted to user {user.id} for {duration_days} days",
            )
        return Grant(Tier.LIFETIME, None, f"Subscription granted to user {user.id} (lifetime)")
