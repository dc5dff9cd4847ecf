"""`/v1/admin/chats/*`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends
from pydantic import ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from portal.api.deps import AdminDep, ContainerDep, rate_limit, require_level
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.schemas.chats import (
    AdminChatDetailOut,
    AdminChatOut,
    AdminCreateChatIn,
    AdminUpdateChatIn,
    LiveStateOut,
    TargetIn,
    TransferIn,
)
from portal.schemas.common import Message
from portal.services.permissions import Level
from portal.services.ratelimit import Tier
from portal.services.sessions import AuthContext

router = APIRouter(
    prefix="/v1/admin/chats",
    tags=["admin-chats"],
    dependencies=[rate_limit(Tier.ADMIN)],
    route_class=CredentialsFirstRoute,
)


class AdminChatUpdateIn(AdminUpdateChatIn):
    """The admin update body. `label`, `description` and `slug` take null (it clears them); the other
    fields do not, with the usual type wording, in the documented field order."""

    @field_validator("name", "visibility", "browser_config", mode="before")
    @classmethod
    def _not_null(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            kind = "an object" if info.field_name == "browser_config" else "a string"
            raise PydanticCustomError("portal", f"must be {kind}")
        return value


OwnerDep = Annotated[AuthContext, Depends(require_level(Level.OWNER))]
ADMIN_ERRORS = errors(400, 401, 403, 404, 409, 429)


@router.get("", response_model=list[AdminChatOut], responses=errors(401, 403, 429))
async def list_chats(_: AdminDep, c: ContainerDep) -> list[AdminChatOut]:
    """Every group chat, public and private."""
    return await c.admin_chats.list()


@router.post("", response_model=LiveStateOut, responses=ADMIN_ERRORS)
async def create_official_chat(
    ctx: OwnerDep,
    c: ContainerDep,
    body: Annotated[
        AdminCreateChatIn,
        Body(
            openapi_examples={
                "general": {
                    "value": {"name": "General", "slug": "general", "description": "Official general chat"}
                }
            }
        ),
    ],
) -> LiveStateOut:
    """An official chat owned by you (Owner only); the slug is required."""
    return await c.admin_chats.create_official(body, actor=ctx.user)


@router.get("/{chat_id}", response_model=AdminChatDetailOut, responses=errors(400, 401, 403, 404, 429))
async def chat_detail(chat_id: int, ctx: AdminDep, c: ContainerDep) -> AdminChatDetailOut:
    """The chat with its browser config and members (`member_count` leaves out the owner)."""
    return await c.admin_chats.detail(chat_id, actor=ctx.user)


@router.post("/{chat_id}/update", response_model=AdminChatOut, responses=ADMIN_ERRORS)
async def update_chat(
    chat_id: int,
    ctx: AdminDep,
    c: ContainerDep,
    body: Annotated[
        AdminChatUpdateIn,
        Body(
            openapi_examples={
                "official": {"value": {"visibility": "official", "description": "Main lobby chat"}}
            }
        ),
    ],
) -> AdminChatOut:
    """Change only the fields sent; a public or official chat needs a slug."""
    return await c.admin_chats.update(
        chat_id, {n: getattr(body, n) for n in body.model_fields_set}, actor=ctx.user
    )


@router.post("/{chat_id}/delete", response_model=Message, responses=ADMIN_ERRORS)
async def delete_chat(chat_id: int, ctx: AdminDep, c: ContainerDep) -> Message:
    return Message(message=await c.admin_chats.delete(chat_id, actor=ctx.user))


@router.post("/{chat_id}/transfer", response_model=Message, responses=ADMIN_ERRORS)
async def transfer_chat(chat_id: int, body: TransferIn, ctx: OwnerDep, c: ContainerDep) -> Message:
    """Give the chat to another user (Owner only; slots are not checked)."""
    return Message(message=await c.admin_chats.transfer(chat_id, body.new_owner_id, actor=ctx.user))


@router.post("/{chat_id}/kick", response_model=Message, responses=ADMIN_ERRORS)
async def kick_user(chat_id: int, body: TargetIn, ctx: AdminDep, c: ContainerDep) -> Message:
    """Remove a user from the chat (rank over the owner and the target)."""
    return Message(message=await c.admin_chats.kick(chat_id, body.user_id, actor=ctx.user))


@router.post("/{chat_id}/start", response_model=Message, responses=errors(400, 401, 403, 404, 409, 429, 503))
async def start_browser(chat_id: int, ctx: AdminDep, c: ContainerDep) -> Message:
    return Message(message=await c.admin_chats.start(chat_id, actor=ctx.user))


@router.post("/{chat_id}/stop", response_model=Message, responses=errors(400, 401, 403, 404, 409, 429, 503))
async def stop_browser(chat_id: int, ctx: AdminDep, c: ContainerDep) -> Message:
    return Message(message=await c.admin_chats.stop(chat_id, actor=ctx.user))
