"""The ASGI application: FastAPI for REST, Socket.IO beside it, one container behind both."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import socketio
from fastapi import FastAPI
from fastapi.routing import APIRoute

from portal import __version__
from portal.api import (
    announcements,
    authentication,
    bots,
    chats,
    match,
    messages,
    moderation,
    monitoring,
    notifications,
    statistics,
    users,
)
from portal.api import docs as api_docs
from portal.api import errors as api_errors
from portal.api.admin import announcements as admin_announcements
from portal.api.admin import audit as admin_audit
from portal.api.admin import bots as admin_bots
from portal.api.admin import chats as admin_chats
from portal.api.admin import notifications as admin_notifications
from portal.api.admin import punishments as admin_punishments
from portal.api.admin import strangers as admin_strangers
from portal.api.admin import subscriptions as admin_subscriptions
from portal.api.admin import users as admin_users
from portal.api.middleware import EnvelopeCORSMiddleware, RequestContextMiddleware
from portal.container import Container
from portal.realtime.control import ControlSocket
from portal.realtime.notifier import SocketNotifier
from portal.realtime.server import PresenceKeeper, create_socket_server, stop_socket_server
from portal.tasks import run_bounded
from portal.web import install as install_web_client

log = logging.getLogger("portal")
SHUTDOWN_STEP_SECONDS = 10.0  # each step of a node's shutdown; a stuck one is logged and left behind

DESCRIPTION = """\
Portal: shared virtual browsers, end-to-end-encrypted group chat and 1-on-1 matchmaking.

Authenticate with the `psession` cookie (after `/v1/authentication/verify`), the public API key or a bot
key in `X-API-Key`. Every error is `{"error": ..., "correlation_id": ...}`. The realtime protocol
(Socket.IO at `/socket.io/`) is described in `docs/realtime.md`.
"""


def _operation_id(route: APIRoute) -> str:
    """Stable `tag-name` operation ids for generated clients."""
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


async def _nothing() -> None:
    return None


def create_app(container: Container, *, role: str = "all") -> Any:
    """Build the ASGI app around `container` (tests pass their own settings and clock).

    `role` splits a deployment: "api" serves REST only, "ws" serves Socket.IO (plus `/health`),
    "all" both. Every role can emit events: with Redis they reach sockets on whichever node holds them.
    """
    sio = create_socket_server(container)
    notifier = SocketNotifier(sio, container.live)
    notifier.on_forget = container.rooms.forget
    notifier.on_seat = container.rooms.seat
    presence = PresenceKeeper(container)
    # Single process (no Redis): `portal admin` reaches this server through $PORTAL_VAR_DIR/portal.sock.
    control = None if container.settings.redis_url else ControlSocket(container)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await container.start()
        container.notifier = notifier
        await notifier.start()
        container.janitor.start()
        presence.start()
        if control is not None:
            await control.start()
        try:
            yield
        finally:
            container.stopping = True
            steps = {
                "control socket": control.close() if control is not None else _nothing(),
                "presence": presence.stop(),
                "janitor": container.janitor.stop(),
                "notifier": notifier.close(),
                "socket.io": stop_socket_server(sio),
                "retire": presence.retire(),
                "container": container.close(),
            }
            for name, step in steps.items():
                if problem := await run_bounded(name, step, SHUTDOWN_STEP_SECONDS):
                    container.shutdown_overruns.append(problem)

    api = FastAPI(
        title="Portal API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        docs_url=None,  # both served from installed packages below (portal/api/docs.py), not a CDN
        redoc_url=None,
    )
    api.state.container = container
    api.state.sio = sio
    routers = [monitoring.router]
    if role in ("all", "api"):
        routers += [
            authentication.router,
            authentication.bot_router,
            users.router,
            chats.router,
            chats.public_router,
            messages.router,
            moderation.router,
            admin_chats.router,
            admin_strangers.router,
            admin_bots.router,
            bots.router,
            bots.bot_router,
            admin_users.router,
            admin_subscriptions.router,
            admin_punishments.router,
            admin_audit.router,
            admin_notifications.router,
            admin_announcements.router,
            notifications.router,
            announcements.router,
            statistics.router,
            match.router,
        ]
    for router in routers:
        api.include_router(router)
    api_docs.install(api)
    if role in ("all", "api"):
        install_web_client(api, container.settings)  # only where no route answers: never shadows the API
    api_errors.install(api)
    api.add_middleware(
        EnvelopeCORSMiddleware,
        allow_origins=container.settings.allowed_origin_list,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=[
            "X-Correlation-ID",
            "Retry-After",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
        ],
    )
    api.add_middleware(RequestContextMiddleware, hsts=container.settings.cookie_secure)
    if role == "api":
        return api
    return socketio.ASGIApp(sio, other_asgi_app=api, socketio_path="socket.io")
