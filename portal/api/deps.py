"""Typed FastAPI dependencies: the container, the caller's identity, keys and rate limits.

A route states what it needs in its signature (`user: UserDep`); the rules behind each dependency live
here once, so every route answers the same texts in the same order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from portal.container import Container
from portal.db.models import Bot
from portal.errors import AccessDenied, AuthRequired, InvalidApiKey, LevelRequired
from portal.security import SESSION_COOKIE, constant_time_equals, resolve_client_ip, sha256_hex
from portal.services.auth import ClientInfo
from portal.services.bots import is_bot_key
from portal.services.permissions import Level
from portal.services.ratelimit import Tier
from portal.services.sessions import AuthContext

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
LEVEL_TEXT = {Level.MODERATOR: "Moderator", Level.ADMIN: "Admin", Level.OWNER: "Owner"}


# Dependencies are `async def`: FastAPI runs a plain `def` dependency in a worker thread, a thread hop per
# dependency per request (docs/performance.md).


def container_of(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def get_container(request: Request) -> Container:
    return container_of(request)


ContainerDep = Annotated[Container, Depends(get_container)]


# ---- the client -------------------------------------------------------------------------------------


def client_ip(request: Request) -> str:
    """The socket peer, or the first untrusted hop of `X-Forwarded-For` when the peer is a trusted proxy."""
    peer = request.client.host if request.client else "unknown"
    trusted = container_of(request).settings.trusted_proxy_list
    return resolve_client_ip(peer, request.headers.get("x-forwarded-for"), trusted)


async def client_info(request: Request) -> ClientInfo:
    return ClientInfo(ip=client_ip(request), user_agent=request.headers.get("user-agent"))


ClientDep = Annotated[ClientInfo, Depends(client_info)]


# ---- rate limits ------------------------------------------------------------------------------------


class RateLimit:
    """Router dependency counting one request in a tier, per client IP (or per bot key for BOT)."""

    def __init__(self, tier: Tier) -> None:
        self.tier = tier

    async def __call__(self, request: Request) -> None:
        container = container_of(request)
        key = client_ip(request)
        presented = request.headers.get("x-api-key")
        if self.tier == Tier.BOT and is_bot_key(presented):
            key = "key:" + sha256_hex(presented or "")
        window = await container.rate_limiter.hit_tier(self.tier, key)
        if window is not None:
            request.state.rate_limit_headers = window.headers()


def rate_limit(tier: Tier) -> Any:
    """`dependencies=[rate_limit(Tier.AUTH)]` on a router or route."""
    return Depends(RateLimit(tier))


# ---- keys -------------------------------------------------------------------------------------------


async def require_public_key(request: Request) -> None:
    presented = request.headers.get("x-api-key") or ""
    expected = container_of(request).settings.resolved_public_api_key
    if not constant_time_equals(presented, expected):
        raise InvalidApiKey()


PublicKey = Depends(require_public_key)


async def current_bot(request: Request) -> Bot:
    """The bot behind `X-API-Key`, charged one request against its hourly quota.

    Refused keys count against the client IP until a key authenticates: once the IP has spent its budget,
    every bot-key request from it answers 429 before the key is looked up, so a right guess cannot be told
    from a wrong one (docs/decisions.md, "Reliability and security").
    """
    container = container_of(request)
    ip = client_ip(request)
    await container.rate_limiter.check_bot_key_failures(ip)
    try:
        bot = await container.bots.authenticate(request.headers.get("x-api-key"))
    except InvalidApiKey:
        await container.rate_limiter.count_bot_key_failure(ip)
        raise
    # Past the quota, the error handler puts the quota's figures in the X-RateLimit-* headers.
    await container.rate_limiter.hit(
        "BOT_HOUR", str(bot.id), limit=bot.rate_limit_per_hour, window_seconds=3600
    )
    return bot


BotDep = Annotated[Bot, Depends(current_bot)]


# ---- sessions ---------------------------------------------------------------------------------------


async def optional_auth(request: Request) -> AuthContext | None:
    cached: AuthContext | None = getattr(request.state, "auth", None)
    if cached is not None:
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    ctx = await container_of(request).sessions.authenticate(token) if token else None
    request.state.auth = ctx
    return ctx


def _check_origin(request: Request) -> None:
    """Cookie-authenticated unsafe requests from a foreign web origin are refused."""
    settings = container_of(request).settings
    if request.method in UNSAFE_METHODS and settings.refuses_origin(request.headers.get("origin")):
        raise AccessDenied("Origin not allowed")


async def current_auth(request: Request) -> AuthContext:
    """Any signed-in caller, strangers included."""
    ctx = await optional_auth(request)
    if ctx is None:
        raise AuthRequired()
    _check_origin(request)
    return ctx


# These call each other rather than chain as `Depends`: each level of a dependency tree costs FastAPI a
# resolution step on every request (docs/performance.md), and `optional_auth` remembers its answer on the
# request, so asking twice still authenticates once.


async def current_user(request: Request) -> AuthContext:
    """A registered user: strangers get 403."""
    ctx = await current_auth(request)
    if ctx.user.is_stranger:
        raise AccessDenied()
    return ctx


def require_level(level: Level) -> Callable[[Request], Awaitable[AuthContext]]:
    async def gate(request: Request) -> AuthContext:
        ctx = await current_user(request)
        if ctx.user.permission_level < level:
            raise LevelRequired(LEVEL_TEXT[level])
        return ctx

    return gate


AuthDep = Annotated[AuthContext, Depends(current_auth)]
UserDep = Annotated[AuthContext, Depends(current_user)]
AdminDep = Annotated[AuthContext, Depends(require_level(Level.ADMIN))]


# ---- cookies ----------------------------------------------------------------------------------------


def set_session_cookie(response: Response, container: Container, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=container.settings.cookie_secure,
    )


def clear_session_cookie(response: Response, container: Container) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=container.settings.cookie_secure
    )
