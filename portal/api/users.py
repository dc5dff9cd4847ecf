"""`/v1/users/*`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request

from portal.api.deps import (
    ContainerDep,
    UserDep,
    optional_auth,
    rate_limit,
    require_public_key,
)
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.db.models import User
from portal.errors import AuthRequired
from portal.schemas.common import Offset, int_range, text_length
from portal.schemas.users import (
    DestroyedOut,
    ModerationActionOut,
    OwnedChatOut,
    SessionsOut,
    SubscriptionOut,
    UpdateMeIn,
    UpdateMeOut,
    UserDetail,
    UserPrivate,
    UserPublic,
    UserSearchOut,
)
from portal.services.ratelimit import Tier

router = APIRouter(prefix="/v1/users", tags=["users"], route_class=CredentialsFirstRoute)
AUTH = [rate_limit(Tier.AUTH)]
PUBLIC = [rate_limit(Tier.PUBLIC)]


@router.get("/me", response_model=UserPrivate, dependencies=AUTH, responses=errors(401, 403, 429))
async def get_me(ctx: UserDep, c: ContainerDep) -> UserPrivate:
    """The signed-in user's full private profile."""
    return await c.users.me(ctx.user)


@router.post(
    "/me/update", response_model=UpdateMeOut, dependencies=AUTH, responses=errors(400, 401, 403, 429)
)
async def update_me(
    ctx: UserDep,
    c: ContainerDep,
    body: Annotated[
        UpdateMeIn,
        Body(
            openapi_examples={
                "rename": {"value": {"username": "championoftheworld"}},
                "avatar": {"value": {"avatar_source": "discord"}},
            }
        ),
    ],
) -> UpdateMeOut:
    """Change `username` and/or `avatar_source`; each field succeeds or fails on its own."""
    return await c.users.update_me(ctx.user, {name: getattr(body, name) for name in body.model_fields_set})


@router.get("/me/sessions", response_model=SessionsOut, dependencies=AUTH, responses=errors(401, 403, 429))
async def my_sessions(ctx: UserDep, c: ContainerDep) -> SessionsOut:
    """Active sessions (with `is_current`) and ended ones."""
    return await c.sessions.list_for(ctx)


@router.post(
    "/me/sessions/{token_suffix}/destroy",
    response_model=DestroyedOut,
    dependencies=AUTH,
    responses=errors(400, 401, 403, 404, 429),
)
async def destroy_session(token_suffix: str, ctx: UserDep, c: ContainerDep) -> DestroyedOut:
    """Revoke another of your sessions by its 6-character suffix (use logout for the current one)."""
    await c.sessions.destroy_by_suffix(ctx, token_suffix)
    return DestroyedOut(destroyed=True)


@router.get(
    "/me/subscription", response_model=SubscriptionOut, dependencies=AUTH, responses=errors(401, 403, 429)
)
async def my_subscription(ctx: UserDep, c: ContainerDep) -> SubscriptionOut:
    return await c.users.subscription(ctx.user)


@router.get(
    "/me/punishments",
    response_model=list[ModerationActionOut],
    dependencies=AUTH,
    responses=errors(400, 401, 403, 429),
)
async def my_punishments(
    ctx: UserDep,
    c: ContainerDep,
    offset: Annotated[Offset, Query()] = 0,
    limit: Annotated[int, Query(), int_range(1, 100)] = 50,
) -> list[ModerationActionOut]:
    """Your own moderation history, newest first."""
    return await c.users.punishments(ctx.user, offset=offset, limit=limit)


@router.get(
    "/me/chats", response_model=list[OwnedChatOut], dependencies=AUTH, responses=errors(401, 403, 429)
)
async def my_chats(ctx: UserDep, c: ContainerDep) -> list[OwnedChatOut]:
    """Group chats you own."""
    return await c.users.owned_chats(ctx.user)


@router.get("/search", response_model=UserSearchOut, dependencies=AUTH, responses=errors(400, 401, 403, 429))
async def search_users(
    ctx: UserDep,
    c: ContainerDep,
    q: Annotated[str, Query(), text_length(1, 32)],
    offset: Annotated[Offset, Query()] = 0,
    limit: Annotated[int, Query(), int_range(1, 100)] = 25,
) -> UserSearchOut:
    """Usernames containing `q` (prefix matches first); detail rows for users you can act on."""
    return await c.users.search(ctx.user, q=q, offset=offset, limit=limit)


@router.get(
    "/profile/{username}",
    response_model=UserDetail | UserPublic,
    dependencies=PUBLIC,
    responses=errors(401, 403, 404, 429),
)
async def profile_by_username(username: str, ctx: UserDep, c: ContainerDep) -> UserDetail | UserPublic:
    """A profile by username: public, or the detail shape when you can act on the user."""
    return await c.users.profile(ctx.user, username=username)


async def profile_viewer(request: Request) -> User | None:
    """Who reads a profile by id: a session cookie or the public key, checked before the id
    itself. The session, not the key, decides whether the detail shape may be sent; strangers
    and key-only callers are anonymous viewers."""
    ctx = await optional_auth(request)
    if ctx is not None:
        return None if ctx.user.is_stranger else ctx.user
    if request.headers.get("x-api-key") is None:
        raise AuthRequired()
    await require_public_key(request)
    return None


@router.get(
    "/{user_id}",
    response_model=UserDetail | UserPublic,
    dependencies=PUBLIC,
    responses=errors(400, 401, 404, 429),
)
async def profile_by_id(
    user_id: int, viewer: Annotated[User | None, Depends(profile_viewer)], c: ContainerDep
) -> UserDetail | UserPublic:
    """A profile by id, with a session cookie or the public API key."""
    return await c.users.profile(viewer, user_id=user_id)
