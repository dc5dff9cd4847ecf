"""A stand-in Docker Engine (and neko) for the neko-docker backend's tests — no engine runs on these machines.

It follows the Docker Engine API v1.43 contract for the calls Portal makes (paths, query parameters,
status codes, error bodies `{"message": ...}`, the `NetworkSettings.Ports` shape) and records every request,
so tests check what Portal asked for. A started container "publishes" 8080/tcp on a fake neko server that
answers neko v3's REST API (Bearer API token) for clipboard, screen, screenshot, sessions, settings and
control (give to a session: 204, or 404 for an unknown session; reset: 204).
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse

API_VERSION = "1.43"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"


@dataclass
class FakeContainer:
    id: str
    name: str
    config: dict[str, Any]
    running: bool = False

    def env(self) -> dict[str, str]:
        return dict(item.split("=", 1) for item in self.config.get("Env", []))


@dataclass
class FakeNeko:
    """neko's room state as its REST API exposes it."""

    token: str
    clipboard: str = ""
    screen: dict[str, int] = field(default_factory=lambda: {"width": 1280, "height": 720, "rate": 30})
    settings: dict[str, Any] = field(default_factory=dict)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    disconnected: list[str] = field(default_factory=list)
    host: str | None = None  # the session id holding neko's control


@dataclass
class FakeEngine:
    containers: dict[str, FakeContainer] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    neko: dict[str, FakeNeko] = field(default_factory=dict)
    neko_port: int = 0
    fail_create: str | None = None  # answer container create with this error message (500)
    first_sessions: list[dict[str, Any]] = field(default_factory=list)  # sessions a new neko starts with

    def by_name(self, name: str) -> FakeContainer | None:
        return next((c for c in self.containers.values() if c.name == name or c.id == name), None)


def _not_found(what: str) -> JSONResponse:
    return JSONResponse({"message": f"No such container: {what}"}, status_code=404)


def docker_app(engine: FakeEngine) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def record(request: Request, call_next: Any) -> Response:
        body = await request.body()
        engine.requests.append(
            (request.method, request.url.path, dict(request.query_params), json.loads(body) if body else None)
        )
        return await call_next(request)

    @app.get("/version")
    @app.get(f"/v{API_VERSION}/version")
    async def version() -> dict[str, Any]:
        return {"ApiVersion": API_VERSION, "Version": "24.0.7", "MinAPIVersion": "1.12", "Os": "linux"}

    @app.post(f"/v{API_VERSION}/containers/create")
    async def create(request: Request, name: str = "") -> JSONResponse:
        if engine.fail_create:
            return JSONResponse({"message": engine.fail_create}, status_code=500)
        if engine.by_name(name):
            return JSONResponse(
                {"message": f'Conflict. The container name "/{name}" is already in use'}, status_code=409
            )
        config = await request.json()
        container = FakeContainer(id=secrets.token_hex(32), name=name, config=config)
        engine.containers[container.id] = container
        return JSONResponse({"Id": container.id, "Warnings": []}, status_code=201)

    @app.post(f"/v{API_VERSION}/containers/{{ref}}/start")
    async def start(ref: str) -> Response:
        container = engine.by_name(ref)
        if container is None:
            return _not_found(ref)
        container.running = True
        token = container.env().get("NEKO_SESSION_API_TOKEN", "")
        engine.neko[token] = FakeNeko(token=token, sessions=list(engine.first_sessions))
        return Response(status_code=204)

    @app.get(f"/v{API_VERSION}/containers/{{ref}}/json")
    async def inspect(ref: str) -> JSONResponse:
        container = engine.by_name(ref)
        if container is None:
            return _not_found(ref)
        ports = (
            {"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(engine.neko_port)}]}
            if container.running
            else {}
        )
        return JSONResponse(
            {
                "Id": container.id,
                "Name": f"/{container.name}",
                "Config": {**container.config},
                "State": {
                    "Status": "running" if container.running else "created",
                    "Running": container.running,
                },
                "HostConfig": container.config.get("HostConfig", {}),
                "NetworkSettings": {"Ports": ports},
            }
        )

    @app.post(f"/v{API_VERSION}/containers/{{ref}}/stop")
    async def stop(ref: str) -> Response:
        container = engine.by_name(ref)
        if container is None:
            return _not_found(ref)
        container.running = False
        return Response(status_code=204)

    @app.delete(f"/v{API_VERSION}/containers/{{ref}}")
    async def remove(ref: str) -> Response:
        container = engine.by_name(ref)
        if container is None:
            return _not_found(ref)
        del engine.containers[container.id]
        return Response(status_code=204)

    @app.get(f"/v{API_VERSION}/containers/json")
    async def listing(
        include_all: str = Query("0", alias="all"), filters: str = "{}"
    ) -> list[dict[str, Any]]:
        wanted = json.loads(filters).get("label", [])
        matches = []
        for container in engine.containers.values():
            labels = container.config.get("Labels", {})
            if include_all not in ("1", "true", "True") and not container.running:
                continue
            if all(_label_matches(labels, f) for f in wanted):
                matches.append(
                    {
                        "Id": container.id,
                        "Names": [f"/{container.name}"],
                        "Labels": labels,
                        "State": "running" if container.running else "created",
                    }
                )
        return matches

    return app


def _label_matches(labels: dict[str, str], wanted: str) -> bool:
    key, _, value = wanted.partition("=")
    return key in labels and (not value or labels[key] == value)


def neko_app(engine: FakeEngine) -> FastAPI:
    app = FastAPI()

    def room(request: Request) -> FakeNeko | None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        return engine.neko.get(token)

    @app.get("/api/room/clipboard")
    async def get_clipboard(request: Request) -> Response:
        neko = room(request)
        return JSONResponse({"text": neko.clipboard, "html": ""}) if neko else Response(status_code=401)

    @app.post("/api/room/clipboard")
    async def set_clipboard(request: Request) -> Response:
        neko = room(request)
        if neko is None:
            return Response(status_code=401)
        neko.clipboard = (await request.json())["text"]
        return Response(status_code=204)

    @app.post("/api/room/screen")
    async def set_screen(request: Request) -> Response:
        neko = room(request)
        if neko is None:
            return Response(status_code=401)
        neko.screen = await request.json()
        return JSONResponse(neko.screen)

    @app.get("/api/room/screen/shot.jpg")
    async def shot(request: Request) -> Response:
        return Response(JPEG, media_type="image/jpeg") if room(request) else Response(status_code=401)

    @app.post("/api/room/settings")
    async def settings(request: Request) -> Response:
        neko = room(request)
        if neko is None:
            return Response(status_code=401)
        neko.settings.update(await request.json())
        return Response(status_code=204)

    @app.get("/api/sessions")
    async def sessions(request: Request) -> Response:
        neko = room(request)
        return JSONResponse(neko.sessions) if neko else Response(status_code=401)

    @app.post("/api/room/control/give/{session_id}")
    async def give(session_id: str, request: Request) -> Response:
        neko = room(request)
        if neko is None:
            return Response(status_code=401)
        if not any(s["id"] == session_id for s in neko.sessions):
            return JSONResponse({"message": "session not found"}, status_code=404)
        neko.host = session_id
        return Response(status_code=204)

    @app.post("/api/room/control/reset")
    async def reset(request: Request) -> Response:
        neko = room(request)
        if neko is None:
            return Response(status_code=401)
        neko.host = None
        return Response(status_code=204)

    @app.post("/api/sessions/{session_id}/disconnect")
    async def disconnect(session_id: str, request: Request) -> Response:
        neko = room(request)
        if neko is None:
            return Response(status_code=401)
        neko.disconnected.append(session_id)
        return Response(status_code=204)

    return app


class _Quiet(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        return None


@contextlib.asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[int]:
    import asyncio

    server = _Quiet(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no "started" event
        await asyncio.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def fake_engine() -> AsyncIterator[tuple[FakeEngine, str]]:
    """A running fake engine; answers (engine, docker_url)."""
    engine = FakeEngine()
    async with serve(neko_app(engine)) as neko_port, serve(docker_app(engine)) as docker_port:
        engine.neko_port = neko_port
        yield engine, f"tcp://127.0.0.1:{docker_port}"
