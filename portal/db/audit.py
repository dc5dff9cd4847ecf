"""The audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db.models import AuditLog


async def record(
    session: AsyncSession,
    *,
    event_type: str,
    entity_type: str | None,
    entity_id: int | None,
    actor_id: int | None,
    metadata: dict[str, Any],
    now: datetime,
) -> AuditLog:
    row = AuditLog(
        event_type=event_type,
        entity_type=entity_type,
        entity_id=entity_id,
        actor_id=actor_id,
        event_metadata=metadata,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row
