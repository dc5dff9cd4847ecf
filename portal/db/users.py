"""Users and their linked platform identities."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from portal.db.models import LinkedPlatform, User


class UsernameTaken(Exception):
    """The (case-insensitive) username is in use."""


class IdentityTaken(Exception):
    """The (platform, platform_user_id) pair is linked to another account."""


# Ids are 32-bit INTEGER columns: anything outside cannot exist, and must not reach the driver
# (asyncpg and sqlite3 raise on out-of-range integers instead of finding nothing).
MAX_ID = 2**31 - 1


def valid_id(user_id: int) -> bool:
    return not isinstance(user_id, bool) and isinstance(user_id, int) and 1 <= user_id <= MAX_ID


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


async def by_username(session: AsyncSession, username: str) -> User | None:
    query = select(User).where(func.lower(User.username) == username.lower())
    return (await session.execute(query)).scalar_one_or_none()


async def username_exists(session: AsyncSession, username: str) -> bool:
    query = select(User.id).where(func.lower(User.username) == username.lower())
    return (await session.execute(query)).first() is not None


async def insert(session: AsyncSession, user: User) -> User:
    """Add a user; a clash on the username index becomes `UsernameTaken`."""
    try:
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except IntegrityError as exc:
        raise UsernameTaken(user.username) from exc
    return user


async def rename(session: AsyncSession, user: User, username: str, now: datetime) -> None:
    """Rename `user`; a clash on the username index becomes `UsernameTaken` with `user` unchanged.

    The rolled-back savepoint expires `user`, so it is reloaded here: an async session cannot load
    expired attributes lazily, and the caller still renders the user afterwards.
    """
    try:
        async with session.begin_nested():
            user.username = username
            user.updated_at = now
            await session.flush()
    except IntegrityError as exc:
        await session.refresh(user)
        raise UsernameTaken(username) from exc


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
    set_committed_value(user, "subscription_tier", 0)
    set_committed_value(user, "subscription_expires_at", None)
    set_committed_value(user, "updated_at", now)
    return True


async def touch_activity(session: AsyncSession, user_id: int, now: datetime, older_than: datetime) -> None:
    """Write `last_activity_at` only when the stored value is older than `older_than` (once a minute)."""
    await session.execute(
        update(User)
        .where(User.id == user_id, User.last_activity_at < older_than)
        .values(last_activity_at=now)
    )


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
    try:
        async with session.begin_nested():
            session.add(link)
            await session.flush()
    except IntegrityError as exc:
        raise IdentityTaken(f"{link.platform}:{link.platform_user_id}") from exc
    return link


def any_of(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return or_(*conditions)
