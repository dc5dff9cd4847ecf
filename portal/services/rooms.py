"""Chat rooms over Socket.IO: connect, join, leave, typing, disconnect and the live chat state.

The realtime layer calls these with the socket id; everything that decides anything is here. Presence is
shared through the LiveStore, so viewer counts and "first socket in / last socket out" are right across
nodes; events go out through the Notifier.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import chats as chats_db
from portal.db import users as users_db
from portal.db.models import Chat, ChatMember, User
from portal.domain import LISTED, ActivityAction, ChatType, JoinMethod
from portal.errors import AccessDenied, ErrorCode, NotFound, PortalError, SocketGone, coded
from portal.events import ChatStatus, MemberEntry, RoomMemberJoined, RoomMemberLeft, RoomMembers, Typing
from portal.schemas.chats import OnlineUser, PortalStatusOut
from portal.security import match_token_admits, match_token_chat
from portal.services.chat_access import ChatContext, access_chat
from portal.services.chat_views import ChatViews, member_user, user_ref
from portal.services.coalesce import Coalescer
from portal.services.e2ee import KeyState
from portal.services.notifier import chat_room, screen_room
from portal.services.sessions import AuthContext

if TYPE_CHECKING:
    from portal.container import Container
    from portal.live.presence import JoinResult, Presence

log = logging.getLogger("portal.rooms")
ONLINE_LIST_CAP = 200
TYPING_INTERVAL = 1  # second: at most one typing event per user per chat


@dataclass(frozen=True)
class RoomState:
    """A room's member list and viewer count, read once for the events and the ack of one join, with the
    users (and their linked platforms) that were loaded for it."""

    members: list[MemberEntry]
    viewer_count: int
    users: dict[int, User]
    platforms: dict[int, list[Any]]


@dataclass(frozen=True)
class SocketUser:
    """What a socket's handlers know about its owner (saved at connect)."""

    user_id: int
    token_hash: str
    is_stranger: bool

    @classmethod
    def of(cls, ctx: AuthContext) -> SocketUser:
        return cls(user_id=ctx.user.id, token_hash=ctx.token_hash, is_stranger=ctx.user.is_stranger)


JOINS_IN_PROGRESS = 16  # per node: below the database pool (2 × PORTAL_DB_POOL_SIZE by default)


class RoomService:
    def __init__(self, container: Container) -> None:
        self.c = container
        self.lists = Coalescer(container.settings.room_list_interval)  # room:members and chat:status
        self._join_slots = asyncio.Semaphore(JOINS_IN_PROGRESS)

    async def close(self) -> None:
        await self.lists.close()

    @property
    def presence(self) -> Presence:
        return self.c.presence

    # ---- connections ------------------------------------------------------------------------------

    async def connected(self, who: SocketUser, sid: str) -> list[dict[str, Any]]:
        """Record the connection; answer the `chat:list` payload.

        The list is read first, so a failure there (the connection then fails) leaves no presence behind
        that nothing would ever remove."""
        chat_list = await self.chat_list(who)
        await self.presence.connected(self.c.node_id, sid, None if who.is_stranger else who.user_id)
        await self.c.matchmaking.socket_connected(who.user_id)  # keeps a match-queue entry alive (08 §53)
        return chat_list

    async def chat_list(self, who: SocketUser) -> list[dict[str, Any]]:
        async with self.c.db.read() as session:
            chats = await chats_db.listed_for(
                session,
                who.user_id,
                groups=not who.is_stranger,
                archived_since=self.c.chat_views.archive_cutoff(),
            )
        return [await self.status(chat.id) for chat in chats]

    async def status(self, chat_id: int, *, viewers: int | None = None) -> dict[str, Any]:
        """The `chat:status` payload (`chat:list` entries have the same shape); `viewers` is the viewer
        count when the caller has just read it."""
        return {
            "chat_id": chat_id,
            "running": await self.c.vms.is_running(chat_id),
            "viewer_count": await self.viewer_count(chat_id) if viewers is None else viewers,
        }

    async def viewer_count(self, chat_id: int) -> int:
        """Distinct users in the room, banned ones left out (a REST ban leaves the socket in)."""
        in_room = await self.presence.user_ids_in(chat_id)
        if not in_room:
            return 0
        async with self.c.db.read() as session:
            banned = await self.c.restrictions.banned_user_ids(session, chat_id, in_room)
        return len(in_room - banned)

    async def broadcast_status(self, chat_id: int) -> None:
        """Send `chat:status` to everyone who can list the chat (coalesced per room: `Coalescer`)."""
        fresh = partial(self._send_status, chat_id)
        await self.lists.run(("status", chat_id), fresh, fresh)

    async def _send_status(self, chat_id: int) -> None:
        async with self.c.db.read() as session:
            chat = await chats_db.get(session, chat_id)
            rooms = await self.c.chats.lister_rooms(session, chat) if chat else []
        if rooms:
            await self._emit_status(rooms, await self.status(chat_id))

    async def _emit_status(self, rooms: list[str], status: dict[str, Any]) -> None:
        await self.c.notifier.send(ChatStatus(**status), room=rooms)

    async def disconnected(self, who: SocketUser, sid: str) -> None:
        """A socket went away: it leaves every room it had joined, then it is offline. A failure in one
        room (say the database is briefly down while writing "left the chat") must not keep the socket
        counted in the others or online forever."""
        try:
            for chat_id in await self.presence.chats_of_socket(sid):
                try:
                    await self._left(chat_id, sid, announce=True)
                except Exception:
                    log.exception("leaving chat %s on disconnect failed", chat_id)
        finally:
            await self.presence.disconnected(self.c.node_id, sid, None if who.is_stranger else who.user_id)
            await self.c.matchmaking.socket_disconnected(who.user_id)  # the match-queue grace (08 §53)

    # ---- join -------------------------------------------------------------------------------------

    async def join(
        self,
        who: SocketUser,
        sid: str,
        *,
        chat_id: int | None = None,
        slug: str | None = None,
        token: str | None = None,
        ack: bool = True,
    ) -> dict[str, Any]:
        """`room:join`: the join rules, membership bookkeeping, E2EE and the ack (`ack=False`: a join the
        server makes for a socket, which answers nobody).

        Rows read by one step are handed to the next (the chat, the user and their context, the member
        list and viewer count, the keys the election read), so a join reads each of them once.

        At most JOINS_IN_PROGRESS joins run at once on a node; the rest wait before they take a database
        connection, so a storm of joins queues instead of timing out on the pool (docs/decisions.md)."""
        async with self._join_slots:
            return await self._join(who, sid, chat_id=chat_id, slug=slug, token=token, ack=ack)

    async def _join(
        self,
        who: SocketUser,
        sid: str,
        *,
        chat_id: int | None,
        slug: str | None,
        token: str | None,
        ack: bool,
    ) -> dict[str, Any]:
        async with self.c.db.read() as session:
            if token is not None:
                user, ctx = await self._joinable_by_token(session, who, token, chat_id=chat_id)
            else:
                user, ctx = await self._joinable(session, who, chat_id=chat_id, slug=slug)
        chat = ctx.chat
        direct = chat.chat_type == ChatType.DIRECT
        if direct:
            await self.c.direct_lifecycle.refuse_ended(chat.id)
        joined = await self._enter(sid, chat.id, user.id, who.token_hash)
        try:
            if joined is not None and joined.user_first:
                chat = await self._first_join(ctx, user, via_slug=slug is not None)
        except Exception:
            await self.presence.leave(chat.id, sid)
            await self._leave_rooms(sid, chat.id)
            raise
        room: RoomState | None = None
        if joined is not None and joined.user_first:
            if direct:
                await self.c.direct_lifecycle.member_back(chat.id, user.id)
            room = await self._announce_arrival(user, chat)
            await self.c.control.joined(chat, user)
        if joined is not None:
            await self.c.vms.viewers_changed(chat.id)  # every new socket needs the current screen
        keys: KeyState | None = None
        if joined is not None and joined.session_first:
            keys = await self.c.e2ee.ensure_distribution(chat.id)
        if not ack:
            return {"ok": True}
        return await self._ack(ctx, chat, who.token_hash, room=room, keys=keys)

    async def _enter(self, sid: str, chat_id: int, user_id: int, token_hash: str) -> JoinResult | None:
        """Put the socket in the chat's rooms and record it in the shared presence (None: it had already
        joined). A socket that disconnected while its join was being checked is refused, and one that
        disconnected while it was being recorded is taken out again: its disconnect handler may have looked
        for its rooms before this one was recorded, and nothing else would ever remove it."""
        notifier = self.c.notifier
        if not await notifier.enter_room(sid, chat_room(chat_id)):
            raise SocketGone()
        await notifier.enter_room(sid, screen_room(chat_id))
        joined = await self.presence.join(chat_id, sid, user_id, token_hash, self._now_ms())
        if not notifier.connected(sid):
            await self.presence.leave(chat_id, sid)
            raise SocketGone()
        return joined

    async def seat(self, sid: str, chat_id: int, session: dict[str, Any]) -> None:
        """The server joins a socket (this node's) to a room, as its `room:join {chat_id}` would: a new
        direct chat seats both members' sockets (08 §54). A refusal (the chat ended meanwhile) is logged."""
        who = SocketUser(
            user_id=session["user_id"], token_hash=session["token_hash"], is_stranger=session["is_stranger"]
        )
        try:
            await self.join(who, sid, chat_id=chat_id, ack=False)
        except PortalError as exc:
            log.info("socket %s not seated in chat %s: %s", sid, chat_id, exc.ack_code())

    async def _joinable_by_token(
        self, session: AsyncSession, who: SocketUser, token: str, *, chat_id: int | None
    ) -> tuple[User, ChatContext]:
        """`room:join {token}` (08 §31): a token that names no direct chat or was issued for none of its
        members → 404; one issued for another member → 403; only then the chat's own state counts."""
        named = match_token_chat(token)
        chat = await chats_db.get(session, named) if named is not None else None
        if chat is None or chat.chat_type != ChatType.DIRECT or (chat_id is not None and chat_id != chat.id):
            raise NotFound("Chat")
        secret = self.c.settings.resolved_secret_key
        members = await chats_db.member_user_ids(session, chat.id)
        holder = next((m for m in members if match_token_admits(secret, token, chat.id, m)), None)
        if holder is None:
            raise NotFound("Chat")
        user = (await chats_db.users_by_id(session, [who.user_id])).get(who.user_id)
        if user is None or holder != user.id:
            raise AccessDenied()
        return user, await access_chat(session, user, chat.id, refuse_banned_at=self.c.clock.now())

    async def _joinable(
        self, session: AsyncSession, who: SocketUser, *, chat_id: int | None, slug: str | None
    ) -> tuple[User, ChatContext]:
        """The user and the chat as they see it, a user banned from it refused (403 ERR_BANNED, after the
        visibility check). By id that is two statements: the user, then `access_chat`'s one."""
        user = (await chats_db.users_by_id(session, [who.user_id])).get(who.user_id)
        if user is None:
            raise AccessDenied()
        if slug is not None:
            chat = await self._find(session, chat_id=chat_id, slug=slug)
            if chat is None:
                raise NotFound("Chat")
            chat_id = chat.id
        if chat_id is None:
            raise NotFound("Chat")
        return user, await access_chat(session, user, chat_id, refuse_banned_at=self.c.clock.now())

    @staticmethod
    async def _find(session: AsyncSession, *, chat_id: int | None, slug: str) -> Chat | None:
        """The listed group chat with this slug (and this id, when both are given)."""
        chat = await chats_db.by_slug(session, slug)
        if chat is None or (chat_id is not None and chat.id != chat_id) or chat.visibility not in LISTED:
            return None
        return chat

    async def _first_join(self, ctx: ChatContext, user: User, *, via_slug: bool) -> Chat:
        """The user's first socket in the room: membership, activity and the "joined" message. Answers
        the chat as this transaction read it."""
        now = self.c.clock.now()
        async with self.c.db.transaction() as session:
            chat = await chats_db.get(session, ctx.chat.id)
            if chat is None:
                raise NotFound("Chat")
            # A member's join only moves `joined_at`; the membership read before is a hint, checked by the
            # UPDATE itself (no row: it went in the meantime, and the user joins as a newcomer).
            member = ctx.is_member and await chats_db.touch_membership(session, chat.id, user.id, now)
            if not member and chat.visibility in LISTED and chat.owner_id != user.id:
                method = JoinMethod.VANITY if via_slug else JoinMethod.DIRECT
                added = await chats_db.add_member(
                    session,
                    ChatMember(
                        chat_id=chat.id,
                        user_id=user.id,
                        method=method,
                        invite_code=chat.slug if via_slug else None,
                        joined_at=now,
                        created_at=now,
                    ),
                    gone=NotFound("Chat"),
                )
                if added:
                    await self.c.chats.add_activity(
                        session,
                        chat.id,
                        user.id,
                        ActivityAction.JOIN,
                        method=method,
                        invite_code=chat.slug if via_slug else None,
                    )
                else:  # a concurrent join (an invite) made the membership first
                    await chats_db.touch_membership(session, chat.id, user.id, now)
            if chat.chat_type != ChatType.DIRECT:  # a direct chat's presence shows as room:peer_* instead
                await self.c.messages.post_system(session, chat, f"{user.username} joined the chat")
            if not chat.history_visible:
                # A newcomer must not read what was said before: a new epoch.
                await self.c.e2ee.rotate(session, chat.id)
        return chat

    async def _announce_arrival(self, user: User, chat: Chat) -> RoomState:
        """`room:member_joined`, `room:members` and `chat:status`, from one read; the ack reuses it."""
        in_room = await self.presence.user_ids_in(chat.id)
        async with self.c.db.read() as session:
            room = await self._room_state(session, chat, in_room, also=[user.id])
            rooms = await self.c.chats.lister_rooms(session, chat)
        await self.c.notifier.send(
            RoomMemberJoined(chat_id=chat.id, user=user_ref(user, room.platforms.get(user.id, []))),
            room=chat_room(chat.id),
        )
        await self.lists.run(
            ("members", chat.id),
            partial(self._emit_members, chat.id, room.members),
            partial(self._send_members, chat.id),
        )
        if rooms:

            async def status_as_read() -> None:
                await self._emit_status(rooms, await self.status(chat.id, viewers=room.viewer_count))

            await self.lists.run(("status", chat.id), status_as_read, partial(self._send_status, chat.id))
        return room

    async def _after_change(self, chat_id: int) -> None:
        """The room's member list and viewer count changed."""
        await self.announce_members(chat_id)
        await self.broadcast_status(chat_id)

    async def announce_members(self, chat_id: int) -> None:
        """`room:members` to the room: sent whenever the list changes (coalesced per room: `Coalescer`)."""
        fresh = partial(self._send_members, chat_id)
        await self.lists.run(("members", chat_id), fresh, fresh)

    async def _send_members(self, chat_id: int) -> None:
        await self._emit_members(chat_id, await self.members(chat_id))

    async def _emit_members(self, chat_id: int, members: list[MemberEntry]) -> None:
        await self.c.notifier.send(RoomMembers(chat_id=chat_id, members=members), room=chat_room(chat_id))

    async def _ack(
        self,
        ctx: ChatContext,
        chat: Chat,
        token_hash: str,
        *,
        room: RoomState | None,
        keys: KeyState | None,
    ) -> dict[str, Any]:
        """The `room:join` ack, from what the join read already (`room`, `keys`) or one read for the rest."""
        if room is None:
            in_room = await self.presence.user_ids_in(chat.id)
            async with self.c.db.read() as session:
                room = await self._room_state(session, chat, in_room)
        # The chat object from rows at hand (ChatViews.view would read the owner and platforms again).
        view = ChatViews.view_of(chat, room.users.get(chat.owner_id or 0), room.platforms)
        live = await self.status(chat.id, viewers=room.viewer_count)
        e2ee = await self.c.e2ee.join_info(chat.id, token_hash, known=keys)
        return {
            "ok": True,
            "chat": view.model_dump(mode="json"),
            "epoch": e2ee["epoch"],
            "history_visible": chat.history_visible,
            "members": [member.model_dump(mode="json") for member in room.members],
            "public_keys": e2ee["public_keys"],
            "key": e2ee["key"],
            "distributor": e2ee["distributor"],
            "live": {"running": live["running"], "viewer_count": live["viewer_count"]},
            "vm": await self.c.vms.credentials_for(chat, ctx.actor.id, ctx=ctx),
            "control": await self.c.control.state(chat.id),
        }

    async def members(self, chat_id: int) -> list[MemberEntry]:
        """`room:members`: private → owner and members with `online`; listed → users in the room."""
        in_room = await self.presence.user_ids_in(chat_id)
        async with self.c.db.read() as session:
            chat = await chats_db.get(session, chat_id)
            if chat is None:
                return []
            ids = await self._member_ids(session, chat, in_room)
            users, platforms = await users_db.users_with_platforms(session, ids)
        return self._member_list(ids, users, platforms, in_room)

    async def _room_state(
        self, session: AsyncSession, chat: Chat, in_room: set[int], *, also: Sequence[int] = ()
    ) -> RoomState:
        """The member list and the viewer count in three queries. The users (with their platforms) of the
        list, of `also` and the chat's owner come along: the ack's chat object and the arrival need them."""
        ids = await self._member_ids(session, chat, in_room)
        owner = [chat.owner_id] if chat.owner_id is not None else []
        users, platforms = await users_db.users_with_platforms(session, [*ids, *also, *owner])
        banned = await self.c.restrictions.banned_user_ids(session, chat.id, in_room) if in_room else set()
        return RoomState(
            members=self._member_list(ids, users, platforms, in_room),
            viewer_count=len(in_room - banned),
            users=users,
            platforms=platforms,
        )

    @staticmethod
    async def _member_ids(session: AsyncSession, chat: Chat, in_room: set[int]) -> list[int]:
        """Who the list shows, in order: listed → the users in the room; private → owner, then members."""
        if chat.visibility in LISTED:
            return sorted(in_room)
        members = await chats_db.member_user_ids(session, chat.id)
        return [*([chat.owner_id] if chat.owner_id else []), *sorted(set(members) - {chat.owner_id})]

    @staticmethod
    def _member_list(
        ids: list[int], users: dict[int, User], platforms: dict[int, list[Any]], in_room: set[int]
    ) -> list[MemberEntry]:
        return [
            MemberEntry(user=member_user(users[uid], platforms.get(uid, [])), online=uid in in_room)
            for uid in ids
            if uid in users
        ]

    # ---- leave ------------------------------------------------------------------------------------

    async def leave(self, who: SocketUser, sid: str, chat_id: int) -> None:
        """`room:leave`: idempotent; the last socket out writes "left the chat"."""
        await self._leave_rooms(sid, chat_id)
        await self._left(chat_id, sid, announce=True)

    async def _leave_rooms(self, sid: str, chat_id: int) -> None:
        await self.c.notifier.leave_room(sid, chat_room(chat_id))
        await self.c.notifier.leave_room(sid, screen_room(chat_id))

    async def forget(self, sid: str, chat_id: int) -> None:
        """A socket removed by the server (kick, leave from another device, deletion): bookkeeping only —
        whoever removed it has already written the system message."""
        await self._left(chat_id, sid, announce=False)

    async def _left(self, chat_id: int, sid: str, *, announce: bool) -> None:
        left = await self.presence.leave(chat_id, sid)
        if left is None:
            return
        if left.session_last:
            await self.c.e2ee.session_left(chat_id, left.record.token_hash)
        if not left.user_last:
            return
        await self.c.control.drop(chat_id, left.record.user_id)  # the host loses control
        await self.c.vms.viewers_changed(chat_id)
        async with self.c.db.transaction() as session:
            chat = await chats_db.get(session, chat_id)
            user = await users_db.get(session, left.record.user_id)
            if chat is None or user is None:
                return
            direct = chat.chat_type == ChatType.DIRECT
            if direct and chat.archived_at is not None:
                return  # ended: its sockets are being removed and nobody is left to tell
            if announce and not direct:
                await self.c.messages.post_system(session, chat, f"{user.username} left the chat")
        await self.announce_left(chat_id, user)
        if direct:
            await self.c.direct_lifecycle.member_away(chat_id, user.id)

    async def announce_left(self, chat_id: int, user: User) -> None:
        """`room:member_left` and the new member list (last socket out, or a `/leave` with none in)."""
        async with self.c.db.read() as session:
            platforms = await users_db.platforms_of(session, user.id)
        await self.c.notifier.send(
            RoomMemberLeft(chat_id=chat_id, user=user_ref(user, platforms)), room=chat_room(chat_id)
        )
        await self._after_change(chat_id)

    # ---- typing -----------------------------------------------------------------------------------

    async def typing(self, who: SocketUser, sid: str, chat_id: int) -> None:
        """At most one `typing` per user per second, whatever the chat; a socket that has not
        joined gets ERR_NOT_JOINED."""
        if chat_id not in await self.presence.chats_of_socket(sid):
            raise coded(ErrorCode.NOT_JOINED, 403)
        window = int(self.c.clock.time() // TYPING_INTERVAL)
        if await self.c.live.set(
            f"typing:{who.user_id}:{window}", "1", ttl=TYPING_INTERVAL * 2, only_if_absent=True
        ):
            typing = Typing(chat_id=chat_id, user_id=who.user_id)
            await self.c.notifier.send(typing, room=chat_room(chat_id), skip_sid=sid)

    # ---- the portal as a whole --------------------------------------------------------------------

    async def portal_status(self, actor: User) -> PortalStatusOut:
        """`GET /v1/portal/status`: registered users with a socket, by username, at most 200."""
        online = await self.presence.online_user_ids()
        async with self.c.db.read() as session:
            users = await chats_db.users_by_id(session, online)
        listed = sorted(
            (u for u in users.values() if not u.is_stranger), key=lambda u: (u.username.lower(), u.id)
        )
        return PortalStatusOut(
            online=len(listed),
            users=[OnlineUser(user_id=u.id, username=u.username) for u in listed[:ONLINE_LIST_CAP]],
            muted=await self.c.restrictions.is_hard_muted(actor.id),
        )

    # ---- nodes that died --------------------------------------------------------------------------

    async def sweep_dead_nodes(self) -> int:
        """Sockets of nodes that stopped refreshing their liveness key leave their rooms (as a disconnect)."""
        swept = 0
        for node_id in await self.presence.dead_nodes():
            for sid, user_id in (await self.presence.sockets_of_node(node_id)).items():
                for chat_id in await self.presence.chats_of_socket(sid):
                    await self._left(chat_id, sid, announce=True)
                await self.presence.disconnected(node_id, sid, user_id)
                await self.c.socket_limits.release(sid)
                if user_id is not None:  # strangers' queue entries keep their plain TTL here
                    await self.c.matchmaking.socket_disconnected(user_id)
                swept += 1
            await self.presence.forget_node(node_id)
        return swept

    def _now_ms(self) -> int:
        return int(self.c.clock.time() * 1000)
