"""`/v1/portal/match*`: the 1-on-1 matchmaking queue and the caller's direct chats (05 §5, 08 §29–30).

Registered users and strangers (cookie) alike."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from portal.api.deps import AuthDep, ContainerDep, rate_limit
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.schemas.common import Message
from portal.schemas.match import EnqueueIn, LeaveIn, MatchStatusOut
from portal.services.ratelimit import Tier

router = APIRouter(
    prefix="/v1/portal/match",
    tags=["match"],
    dependencies=[rate_limit(Tier.AUTH)],
    route_class=CredentialsFirstRoute,
)

ENQUEUE_EXAMPLES: dict[str, Any] = {
    "interests": {"value": {"interests": ["gaming", "music"]}},
    "legacy": {"summary": "the pre-v1.11 body", "value": {"interest": "gaming"}},
}
EnqueueBody = Annotated[EnqueueIn | None, Body(openapi_examples=ENQUEUE_EXAMPLES)]
LEAVE_EXAMPLES: dict[str, Any] = {"newest": {"value": {}}, "one": {"value": {"chat_id": 42}}}
STATUS_ONLY: dict[str, Any] = {"response_model": MatchStatusOut, "response_model_exclude_none": True}


async def _enqueue(ctx: Any, c: ContainerDep, body: EnqueueIn | None) -> MatchStatusOut:
    requested = (body or EnqueueIn()).requested()
    return await c.matchmaking.enqueue(ctx, requested)


@router.post("", responses=errors(400, 401, 403, 409, 429), **STATUS_ONLY)
async def enqueue(ctx: AuthDep, c: ContainerDep, body: EnqueueBody = None) -> MatchStatusOut:
    """Join the queue on 1–3 interest tags (`^[a-z0-9]{3,12}$`). Always answers `searching`; a pairing
    arrives as `match:found` and shows in the status. Errors in this order: 400 "interests must contain 1 to
    3 items", 400 `ERR_MATCH_UNSUPPORTED_INTEREST`, 403 `ERR_STRANGER_BLOCKED`, 409
    `ERR_MATCH_ALREADY_SEARCHING`, 409 `ERR_MATCH_SLOT_LIMIT` (1 direct chat, 3 for premium)."""
    return await _enqueue(ctx, c, body)


@router.post("/enqueue", responses=errors(400, 401, 403, 409, 429), **STATUS_ONLY)
async def enqueue_alias(ctx: AuthDep, c: ContainerDep, body: EnqueueBody = None) -> MatchStatusOut:
    """Alias of `POST /v1/portal/match` (both body forms)."""
    return await _enqueue(ctx, c, body)


@router.get("/status", responses=errors(401, 429), **STATUS_ONLY)
async def status(ctx: AuthDep, c: ContainerDep) -> MatchStatusOut:
    """`searching` while queued, else `matched` with at least one active direct chat, else `idle`. Polling
    it never keeps a queue entry alive (socket presence does)."""
    return await c.matchmaking.status(ctx.user)


@router.post("/dequeue", responses=errors(401, 429), **STATUS_ONLY)
async def dequeue(ctx: AuthDep, c: ContainerDep) -> MatchStatusOut:
    """Leave every queue (idempotent); active direct chats stay. Answers the status."""
    return await c.matchmaking.dequeue(ctx.user)


@router.post("/leave", response_model=Message, responses=errors(400, 401, 404, 429))
async def leave(
    ctx: AuthDep,
    c: ContainerDep,
    body: Annotated[LeaveIn | None, Body(openapi_examples=LEAVE_EXAMPLES)] = None,
) -> Message:
    """End one of your active direct chats at once (the newest without `chat_id`);
    404 `ERR_MATCH_NO_ACTIVE_DIRECT` when it is not one of yours."""
    await c.direct_lifecycle.leave(actor=ctx.user, chat_id=body.chat_id if body else None)
    return Message(message="Left direct chat")
