"""Read-only views of chats: list, directory, detail, members, activity and statistics.

Each view that is about one chat goes through `access_chat` (docs/architecture.md, "Access").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import chats as chats_db
from portal.db import users as users_db
from portal.db.models import Chat, User
from portal.domain import LISTED, ChatType, Visibility
from portal.errors import NotFound
from portal.schemas.chats import (
    ActivityEventOut,
    ActivityOut,
    BrowserConfigOut,
    ChatConfigOut,
    ChatDetailOut,
    ChatOut,
    ChatStatisticsOut,
    LiveOut,
    MemberOut,
    MembersOut,
    MemberUser,
    UserRef,
)
from portal.schemas.users import OwnedChatOut
from portal.services.base import Service
from portal.services.chat_access import Need, access_chat, can_manage
from portal.services.user_views import DEFAULT_AVATARS, avatar_url

MEMBERS_CAP = 100
RECENT_VIEWERS = timedelta(hours=24)


def chat_avatar_url(source: str | None) -> str | None:
    """`avatar_url` is the resolved URL of the stored key (`"discord_0"`); an uploaded avatar's
    stored value is already a URL."""
    if source is None:
        return None
    return DEFAULT_AVATARS.get(source, source if source.startswith("https://") else None)


def user_ref(user: User, platforms: Sequence[Any] = ()) -> UserRef:
    return UserRef(id=user.id, username=user.username, avatar_url=avatar_url(user, platforms))


def member_user(user: User, platforms: Sequence[Any] = ()) -> MemberUser:
    return MemberUser(
        id=user.id,
        username=user.username,
        avatar_url=avatar_url(user, platforms),
        permission_level=user.permission_level,
    )


class ChatViews(Service):
    async def views(self, session: AsyncSession, chats: Sequence[Chat]) -> list[ChatOut]:
        """Chat objects with their owners in two queries, whatever the number of chats."""
        owner_ids = [c.owner_id for c in chats if c.owner_id is not None]
        owners, platforms = await users_db.users_with_platforms(session, owner_ids)
        return [self.view_of(chat, owners.get(chat.owner_id or 0), platforms) for chat in chats]

    @staticmethod
    def view_of(chat: Chat, owner: User | None, platforms: dict[int, list[Any]]) -> ChatOut:
        """The chat object from rows the caller has loaded already (the owner and their platforms)."""
        return ChatOut(
            id=chat.id,
            chat_type=ChatType(chat.chat_type),
            name=chat.name,
            owner=user_ref(owner, platforms.get(owner.id, [])) if owner else None,
            visibility=chat.visibility,
            label=chat.label,
            slug=chat.slug,
            description=chat.description,
            avatar_url=chat_avatar_url(chat.avatar_source),
            archived=chat.archived_at is not None,
            secrets=[],
        )

    async def view(self, session: AsyncSession, chat: Chat) -> ChatOut:
        return (await self.views(session, [chat]))[0]

    async def live(self, chat_id: int) -> LiveOut:
        return LiveOut(
            running=await self.c.vms.is_running(chat_id),
            viewer_count=await self.c.rooms.viewer_count(chat_id),
        )

    @staticmethod
    def config(chat: Chat) -> ChatConfigOut:
        return ChatConfigOut(
            wipe_preset=chat.wipe_preset,
            history_visible=chat.history_visible,
            allow_control_requests=chat.allow_control_requests,
            locked_controls=chat.locked_controls,
            implicit_hosting=chat.implicit_hosting,
            inactive_cursors=chat.inactive_cursors,
            browser_config=BrowserConfigOut.model_validate(chat.browser_config),
        )

    async def list_for(self, *, actor: User) -> list[ChatOut]:
        """`GET /v1/portal/chats`: official first, then by last activity; the caller's direct chats that are
        active or archived less than `PORTAL_DIRECT_ARCHIVE_TTL` ago among them (strangers: only those)."""
        async with self.c.db.read() as session:
            chats = await chats_db.listed_for(
                session, actor.id, groups=not actor.is_stranger, archived_since=self.archive_cutoff()
            )
            return await self.views(session, chats)

    def archive_cutoff(self) -> datetime:
        """Direct chats archived after this are still listed (`archived: true`, 08 §55)."""
        return self.now - timedelta(seconds=self.c.settings.direct_archive_ttl)

    async def directory(self) -> list[ChatOut]:
        async with self.c.db.read() as session:
            return await self.views(session, await chats_db.directory(session))

    async def directory_entry(self, slug: str) -> ChatOut:
        async with self.c.db.read() as session:
            chat = await chats_db.by_slug(session, slug)
            if chat is None or chat.visibility not in LISTED:
                raise NotFound("Chat")
            return await self.view(session, chat)

    async def detail(self, chat_id: int, *, actor: User) -> ChatDetailOut:
        """One chat with its live state, plus its config for those who manage it."""
        async with self.c.db.read() as session:
            ctx = await access_chat(session, actor, chat_id)
            view = await self.view(session, ctx.chat)
        extra = self.config(ctx.chat).model_dump() if can_manage(ctx) else {}
        return ChatDetailOut(**view.model_dump(), live=await self.live(chat_id), **extra)

    async def owned_chats(self, user: User) -> list[OwnedChatOut]:
        async with self.c.db.read() as session:
            chats = await chats_db.owned_by(session, user.id)
        return [
            OwnedChatOut(
                id=c.id,
                name=c.name,
                is_public=c.visibility in LISTED,
                visibility=c.visibility,
                created_at=c.created_at,
            )
            for c in chats
        ]

    async def statistics(self) -> ChatStatisticsOut:
        async with self.c.db.read() as session:
            listed, private = await chats_db.group_counts(session)
        return ChatStatisticsOut(total_count=listed + private, public_count=listed, private_count=private)

    async def members(self, chat_id: int, *, actor: User) -> MembersOut:
        """Private: the owner then the members; listed: the owner then recent viewers."""
        async with self.c.db.read() as session:
            ctx = await access_chat(session, actor, chat_id, refuse_banned_at=self.now)
            since = None if ctx.chat.visibility == Visibility.PRIVATE else self.now - RECENT_VIEWERS
            rows = [
                m
                for m in await chats_db.members(session, chat_id, since=since)
                if m.user_id != ctx.chat.owner_id
            ]
            users = await chats_db.users_by_id(session, [m.user_id for m in rows])
            platforms = await users_db.platforms_of_many(
                session, [*users, *([ctx.owner.id] if ctx.owner else [])]
            )
        in_room = await self.c.presence.user_ids_in(chat_id)
        entries: list[MemberOut] = []
        if ctx.owner is not None:
            entries.append(
                MemberOut(
                    user=member_user(ctx.owner, platforms.get(ctx.owner.id, [])),
                    joined_at=ctx.chat.created_at,
                    online=ctx.owner.id in in_room,
                    role="owner",
                )
            )
        for row in rows:
            user = users.get(row.user_id)
            if user is not None:
                entries.append(
                    MemberOut(
                        user=member_user(user, platforms.get(user.id, [])),
                        joined_at=row.joined_at,
                        online=user.id in in_room,
                        role="member",
                    )
                )
        return MembersOut(members=entries[:MEMBERS_CAP], total=len(entries))

    async def activity(self, chat_id: int, *, actor: User, offset: int, limit: int) -> ActivityOut:
        async with self.c.db.read() as session:
            await access_chat(session, actor, chat_id, need=Need.MODERATE, refuse_banned_at=self.now)
            rows, total = await chats_db.activity(session, chat_id, offset=offset, limit=limit)
            users, platforms = await users_db.users_with_platforms(
                session, [r.user_id for r in rows] + [r.actor_id for r in rows if r.actor_id]
            )
        events = [
            ActivityEventOut(
                user=user_ref(users[r.user_id], platforms.get(r.user_id, [])),
                action=r.action,
                method=r.method,
                invite_code=r.invite_code,
                created_at=r.created_at,
                actor=user_ref(users[r.actor_id], platforms.get(r.actor_id, []))
                if r.actor_id in users
                else None,
            )
            for r in rows
            if r.user_id in users
        ]
        return ActivityOut(events=events, total=total, offset=offset, limit=limit)
