"""Ceiling of the realtime benchmarks: bare FastAPI + python-socketio, one INSERT and one emit per message.

    python -m bench.ceilings.realtime PORT

Environment: CEILING_TOKENS (a JSON file: [token, ...]), CEILING_DATABASE (a SQLite path or a postgresql://
DSN), CEILING_REDIS (optional), CEILING_BODIES (optional: the REST reads' JSON, as in rest.py).

- connect: the session token (Socket.IO `auth`) is looked up in a dict; unknown → refused.
- `POST /v1/portal/keys` {public_key}: kept for the user. `room:join` {chat_id}: enter the room, tell the
  room who arrived, and when the joiner has a key and a distributor is in the room ask it (`key:needed`)
  to wrap the chat key for the joiner; `key:distribute` hands each blob to its socket (`key:received`).
  `{distributor: true}` makes the joining socket the distributor.
- `POST /v1/portal/chats/{id}/messages` {content}: one INSERT (aiosqlite or asyncpg, committed), one emit of
  `message:new` to the room, answer {id}.
With CEILING_REDIS the emits go through python-socketio's AsyncRedisManager, as Portal's do.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import socketio
from fastapi import Request
from fastapi.responses import JSONResponse

from bench.ceilings.rest import create_app as rest_app
from bench.ceilings.rest import run

TABLE = (
    "CREATE TABLE IF NOT EXISTS ceiling_messages "
    "(id {key}, chat_id INTEGER, user_id INTEGER, content TEXT, created_at REAL)"
)


class Store:
    """One INSERT per message, committed, on SQLite (aiosqlite, WAL as Portal) or PostgreSQL (asyncpg)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.sqlite: Any = None
        self.pool: Any = None

    async def start(self) -> None:
        if self.target.startswith("postgresql"):
            import asyncpg

            self.pool = await asyncpg.create_pool(self.target, min_size=2, max_size=10)
            await self.pool.execute(TABLE.format(key="BIGSERIAL PRIMARY KEY"))
        else:
            import aiosqlite

            self.sqlite = await aiosqlite.connect(self.target)
            await self.sqlite.execute("PRAGMA journal_mode=WAL")
            await self.sqlite.execute("PRAGMA synchronous=NORMAL")
            await self.sqlite.execute(TABLE.format(key="INTEGER PRIMARY KEY AUTOINCREMENT"))
            await self.sqlite.commit()

    async def insert(self, chat_id: int, user_id: int, content: str) -> int:
        if self.pool is not None:
            return int(
                await self.pool.fetchval(
                    "INSERT INTO ceiling_messages (chat_id, user_id, content, created_at) "
                    "VALUES ($1, $2, $3, $4) RETURNING id",
                    chat_id,
                    user_id,
                    content,
                    time.time(),
                )
            )
        cursor = await self.sqlite.execute(
            "INSERT INTO ceiling_messages (chat_id, user_id, content, created_at) VALUES (?, ?, ?, ?)",
            (chat_id, user_id, content, time.time()),
        )
        await self.sqlite.commit()
        return int(cursor.lastrowid)


def create_app(tokens: list[str], store: Store, redis_url: str | None, bodies: dict[str, Any]) -> Any:
    users = {token: n + 1 for n, token in enumerate(tokens)}
    manager = (
        socketio.AsyncRedisManager(redis_url, channel=f"ceiling_{uuid.uuid4().hex[:8]}")
        if redis_url
        else None
    )
    sio = socketio.AsyncServer(async_mode="asgi", client_manager=manager, cors_allowed_origins=[])
    distributors: dict[int, str] = {}
    public_keys: dict[int, str] = {}

    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("session") if isinstance(auth, dict) else None
        user_id = users.get(token or "")
        if user_id is None:
            raise socketio.exceptions.ConnectionRefusedError("ERR_UNAUTHORIZED")
        await sio.save_session(sid, {"user_id": user_id})
        await sio.enter_room(sid, f"user:{user_id}")

    async def room_join(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(data["chat_id"])
        user_id = (await sio.get_session(sid))["user_id"]
        await sio.enter_room(sid, f"chat:{chat_id}")
        await sio.emit(
            "room:arrival", {"chat_id": chat_id, "user_id": user_id}, room=f"chat:{chat_id}", skip_sid=sid
        )
        if data.get("distributor"):
            distributors[chat_id] = sid
        elif user_id in public_keys and chat_id in distributors:
            wanted = [{"session_id": sid, "user_id": user_id, "public_key": public_keys[user_id]}]
            await sio.emit(
                "key:needed", {"chat_id": chat_id, "epoch": 1, "sessions": wanted}, to=distributors[chat_id]
            )
        return {"ok": True, "chat": {"id": chat_id}, "epoch": 1}

    async def key_distribute(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        for key in data["keys"]:
            payload = {"chat_id": data["chat_id"], "epoch": data["epoch"], "blob": key["blob"]}
            await sio.emit("key:received", payload, to=key["session_id"])
        return {"ok": True}

    sio.on("connect", connect)
    sio.on("room:join", room_join)
    sio.on("key:distribute", key_distribute)
    api = rest_app(tokens[0], bodies)

    @api.post("/v1/portal/chats/{chat_id}/messages")
    async def send(chat_id: int, request: Request) -> JSONResponse:
        user_id = users.get(request.cookies.get("psession") or "")
        if user_id is None:
            return JSONResponse({"detail": "Not signed in", "error": "ERR_UNAUTHORIZED"}, status_code=401)
        content = str((await request.json())["content"])
        message_id = await store.insert(chat_id, user_id, content)
        payload = {
            "chat_id": chat_id,
            "id": str(message_id),
            "sender": {"id": user_id, "username": f"user{user_id}", "avatar_url": None},
            "content": content,
            "type": "user",
            "timestamp": time.time(),
        }
        await sio.emit("message:new", payload, room=f"chat:{chat_id}")
        return JSONResponse({"id": str(message_id)})

    @api.post("/v1/portal/keys")
    async def register_key(request: Request) -> JSONResponse:
        user_id = users.get(request.cookies.get("psession") or "")
        if user_id is None:
            return JSONResponse({"detail": "Not signed in", "error": "ERR_UNAUTHORIZED"}, status_code=401)
        public_keys[user_id] = str((await request.json())["public_key"])
        return JSONResponse({"status": "registered"})

    # The catch-all GET of the REST ceiling must come after the POST route: move it to the end.
    api.router.routes.sort(key=lambda route: getattr(route, "path", "") == "/{path:path}")

    return socketio.ASGIApp(sio, other_asgi_app=api, on_startup=store.start)


if __name__ == "__main__":
    tokens = json.loads(Path(os.environ["CEILING_TOKENS"]).read_text())
    bodies_file = os.environ.get("CEILING_BODIES")
    bodies = json.loads(Path(bodies_file).read_text()) if bodies_file else {}
    store = Store(os.environ["CEILING_DATABASE"])
    run(create_app(tokens, store, os.environ.get("CEILING_REDIS"), bodies), int(sys.argv[1]))
