"""`Portal — Moderation`: kick, mute, ban, timeout and warn in a chat; the global hard mute."""

from __future__ import annotations

from fastapi import APIRouter

from portal.api.deps import AdminDep, ContainerDep, UserDep, rate_limit
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.schemas.chats import Ok, TargetIn
from portal.schemas.messages import BanIn, HardMuteIn, MuteIn, TimeoutIn, UnbanIn, UserRefIn, WarnIn
from portal.services.ratelimit import Tier

router = APIRouter(
    prefix="/v1/portal",
    tags=["moderation"],
    dependencies=[rate_limit(Tier.AUTH)],
    route_class=CredentialsFirstRoute,
)
ERRORS = errors(400, 401, 403, 404, 409, 429)


@router.post("/chats/{chat_id}/kick", response_model=Ok, responses=ERRORS)
async def kick(chat_id: int, body: TargetIn, ctx: UserDep, c: ContainerDep) -> Ok:
    """Remove a member or viewer from the chat (owner, or someone who outranks the owner)."""
    await c.chat_moderation.kick(chat_id, body.user_id, actor=ctx.user)
    return Ok()


@router.post("/chats/{chat_id}/mute", response_model=Ok, responses=ERRORS)
async def mute(chat_id: int, body: MuteIn, ctx: UserDep, c: ContainerDep) -> Ok:
    """Stop a user sending in this chat for `duration` seconds (0 = until unmuted)."""
    await c.chat_moderation.mute(
        chat_id, body.user_id, duration=body.duration, reason=body.reason, actor=ctx.user
    )
    return Ok()


@router.post("/chats/{chat_id}/unmute", response_model=Ok, responses=ERRORS)
async def unmute(chat_id: int, body: UserRefIn, ctx: UserDep, c: ContainerDep) -> Ok:
    await c.chat_moderation.unmute(chat_id, body.user_id, actor=ctx.user)
    return Ok()


@router.post("/chats/{chat_id}/ban", response_model=Ok, responses=ERRORS)
async def ban(chat_id: int, body: BanIn, ctx: UserDep, c: ContainerDep) -> Ok:
    """Ban from this chat (0 = permanent): the membership goes and rejoining is refused."""
    await c.chat_moderation.ban(
        chat_id, body.user_id, duration=body.duration, reason=body.reason, actor=ctx.user
    )
    return Ok()


@router.post("/chats/{chat_id}/unban", response_model=Ok, responses=ERRORS)
async def unban(chat_id: int, body: UnbanIn, ctx: UserDep, c: ContainerDep) -> Ok:
    """Lift a chat ban (idempotent)."""
    await c.chat_moderation.unban(chat_id, body.user_id, reason=body.reason, actor=ctx.user)
    return Ok()


@router.post("/chats/{chat_id}/timeout", response_model=Ok, responses=ERRORS)
async def timeout(chat_id: int, body: TimeoutIn, ctx: UserDep, c: ContainerDep) -> Ok:
    """A platform-wide timeout (60 s to 30 days): every session of the user ends until it runs out."""
    await c.chat_moderation.timeout(
        chat_id, body.user_id, duration=body.duration, reason=body.reason, actor=ctx.user
    )
    return Ok()


@router.post("/chats/{chat_id}/warn", response_model=Ok, responses=ERRORS)
async def warn(chat_id: int, body: WarnIn, ctx: UserDep, c: ContainerDep) -> Ok:
    """A platform warning on the user's record, announced in this chat."""
    await c.chat_moderation.warn(chat_id, body.user_id, reason=body.reason, actor=ctx.user)
    return Ok()


@router.post("/hard-mute", response_model=Ok, responses=ERRORS)
async def hard_mute(body: HardMuteIn, ctx: AdminDep, c: ContainerDep) -> Ok:
    """Mute a user in every chat (Admin+, over users below you); 0 = until lifted."""
    await c.punishments.hard_mute(body.user_id, body.duration, body.reason, actor=ctx.user)
    return Ok()


@router.post("/hard-unmute", response_model=Ok, responses=ERRORS)
async def hard_unmute(body: UserRefIn, ctx: AdminDep, c: ContainerDep) -> Ok:
    """Lift a hard mute (Admin+; idempotent)."""
    await c.punishments.hard_unmute(body.user_id, actor=ctx.user)
    return Ok()
