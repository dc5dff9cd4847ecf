"""Wire shapes of users, sessions, subscriptions and punishments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from portal.schemas.common import RequestModel

# ---- building blocks ------------------------------------------------------------------------------


class LinkedPlatformOut(BaseModel):
    platform: str = Field(examples=["discord"])
    platform_user_id: str = Field(examples=["1185865881356615713"])
    platform_username: str | None = Field(examples=["niels"])
    platform_avatar_url: str | None
    linked_at: datetime
    last_authenticated_at: datetime | None


class GeoOut(BaseModel):
    city: str | None = Field(default=None, examples=["Berlin"])
    region_name: str | None = Field(default=None, examples=["Land Berlin"])
    country_code: str | None = Field(default=None, examples=["DE"])
    lat: float | None = None
    lon: float | None = None
    isp: str | None = None
    org: str | None = None
    is_mobile: bool | None = None
    is_proxy: bool | None = None
    is_hosting: bool | None = None


class SessionHistoryOut(BaseModel):
    token_suffix: str = Field(examples=["xyz789"])
    created_at: datetime
    client_ip: str | None = Field(examples=["203.0.113.7"])
    user_agent: str | None = Field(examples=["Mozilla/5.0"])
    geo: GeoOut


class SessionOut(SessionHistoryOut):
    expires_at: datetime
    is_current: bool


class SessionsOut(BaseModel):
    sessions: list[SessionOut]
    history: list[SessionHistoryOut]


class SubscriptionHistoryOut(BaseModel):
    id: int
    old_tier: int = Field(examples=[0])
    new_tier: int = Field(examples=[2])
    reason: str | None = Field(examples=["Contest winner"])
    granted_by_id: int | None = Field(examples=[7])
    created_at: datetime


class PermissionHistoryOut(BaseModel):
    id: int
    old_level: int
    new_level: int
    reason: str | None
    changed_by_id: int | None
    created_at: datetime


class ModerationActionOut(BaseModel):
    id: int
    action_type: str = Field(examples=["PLATFORM_WARNING"])
    reason: str | None = Field(examples=["Spamming"])
    is_lifted: bool
    expires_at: datetime | None
    lifted_at: datetime | None
    created_at: datetime
    chat_id: int | None = None
    issued_by_id: int | None = None


class OwnedChatOut(BaseModel):
    id: int
    name: str = Field(examples=["movie-night"])
    is_public: bool
    visibility: str = Field(examples=["public"])
    created_at: datetime


class SubscriptionOut(BaseModel):
    subscription_tier: int = Field(examples=[2])
    expires_at: datetime | None
    is_active: bool
    history: list[SubscriptionHistoryOut]
    created_at: datetime
    updated_at: datetime


# ---- users ----------------------------------------------------------------------------------------


class UserPublic(BaseModel):
    id: int = Field(examples=[42])
    username: str = Field(examples=["exampleuser"])
    avatar_url: str | None = Field(examples=[None])
    subscription_tier: int = Field(examples=[0])


class _UserStaffFields(UserPublic):
    state: int = Field(examples=[0])
    permission_level: int = Field(examples=[0])
    subscription_expires_at: datetime | None
    subscription_granted_by: int | None
    last_activity_at: datetime
    permission_since: datetime | None
    avatar_source: str | None = Field(examples=["discord"])
    linked_platforms: list[LinkedPlatformOut]


class UserPrivate(_UserStaffFields):
    """`GET /v1/users/me`."""

    created_at: datetime
    updated_at: datetime


class UserSearchDetail(_UserStaffFields):
    """A search row for a viewer who can act on the user: the detail without the history arrays."""


class UserDetail(_UserStaffFields):
    """The elevated profile; arrays the viewer may not see are empty."""

    moderation_actions: list[ModerationActionOut]
    chats: list[OwnedChatOut]
    bots: list[dict[str, Any]]
    subscription_history: list[SubscriptionHistoryOut]
    permission_history: list[PermissionHistoryOut]
    session_history: list[SessionHistoryOut]


class UserSearchOut(BaseModel):
    users: list[UserSearchDetail | UserPublic]
    total: int
    offset: int
    limit: int


class UpdateMeIn(RequestModel):
    """Fields are checked one by one by the service, so each gets its own error."""

    model_config = ConfigDict(strict=False, extra="forbid")

    username: Annotated[Any, Field(description="3–32 characters: letters, digits, `.`, `_`, `-`")] = None
    avatar_source: Annotated[
        Any, Field(description='a linked platform, `discord_0`…`discord_5`, or "" to clear')
    ] = None


class UpdateMeOut(BaseModel):
    user: UserPrivate
    errors: dict[str, str] | None = Field(examples=[None, {"username": "username is already taken"}])


class DestroyedOut(BaseModel):
    destroyed: bool = True
