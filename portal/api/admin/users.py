"""`/v1/admin/users/*`: permission levels and platform punishments (00 §3.5, §6; 06 §9, §11; 08 §37, §40)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends

from portal.api.deps import AdminDep, ContainerDep, rate_limit, require_level
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.schemas.admin_users import (
    AdminBanIn,
    AdminReasonIn,
    AdminTimeoutIn,
    PermissionIn,
    PunishmentOut,
    UnbanOut,
)
from portal.schemas.common import Message
from portal.services.permissions import Level
from portal.services.ratelimit import Tier
from portal.services.sessions import AuthContext

router = APIRouter(
    prefix="/v1/admin/users",
    tags=["admin-users"],
    dependencies=[rate_limit(Tier.ADMIN)],
    route_class=CredentialsFirstRoute,
)
ModeratorDep = Annotated[AuthContext, Depends(require_level(Level.MODERATOR))]
ERRORS = errors(400, 401, 403, 404, 429)


@router.post(
    "/{user_id}/permission",
    response_model=Message,
    responses={
        **ERRORS,
        200: {
            "content": {"application/json": {"example": {"message": "Permission level for user 42 set to 1"}}}
        },
    },
)
async def set_permission(
    user_id: int,
    ctx: AdminDep,
    c: ContainerDep,
    body: Annotated[
        PermissionIn,
        Body(
            openapi_examples={
                "moderator": {"value": {"permission_level": 1, "reason": "Helps in the lobby"}},
                "demote": {"value": {"permission_level": 0}},
            }
        ),
    ],
) -> Message:
    """Set a user's permission level (Admin+). Admins assign up to User, Owners up to Admin; nobody changes
    their own; the target must be below you (Owners may act on Owners). The same level again is a 200 with
    no history row. A change ends the user's sessions (`session:ended {reason:"permission_changed"}`)."""
    message = await c.admin_users.set_permission(user_id, body.permission_level, body.reason, actor=ctx.user)
    return Message(message=message)


@router.post("/{user_id}/ban", response_model=PunishmentOut, responses=ERRORS)
async def ban_user(
    user_id: int,
    ctx: AdminDep,
    c: ContainerDep,
    body: Annotated[
        AdminBanIn,
        Body(
            openapi_examples={
                "permanent": {"value": {"reason": "Repeated harassment"}},
                "week": {"value": {"reason": "Spam wave", "duration": 604800}},
            }
        ),
    ],
) -> PunishmentOut:
    """Ban from the platform (Admin+): 0 or no `duration` is permanent, else it lifts itself. Every session
    of the user ends (`session:ended {reason:"banned"}`) and sign-in is refused."""
    return await c.punishments.ban(user_id, reason=body.reason, duration=body.duration, actor=ctx.user)


@router.post("/{user_id}/unban", response_model=UnbanOut, responses=ERRORS)
async def unban_user(
    user_id: int,
    ctx: AdminDep,
    c: ContainerDep,
    body: Annotated[
        AdminReasonIn, Body(openapi_examples={"appeal": {"value": {"reason": "Appeal approved"}}})
    ],
) -> UnbanOut:
    """Lift a platform ban or timeout (Admin+). Idempotent: with nothing in force the record fields are
    null."""
    return await c.punishments.unban(user_id, reason=body.reason, actor=ctx.user)


@router.post("/{user_id}/timeout", response_model=PunishmentOut, responses=ERRORS)
async def timeout_user(
    user_id: int,
    ctx: ModeratorDep,
    c: ContainerDep,
    body: Annotated[
        AdminTimeoutIn, Body(openapi_examples={"hour": {"value": {"reason": "Spamming", "duration": 3600}}})
    ],
) -> PunishmentOut:
    """Time a user out of the platform for 60 s to 30 days (Moderator+); every session ends."""
    return await c.punishments.timeout_user(
        user_id, reason=body.reason, duration=body.duration, actor=ctx.user
    )


@router.post("/{user_id}/warn", response_model=PunishmentOut, responses=ERRORS)
async def warn_user(
    user_id: int,
    ctx: ModeratorDep,
    c: ContainerDep,
    body: Annotated[
        AdminReasonIn, Body(openapi_examples={"civil": {"value": {"reason": "Please keep it civil"}}})
    ],
) -> PunishmentOut:
    """A platform warning on the user's record (Moderator+)."""
    return await c.punishments.warn_user(user_id, reason=body.reason, actor=ctx.user)
