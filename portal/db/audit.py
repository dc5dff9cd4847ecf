"""The audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from portal.db.base import valid_id
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


async def search(
    session: AsyncSession,
    *,
    event_type: str | None = None,
    entity_type: str | None = None,
    entity_id: int | None = None,
    actor_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[Sequence[AuditLog], int]:
    """Audit rows matching every given filter, newest first, and how many match in all."""
    if any(v is not None and not valid_id(v) for v in (entity_id, actor_id)):
        return [], 0  # no row has such an id
    conditions: list[ColumnElement[bool]] = []
    if event_type is not None:
        conditions.append(AuditLog.event_type == event_type)
    if entity_type is not None:
        conditions.append(AuditLog.entity_type == entity_type)
    if entity_id is not None:
        conditions.append(AuditLog.entity_id == entity_id)
    if actor_id is not None:
        conditions.append(AuditLog.actor_id == actor_id)
    where = and_(true(), *conditions)
    total = (await session.execute(select(func.count()).select_from(AuditLog).where(where))).scalar_one()
    query = select(AuditLog).where(where).order_by(AuditLog.id.desc()).offset(offset).limit(limit)
    return (await session.execute(query)).scalars().all(), int(total)
