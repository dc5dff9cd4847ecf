"""`GET /v1/announcements`: the announcements showing now, for anyone (00 §6; 08 §41, §61: PUBLIC tier)."""

from __future__ import annotations

from fastapi import APIRouter

from portal.api.deps import ContainerDep, rate_limit
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.schemas.notifications import AnnouncementOut
from portal.services.ratelimit import Tier

router = APIRouter(
    prefix="/v1/announcements",
    tags=["announcements"],
    dependencies=[rate_limit(Tier.PUBLIC)],
    route_class=CredentialsFirstRoute,
)


@router.get(
    "",
    response_model=list[AnnouncementOut],
    responses={
        **errors(429),
        200: {
            "content": {
                "application/json": {
                    "example": [
                        {
                            "id": 1,
                            "title": "Scheduled maintenance",
                            "body": "Portal restarts at 02:00 UTC for about five minutes.",
                            "level": "warning",
                            "starts_at": "2026-04-04T10:00:00Z",
                            "ends_at": "2026-04-05T02:10:00Z",
                            "created_at": "2026-04-04T09:58:00Z",
                        }
                    ]
                }
            }
        },
    },
)
async def list_announcements(c: ContainerDep) -> list[AnnouncementOut]:
    """Announcements with `starts_at` ≤ now and `ends_at` null or later, newest first. No authentication."""
    return await c.announcements.active()
