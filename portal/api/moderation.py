"""Per-chat moderation (`Portal — Moderation`): kick now; mute, ban, timeout, warn come with messaging."""

from __future__ import annotations

from fastapi import APIRouter

from portal.api.deps import ContainerDep, UserDep, rate_limit
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.schemas.chats import Ok, TargetIn
from portal.services.ratelimit import Tier

router = APIRouter(
    prefix="/v1/portal/chats",
    tags=["moderation"],
    dependencies=[rate_limit(Tier.AUTH)],
    route_class=CredentialsFirstRoute,
)


@router.post("/{chat_id}/kick", response_model=Ok, responses=errors(400, 401, 403, 404, 409, 429))
async def kick(chat_id: int, body: TargetIn, ctx: UserDep, c: ContainerDep) -> Ok:
    """Remove a member or viewer from the chat (owner, or someone who outranks the owner)."""
    await c.chat_moderation.kick(ctx.user, chat_id, body.user_id)
    return Ok()
