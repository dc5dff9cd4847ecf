"""`/v1/statistics/*`: public counts, with the public API key."""

from __future__ import annotations

from fastapi import APIRouter

from portal.api.deps import ContainerDep, PublicKey, rate_limit
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.schemas.chats import ChatStatisticsOut
from portal.services.ratelimit import Tier

router = APIRouter(
    prefix="/v1/statistics",
    tags=["statistics"],
    dependencies=[rate_limit(Tier.PUBLIC), PublicKey],
    route_class=CredentialsFirstRoute,
)


@router.get("/chats", response_model=ChatStatisticsOut, responses=errors(401, 429))
async def chat_statistics(c: ContainerDep) -> ChatStatisticsOut:
    """Group chats: `public_count` = official + public, `total_count` = public + private."""
    return await c.chat_views.statistics()
