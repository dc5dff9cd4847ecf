"""`/v1/statistics/*`: public counts, with the public API key (01 §7; 08 §43)."""

from __future__ import annotations

from fastapi import APIRouter

from portal.api.deps import ContainerDep, PublicKey, rate_limit
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.schemas.chats import ChatStatisticsOut
from portal.schemas.statistics import AppStatisticsOut, BotStatisticsOut, UserStatisticsOut
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
    return await c.statistics.chats()


@router.get("/users", response_model=UserStatisticsOut, responses=errors(401, 429))
async def user_statistics(c: ContainerDep) -> UserStatisticsOut:
    """Registered users (strangers are not counted) by the tier in force now: an ended Trial or Premium
    counts as Basic."""
    return await c.statistics.users()


@router.get("/bots", response_model=BotStatisticsOut, responses=errors(401, 429))
async def bot_statistics(c: ContainerDep) -> BotStatisticsOut:
    """Active bots by type: official (1), verified (2), community (3)."""
    return await c.statistics.bots()


@router.get("/app", response_model=AppStatisticsOut, responses=errors(401, 429))
async def app_statistics(c: ContainerDep) -> AppStatisticsOut:
    """The application's name, version and start time, with the users, bots and chats statistics."""
    return await c.statistics.app()


@router.get("/application", response_model=AppStatisticsOut, responses=errors(401, 429))
async def application_statistics(c: ContainerDep) -> AppStatisticsOut:
    """Alias of `/v1/statistics/app`."""
    return await c.statistics.app()
