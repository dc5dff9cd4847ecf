"""Shared set-up for the notification, announcement and statistics tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from portal.db.models import AuditLog, Notification, User
from tests.helpers import LoggedIn, Portal

SEND = "/v1/admin/notifications"
ANNOUNCE = "/v1/admin/announcements"


async def notify(portal: Portal, user_id: int, *, title: str = "Hello", type: str = "info") -> int:
    """One notification for `user_id`, stored by the same action the admin endpoint uses (CLI actor)."""
    from portal.schemas.notifications import SendNotificationIn

    await portal.container.notifications.send(
        SendNotificationIn(title=title, body="A body", type=type, user_ids=[user_id]), actor=None
    )
    async with portal.container.db.read() as session:
        query = select(func.max(Notification.id)).where(Notification.user_id == user_id)
        return int((await session.execute(query)).scalar_one())


async def notifications_of(portal: Portal, user_id: int) -> list[Notification]:
    async with portal.container.db.read() as session:
        query = select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
        return list((await session.execute(query)).scalars().all())


async def registered_count(portal: Portal) -> int:
    async with portal.container.db.read() as session:
        query = select(func.count()).select_from(User).where(User.is_stranger.is_(False))
        return int((await session.execute(query)).scalar_one())


async def audit_after(portal: Portal, event_type: str, after_id: int) -> list[AuditLog]:
    async with portal.container.db.read() as session:
        query = (
            select(AuditLog)
            .where(AuditLog.event_type == event_type, AuditLog.id > after_id)
            .order_by(AuditLog.id)
        )
        return list((await session.execute(query)).scalars().all())


async def last_audit_id(portal: Portal) -> int:
    async with portal.container.db.read() as session:
        return int((await session.execute(select(func.coalesce(func.max(AuditLog.id), 0)))).scalar_one())


async def send(who: LoggedIn, body: Any) -> Any:
    return await who.client.call("POST", SEND, json=body)


def just_now(portal: Portal, value: str | None) -> bool:
    """`value` is an API timestamp of the last few seconds of the server's (running) test clock."""
    from datetime import timedelta

    from tests.helpers import parse_time

    assert value is not None
    moment = parse_time(value)
    now = portal.server.clock.now()
    return now - timedelta(seconds=5) <= moment <= now
