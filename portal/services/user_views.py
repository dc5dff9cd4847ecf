"""How a user is shown: the public, staff and private shapes, and the avatar URL every shape carries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from portal.db.models import LinkedPlatform, User
from portal.schemas.common import is_https_url
from portal.schemas.users import LinkedPlatformOut, UserPrivate, UserPublic
from portal.services.subscriptions import effective_expiry, effective_tier

DEFAULT_AVATARS = {f"discord_{i}": f"https://cdn.discordapp.com/embed/avatars/{i}.png" for i in range(6)}


def safe_avatar(url: str | None) -> str | None:
    """A stored avatar is served only when it is an https URL (08 §66): rows written before the rule
    existed may hold `javascript:` or `data:` URLs, which are shown as null."""
    return url if url is not None and is_https_url(url) else None


def avatar_url(user: User, platforms: Sequence[LinkedPlatform]) -> str | None:
    """`avatar_source` picks a platform or a default avatar; null means the earliest linked platform."""
    source = user.avatar_source
    if source in DEFAULT_AVATARS:
        return DEFAULT_AVATARS[source]
    for link in platforms:
        if source is None or link.platform == source:
            return safe_avatar(link.platform_avatar_url)
    return None


def linked_platform_view(link: LinkedPlatform) -> LinkedPlatformOut:
    return LinkedPlatformOut(
        platform=link.platform,
        platform_user_id=link.platform_user_id,
        platform_username=link.platform_username,
        platform_avatar_url=safe_avatar(link.platform_avatar_url),
        linked_at=link.linked_at,
        last_authenticated_at=link.last_authenticated_at,
    )


def public_view(user: User, platforms: Sequence[LinkedPlatform], now: datetime) -> UserPublic:
    return UserPublic(
        id=user.id,
        username=user.username,
        avatar_url=avatar_url(user, platforms),
        subscription_tier=effective_tier(user, now),
    )


def staff_fields(user: User, platforms: Sequence[LinkedPlatform], now: datetime) -> dict[str, Any]:
    return {
        **public_view(user, platforms, now).model_dump(),
        "state": user.state,
        "permission_level": user.permission_level,
        "subscription_expires_at": effective_expiry(user, now),
        "subscription_granted_by": user.subscription_granted_by,
        "last_activity_at": user.last_activity_at,
        "permission_since": user.permission_since,
        "avatar_source": user.avatar_source,
        "linked_platforms": [linked_platform_view(link) for link in platforms],
    }


def private_view(user: User, platforms: Sequence[LinkedPlatform], now: datetime) -> UserPrivate:
    return UserPrivate(
        **staff_fields(user, platforms, now), created_at=user.created_at, updated_at=user.updated_at
    )
