"""Setup shared by the `/v1/users/*` tests: second logins, platform data and moderation rows.

Things with no API yet (a second linked platform, moderation actions) are written straight through the
database session, the way the later features will write them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from portal.client import PortalClient
from portal.db.models import ModerationAction
from tests.helpers import LoggedIn, Portal, identity_of

PRIVATE_FIELDS = {
    "id",
    "username",
    "avatar_url",
    "subscription_tier",
    "state",
    "permission_level",
    "subscription_expires_at",
    "subscription_granted_by",
    "last_activity_at",
    "permission_since",
    "avatar_source",
    "linked_platforms",
    "created_at",
    "updated_at",
}
PUBLIC_FIELDS = {"id", "username", "avatar_url", "subscription_tier"}
STAFF_FIELDS = PRIVATE_FIELDS - {"created_at", "updated_at"}
DETAIL_ARRAYS = {
    "moderation_actions",
    "chats",
    "bots",
    "subscription_history",
    "permission_history",
    "session_history",
}
DETAIL_FIELDS = STAFF_FIELDS | DETAIL_ARRAYS
LINKED_PLATFORM_FIELDS = {
    "platform",
    "platform_user_id",
    "platform_username",
    "platform_avatar_url",
    "linked_at",
    "last_authenticated_at",
}
GEO_FIELDS = {
    "city",
    "region_name",
    "country_code",
    "lat",
    "lon",
    "isp",
    "org",
    "is_mobile",
    "is_proxy",
    "is_hosting",
}
HISTORY_SESSION_FIELDS = {"token_suffix", "created_at", "client_ip", "user_agent", "geo"}
ACTIVE_SESSION_FIELDS = HISTORY_SESSION_FIELDS | {"expires_at", "is_current"}
MODERATION_FIELDS = {
    "id",
    "action_type",
    "reason",
    "is_lifted",
    "expires_at",
    "lifted_at",
    "created_at",
    "chat_id",
    "issued_by_id",
}


async def login_again(
    portal: Portal, who: LoggedIn | dict[str, Any], *, ip: str | None = None
) -> PortalClient:
    """Another session of the same user, from another client (and IP), through the web login."""
    user = who.user if isinstance(who, LoggedIn) else who
    client = portal.client(ip=ip)
    platform, platform_user_id = identity_of(user)
    await portal.web_login(client, platform, platform_user_id)
    return client


async def login_as(portal: Portal, user: dict[str, Any], *, ip: str | None = None) -> LoggedIn:
    client = await login_again(portal, user, ip=ip)
    return LoggedIn(client, dict(await client.me()))


async def report_discord_avatar(portal: Portal, user: dict[str, Any], url: str | None) -> None:
    """The platform bot reports the user's current Discord avatar (refreshes the linked platform)."""
    platform, platform_user_id = identity_of(user)
    assert platform == "discord"
    bot = await portal.default_bot()
    await bot.login_code(platform, platform_user_id, "tester", url)


async def add_moderation_action(
    portal: Portal,
    user_id: int,
    *,
    action_type: str = "PLATFORM_WARNING",
    reason: str | None = "Spamming",
    chat_id: int | None = None,
    issued_by_id: int | None = None,
    is_lifted: bool = False,
    lifted_at: datetime | None = None,
    expires_at: datetime | None = None,
    created_at: datetime | None = None,
) -> int:
    """Write a moderation record as the moderation features will (no moderation API exists yet)."""
    async with portal.container.db.transaction() as session:
        row = ModerationAction(
            user_id=user_id,
            action_type=action_type,
            reason=reason,
            chat_id=chat_id,
            issued_by_id=issued_by_id,
            is_lifted=is_lifted,
            lifted_at=lifted_at,
            expires_at=expires_at,
            created_at=created_at or portal.server.clock.now(),
        )
        session.add(row)
        await session.flush()
        return row.id
