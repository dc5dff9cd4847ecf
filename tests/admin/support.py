"""Setup shared by the tests of `/v1/admin/users|subscriptions|punishments|audit`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal.db.models import AuditLog, PermissionHistory, SubscriptionHistory
from tests.helpers import LoggedIn, Portal

RECORD_FIELDS = {
    "id",
    "user_id",
    "action_type",
    "reason",
    "is_lifted",
    "expires_at",
    "lifted_at",
    "created_at",
    "chat_id",
    "issued_by_id",
}
# (actor level, target level, allowed): can_act_on, with nobody acting on themselves.
RANKS = [
    ("moderator", "user", True),
    ("moderator", "moderator", False),
    ("admin", "user", True),
    ("admin", "moderator", True),
    ("admin", "admin", False),
    ("admin", "owner", False),
    ("owner", "admin", True),
    ("owner", "owner", True),
]
GATES = [("user", "Admin access required"), ("moderator", "Admin access required")]


async def post(who: LoggedIn, path: str, body: Any = None) -> Any:
    kwargs = {"json": body} if body is not None else {}
    return await who.client.call("POST", path, **kwargs)


async def audit_rows(portal: Portal, event_type: str, user_id: int) -> list[AuditLog]:
    async with portal.container.db.read() as session:
        query = (
            select(AuditLog)
            .where(
                AuditLog.event_type == event_type,
                AuditLog.entity_type == "user",
                AuditLog.entity_id == user_id,
            )
            .order_by(AuditLog.id)
        )
        return list((await session.execute(query)).scalars())


async def permission_rows(portal: Portal, user_id: int) -> list[PermissionHistory]:
    async with portal.container.db.read() as session:
        query = (
            select(PermissionHistory)
            .where(PermissionHistory.user_id == user_id)
            .order_by(PermissionHistory.id)
        )
        return list((await session.execute(query)).scalars())


async def subscription_rows(portal: Portal, user_id: int) -> list[SubscriptionHistory]:
    async with portal.container.db.read() as session:
        query = (
            select(SubscriptionHistory)
            .where(SubscriptionHistory.user_id == user_id)
            .order_by(SubscriptionHistory.id)
        )
        return list((await session.execute(query)).scalars())
