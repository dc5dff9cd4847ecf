"""`Portal — Chat`: send, history, deletes, clear and key registration."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from portal.api.deps import AuthDep, ContainerDep, UserDep, rate_limit
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.schemas.common import int_range
from portal.schemas.messages import (
    ClearedOut,
    DeletedOut,
    DeleteIdsIn,
    DeleteLastIn,
    KeyIn,
    KeyOut,
    SendIn,
    SentOut,
)
from portal.services.ratelimit import Tier

router = APIRouter(
    prefix="/v1/portal",
    tags=["chat"],
    dependencies=[rate_limit(Tier.AUTH)],
    route_class=CredentialsFirstRoute,
)
ERRORS = errors(400, 401, 403, 404, 409, 429)


@router.post("/chats/{chat_id}/messages", response_model=SentOut, responses=ERRORS)
async def send_message(chat_id: int, body: SendIn, ctx: AuthDep, c: ContainerDep) -> SentOut:
    """Send an encrypted message (it reaches the room as `message:new`); join over Socket.IO first."""
    return SentOut(id=await c.messaging.send(ctx, chat_id, body.content))


HISTORY_EXAMPLE = [
    {
        "chat_id": 42,
        "chat_name": "movie-night",
        "id": "1764361234567-0",
        "sender": {"id": 7, "username": "cool_fox_123", "avatar_url": None},
        "permission_level": 0,
        "content": '{"v":2,"epoch":3,"ct":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss"}',
        "type": "user",
        "epoch": "0000000000000003",
        "timestamp": "2026-11-28T12:00:34.567000Z",
    }
]


@router.get(
    "/chats/{chat_id}/history",
    response_model=list[dict[str, Any]],
    responses={**ERRORS, 200: {"content": {"application/json": {"example": HISTORY_EXAMPLE}}}},
)
async def history(
    chat_id: int,
    ctx: AuthDep,
    c: ContainerDep,
    limit: Annotated[int, Query(), int_range(1, 500)] = 100,
    before: Annotated[str | None, Query(description="a message id; only older messages are listed")] = None,
) -> list[dict[str, Any]]:
    """The newest `limit` messages before `before` (a message id), oldest first."""
    return await c.messaging.history(ctx, chat_id, limit=limit, before=before)


@router.post("/chats/{chat_id}/messages/delete", response_model=DeletedOut, responses=ERRORS)
async def delete_messages(chat_id: int, body: DeleteIdsIn, ctx: UserDep, c: ContainerDep) -> DeletedOut:
    """Delete messages by id (owner, or rank over the owner); others' only if you may act on them."""
    return DeletedOut(deleted=await c.messaging.delete_ids(chat_id, body.ids, actor=ctx.user))


@router.post("/chats/{chat_id}/messages/delete-mine", response_model=DeletedOut, responses=ERRORS)
async def delete_mine(chat_id: int, ctx: AuthDep, c: ContainerDep) -> DeletedOut:
    """Delete every message you sent in this chat."""
    return DeletedOut(deleted=await c.messaging.delete_mine(chat_id, actor=ctx.user))


@router.post("/chats/{chat_id}/messages/delete-last", response_model=DeletedOut, responses=ERRORS)
async def delete_last(chat_id: int, body: DeleteLastIn, ctx: UserDep, c: ContainerDep) -> DeletedOut:
    """Delete the newest `count` user messages (those you may act on)."""
    return DeletedOut(deleted=await c.messaging.delete_last(chat_id, body.count, actor=ctx.user))


@router.post("/chats/{chat_id}/clear", response_model=ClearedOut, responses=ERRORS)
async def clear(chat_id: int, ctx: UserDep, c: ContainerDep) -> ClearedOut:
    """Delete every message, rotate the key (owner, or Admin+)."""
    return ClearedOut(ok=True, cleared=await c.messaging.clear(chat_id, actor=ctx.user))


@router.post("/keys", response_model=KeyOut, responses=errors(400, 401, 429))
async def register_key(body: KeyIn, ctx: AuthDep, c: ContainerDep) -> KeyOut:
    """Register this session's X25519 public key (32 bytes, base64)."""
    return KeyOut(status=await c.e2ee.register_key(ctx, body.public_key))
