"""`GET /v1/admin/punishments/search` (06 §9; 08 §38)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from portal.api.deps import ContainerDep, rate_limit, require_level
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.schemas.admin_users import PunishmentSearchOut
from portal.schemas.common import Offset, int_range
from portal.services.permissions import Level
from portal.services.ratelimit import Tier
from portal.services.sessions import AuthContext

router = APIRouter(
    prefix="/v1/admin/punishments",
    tags=["admin-punishments"],
    dependencies=[rate_limit(Tier.ADMIN)],
    route_class=CredentialsFirstRoute,
)
ModeratorDep = Annotated[AuthContext, Depends(require_level(Level.MODERATOR))]


@router.get("/search", response_model=PunishmentSearchOut, responses=errors(400, 401, 403, 429))
async def search_punishments(
    _: ModeratorDep,
    c: ContainerDep,
    user_id: Annotated[int | None, Query()] = None,
    issued_by: Annotated[int | None, Query()] = None,
    action_type: Annotated[str | None, Query(examples=["PLATFORM_BAN"])] = None,
    chat_id: Annotated[int | None, Query()] = None,
    active_only: Annotated[bool, Query()] = False,
    offset: Annotated[Offset, Query()] = 0,
    limit: Annotated[int, Query(), int_range(1, 100)] = 25,
) -> PunishmentSearchOut:
    """Moderation records, platform and chat ones, newest first (Moderator+). `active_only` keeps those
    neither lifted by a person nor past their `expires_at`."""
    return await c.punishments.search(
        user_id=user_id,
        issued_by=issued_by,
        action_type=action_type,
        chat_id=chat_id,
        active_only=active_only,
        offset=offset,
        limit=limit,
    )
