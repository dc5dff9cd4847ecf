"""Chats, memberships, invites and activity (messages are in `portal.db.messages`)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from portal.db import restrictions as restrictions_db
from portal.db.base import valid_id
from portal.db.conflicts import insert_unless_exists, raise_on_clash
from portal.db.models import Chat, ChatActivity, ChatInvite, ChatMember, User
from portal.domain import LISTED, ChatType, JoinMethod, Visibility


class SlugTaken(Exception):
    """Another chat has this slug."""


class InviteCodeTaken(Exception):
    """A random invite code collided (retry)."""


# ---- chats --------------------------------------------------------------------------------------------


async def get(session: AsyncSession, chat_id: int) -> Chat | None:
    return await session.get(Chat, chat_id) if valid_id(chat_id) else None


@dataclass(frozen=True, slots=True)
class AccessFacts:
    """What `access_chat` needs about a chat and one actor, read in one statement."""

    chat: Chat
    owner: User | None
    is_member: bool
    is_banned: bool  # a ban in force at `banned_at`; False when not asked


async def access_facts(
    session: AsyncSession, chat_id: int, actor_id: int, *, banned_at: datetime | None, lock: bool = False
) -> AccessFacts | None:
    """The chat, its owner, whether the actor is a member and (with `banned_at`) banned, or None: one
    statement where loading them one by one took four (docs/performance.md). `lock` takes the chat row's
    lock (`FOR UPDATE OF chats`: the owner, on the outer join's nullable side, is not locked)."""
    if not valid_id(chat_id):
        return None
    params: dict[str, Any] = {"chat_id": chat_id, "actor_id": actor_id}
    if banned_at is not None:
        params["now"] = banned_at
    row = (await session.execute(_access_query(banned_at is not None, lock), params)).one_or_none()
    if row is None:
        return None
    chat, owner, is_member, *banned = row
    return AccessFacts(chat, owner, bool(is_member), bool(banned and banned[0]))


@functools.cache
def _access_query(with_ban: bool, lock: bool) -> Select[Any]:
    """Built once per shape. Parameters: `chat_id`, `actor_id`, and `now` with the ban."""
    owner = aliased(User)
    actor: BindParameter[int] = bindparam("actor_id")
    is_member = (
        select(ChatMember.user_id).where(ChatMember.chat_id == Chat.id, ChatMember.user_id == actor).exists()
    )
    columns: list[Any] = [Chat, owner, is_member.label("is_member")]
    if with_ban:
        columns.append(restrictions_db.ban_in_force(Chat.id, actor, bindparam("now")).label("is_banned"))
    query = (
        select(*columns).outerjoin(owner, owner.id == Chat.owner_id).where(Chat.id == bindparam("chat_id"))
    )
    return query.with_for_update(of=Chat) if lock else query


async def get_for_update(session: AsyncSession, chat_id: int) -> Chat | None:
    if not valid_id(chat_id):
        return None
    return (
        await session.execute(select(Chat).where(Chat.id == chat_id).with_for_update())
    ).scalar_one_or_none()


async def by_slug(session: AsyncSession, slug: str) -> Chat | None:
    query = select(Chat).where(Chat.slug == slug, Chat.chat_type == ChatType.GROUP)
    return (await session.execute(query)).scalar_one_or_none()


async def insert(session: AsyncSession, chat: Chat) -> Chat:
    async with raise_on_clash(session, SlugTaken(chat.slug)):
        session.add(chat)
    return chat


async def flush_slug(session: AsyncSession) -> None:
    """Flush pending changes, turning a slug clash into `SlugTaken`."""
    async with raise_on_clash(session, SlugTaken()):
        pass


async def remove(session: AsyncSession, chat_id: int) -> None:
    await session.execute(delete(Chat).where(Chat.id == chat_id))


def _listing_order() -> tuple[ColumnElement[Any], ...]:
    official_first = case((Chat.visibility == Visibility.OFFICIAL, 0), else_=1)
    return (official_first, Chat.last_activity_at.desc(), Chat.id.desc())


async def listed_for(
    session: AsyncSession,
    user_id: int | None,
    *,
    groups: bool = True,
    archived_since: datetime | None = None,
) -> Sequence[Chat]:
    """Official and public group chats, plus the private ones `user_id` owns or is a member of (unless
    `groups` is off: strangers), plus — when `archived_since` is given — `user_id`'s direct chats that are
    active or were archived after it (00 §3.8)."""
    for_user = user_id is not None
    with_direct = archived_since is not None and for_user
    query = _listing_query(groups, for_user, with_direct)
    if query is None:
        return []
    params: dict[str, Any] = {}
    if for_user and (groups or with_direct):
        params["user_id"] = user_id
    if with_direct:
        params["archived_since"] = archived_since
    return (await session.execute(query, params)).scalars().all()


@functools.cache
def _listing_query(groups: bool, for_user: bool, with_direct: bool) -> Select[Chat] | None:
    """The chat list's statement, built once per shape: building it cost a fifth of a `GET /v1/portal/chats`
    (docs/performance.md). Parameters: `user_id`, `archived_since`."""
    user: BindParameter[int] = bindparam("user_id")
    member_of = select(ChatMember.chat_id).where(ChatMember.user_id == user)
    clauses: list[ColumnElement[bool]] = []
    if groups:
        visible: ColumnElement[bool] = Chat.visibility.in_(LISTED)
        if for_user:
            visible = or_(visible, Chat.owner_id == user, Chat.id.in_(member_of))
        clauses.append(and_(Chat.chat_type == ChatType.GROUP, visible))
    if with_direct:
        recent = or_(Chat.archived_at.is_(None), Chat.archived_at > bindparam("archived_since"))
        clauses.append(and_(Chat.chat_type == ChatType.DIRECT, Chat.id.in_(member_of), recent))
    if not clauses:
        return None
    return select(Chat).where(or_(*clauses)).order_by(*_listing_order())


async def directory(session: AsyncSession) -> Sequence[Chat]:
    query = (
        select(Chat)
        .where(Chat.chat_type == ChatType.GROUP, Chat.visibility.in_(LISTED))
        .order_by(*_listing_order())
    )
    return (await session.execute(query)).scalars().all()


async def owned_by(session: AsyncSession, owner_id: int) -> Sequence[Chat]:
    query = select(Chat).where(Chat.chat_type == ChatType.GROUP, Chat.owner_id == owner_id).order_by(Chat.id)
    return (await session.execute(query)).scalars().all()


async def count_owned(session: AsyncSession, owner_id: int) -> int:
    query = (
        select(func.count())
        .select_from(Chat)
        .where(Chat.chat_type == ChatType.GROUP, Chat.owner_id == owner_id)
    )
    return int((await session.execute(query)).scalar_one())


async def all_groups(session: AsyncSession) -> Sequence[Chat]:
    query = select(Chat).where(Chat.chat_type == ChatType.GROUP).order_by(Chat.id)
    return (await session.execute(query)).scalars().all()


async def group_counts(session: AsyncSession) -> tuple[int, int]:
    """(official + public, private) group chats."""
    listed = func.sum(case((Chat.visibility.in_(LISTED), 1), else_=0))
    private = func.sum(case((Chat.visibility == Visibility.PRIVATE, 1), else_=0))
    row = (await session.execute(select(listed, private).where(Chat.chat_type == ChatType.GROUP))).one()
    return int(row[0] or 0), int(row[1] or 0)


async def users_by_id(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, User]:
    if not user_ids:
        return {}
    rows = (await session.execute(select(User).where(User.id.in_(set(user_ids))))).scalars().all()
    return {user.id: user for user in rows}


# ---- members ------------------------------------------------------------------------------------------


async def membership(session: AsyncSession, chat_id: int, user_id: int) -> ChatMember | None:
    query = select(ChatMember).where(ChatMember.chat_id == chat_id, ChatMember.user_id == user_id)
    return (await session.execute(query)).scalar_one_or_none()


async def add_member(session: AsyncSession, member: ChatMember, *, gone: Exception) -> bool:
    """Insert a membership; False when the user already had one (a concurrent join won). The chat or the user
    deleted meanwhile raises `gone`."""
    return await insert_unless_exists(session, member, gone=gone)


async def touch_membership(session: AsyncSession, chat_id: int, user_id: int, joined_at: datetime) -> bool:
    """Record a member's latest join; False when the user has no membership."""
    result = await session.execute(
        update(ChatMember)
        .where(ChatMember.chat_id == chat_id, ChatMember.user_id == user_id)
        .values(joined_at=joined_at)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def remove_member(session: AsyncSession, chat_id: int, user_id: int) -> bool:
    result = await session.execute(
        delete(ChatMember).where(ChatMember.chat_id == chat_id, ChatMember.user_id == user_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def remove_uninvited_members(session: AsyncSession, chat_id: int) -> list[int]:
    """Drop the memberships not made by an invite (direct / vanity joins of a listed chat)."""
    query = delete(ChatMember).where(
        ChatMember.chat_id == chat_id,
        or_(ChatMember.method.is_(None), ChatMember.method != JoinMethod.INVITE),
    )
    result = await session.execute(query.returning(ChatMember.user_id))
    return list(result.scalars().all())


async def members(
    session: AsyncSession, chat_id: int, *, since: datetime | None = None
) -> Sequence[ChatMember]:
    """Memberships newest join first (optionally only those joined at or after `since`)."""
    query = select(ChatMember).where(ChatMember.chat_id == chat_id)
    if since is not None:
        query = query.where(ChatMember.joined_at >= since)
    return (
        (await session.execute(query.order_by(ChatMember.joined_at.desc(), ChatMember.id.desc())))
        .scalars()
        .all()
    )


async def member_user_ids(session: AsyncSession, chat_id: int) -> list[int]:
    query = select(ChatMember.user_id).where(ChatMember.chat_id == chat_id)
    return list((await session.execute(query)).scalars().all())


# ---- invites ------------------------------------------------------------------------------------------


def _live_invite(now: datetime) -> ColumnElement[bool]:
    return and_(
        or_(ChatInvite.expires_at.is_(None), ChatInvite.expires_at > now),
        or_(ChatInvite.max_uses.is_(None), ChatInvite.uses < ChatInvite.max_uses),
    )


async def active_invites(session: AsyncSession, chat_id: int, now: datetime) -> Sequence[ChatInvite]:
    query = (
        select(ChatInvite)
        .where(ChatInvite.chat_id == chat_id, _live_invite(now))
        .order_by(ChatInvite.created_at.desc(), ChatInvite.code)
    )
    return (await session.execute(query)).scalars().all()


async def count_active_invites(session: AsyncSession, chat_id: int, now: datetime) -> int:
    query = (
        select(func.count()).select_from(ChatInvite).where(ChatInvite.chat_id == chat_id, _live_invite(now))
    )
    return int((await session.execute(query)).scalar_one())


async def insert_invite(session: AsyncSession, invite: ChatInvite) -> ChatInvite:
    async with raise_on_clash(session, InviteCodeTaken()):
        session.add(invite)
    return invite


async def invite(session: AsyncSession, code: str) -> ChatInvite | None:
    return await session.get(ChatInvite, code) if len(code) <= 16 else None


async def live_invite(session: AsyncSession, code: str, now: datetime) -> ChatInvite | None:
    if len(code) > 16:
        return None
    query = select(ChatInvite).where(ChatInvite.code == code, _live_invite(now))
    return (await session.execute(query)).scalar_one_or_none()


async def use_invite(session: AsyncSession, code: str, now: datetime) -> bool:
    """Count one use if the invite is still live (atomic against concurrent redeems)."""
    result = await session.execute(
        update(ChatInvite).where(ChatInvite.code == code, _live_invite(now)).values(uses=ChatInvite.uses + 1)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete_invite(session: AsyncSession, code: str) -> None:
    await session.execute(delete(ChatInvite).where(ChatInvite.code == code))


# ---- activity -----------------------------------------------------------------------------------------


async def add_activity(session: AsyncSession, row: ChatActivity) -> None:
    session.add(row)
    await session.flush()


async def activity(
    session: AsyncSession, chat_id: int, *, offset: int, limit: int
) -> tuple[Sequence[ChatActivity], int]:
    total = (
        await session.execute(
            select(func.count()).select_from(ChatActivity).where(ChatActivity.chat_id == chat_id)
        )
    ).scalar_one()
    query = (
        select(ChatActivity)
        .where(ChatActivity.chat_id == chat_id)
        .order_by(ChatActivity.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return (await session.execute(query)).scalars().all(), int(total)


async def has_activity(session: AsyncSession, chat_id: int, user_id: int) -> bool:
    """Whether any activity row of this user in this chat exists."""
    query = (
        select(ChatActivity.id)
        .where(ChatActivity.chat_id == chat_id, ChatActivity.user_id == user_id)
        .limit(1)
    )
    return (await session.execute(query)).first() is not None
