"""`/health` and `/v1/admin/health` (01 §9, 08 §43)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from portal.api.deps import AdminDep, ContainerDep, rate_limit
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.schemas.monitoring import AdminHealthOut, HealthOut
from portal.services.ratelimit import Tier

router = APIRouter(tags=["monitoring"], route_class=CredentialsFirstRoute)


@router.get(
    "/health",
    response_model=HealthOut,
    dependencies=[rate_limit(Tier.HEALTH)],
    responses={503: {"model": HealthOut, "description": "The database is unreachable"}, **errors(429)},
)
async def health(c: ContainerDep) -> JSONResponse:
    """Liveness and statistics; 503 when the database is down, `degraded` when Redis is."""
    result = await c.health.check()
    return JSONResponse(
        result.model_dump(mode="json"), status_code=503 if result.status == "unhealthy" else 200
    )


@router.get(
    "/v1/admin/health",
    response_model=AdminHealthOut,
    dependencies=[rate_limit(Tier.ADMIN)],
    responses=errors(401, 403, 429),
)
async def admin_health(_: AdminDep, c: ContainerDep) -> JSONResponse:
    """`/health` plus `source_hash`, the SHA-256 of the backend's source files (Admin+)."""
    result = await c.health.admin_check()
    return JSONResponse(
        result.model_dump(mode="json"), status_code=503 if result.status == "unhealthy" else 200
    )
