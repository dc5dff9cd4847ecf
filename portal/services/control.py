"""Who controls a chat's browser: one host and a queue of requests.

- `control:request` adds the caller to the queue (only with `allow_control_requests`).
- `control:release` gives up hosting; `control:give` (host or chat manager) hands it to someone in the room;
  `control:deny` (host or manager) drops a request.
- `control:take`: managers always; other viewers only while nobody hosts and `locked_controls` is off.
- `implicit_hosting`: the first joiner becomes host when nobody is.
- Kick, ban, leave, and the host's last socket leaving drop their request and hosting.
Every change sends `control:update {chat_id, host_user_id, queue}` to the room. The state lives in the
LiveStore, so every node sees the same host.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypedDict

from portal.db import users as users_db
from portal.db.models import Chat, User
from portal.errors import ErrorCode, NotFound, coded
from portal.events import ControlUpdate
from portal.services.base import Service
from portal.services.chat_access import ChatContext, access_chat, can_manage
from portal.services.notifier import chat_room


def _key(chat_id: int) -> str:
    return f"vm:control:{chat_id}"


class State(TypedDict):
    host_user_id: int | None
    queue: list[int]


class ControlService(Service):
    async def state(self, chat_id: int) -> State:
        raw = await self.c.live.get(_key(chat_id))
        state = json.loads(raw) if raw else {}
        return {"host_user_id": state.get("host_user_id"), "queue": list(state.get("queue", []))}

    async def is_host(self, chat_id: int, user_id: int) -> bool:
        return (await self.state(chat_id))["host_user_id"] == user_id

    async def _change(self, chat_id: int, change: Callable[[State], None]) -> State:
        """Apply `change` under the chat's control lock; announce when something changed."""
        async with self.c.live.lock(f"vm:control:{chat_id}", ttl=10, wait=5):
            before = await self.state(chat_id)
            after: State = {"host_user_id": before["host_user_id"], "queue": list(before["queue"])}
            change(after)
            if after != before:
                await self.c.live.set(_key(chat_id), json.dumps(after))
        if after != before:
            await self.c.notifier.send(ControlUpdate(chat_id=chat_id, **after), room=chat_room(chat_id))
        if after["host_user_id"] != before["host_user_id"]:
            await self.c.vms.set_host(chat_id, after["host_user_id"])  # neko hands control over itself
        return after

    async def _context(self, actor_id: int, chat_id: int) -> ChatContext:
        async with self.c.db.read() as session:
            actor = await users_db.get(session, actor_id)
            if actor is None:
                raise NotFound("Chat")
            return await access_chat(session, actor, chat_id)

    async def _require_joined(self, chat_id: int, user_id: int) -> None:
        """In the room, and not banned from the chat (a REST ban leaves the socket in)."""
        if not await self.c.presence.user_in_room(chat_id, user_id):
            raise coded(ErrorCode.NOT_JOINED, 403)
        async with self.c.db.read() as session:
            await self.c.restrictions.refuse_banned(session, chat_id, user_id)

    # ---- client events ----------------------------------------------------------------------------

    async def request(self, chat_id: int, *, actor_id: int) -> None:
        ctx = await self._context(actor_id, chat_id)
        await self._require_joined(chat_id, actor_id)
        if not ctx.chat.allow_control_requests:
            raise coded(ErrorCode.CONTROL_DISABLED, 403)

        def add(state: State) -> None:
            if state["host_user_id"] != actor_id and actor_id not in state["queue"]:
                state["queue"].append(actor_id)

        await self._change(chat_id, add)

    async def release(self, chat_id: int, *, actor_id: int) -> None:
        await self._context(actor_id, chat_id)
        if not await self.is_host(chat_id, actor_id):
            raise coded(ErrorCode.NOT_HOST, 403)
        await self._change(chat_id, lambda state: state.update({"host_user_id": None}))

    async def give(self, chat_id: int, target_id: int, *, actor_id: int) -> None:
        ctx = await self._context(actor_id, chat_id)
        if not (await self.is_host(chat_id, actor_id) or can_manage(ctx)):
            raise coded(ErrorCode.FORBIDDEN, 403)
        await self._require_joined(chat_id, target_id)
        await self._change(chat_id, lambda state: self._make_host(state, target_id))

    async def take(self, chat_id: int, *, actor_id: int) -> None:
        ctx = await self._context(actor_id, chat_id)
        await self._require_joined(chat_id, actor_id)
        current = await self.state(chat_id)
        free = current["host_user_id"] is None and not ctx.chat.locked_controls
        if not (can_manage(ctx) or free):
            raise coded(ErrorCode.FORBIDDEN, 403)
        await self._change(chat_id, lambda state: self._make_host(state, actor_id))

    async def deny(self, chat_id: int, target_id: int, *, actor_id: int) -> None:
        ctx = await self._context(actor_id, chat_id)
        if not (await self.is_host(chat_id, actor_id) or can_manage(ctx)):
            raise coded(ErrorCode.FORBIDDEN, 403)
        await self._change(chat_id, lambda state: self._unqueue(state, target_id))

    # ---- hooks from rooms, moderation and the VM manager -------------------------------------------

    async def joined(self, chat: Chat, user: User) -> None:
        """`implicit_hosting`: the first joiner hosts when nobody does."""
        if chat.implicit_hosting:
            await self._change(
                chat.id, lambda s: self._make_host(s, user.id) if s["host_user_id"] is None else None
            )

    async def started(self, chat: Chat) -> None:
        """A VM (re)start: the stop before it reset control, so with `implicit_hosting` the earliest joiner
        still in the room hosts, as if they had just joined (users banned but still in the room never do)."""
        if not chat.implicit_hosting:
            return
        in_room = [record.user_id for record in await self.c.presence.sockets_in(chat.id)]
        if not in_room:
            return
        async with self.c.db.read() as session:
            banned = await self.c.restrictions.banned_user_ids(session, chat.id, set(in_room))
        earliest = next((user_id for user_id in in_room if user_id not in banned), None)
        if earliest is not None:
            await self._change(
                chat.id, lambda s: self._make_host(s, earliest) if s["host_user_id"] is None else None
            )

    async def drop(self, chat_id: int, user_id: int) -> None:
        """The user left the room (last socket), or was kicked or banned: no hosting, no request.

        Most who leave neither host nor wait: they are told apart without the control lock, which a room
        emptying at once would otherwise queue on (a user who starts waiting later is not in the room)."""
        seen = await self.state(chat_id)
        if seen["host_user_id"] != user_id and user_id not in seen["queue"]:
            return

        def remove(state: State) -> None:
            self._unqueue(state, user_id)
            if state["host_user_id"] == user_id:
                state["host_user_id"] = None

        await self._change(chat_id, remove)

    async def reset(self, chat_id: int, *, announce: bool = False) -> None:
        """Nobody hosts, nobody waits (the VM stopped, or the chat is gone). With `announce`, the room
        hears `control:update` when that changed something."""
        if not announce:
            await self.c.live.delete(_key(chat_id))
            return

        def clear(state: State) -> None:
            state["host_user_id"] = None
            state["queue"] = []

        await self._change(chat_id, clear)

    @staticmethod
    def _make_host(state: State, user_id: int) -> None:
        state["host_user_id"] = user_id
        ControlService._unqueue(state, user_id)

    @staticmethod
    def _unqueue(state: State, user_id: int) -> None:
        state["queue"] = [uid for uid in state["queue"] if uid != user_id]
