"""Notifications: a user's own list and read marks (02 §5), and sends: the welcome notification and the
admin's targeted or broadcast send (08 §41), each pushed as `notification:new` after commit."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import notifications as notifications_db
from portal.db.models import Notification, User
from portal.db.uow import on_commit
from portal.errors import ErrorCode, NotFound, coded
from portal.events import NotificationNew
from portal.schemas.notifications import (
    NotificationListOut,
    NotificationOut,
    NotificationSentOut,
    ReadAllOut,
    SendNotificationIn,
    UnreadCountOut,
)
from portal.services.audit import AuditEvent
from portal.services.base import Service
from portal.services.notifier import user_room


def notification_view(row: Notification) -> NotificationOut:
    return NotificationOut.model_validate(row, from_attributes=True)


class NotificationService(Service):
    # ---- sending ----------------------------------------------------------------------------------

    async def create(
        self, session: AsyncSession, *, user_id: int, title: str, body: str, type: str, created_by: int | None
    ) -> Notification:
        """Store one notification inside the caller's transaction; push it once that commits."""
        row = await notifications_db.insert(session, self._row(user_id, title, body, type, created_by))
        self._push_after_commit(session, [row])
        return row

    async def send(self, body: SendNotificationIn, *, actor: User | None) -> NotificationSentOut:
        """`POST /v1/admin/notifications`: one row per recipient, each pushed to its user after commit.

        Without `user_ids` it goes to every registered (non-stranger) user who exists now (a broadcast);
        with them, to those users once each, or to nobody with 404 "User not found" if any id is not a
        registered user.
        """
        created_by = actor.id if actor is not None else None
        async with self.c.db.transaction() as session:
            if body.user_ids is None:
                recipients = await notifications_db.registered_user_ids(session)
            else:
                recipients = list(dict.fromkeys(body.user_ids))  # a repeated id gets one notification
                known = await notifications_db.registered_among(session, recipients)
                if len(known) != len(recipients):
                    raise NotFound("User")
            rows = await notifications_db.insert_many(
                session, [self._row(uid, body.title, body.body, body.type, created_by) for uid in recipients]
            )
            count = len(rows)
            if body.user_ids is None:
                await self.c.audit.record(
                    session,
                    AuditEvent.NOTIFICATION_BROADCAST,
                    actor=actor,
                    on=None,
                    title=body.title,
                    type=body.type,
                    count=count,
                )
            else:
                await self.c.audit.record(
                    session,
                    AuditEvent.NOTIFICATION_SEND,
                    actor=actor,
                    on=("user", recipients[0]) if count == 1 else None,
                    title=body.title,
                    type=body.type,
                    count=count,
                    user_ids=recipients,
                )
            self._push_after_commit(session, rows)
        return NotificationSentOut(message=f"Notification sent to {count} users", count=count)

    def _row(self, user_id: int, title: str, body: str, type: str, created_by: int | None) -> Notification:
        return Notification(
            user_id=user_id,
            title=title,
            body=body,
            type=type,
            read_at=None,
            created_at=self.now,
            created_by=created_by,
        )

    def _push_after_commit(self, session: AsyncSession, rows: Sequence[Notification]) -> None:
        pushes = [(row.user_id, NotificationNew(**notification_view(row).model_dump())) for row in rows]

        async def push() -> None:
            for user_id, event in pushes:
                await self.c.notifier.send(event, room=user_room(user_id))

        on_commit(session, push)

    # ---- the user's own ---------------------------------------------------------------------------

    async def list_for(self, user: User, *, offset: int, limit: int) -> NotificationListOut:
        """Newest first, with the user's `total` and `unread` counts."""
        async with self.c.db.read() as session:
            rows = await notifications_db.page(session, user.id, offset=offset, limit=limit)
            total, unread = await notifications_db.counts(session, user.id)
        return NotificationListOut(
            notifications=[notification_view(r) for r in rows],
            total=total,
            unread=unread,
            offset=offset,
            limit=limit,
        )

    async def unread_count(self, user: User) -> UnreadCountOut:
        async with self.c.db.read() as session:
            return UnreadCountOut(unread=await notifications_db.unread_count(session, user.id))

    async def mark_read(self, user: User, notification_id: int) -> NotificationOut:
        """404 `ERR_NOTIFICATION_NOT_FOUND` for a missing or someone else's notification (nothing leaks),
        409 `ERR_NOTIFICATION_ALREADY_READ` when it was read before (`read_at` is kept)."""
        async with self.c.db.transaction() as session:
            row = await notifications_db.get(session, notification_id)
            if row is None or row.user_id != user.id:
                raise coded(ErrorCode.NOTIFICATION_NOT_FOUND, 404)
            if row.read_at is not None or not await notifications_db.mark_read(session, row, self.now):
                raise coded(ErrorCode.NOTIFICATION_ALREADY_READ, 409)
            return notification_view(row)

    async def read_all(self, user: User) -> ReadAllOut:
        """Mark every unread notification read; idempotent (`updated: 0` when none was unread)."""
        async with self.c.db.transaction() as session:
            return ReadAllOut(updated=await notifications_db.mark_all_read(session, user.id, self.now))
