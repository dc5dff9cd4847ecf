"""Announcements: platform-wide notices an Admin+ creates and ends; anyone lists the active ones (08 §41)."""

from __future__ import annotations

from portal.db import announcements as announcements_db
from portal.db.models import Announcement, User
from portal.errors import BadRequest, NotFound
from portal.schemas.notifications import AnnouncementOut, CreateAnnouncementIn
from portal.services.audit import AuditEvent
from portal.services.base import Service

PUBLIC_LIST_MAX = 100  # the public list is of what shows now: a handful; this only bounds a runaway


def announcement_view(row: Announcement) -> AnnouncementOut:
    return AnnouncementOut.model_validate(row, from_attributes=True)


class AnnouncementService(Service):
    async def create(self, body: CreateAnnouncementIn, *, actor: User | None) -> AnnouncementOut:
        """`starts_at` defaults to now (a past one is kept: it shows at once); `ends_at` must come after
        `starts_at` and after now, or be absent (shown until ended)."""
        now = self.now
        starts_at = body.starts_at or now
        if body.ends_at is not None:
            if body.ends_at <= starts_at:
                raise BadRequest("ends_at must be after starts_at")
            if body.ends_at <= now:
                raise BadRequest("ends_at must be in the future")
        async with self.c.db.transaction() as session:
            row = await announcements_db.insert(
                session,
                Announcement(
                    title=body.title,
                    body=body.body,
                    level=body.level,
                    starts_at=starts_at,
                    ends_at=body.ends_at,
                    created_by=actor.id if actor is not None else None,
                    created_at=now,
                ),
            )
            view = announcement_view(row)
            await self.c.audit.record(
                session,
                AuditEvent.ANNOUNCEMENT_CREATE,
                actor=actor,
                on=None,
                announcement_id=row.id,
                title=row.title,
                level=row.level,
                starts_at=view.starts_at.isoformat(),
                ends_at=view.ends_at.isoformat() if view.ends_at else None,
            )
        return view

    async def end(self, announcement_id: int, *, actor: User | None) -> AnnouncementOut:
        """Stop showing it now: `ends_at` becomes now (also for one that has not started, which then
        never shows). Idempotent: one that has already ended is answered as it is, with no audit row."""
        now = self.now
        async with self.c.db.transaction() as session:
            row = await announcements_db.get_for_update(session, announcement_id)
            if row is None:
                raise NotFound("Announcement")
            if row.ends_at is None or row.ends_at > now:
                row.ends_at = now
                await session.flush()
                await self.c.audit.record(
                    session, AuditEvent.ANNOUNCEMENT_END, actor=actor, on=None, announcement_id=row.id
                )
            return announcement_view(row)

    async def active(self) -> list[AnnouncementOut]:
        """`GET /v1/announcements`: `starts_at <= now` and `ends_at` null or later, newest first."""
        async with self.c.db.read() as session:
            rows = await announcements_db.listed(session, active_at=self.now, limit=PUBLIC_LIST_MAX)
        return [announcement_view(r) for r in rows]

    async def list(
        self, *, include_all: bool, q: str | None = None, offset: int = 0, limit: int = 50
    ) -> list[AnnouncementOut]:
        """The CLI's list: the active ones, or with `include_all` also scheduled and ended ones."""
        async with self.c.db.read() as session:
            rows = await announcements_db.listed(
                session, active_at=None if include_all else self.now, q=q, offset=offset, limit=limit
            )
        return [announcement_view(r) for r in rows]
