"""`/v1/admin/strangers/*`: the moderators' block list of stranger sessions (00 §3.3, §6; 08 §33)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends

from portal.api.deps import ContainerDep, rate_limit, require_level
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.schemas.chats import TargetIn
from portal.schemas.common import Message
from portal.services.permissions import Level
from portal.services.ratelimit import Tier
from portal.services.sessions import AuthContext

router = APIRouter(
    prefix="/v1/admin/strangers",
    tags=["admin-strangers"],
    dependencies=[rate_limit(Tier.ADMIN)],
    route_class=CredentialsFirstRoute,
)
ModeratorDep = Annotated[AuthContext, Depends(require_level(Level.MODERATOR))]


@router.post(
    "/block",
    response_model=Message,
    responses={
        **errors(400, 401, 403, 404, 429),
        200: {"content": {"application/json": {"example": {"message": "Stranger 42 blocked"}}}},
    },
)
async def block_stranger(
    ctx: ModeratorDep,
    c: ContainerDep,
    body: Annotated[TargetIn, Body(openapi_examples={"stranger": {"value": {"user_id": 42}}})],
) -> Message:
    """Block a stranger's session from matchmaking until that session expires (Moderator+).

    The stranger leaves every match queue and gets `ERR_STRANGER_BLOCKED` on enqueue; active direct
    chats go on. A new stranger session (a new cookie) is a new identity and is not blocked. Idempotent.
    """
    return Message(message=await c.strangers.block(body.user_id, actor=ctx.user))
