"""Authentication requests and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from portal.schemas.common import (
    HttpsUrl,
    Platform,
    PlatformUserId,
    PlatformUsername,
    RequestModel,
    Username,
    text_length,
)
from portal.schemas.users import UserPrivate


class LookupIn(RequestModel):
    username: Username = Field(examples=["championoftheworld"])


class PlatformRef(BaseModel):
    platform: str = Field(examples=["discord"])
    platform_user_id: str = Field(examples=["1185865881356615713"])


class LookupOut(BaseModel):
    id: int = Field(examples=[42])
    username: str = Field(examples=["championoftheworld"])
    avatar_url: str | None
    permission_level: int = Field(examples=[0])
    subscription_tier: int = Field(examples=[0])
    platforms: list[PlatformRef]


class CodeRequestIn(RequestModel):
    platform: Platform = Field(examples=["discord"])
    platform_user_id: PlatformUserId = Field(examples=["1185865881356615713"])


class CodeRequestOut(BaseModel):
    message: str = Field(examples=["Login code generated."])
    expires_at: datetime


class VerifyIn(RequestModel):
    code: Annotated[str, text_length(8, 8)] = Field(examples=["Vy8nFKq2"])


class VerifyOut(UserPrivate):
    user_created: bool = Field(examples=[False])
    subscription_level: int = Field(examples=[0], description="the same value as `subscription_tier`")


class BotCodeIn(RequestModel):
    platform: Platform = Field(examples=["discord"])
    platform_user_id: PlatformUserId = Field(examples=["1185865881356615713"])
    platform_username: PlatformUsername = Field(
        examples=["niels"], description="no control, format or bidi-override characters"
    )
    platform_avatar_url: HttpsUrl | None = Field(
        examples=["https://cdn.discordapp.com/avatars/1185865881356615713/abc.png"],
        description="null or an `https://` URL of at most 512 characters",
    )


class BotCodeOut(BaseModel):
    code: str | None = Field(examples=["Vy8nFKq2"])
    expires_at: datetime | None = Field(examples=["2026-03-19T10:40:00Z"])


class PendingCodeOut(BaseModel):
    code: str = Field(examples=["Vy8nFKq2"])
    requested_at: datetime = Field(examples=["2026-03-19T10:30:00Z"])
    expires_at: datetime = Field(examples=["2026-03-19T10:40:00Z"])


MAX_PENDING_LISTED = 5


class BotLoginCodeOut(BotCodeOut):
    """`code` is the newest pending web code; `pending` every live one, newest first (08 §64)."""

    pending: list[PendingCodeOut] = Field(
        description=f"every live web code of the identity, newest first (at most {MAX_PENDING_LISTED}), "
        "each bound to the IP that asked for it",
        examples=[
            [
                {
                    "code": "Vy8nFKq2",
                    "requested_at": "2026-03-19T10:30:00Z",
                    "expires_at": "2026-03-19T10:40:00Z",
                },
                {
                    "code": "p3XwQ9aL",
                    "requested_at": "2026-03-19T10:28:12Z",
                    "expires_at": "2026-03-19T10:38:12Z",
                },
            ]
        ],
    )


class StrangerOut(BaseModel):
    id: int = Field(examples=[512])
    username: str = Field(examples=["neon-wanderer"])
    is_stranger: bool = True
    expires_at: datetime
