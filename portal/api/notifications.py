"""`/v1/notifications/*`: the signed-in user's own notifications (02 §5; 00 §6). Strangers get 403."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from portal.api.deps import ContainerDep, UserDep, rate_limit
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.schemas.common import Offset, int_range
from portal.schemas.notifications import NotificationListOut, NotificationOut, ReadAllOut, UnreadCountOut
from portal.services.ratelimit import Tier

router = APIRouter(
    prefix="/v1/notifications",
    tags=["notifications"],
    dependencies=[rate_limit(Tier.AUTH)],
    route_class=CredentialsFirstRoute,
)


@router.get("", response_model=NotificationListOut, responses=errors(400, 401, 403, 429))
async def list_notifications(
    ctx: UserDep,
    c: ContainerDep,
    offset: Annotated[Offset, Query(description="items to skip")] = 0,
    limit: Annotated[int, Query(description="1–100"), int_range(1, 100)] = 50,
) -> NotificationListOut:
    """Your notifications, newest first, with `total` and `unread` (for the badge)."""
    return await c.notifications.list_for(ctx.user, offset=offset, limit=limit)


@router.get("/unread-count", response_model=UnreadCountOut, responses=errors(401, 403, 429))
async def unread_count(ctx: UserDep, c: ContainerDep) -> UnreadCountOut:
    """How many of your notifications are unread."""
    return await c.notifications.unread_count(ctx.user)


@router.post("/read-all", response_model=ReadAllOut, responses=errors(401, 403, 429))
async def read_all(ctx: UserDep, c: ContainerDep) -> ReadAllOut:
    """Mark all your unread notifications read; `updated` is how many this call changed (0 is fine)."""
    return await c.notifications.read_all(ctx.user)


@router.post(
    "/{notification_id}/read",
    response_model=NotificationOut,
    responses={
        **errors(400, 401, 403, 429),
        404: {
            "description": "`ERR_NOTIFICATION_NOT_FOUND`: no such notification, or not yours",
            "content": {"application/json": {"example": {"error": "ERR_NOTIFICATION_NOT_FOUND"}}},
        },
        409: {
            "description": "`ERR_NOTIFICATION_ALREADY_READ`: you read it before (`read_at` is kept)",
            "content": {"application/json": {"example": {"error": "ERR_NOTIFICATION_ALREADY_READ"}}},
        },
    },
)
async def mark_read(notification_id: int, ctx: UserDep, c: ContainerDep) -> NotificationOut:
    """Mark one of your notifications read; answers it with `read_at` set."""
    return await c.notifications.mark_read(ctx.user, notification_id)
