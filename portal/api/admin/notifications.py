"""`POST /v1/admin/notifications`: a targeted or broadcast notification (Admin+; 00 §6; 08 §41)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from portal.api.deps import AdminDep, ContainerDep, rate_limit
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.schemas.notifications import NotificationSentOut, SendNotificationIn
from portal.services.ratelimit import Tier

router = APIRouter(
    prefix="/v1/admin/notifications",
    tags=["admin-notifications"],
    dependencies=[rate_limit(Tier.ADMIN)],
    route_class=CredentialsFirstRoute,
)


@router.post("", response_model=NotificationSentOut, responses=errors(400, 401, 403, 404, 429))
async def send_notification(
    ctx: AdminDep,
    c: ContainerDep,
    body: Annotated[
        SendNotificationIn,
        Body(
            openapi_examples={
                "targeted": {
                    "value": {
                        "title": "Your chat was restored",
                        "body": "An admin restored the chat you reported.",
                        "type": "success",
                        "user_ids": [12, 42],
                    }
                },
                "everyone": {
                    "value": {
                        "title": "Scheduled maintenance",
                        "body": "Portal restarts at 02:00 UTC for about five minutes.",
                        "type": "warning",
                    }
                },
            }
        ),
    ],
) -> NotificationSentOut:
    """Send a notification to `user_ids` (1–1000 registered users; any unknown id: 404 "User not found"
    and nothing is sent) or, without `user_ids`, to every registered user. Each recipient's connected
    sockets receive `notification:new`. Audit: `NOTIFICATION_SEND` or `NOTIFICATION_BROADCAST`."""
    return await c.notifications.send(body, actor=ctx.user)
