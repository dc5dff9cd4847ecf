"""Who is connected and which sockets joined which chat, kept in the LiveStore (shared across nodes).

Keys (all under the store's prefix):
- `presence:chat:{chat}:sockets`  hash sid → "{user_id}|{token_hash}|{joined_ms}": sockets in the room
- `presence:chat:{chat}:users`    hash user_id → that user's sockets in the room (viewer_count = HLEN)
- `presence:socket:{sid}`         set of chat ids the socket joined (to clean up on disconnect)
- `presence:session:{token_hash}` hash chat_id → that session's sockets in the room (E2EE and history
                                  work per session)
- `presence:online`               hash user_id → number of connected sockets (registered users)
- `presence:node:{node}`          hash sid → user_id ("" for strangers) of the sockets connected to a node,
                                  and `presence:node:{node}:alive` (a TTL key the node keeps refreshing)
- `presence:nodes`                set of node ids that have sockets
- `presence:name:{name}`          the node id that last started under a node name (hostname:port): a node
                                  restarted on the same name knows its previous run is dead

Counters move with HINCRBY, so "first socket in" / "last socket out" is exact even when two nodes race.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from portal.live.base import LiveStore


@dataclass(frozen=True)
class RoomSocket:
    sid: str
    user_id: int
    token_hash: str
    joined_ms: int


@dataclass(frozen=True)
class JoinResult:
    user_first: bool  # the user's first socket in the room ("joined the chat")
    session_first: bool  # the session's first socket in the room (it may need the chat key)


@dataclass(frozen=True)
class LeaveResult:
    record: RoomSocket
    user_last: bool  # the user's last socket left ("left the chat")
    session_last: bool  # the session's last socket left (E2EE: a distributor may have gone)


def _chat_sockets(chat_id: int) -> str:
    return f"presence:chat:{chat_id}:sockets"


def _chat_users(chat_id: int) -> str:
    return f"presence:chat:{chat_id}:users"


def _socket_chats(sid: str) -> str:
    return f"presence:socket:{sid}"


def _session_chats(token_hash: str) -> str:
    return f"presence:session:{token_hash}"


ONLINE = "presence:online"
NODES = "presence:nodes"


def _node(node_id: str) -> str:
    return f"presence:node:{node_id}"


def _node_alive(node_id: str) -> str:
    return f"presence:node:{node_id}:alive"


def _name(name: str) -> str:
    return f"presence:name:{name}"


def _parse(sid: str, raw: str) -> RoomSocket:
    user_id, token_hash, joined_ms = raw.split("|")
    return RoomSocket(sid=sid, user_id=int(user_id), token_hash=token_hash, joined_ms=int(joined_ms))


class Presence:
    def __init__(self, live: LiveStore) -> None:
        self.live = live

    # ---- connections ------------------------------------------------------------------------------

    async def connected(self, node_id: str, sid: str, user_id: int | None) -> None:
        """A socket connected on `node_id` (`user_id` None for strangers: they are not "online")."""
        await self.live.sadd(NODES, node_id)
        await self.live.hset(_node(node_id), {sid: "" if user_id is None else str(user_id)})
        if user_id is not None:
            await self.live.hincr(ONLINE, str(user_id), 1)

    async def disconnected(self, node_id: str, sid: str, user_id: int | None) -> None:
        """Forget a connection. Only the first call for a socket counts: a node that was presumed dead and
        swept by another node, then closes its sockets after all, must not take users offline twice."""
        removed = await self.live.hdel(_node(node_id), sid)
        await self.live.delete(_socket_chats(sid))
        if removed and user_id is not None:
            await self._decrement(ONLINE, str(user_id))

    async def online_user_ids(self) -> list[int]:
        return [int(uid) for uid in await self.live.hgetall(ONLINE)]

    # ---- rooms ------------------------------------------------------------------------------------

    async def join(
        self, chat_id: int, sid: str, user_id: int, token_hash: str, now_ms: int
    ) -> JoinResult | None:
        """Record the socket in the room; None when it had already joined (a repeated join changes nothing).

        SADD is the atomic gate: of two concurrent joins of one socket only one adds the chat, so the
        user's and the session's socket counts in the room are incremented once."""
        if not await self.live.sadd(_socket_chats(sid), str(chat_id)):
            return None
        await self.live.hset(_chat_sockets(chat_id), {sid: f"{user_id}|{token_hash}|{now_ms}"})
        session_count = await self.live.hincr(_session_chats(token_hash), str(chat_id), 1)
        user_count = await self.live.hincr(_chat_users(chat_id), str(user_id), 1)
        return JoinResult(user_first=user_count == 1, session_first=session_count == 1)

    async def leave(self, chat_id: int, sid: str) -> LeaveResult | None:
        """Forget the socket in the room; None when it was not there (already removed by a racing
        disconnect or eviction)."""
        raw = await self.live.hget(_chat_sockets(chat_id), sid)
        if raw is None or not await self.live.hdel(_chat_sockets(chat_id), sid):
            return None
        await self.live.srem(_socket_chats(sid), str(chat_id))
        record = _parse(sid, raw)
        session_left = await self._decrement(_session_chats(record.token_hash), str(chat_id))
        user_left = await self._decrement(_chat_users(chat_id), str(record.user_id))
        return LeaveResult(record=record, user_last=user_left == 0, session_last=session_left == 0)

    async def chats_of_socket(self, sid: str) -> list[int]:
        return [int(chat_id) for chat_id in await self.live.smembers(_socket_chats(sid))]

    async def chats_of_session(self, token_hash: str) -> list[int]:
        """The chats a session has at least one socket joined to."""
        return sorted(int(chat_id) for chat_id in await self.live.hgetall(_session_chats(token_hash)))

    async def session_in_room(self, chat_id: int, token_hash: str) -> bool:
        """Has this session a socket joined to the room (sending needs a joined session)?"""
        return await self.live.hget(_session_chats(token_hash), str(chat_id)) is not None

    async def session_joined_at(self, chat_id: int, token_hash: str) -> datetime | None:
        """When the session's earliest socket still in the room joined it; None when it has none."""
        times = [r.joined_ms for r in await self.sockets_in(chat_id) if r.token_hash == token_hash]
        return datetime.fromtimestamp(min(times) / 1000, UTC) if times else None

    async def sockets_in(self, chat_id: int) -> list[RoomSocket]:
        """The sockets joined to the room, earliest join first."""
        records = [_parse(sid, raw) for sid, raw in (await self.live.hgetall(_chat_sockets(chat_id))).items()]
        return sorted(records, key=lambda r: (r.joined_ms, r.sid))

    async def user_ids_in(self, chat_id: int) -> set[int]:
        return {int(uid) for uid in await self.live.hgetall(_chat_users(chat_id))}

    async def viewer_count(self, chat_id: int) -> int:
        return len(await self.live.hgetall(_chat_users(chat_id)))

    async def user_in_room(self, chat_id: int, user_id: int) -> bool:
        return await self.live.hget(_chat_users(chat_id), str(user_id)) is not None

    async def drop_room(self, chat_id: int) -> None:
        """Forget a deleted chat's room entirely."""
        for record in await self.sockets_in(chat_id):
            await self.live.srem(_socket_chats(record.sid), str(chat_id))
            await self.live.hdel(_session_chats(record.token_hash), str(chat_id))
        await self.live.delete(_chat_sockets(chat_id), _chat_users(chat_id))

    # ---- nodes (sockets of a node that died without cleaning up) -----------------------------------

    async def heartbeat(self, node_id: str, ttl: float) -> None:
        await self.live.sadd(NODES, node_id)
        await self.live.set(_node_alive(node_id), "1", ttl=ttl)

    async def claim_name(self, name: str, node_id: str) -> str | None:
        """This node now runs under `name`; the node that ran under it before (None if none) can no longer
        be alive — only one process listens on a host and port — so its liveness key is dropped and the
        next sweep cleans up after it at once. Answers that previous node's id."""
        previous = await self.live.get(_name(name))
        await self.live.set(_name(name), node_id)
        if previous is None or previous == node_id:
            return None
        await self.live.delete(_node_alive(previous))
        return previous

    async def retire(self, node_id: str) -> None:
        """The node is stopping: it counts as dead from now on (whoever beats next sweeps its sockets)."""
        await self.live.delete(_node_alive(node_id))

    async def dead_nodes(self) -> list[str]:
        return [
            node for node in await self.live.smembers(NODES) if await self.live.get(_node_alive(node)) is None
        ]

    async def alive_nodes(self) -> list[str]:
        """The nodes whose heartbeat is current (running servers), sorted."""
        dead = set(await self.dead_nodes())
        return sorted(set(await self.live.smembers(NODES)) - dead)

    async def sockets_of_node(self, node_id: str) -> dict[str, int | None]:
        """sid → user id (None for strangers) of the sockets a node holds."""
        return {
            sid: int(uid) if uid else None for sid, uid in (await self.live.hgetall(_node(node_id))).items()
        }

    async def forget_node(self, node_id: str) -> None:
        await self.live.delete(_node(node_id), _node_alive(node_id))
        await self.live.srem(NODES, node_id)

    # ---- helpers ----------------------------------------------------------------------------------

    async def _decrement(self, key: str, field: str) -> int:
        remaining = await self.live.hincr(key, field, -1)
        if remaining <= 0:
            await self.live.hdel(key, field)
        return max(remaining, 0)
