"""Typed shapes of the API's answers, for the client SDK (timestamps are ISO-8601 strings)."""

from __future__ import annotations

from typing import Any, TypedDict


class PlatformRef(TypedDict):
    platform: str
    platform_user_id: str


class LinkedPlatform(PlatformRef):
    platform_username: str | None
    platform_avatar_url: str | None
    linked_at: str
    last_authenticated_at: str | None


class Lookup(TypedDict):
    id: int
    username: str
    avatar_url: str | None
    permission_level: int
    subscription_tier: int
    platforms: list[PlatformRef]


class CodeRequested(TypedDict):
    message: str
    expires_at: str


class BotCode(TypedDict):
    code: str | None
    expires_at: str | None


class PendingCode(TypedDict):
    code: str
    requested_at: str
    expires_at: str


class BotLoginCode(BotCode):
    """`bot/login-code`: `code` is the newest; `pending` every live web code, newest first (at most 5)."""

    pending: list[PendingCode]


class UserPublic(TypedDict):
    id: int
    username: str
    avatar_url: str | None
    subscription_tier: int


class UserPrivate(UserPublic):
    state: int
    permission_level: int
    subscription_expires_at: str | None
    subscription_granted_by: int | None
    last_activity_at: str
    permission_since: str | None
    avatar_source: str | None
    linked_platforms: list[LinkedPlatform]
    created_at: str
    updated_at: str


class Verified(UserPrivate):
    user_created: bool
    subscription_level: int


class Stranger(TypedDict):
    id: int
    username: str
    is_stranger: bool
    expires_at: str


class ActiveMatch(TypedDict):
    chat_id: int
    token: str
    expires_at: str


class MatchStatus(TypedDict, total=False):
    """`state` is always there; the rest as 05-match §5.2 and 08 §29 say."""

    state: str  # idle | searching | matched
    interests: list[str]  # while searching
    token: str  # the newest active chat's match token
    expires_at: str  # the queue deadline while searching, else the newest chat's expiry
    chats: list[ActiveMatch]  # every active direct chat, whenever there are any


class UpdateMeResult(TypedDict):
    user: UserPrivate
    errors: dict[str, str] | None


class Geo(TypedDict):
    city: str | None
    region_name: str | None
    country_code: str | None
    lat: float | None
    lon: float | None
    isp: str | None
    org: str | None
    is_mobile: bool | None
    is_proxy: bool | None
    is_hosting: bool | None


class SessionHistory(TypedDict):
    token_suffix: str
    created_at: str
    client_ip: str | None
    user_agent: str | None
    geo: Geo


class Session(SessionHistory):
    expires_at: str
    is_current: bool


class Sessions(TypedDict):
    sessions: list[Session]
    history: list[SessionHistory]


class Destroyed(TypedDict):
    destroyed: bool


class SubscriptionChange(TypedDict):
    id: int
    old_tier: int
    new_tier: int
    reason: str | None
    granted_by_id: int | None
    created_at: str


class Subscription(TypedDict):
    subscription_tier: int
    expires_at: str | None
    is_active: bool
    history: list[SubscriptionChange]
    created_at: str
    updated_at: str


class ModerationAction(TypedDict):
    id: int
    action_type: str
    reason: str | None
    is_lifted: bool
    expires_at: str | None
    lifted_at: str | None
    created_at: str
    chat_id: int | None
    issued_by_id: int | None


class OwnedChat(TypedDict):
    id: int
    name: str
    is_public: bool
    visibility: str
    created_at: str


# The public shape, or the detail shape with the history arrays for viewers who can act on the user.
UserProfile = dict[str, Any]


class UserSearch(TypedDict):
    users: list[UserProfile]
    total: int
    offset: int
    limit: int


Health = dict[str, Any]


class VmFrame(TypedDict):
    """A `vm:frame` as `RealtimeClient` receives it with binary frames (its default): the JPEG as bytes."""

    chat_id: int
    seq: int
    jpeg: bytes
    width: int
    height: int
