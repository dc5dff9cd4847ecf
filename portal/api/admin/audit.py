"""`GET /v1/admin/audit/logs` (06 §10; 08 §39)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from portal.api.deps import ContainerDep, rate_limit, require_level
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.schemas.admin_users import AuditLogsOut
from portal.schemas.common import Offset, int_range
from portal.services.permissions import Level
from portal.services.ratelimit import Tier
from portal.services.sessions import AuthContext

router = APIRouter(
    prefix="/v1/admin/audit",
    tags=["admin-audit"],
    dependencies=[rate_limit(Tier.ADMIN)],
    route_class=CredentialsFirstRoute,
)
ModeratorDep = Annotated[AuthContext, Depends(require_level(Level.MODERATOR))]


@router.get("/logs", response_model=AuditLogsOut, responses=errors(400, 401, 403, 429))
async def audit_logs(
    _: ModeratorDep,
    c: ContainerDep,
    event_type: Annotated[str | None, Query(examples=["USER_BAN"])] = None,
    entity_type: Annotated[str | None, Query(examples=["user"])] = None,
    entity_id: Annotated[int | None, Query()] = None,
    actor_id: Annotated[int | None, Query()] = None,
    offset: Annotated[Offset, Query()] = 0,
    limit: Annotated[int, Query(), int_range(1, 200)] = 50,
) -> AuditLogsOut:
    """Audit events, newest first (Moderator+). `actor_id` is null for CLI and system actions; `CHAT_*`
    events have entity `chat` with the target in `event_metadata.user_id`."""
    return await c.audit_log.logs(
        event_type=event_type,
        entity_type=entity_type,
        entity_id=entity_id,
        actor_id=actor_id,
        offset=offset,
        limit=limit,
    )
