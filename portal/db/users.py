"""Users and their linked platform identities."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import and_, bindparam, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from portal.db.base import valid_id
from portal.db.conflicts import raise_on_clash
from portal.db.models import LinkedPlatform, User
from portal.db.uow import users_changed
from portal.domain import UserState


class UsernameTaken(Exception):
    """The (case-insensitive) username is in use."""


class IdentityTaken(Exception):
    """The (platform, platform_user_id) pair is linked to another account."""


async def get(session: AsyncSession, user_id: int) -> User | None:
    if not valid_id(user_id):
        return None
    return await session.get(User, user_id)


async def get_for_update(session: AsyncSession, user_id: int) -> User | None:
    if not valid_id(user_id):
        return None
    return (
        await session.execute(select(User).where(User.id == user_id).with_for_update())
    ).scalar_one_or_none()


async def lowest_id_at_level(session: AsyncSession, level: int) -> int | None:
    """The id of the oldest (lowest-id) user at exactly this permission level."""
    return (
        await session.execute(select(func.min(User.id)).where(User.permission_level == level))
    ).scalar_one_or_none()


async def by_username(session: AsyncSession, username: str) -> User | None:
    query = select(User).where(func.lower(User.username) == username.lower())
    return (await session.execute(query)).scalar_one_or_none()


async def insert(session: AsyncSession, user: User) -> User:
    """Add a user; a clash on the username index becomes `UsernameTaken`."""
    async with raise_on_clash(session, UsernameTaken(user.username)):
        session.add(user)
    return user


async def rename(session: AsyncSession, user: User, username: str, now: datetime) -> None:
    """Rename `user`; a clash on the username index becomes `UsernameTaken` with `user` unchanged.

    The rolled-back savepoint expires `user`, so it is reloaded here: an async session cannot load
    expired attributes lazily, and the caller still renders the user afterwards.
    """
    try:
        async with raise_on_clash(session, UsernameTaken(username)):
            user.username = username
            user.updated_at = now
    except UsernameTaken:
        await session.refresh(user)
        raise


async def downgrade_expired(session: AsyncSession, user: User, now: datetime) -> bool:
    """Set an expired Trial/Premium back to Basic, only if the row still holds that subscription.

    Answers whether this call made the change; `user` is updated in place when it did.
    """
    result = await session.execute(
        update(User)
        .where(
            User.id == user.id,
            User.subscription_tier == user.subscription_tier,
            User.subscription_expires_at == user.subscription_expires_at,
            User.subscription_expires_at <= now,
        )
        .values(subscription_tier=0, subscription_expires_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    users_changed(session, [user.id])
    set_committed_value(user, "subscription_tier", 0)
    set_committed_value(user, "subscription_expires_at", None)
    set_committed_value(user, "updated_at", now)
    return True


async def subscriptions_ended(
    session: AsyncSession, tiers: Sequence[int], now: datetime, *, limit: int
) -> Sequence[User]:
    """Up to `limit` users on one of the timed `tiers` whose subscription has ended by `now`."""
    query = (
        select(User)
        .where(User.subscription_tier.in_(tiers), User.subscription_expires_at <= now)
        .limit(limit)
    )
    return (await session.execute(query)).scalars().all()


async def lift_expired_states(session: AsyncSession, now: datetime) -> int:
    """Clear every timed account state (timeout, timed ban) that has ended by `now`; answers how many."""
    result = await session.execute(
        update(User)
        .where(
            User.state != UserState.ACTIVE, User.state_expires_at.is_not(None), User.state_expires_at <= now
        )
        .values(state=UserState.ACTIVE, state_expires_at=None, updated_at=now)
        .returning(User.id)
    )
    lifted = list(result.scalars())
    users_changed(session, lifted)
    return len(lifted)


async def search(session: AsyncSession, q: str, *, offset: int, limit: int) -> tuple[Sequence[User], int]:
    """Registered users whose name contains `q` (case-insensitive): prefix matches first, then by name."""
    needle = q.lower()
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    lowered = func.lower(User.username)
    where = and_(User.is_stranger.is_(False), lowered.like(f"%{escaped}%", escape="\\"))
    total = (await session.execute(select(func.count()).select_from(User).where(where))).scalar_one()
    prefix_first = case((lowered.like(f"{escaped}%", escape="\\"), 0), else_=1)
    rows = await session.execute(
        select(User).where(where).order_by(prefix_first, lowered, User.id).offset(offset).limit(limit)
    )
    return rows.scalars().all(), int(total)


# ---- linked platforms ------------------------------------------------------------------------------


async def platforms_of(session: AsyncSession, user_id: int) -> Sequence[LinkedPlatform]:
    query = (
        select(LinkedPlatform)
        .where(LinkedPlatform.user_id == user_id)
        .order_by(LinkedPlatform.linked_at, LinkedPlatform.id)
    )
    return (await session.execute(query)).scalars().all()


_USERS_WITH_PLATFORMS = (  # built once: building it cost more than running it (docs/performance.md)
    select(User, LinkedPlatform)
    .outerjoin(LinkedPlatform, LinkedPlatform.user_id == User.id)
    .where(User.id.in_(bindparam("ids", expanding=True)))
    .order_by(LinkedPlatform.linked_at, LinkedPlatform.id)
)


async def users_with_platforms(
    session: AsyncSession, user_ids: Iterable[int]
) -> tuple[dict[int, User], dict[int, list[LinkedPlatform]]]:
    """The users among `user_ids` that exist and their linked platforms (oldest link first), in one query:
    a listing's `users_by_id` + `platforms_of_many` without the second round trip."""
    users: dict[int, User] = {}
    platforms: dict[int, list[LinkedPlatform]] = {}
    ids = set(user_ids)
    if not ids:
        return users, platforms
    for user, link in (await session.execute(_USERS_WITH_PLATFORMS, {"ids": list(ids)})).all():
        users[user.id] = user
        links = platforms.setdefault(user.id, [])
        if link is not None:
            links.append(link)
    return users, platforms


async def platforms_of_many(
    session: AsyncSession, user_ids: Sequence[int]
) -> dict[int, list[LinkedPlatform]]:
    result: dict[int, list[LinkedPlatform]] = {uid: [] for uid in user_ids}
    if not user_ids:
        return result
    query = (
        select(LinkedPlatform)
        .where(LinkedPlatform.user_id.in_(user_ids))
        .order_by(LinkedPlatform.linked_at, LinkedPlatform.id)
    )
    for link in (await session.execute(query)).scalars():
        result[link.user_id].append(link)
    return result


async def identity(session: AsyncSession, platform: str, platform_user_id: str) -> LinkedPlatform | None:
    query = select(LinkedPlatform).where(
        LinkedPlatform.platform == platform, LinkedPlatform.platform_user_id == platform_user_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def user_by_identity(
    session: AsyncSession, platform: str, platform_user_id: str
) -> tuple[User, LinkedPlatform] | None:
    query = (
        select(User, LinkedPlatform)
        .join(LinkedPlatform, LinkedPlatform.user_id == User.id)
        .where(LinkedPlatform.platform == platform, LinkedPlatform.platform_user_id == platform_user_id)
    )
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row else None


async def link(session: AsyncSession, link: LinkedPlatform) -> LinkedPlatform:
    async with raise_on_clash(session, IdentityTaken(f"{link.platform}:{link.platform_user_id}")):
        session.add(link)
    return link


async def active_subscribers(
    session: AsyncSession, now: datetime, *, tier: int | None, q: str | None, offset: int, limit: int | None
) -> Sequence[User]:
    """Registered users whose subscription is above Basic and has not ended by `now`, by id."""
    conditions = [
        User.is_stranger.is_(False),
        User.subscription_tier > 0,
        or_(User.subscription_expires_at.is_(None), User.subscription_expires_at > now),
    ]
    if tier is not None:
        conditions.append(User.subscription_tier == tier)
    if q:
        escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(func.lower(User.username).like(f"%{escaped}%", escape="\\"))
    query = select(User).where(*conditions).order_by(User.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return (await session.execute(query)).scalars().all()
