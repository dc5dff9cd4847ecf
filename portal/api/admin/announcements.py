"""`/v1/admin/announcements/*`: create and end announcements (Admin+; 00 §6; 08 §41)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from portal.api.deps import AdminDep, ContainerDep, rate_limit
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.schemas.notifications import AnnouncementOut, CreateAnnouncementIn
from portal.services.ratelimit import Tier

router = APIRouter(
    prefix="/v1/admin/announcements",
    tags=["admin-announcements"],
    dependencies=[rate_limit(Tier.ADMIN)],
    route_class=CredentialsFirstRoute,
)


@router.post("", response_model=AnnouncementOut, responses=errors(400, 401, 403, 429))
async def create_announcement(
    ctx: AdminDep,
    c: ContainerDep,
    body: Annotated[
        CreateAnnouncementIn,
        Body(
            openapi_examples={
                "maintenance": {
                    "value": {
                        "title": "Scheduled maintenance",
                        "body": "Portal restarts at 02:00 UTC for about five minutes.",
                        "level": "warning",
                        "ends_at": "2026-04-05T02:10:00Z",
                    }
                }
            }
        ),
    ],
) -> AnnouncementOut:
    """Create an announcement: `starts_at` defaults to now, `ends_at` to none (shown until ended).
    Audit: `ANNOUNCEMENT_CREATE`."""
    return await c.announcements.create(body, actor=ctx.user)


@router.post(
    "/{announcement_id}/end", response_model=AnnouncementOut, responses=errors(400, 401, 403, 404, 429)
)
async def end_announcement(announcement_id: int, ctx: AdminDep, c: ContainerDep) -> AnnouncementOut:
    """Stop showing an announcement now. Idempotent: ending an ended one answers it unchanged.
    Audit: `ANNOUNCEMENT_END` (once)."""
    return await c.announcements.end(announcement_id, actor=ctx.user)
