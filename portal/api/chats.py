"""`/v1/portal/chats*`, invites, directory, resolve and status."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from portal.api.deps import AuthDep, ContainerDep, UserDep, rate_limit
from portal.api.responses import errors
from portal.api.routing import CredentialsFirstRoute
from portal.errors import BadRequest
from portal.schemas.chats import (
    ActivityOut,
    ChatDetailOut,
    ChatOut,
    ClipboardIn,
    ClipboardOut,
    ConfigUpdateIn,
    CreateChatIn,
    InviteIn,
    InviteOut,
    InvitesOut,
    MembersOut,
    Ok,
    PortalStatusOut,
    ScreenIn,
    ScreenOut,
)
from portal.schemas.common import Message, Offset, int_range
from portal.services.ratelimit import Tier

router = APIRouter(
    prefix="/v1/portal",
    tags=["chats"],
    dependencies=[rate_limit(Tier.AUTH)],
    route_class=CredentialsFirstRoute,
)
public_router = APIRouter(
    prefix="/v1/portal",
    tags=["chats"],
    dependencies=[rate_limit(Tier.PUBLIC)],
    route_class=CredentialsFirstRoute,
)

CHAT_ERRORS = errors(400, 401, 403, 404, 409, 429)
MAX_CLIPBOARD_BYTES = 65_536


@router.post("/chats", response_model=ChatOut, responses=CHAT_ERRORS)
async def create_chat(
    ctx: UserDep,
    c: ContainerDep,
    body: Annotated[
        CreateChatIn,
        Body(
            openapi_examples={
                "private": {
                    "value": {
                        "name": "movie-night",
                        "description": "Films every Friday",
                        "allow_control_requests": True,
                        "browser_config": {
                            "browser": "chromium",
                            "start_url": "https://example.org",
                            "kiosk": False,
                        },
                    }
                }
            }
        ),
    ],
) -> ChatOut:
    """A private group chat (premium or Admin+, within your chat slots)."""
    return await c.chats.create_private(body, actor=ctx.user)


@router.get("/chats", response_model=list[ChatOut], responses=errors(401, 429))
async def list_chats(ctx: AuthDep, c: ContainerDep) -> list[ChatOut]:
    """Official and public chats, private ones you own or belong to (official first, then by activity)."""
    return await c.chat_views.list_for(actor=ctx.user)


@router.get("/chats/{chat_id}", response_model=ChatDetailOut, responses=errors(400, 401, 403, 404, 429))
async def get_chat(chat_id: int, ctx: AuthDep, c: ContainerDep) -> ChatDetailOut:
    """One chat with its live state; managers also get its config."""
    return await c.chat_views.detail(chat_id, actor=ctx.user)


@router.get("/chats/{chat_id}/members", response_model=MembersOut, responses=errors(400, 401, 403, 404, 429))
async def chat_members(chat_id: int, ctx: UserDep, c: ContainerDep) -> MembersOut:
    """Private chats: owner and members; public ones: owner and viewers of the last 24 h."""
    return await c.chat_views.members(chat_id, actor=ctx.user)


@router.post("/chats/{chat_id}/leave", response_model=Ok, responses=CHAT_ERRORS)
async def leave_chat(chat_id: int, ctx: UserDep, c: ContainerDep) -> Ok:
    """Give up your membership (the owner cannot)."""
    await c.chats.leave(chat_id, actor=ctx.user)
    return Ok()


@router.post("/chats/{chat_id}/config/update", response_model=Message, responses=CHAT_ERRORS)
async def update_config(
    chat_id: int,
    ctx: UserDep,
    c: ContainerDep,
    body: Annotated[
        ConfigUpdateIn,
        Body(
            openapi_examples={
                "wipe": {"value": {"wipe_preset": "1h", "history_visible": False}},
                "make public": {"value": {"slug": "movie-night"}},
                "make private": {"value": {"slug": None}},
            }
        ),
    ],
) -> Message:
    """Change only the fields sent. A slug makes the chat public; `slug: null` makes it private."""
    await c.chat_config.update_config(
        chat_id, {name: getattr(body, name) for name in body.model_fields_set}, actor=ctx.user
    )
    return Message(message="Room config updated")


@router.post("/chats/{chat_id}/delete", response_model=Message, responses=CHAT_ERRORS)
async def delete_chat(chat_id: int, ctx: UserDep, c: ContainerDep) -> Message:
    """Destroy the chat for good (owner, or a platform Owner)."""
    name = await c.chats.delete(chat_id, actor=ctx.user)
    return Message(message=f"Chat '{name}' destroyed")


@router.post("/chats/{chat_id}/start", response_model=Ok, responses=errors(400, 401, 403, 404, 409, 429, 503))
async def start_browser(chat_id: int, ctx: UserDep, c: ContainerDep) -> Ok:
    """Start the chat's browser VM (owner, or a platform Owner)."""
    await c.chat_browser.start_vm(chat_id, actor=ctx.user)
    return Ok()


@router.post("/chats/{chat_id}/stop", response_model=Ok, responses=CHAT_ERRORS)
async def stop_browser(chat_id: int, ctx: UserDep, c: ContainerDep) -> Ok:
    """Stop the chat's browser VM; idempotent (owner, or a platform Owner)."""
    await c.chat_browser.stop_vm(chat_id, actor=ctx.user)
    return Ok()


@router.get(
    "/chats/{chat_id}/activity", response_model=ActivityOut, responses=errors(400, 401, 403, 404, 409, 429)
)
async def chat_activity(
    chat_id: int,
    ctx: UserDep,
    c: ContainerDep,
    offset: Annotated[Offset, Query()] = 0,
    limit: Annotated[int, Query(), int_range(1, 100)] = 50,
) -> ActivityOut:
    """Joins, leaves, kicks and bans, newest first."""
    return await c.chat_views.activity(chat_id, offset=offset, limit=limit, actor=ctx.user)


@router.get("/chats/{chat_id}/clipboard", response_model=ClipboardOut, responses=CHAT_ERRORS)
async def get_clipboard(chat_id: int, ctx: UserDep, c: ContainerDep) -> ClipboardOut:
    """The VM's clipboard (the host or a manager; private chats: the owner)."""
    return ClipboardOut(text=await c.chat_browser.clipboard(chat_id, actor=ctx.user))


@router.post("/chats/{chat_id}/clipboard/update", response_model=Ok, responses=CHAT_ERRORS)
async def update_clipboard(chat_id: int, body: ClipboardIn, ctx: UserDep, c: ContainerDep) -> Ok:
    """Set the VM's clipboard (at most 64 KiB); the host pastes it with Ctrl/Cmd+V."""
    if len(body.text.encode()) > MAX_CLIPBOARD_BYTES:
        raise BadRequest(f"text must be at most {MAX_CLIPBOARD_BYTES} bytes")
    await c.chat_browser.set_clipboard(chat_id, body.text, actor=ctx.user)
    return Ok()


@router.get(
    "/chats/{chat_id}/screen", response_model=ScreenOut, responses=errors(400, 401, 403, 404, 409, 429)
)
async def get_screen(chat_id: int, ctx: UserDep, c: ContainerDep) -> dict[str, Any]:
    """The VM's screen size and the sizes it may have."""
    return await c.chat_browser.screen(chat_id, actor=ctx.user)


@router.post("/chats/{chat_id}/screen/update", response_model=ScreenOut, responses=CHAT_ERRORS)
async def update_screen(chat_id: int, body: ScreenIn, ctx: UserDep, c: ContainerDep) -> dict[str, Any]:
    """Resize the VM (chat managers); a stopped VM gets the size at its next start."""
    return await c.chat_browser.set_screen(chat_id, body.width, body.height, body.rate, actor=ctx.user)


@router.get(
    "/chats/{chat_id}/screenshot",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "the VM screen as JPEG"}, **CHAT_ERRORS},
)
async def screenshot(chat_id: int, ctx: UserDep, c: ContainerDep) -> Response:
    """A JPEG of the VM's screen (anyone who may view the chat)."""
    return Response(await c.chat_browser.screenshot(chat_id, actor=ctx.user), media_type="image/jpeg")


# ---- invites ------------------------------------------------------------------------------------------


@router.post("/chats/{chat_id}/invites", response_model=InviteOut, responses=CHAT_ERRORS)
async def create_invite(
    chat_id: int,
    ctx: UserDep,
    c: ContainerDep,
    body: Annotated[
        InviteIn,
        Body(
            openapi_examples={"ten uses": {"value": {"max_uses": 10, "expires_at": "2026-12-31T00:00:00Z"}}}
        ),
    ],
) -> InviteOut:
    """A 16-character invite code (at most 20 active per chat)."""
    return await c.invites.create(chat_id, body, actor=ctx.user)


@router.get(
    "/chats/{chat_id}/invites", response_model=InvitesOut, responses=errors(400, 401, 403, 404, 409, 429)
)
async def list_invites(chat_id: int, ctx: UserDep, c: ContainerDep) -> InvitesOut:
    """Active invites: not expired and not used up."""
    return await c.invites.list(chat_id, actor=ctx.user)


@router.post("/chats/{chat_id}/invites/{code}/delete", response_model=Message, responses=CHAT_ERRORS)
async def revoke_invite(chat_id: int, code: str, ctx: UserDep, c: ContainerDep) -> Message:
    return Message(message=await c.invites.revoke(chat_id, code, actor=ctx.user))


@router.post("/resolve/{code}", response_model=ChatOut, responses=errors(401, 403, 404, 429))
async def resolve_invite(code: str, ctx: UserDep, c: ContainerDep) -> ChatOut:
    """Redeem an invite: you become a member of its chat."""
    return await c.invites.resolve(code, actor=ctx.user)


# ---- presence and the public directory ---------------------------------------------------------------


@router.get("/status", response_model=PortalStatusOut, responses=errors(401, 403, 429))
async def portal_status(ctx: UserDep, c: ContainerDep) -> PortalStatusOut:
    """Who is online (registered users with a connected socket)."""
    return await c.rooms.portal_status(ctx.user)


@public_router.get("/directory", response_model=list[ChatOut], responses=errors(429))
async def directory(c: ContainerDep) -> list[ChatOut]:
    """Official and public chats; no sign-in needed."""
    return await c.chat_views.directory()


@public_router.get("/directory/{slug}", response_model=ChatOut, responses=errors(404, 429))
async def directory_entry(slug: str, c: ContainerDep) -> ChatOut:
    """Resolve a vanity slug to its chat."""
    return await c.chat_views.directory_entry(slug)
