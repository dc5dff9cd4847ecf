"""`/health` and `/v1/admin/health`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from portal.api.deps import AdminDep, ContainerDep, rate_limit
from portal.api.middleware import correlation_id
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.schemas.monitoring import AdminHealthOut, HealthOut
from portal.services.ratelimit import Tier


def _answer(result: HealthOut, request: Request) -> JSONResponse:
    """200 with the health object; 503 adds the envelope's `error` and `correlation_id`."""
    body = result.model_dump(mode="json")
    if result.status != "unhealthy":
        return JSONResponse(body)
    body.update(error="Service unhealthy", correlation_id=correlation_id(request.scope))
    return JSONResponse(body, status_code=503)


router = APIRouter(tags=["monitoring"], route_class=CredentialsFirstRoute)


@router.get(
    "/health",
    response_model=HealthOut,
    dependencies=[rate_limit(Tier.HEALTH)],
    responses={503: {"model": HealthOut, "description": "The database is unreachable"}, **errors(429)},
)
async def health(c: ContainerDep, request: Request) -> JSONResponse:
    """Liveness and statistics; 503 when the database is down, `degraded` when Redis is."""
    return _answer(await c.health.check(), request)


@router.get(
    "/v1/admin/health",
    response_model=AdminHealthOut,
    dependencies=[rate_limit(Tier.ADMIN)],
    responses=errors(401, 403, 429),
)
async def admin_health(_: AdminDep, c: ContainerDep, request: Request) -> JSONResponse:
    """`/health` plus `source_hash`, the SHA-256 of the backend's source files (Admin+)."""
    return _answer(await c.health.admin_check(), request)
