"""`/v1/admin/subscriptions/*` (00 §3.6; 06 §8; 02 §6.1; 08 §58)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from portal.api.deps import AdminDep, ContainerDep, rate_limit
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.schemas.admin_users import ActiveSubscriptionsOut, GrantIn, RevokeIn
from portal.schemas.common import Message, Offset, int_range, text_length
from portal.services.ratelimit import Tier

router = APIRouter(
    prefix="/v1/admin/subscriptions",
    tags=["admin-subscriptions"],
    dependencies=[rate_limit(Tier.ADMIN)],
    route_class=CredentialsFirstRoute,
)


@router.post(
    "/grant",
    response_model=Message,
    responses={
        **errors(400, 401, 403, 404, 409, 429),
        200: {
            "content": {
                "application/json": {"example": {"message": "Subscription granted to user 42 for 30 days"}}
            }
        },
    },
)
async def grant(
    ctx: AdminDep,
    c: ContainerDep,
    body: Annotated[
        GrantIn,
        Body(
            openapi_examples={
                "premium": {
                    "value": {"user_id": 42, "tier": 2, "duration_days": 30, "reason": "Contest winner"}
                },
                "lifetime": {"value": {"user_id": 42, "tier": 3, "reason": "Early supporter"}},
                "trial": {"value": {"user_id": 42, "tier": "TRIAL", "reason": "New user onboarding"}},
            }
        ),
    ],
) -> Message:
    """Grant Trial (7 days, once per user: 409 `ERR_TRIAL_ALREADY_USED`), Premium (1–3650 days; extends a
    running Premium from its expiry) or Lifetime (Admin+, over users below you). Trial or Premium to a
    Lifetime user is 409."""
    granted = await c.subscriptions.grant(
        actor=ctx.user,
        user_id=body.user_id,
        tier=body.tier,
        duration_days=body.duration_days,
        reason=body.reason,
    )
    return Message(message=granted.message)


@router.post(
    "/revoke",
    response_model=Message,
    responses={
        **errors(400, 401, 403, 404, 429),
        200: {"content": {"application/json": {"example": {"message": "Subscription revoked for user 42"}}}},
    },
)
async def revoke(
    ctx: AdminDep,
    c: ContainerDep,
    body: Annotated[
        RevokeIn, Body(openapi_examples={"refund": {"value": {"user_id": 42, "reason": "Refunded"}}})
    ],
) -> Message:
    """Set the user back to Basic (Admin+, over users below you); a Basic user gets the same 200."""
    return Message(
        message=await c.subscriptions.revoke(actor=ctx.user, user_id=body.user_id, reason=body.reason)
    )


@router.get("/active", response_model=ActiveSubscriptionsOut, responses=errors(400, 401, 403, 429))
async def active(
    _: AdminDep,
    c: ContainerDep,
    tier: Annotated[int | None, Query(), int_range(1, 3)] = None,
    q: Annotated[str | None, Query(), text_length(1, 32)] = None,
    offset: Annotated[Offset, Query()] = 0,
    limit: Annotated[int | None, Query(), int_range(1, 1000)] = None,
) -> ActiveSubscriptionsOut:
    """Every user above Basic whose subscription has not ended, by id (Admin+). `tier` filters; `q`
    (part of the username), `offset` and `limit` are optional and off by default."""
    return await c.subscriptions.active(tier=tier, q=q, offset=offset, limit=limit)
