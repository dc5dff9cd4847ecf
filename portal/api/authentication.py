"""`/v1/authentication/*`."""

from __future__ import annotations

from fastapi import APIRouter, Response

from portal.api.deps import (
    AuthDep,
    BotDep,
    ClientDep,
    ContainerDep,
    PublicKey,
    clear_session_cookie,
    rate_limit,
    set_session_cookie,
)
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.schemas.auth import (
    BotCodeIn,
    BotCodeOut,
    BotLoginCodeOut,
    CodeRequestIn,
    CodeRequestOut,
    LookupIn,
    LookupOut,
    StrangerOut,
    VerifyIn,
    VerifyOut,
)
from portal.schemas.common import Message
from portal.services.auth import BotIdentity
from portal.services.ratelimit import Tier

router = APIRouter(
    prefix="/v1/authentication",
    tags=["authentication"],
    dependencies=[rate_limit(Tier.LOGIN)],
    route_class=CredentialsFirstRoute,
)
bot_router = APIRouter(
    prefix="/v1/authentication/bot",
    tags=["authentication"],
    dependencies=[rate_limit(Tier.BOT)],
    route_class=CredentialsFirstRoute,
)


@router.post(
    "/lookup", response_model=LookupOut, dependencies=[PublicKey], responses=errors(400, 401, 404, 429)
)
async def lookup(body: LookupIn, c: ContainerDep) -> LookupOut:
    """Linked platforms of a username, so the login page can offer them."""
    return await c.auth.lookup(body.username)


@router.post(
    "/request", response_model=CodeRequestOut, dependencies=[PublicKey], responses=errors(400, 401, 429)
)
async def request_code(body: CodeRequestIn, c: ContainerDep, client: ClientDep) -> CodeRequestOut:
    """Generate a login code bound to this IP; the platform bot fetches and delivers it."""
    return await c.auth.request_code(body.platform, body.platform_user_id, client)


@router.post(
    "/verify", response_model=VerifyOut, dependencies=[PublicKey], responses=errors(400, 401, 403, 429)
)
async def verify(body: VerifyIn, c: ContainerDep, client: ClientDep, response: Response) -> VerifyOut:
    """Exchange a code for a `psession` cookie; a new identity gets an account (`user_created`)."""
    result = await c.auth.verify(body.code, client)
    set_session_cookie(response, c, result.session.token, result.max_age)
    assert isinstance(result.body, VerifyOut)
    return result.body


@router.post("/logout", response_model=Message, responses=errors(401, 403, 429))
async def logout(ctx: AuthDep, c: ContainerDep, response: Response) -> Message:
    """End the current session and clear the cookie."""
    await c.auth.logout(ctx)
    clear_session_cookie(response, c)
    return Message(message="Logged out")


@router.post("/stranger", response_model=StrangerOut, dependencies=[PublicKey], responses=errors(401, 429))
async def stranger(c: ContainerDep, client: ClientDep, response: Response) -> StrangerOut:
    """An anonymous 24-hour session for matchmaking."""
    result = await c.auth.stranger(client)
    set_session_cookie(response, c, result.session.token, result.max_age)
    assert isinstance(result.body, StrangerOut)
    return result.body


def _identity(body: BotCodeIn) -> BotIdentity:
    return BotIdentity(
        platform=body.platform,
        platform_user_id=body.platform_user_id,
        platform_username=body.platform_username,
        platform_avatar_url=body.platform_avatar_url,
    )


@bot_router.post("/send-code", response_model=BotCodeOut, responses=errors(400, 401, 403, 404, 429))
async def bot_send_code(body: BotCodeIn, bot: BotDep, c: ContainerDep) -> BotCodeOut:
    """Quick login for an existing user: a code the bot DMs (same code while it lives)."""
    return await c.auth.bot_send_code(bot, _identity(body))


@bot_router.post("/login-code", response_model=BotLoginCodeOut, responses=errors(400, 401, 403, 429))
async def bot_login_code(body: BotCodeIn, bot: BotDep, c: ContainerDep) -> BotLoginCodeOut:
    """The newest pending web code of an identity (null when there is none) and, in `pending`, every
    live one (newest first, at most 5): each is bound to the IP that asked, so the bot delivers them all."""
    return await c.auth.bot_login_code(bot, _identity(body))
