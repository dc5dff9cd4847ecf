"""Bot wire shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class BotPublic(BaseModel):
    id: int = Field(examples=[1])
    name: str = Field(examples=["Portal Bot"])
    groups: int = Field(examples=[250])
    users: int = Field(examples=[50000])
    avatar_url: str | None
    latency_ms: float | None = Field(examples=[45.2])
    is_verified: bool
    last_activity_at: datetime | None
    created_at: datetime
    updated_at: datetime


class BotPrivate(BotPublic):
    platform: str = Field(examples=["discord"])
    owner_id: int = Field(examples=[42])
    bot_type: int = Field(examples=[3])
    is_active: bool
    rate_limit_per_hour: int = Field(examples=[1000])


class BotKeyIssued(BaseModel):
    message: str = Field(examples=["Bot registered successfully"])
    bot: BotPrivate
    api_key: str = Field(examples=["hbot_3q2b7Yt0mN5pK1sV8xZcR4wE6uI9oLaD"])
    created_at: datetime
    updated_at: datetime
