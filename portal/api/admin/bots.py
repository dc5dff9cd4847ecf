"""`/v1/admin/bots/*` (Admin+, ADMIN tier): register, list, update, regenerate-key, delete, reset-stats."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from portal.api.deps import AdminDep, ContainerDep, rate_limit
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.schemas.bots import AdminBotUpdateIn, BotKeyIssued, BotPrivate, RegisterBotIn
from portal.schemas.common import Message, Offset, int_range
from portal.services.bot_admin import ADMIN_LIST_MAX
from portal.services.ratelimit import Tier

router = APIRouter(
    prefix="/v1/admin/bots",
    tags=["admin-bots"],
    dependencies=[rate_limit(Tier.ADMIN)],
    route_class=CredentialsFirstRoute,
)
ACTION_ERRORS = errors(400, 401, 403, 404, 429)


def _message(text: str) -> dict[int | str, dict[str, object]]:
    return {**ACTION_ERRORS, 200: {"content": {"application/json": {"example": {"message": text}}}}}


@router.post("", response_model=BotKeyIssued, responses=ACTION_ERRORS)
async def register_bot(
    ctx: AdminDep,
    c: ContainerDep,
    body: Annotated[
        RegisterBotIn,
        Body(
            openapi_examples={
                "discord": {
                    "value": {
                        "name": "Portal Bot",
                        "owner_id": 42,
                        "platform": "discord",
                        "rate_limit_per_hour": 1000,
                    }
                }
            }
        ),
    ],
) -> BotKeyIssued:
    """Register a bot owned by `owner_id`; the API key is in this answer only."""
    return await c.bots.register(
        actor=ctx.user,
        name=body.name,
        owner_id=body.owner_id,
        platform=body.platform,
        rate_limit_per_hour=body.rate_limit_per_hour,
    )


@router.get("", response_model=list[BotPrivate], responses=errors(400, 401, 403, 429))
async def list_bots(
    _: AdminDep,
    c: ContainerDep,
    offset: Annotated[Offset, Query()] = 0,
    limit: Annotated[int, Query(), int_range(1, ADMIN_LIST_MAX)] = ADMIN_LIST_MAX,
) -> list[BotPrivate]:
    """Every bot, inactive ones included, by id, as the full private object."""
    return await c.bot_admin.list(offset=offset, limit=limit)


@router.post("/{bot_id}/update", response_model=Message, responses=_message("Bot 1 updated"))
async def update_bot(
    bot_id: int,
    ctx: AdminDep,
    c: ContainerDep,
    body: Annotated[
        AdminBotUpdateIn,
        Body(
            openapi_examples={
                "verify": {"value": {"bot_type": "official", "rate_limit_per_hour": 2000}},
                "deactivate": {"value": {"is_active": False}},
            }
        ),
    ],
) -> Message:
    """Change only the fields sent. `bot_type` is official|verified|community or 1–3 (verify/unverify);
    `owner_id` transfers the bot (hierarchy against the current and the new owner)."""
    return Message(message=await c.bot_admin.update(bot_id, body, actor=ctx.user))


@router.post("/{bot_id}/regenerate-key", response_model=BotKeyIssued, responses=ACTION_ERRORS)
async def regenerate_key(bot_id: int, ctx: AdminDep, c: ContainerDep) -> BotKeyIssued:
    """A new API key, shown once; the old key is refused at once on every node."""
    return await c.bot_admin.regenerate_key(bot_id, actor=ctx.user)


@router.post("/{bot_id}/delete", response_model=Message, responses=_message("Bot 1 deleted"))
async def delete_bot(bot_id: int, ctx: AdminDep, c: ContainerDep) -> Message:
    """Delete the bot for good (its key and command statistics too)."""
    return Message(message=await c.bot_admin.delete(bot_id, actor=ctx.user))


@router.post("/{bot_id}/reset-stats", response_model=Message, responses=_message("Stats reset for bot 1"))
async def reset_stats(bot_id: int, ctx: AdminDep, c: ContainerDep) -> Message:
    """Zero `groups` and `users`, clear `latency_ms`, `last_activity_at`, group ids and command stats."""
    return Message(message=await c.bot_admin.reset_stats(bot_id, actor=ctx.user))
