"""Notifications: creation (welcome, admin sends) and `notification:new` after commit."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import notifications as notifications_db
from portal.db.models import Notification
from portal.db.uow import on_commit
from portal.events import NotificationNew
from portal.schemas.notifications import NotificationOut
from portal.services.base import Service
from portal.services.notifier import user_room

NOTIFICATION_TYPES = ("info", "success", "warning", "error")


def notification_view(row: Notification) -> NotificationOut:
    return NotificationOut.model_validate(row, from_attributes=True)


class NotificationService(Service):
    async def create(
        self, session: AsyncSession, *, user_id: int, title: str, body: str, type: str, created_by: int | None
    ) -> Notification:
        """Store one notification inside the caller's transaction; push it once that commits."""
        row = await notifications_db.insert(
            session,
            Notification(
                user_id=user_id,
                title=title,
                body=body,
                type=type,
                read_at=None,
                created_at=self.c.clock.now(),
                created_by=created_by,
            ),
        )
        event = NotificationNew(**notification_view(row).model_dump())

        async def push() -> None:
            await self.c.notifier.send(event, room=user_room(user_id))

        on_commit(session, push)
        return row
