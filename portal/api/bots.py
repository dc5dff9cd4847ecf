"""`/v1/bots/*` (browsing, PUBLIC tier; search is AUTH) and `/v1/bot/*` (the bot's own API, BOT tier)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Request

from portal.api.deps import (
    BotDep,
    ContainerDep,
    PublicKey,
    UserDep,
    optional_auth,
    rate_limit,
    require_public_key,
)
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.db.models import User
from portal.errors import AuthRequired
from portal.schemas.bots import (
    SEARCH_Q_MAX,
    BatchIn,
    BotDoneOut,
    BotPrivate,
    BotPublic,
    BotSearchOut,
    BotSelfUpdateIn,
)
from portal.schemas.common import Offset, Platform, PlatformUserId, int_range, text_length
from portal.schemas.users import UserPrivate
from portal.services.ratelimit import Tier

router = APIRouter(prefix="/v1/bots", tags=["bots"], route_class=CredentialsFirstRoute)
bot_router = APIRouter(
    prefix="/v1/bot",
    tags=["bots-management"],
    dependencies=[rate_limit(Tier.BOT)],
    route_class=CredentialsFirstRoute,
)
PUBLIC = [rate_limit(Tier.PUBLIC)]
AUTH = [rate_limit(Tier.AUTH)]


# ---- browsing -----------------------------------------------------------------------------------------


@router.get(
    "", response_model=list[BotPublic], dependencies=[*PUBLIC, PublicKey], responses=errors(400, 401, 429)
)
async def list_bots(
    c: ContainerDep,
    offset: Annotated[Offset, Query()] = 0,
    limit: Annotated[int, Query(), int_range(1, 100)] = 50,
) -> list[BotPublic]:
    """Active bots by id, as public objects (public API key)."""
    return await c.bots.list_public(offset=offset, limit=limit)


@router.get("/search", response_model=BotSearchOut, dependencies=AUTH, responses=errors(400, 401, 403, 429))
async def search_bots(
    ctx: UserDep,
    c: ContainerDep,
    q: Annotated[str | None, Query(), text_length(0, SEARCH_Q_MAX)] = None,
    owner: Annotated[int | None, Query()] = None,
    bot_type: Annotated[int | None, Query(), int_range(1, 3)] = None,
    offset: Annotated[int, Query(), int_range(0, 10_000)] = 0,
    limit: Annotated[int, Query(), int_range(1, 100)] = 25,
) -> BotSearchOut:
    """Bots whose name contains `q` or whose id is `q`; Admin+ get private objects and inactive bots."""
    return await c.bots.search(ctx.user, q=q, owner_id=owner, bot_type=bot_type, offset=offset, limit=limit)


async def bot_viewer(request: Request) -> User | None:
    """A session cookie or the public key (08 §34); only an Admin+ session sees the private object."""
    ctx = await optional_auth(request)
    if ctx is not None:
        return None if ctx.user.is_stranger else ctx.user
    if request.headers.get("x-api-key") is None:
        raise AuthRequired()
    await require_public_key(request)
    return None


@router.get(
    "/{bot_id}",
    response_model=BotPrivate | BotPublic,
    dependencies=PUBLIC,
    responses=errors(400, 401, 404, 429),
)
async def get_bot(
    bot_id: int, viewer: Annotated[User | None, Depends(bot_viewer)], c: ContainerDep
) -> BotPrivate | BotPublic:
    """One bot, with a session cookie or the public API key; inactive bots are 404 below Admin."""
    return await c.bots.view(viewer, bot_id)


# ---- the bot's own API --------------------------------------------------------------------------------


@bot_router.get("/me", response_model=BotPrivate, responses=errors(401, 429))
async def bot_me(bot: BotDep, c: ContainerDep) -> BotPrivate:
    """The calling bot's full object."""
    return await c.bots.me(bot)


@bot_router.post("/me/update", response_model=BotDoneOut, responses=errors(400, 401, 429))
async def bot_update_me(
    bot: BotDep,
    c: ContainerDep,
    body: Annotated[
        BotSelfUpdateIn,
        Body(
            openapi_examples={
                "stats": {
                    "value": {
                        "name": "Portal Bot v2",
                        "group_ids": ["1229891286278865008", "987654321098765432"],
                        "users": 5000,
                        "latency_ms": 42.5,
                    }
                }
            }
        ),
    ],
) -> BotDoneOut:
    """Report info (`name`, `avatar_url`) and stats (`group_ids` → `groups`, `users`, `latency_ms`);
    only the fields sent change, and `last_activity_at` is refreshed on every call."""
    return await c.bots.update_me(bot, body)


@bot_router.post("/batch", response_model=BotDoneOut, responses=errors(400, 401, 429))
async def bot_batch(
    bot: BotDep,
    c: ContainerDep,
    body: Annotated[
        BatchIn,
        Body(
            openapi_examples={
                "commands": {
                    "value": {
                        "commands": [
                            {
                                "command": "help",
                                "count": 1,
                                "user_id": 42,
                                "group_id": 10,
                                "timestamp": "2026-03-19T10:30:00Z",
                            },
                            {"command": "stats", "count": 3},
                        ]
                    }
                }
            }
        ),
    ],
) -> BotDoneOut:
    """Command executions (1–1000 records), summed per command and UTC day of `timestamp` (default now)."""
    return await c.bots.batch(bot, body)


@bot_router.get(
    "/users/{platform}/{platform_user_id}",
    response_model=UserPrivate,
    responses=errors(400, 401, 403, 404, 429),
)
async def bot_lookup_user(
    platform: Annotated[Platform, Path()],
    platform_user_id: Annotated[PlatformUserId, Path()],
    bot: BotDep,
    c: ContainerDep,
) -> UserPrivate:
    """The private profile of the user behind an identity on the bot's own platform."""
    return await c.bots.lookup_user(bot, platform, platform_user_id)
