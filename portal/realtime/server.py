"""The Socket.IO server: connection authentication and the handlers (00 §5, docs/realtime.md)."""

from __future__ import annotations

import logging
from http.cookies import SimpleCookie
from typing import Any

import socketio

from portal.container import Container
from portal.errors import AccountRestricted, ErrorCode
from portal.services.notifier import session_room, user_room
from portal.services.sessions import AuthContext

log = logging.getLogger("portal.realtime")
SESSION_COOKIE = "psession"


def create_socket_server(container: Container) -> socketio.AsyncServer:
    settings = container.settings
    manager = None
    if settings.redis_url:
        manager = socketio.AsyncRedisManager(settings.redis_url, channel=f"{settings.redis_prefix}:socketio")
    # CORS is checked by our own connect handler (08 §52), so engine.io's check is switched off.
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        cors_allowed_origins=[],
        logger=False,
        engineio_logger=False,
    )
    _register_handlers(sio, container)
    return sio


def _token_from(environ: dict[str, Any], auth: Any) -> str | None:
    if isinstance(auth, dict) and isinstance(auth.get("session"), str):
        return auth["session"]
    cookie = SimpleCookie()
    try:
        cookie.load(environ.get("HTTP_COOKIE", ""))
    except Exception:
        return None
    morsel = cookie.get(SESSION_COOKIE)
    return morsel.value if morsel else None


def _origin_allowed(environ: dict[str, Any], container: Container) -> bool:
    origin = environ.get("HTTP_ORIGIN")
    return origin is None or origin.rstrip("/") in container.settings.allowed_origin_list


def _register_handlers(sio: socketio.AsyncServer, container: Container) -> None:
    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if not _origin_allowed(environ, container):
            raise socketio.exceptions.ConnectionRefusedError(ErrorCode.ORIGIN_NOT_ALLOWED.value)
        try:
            ctx = await container.sessions.authenticate(_token_from(environ, auth))
        except AccountRestricted:
            raise socketio.exceptions.ConnectionRefusedError(ErrorCode.ACCOUNT_RESTRICTED.value) from None
        if ctx is None:
            raise socketio.exceptions.ConnectionRefusedError(ErrorCode.UNAUTHORIZED.value)
        await _enter(sio, sid, ctx)

    @sio.event
    async def disconnect(sid: str, *args: Any) -> None:
        return None


async def _enter(sio: socketio.AsyncServer, sid: str, ctx: AuthContext) -> None:
    await sio.save_session(
        sid,
        {
            "user_id": ctx.user.id,
            "token_hash": ctx.token_hash,
            "session_id": ctx.session_id,
            "is_stranger": ctx.user.is_stranger,
        },
    )
    await sio.enter_room(sid, user_room(ctx.user.id))
    await sio.enter_room(sid, session_room(ctx.token_hash))
    await sio.emit("chat:list", [], to=sid)  # group chats arrive with the chats issue
