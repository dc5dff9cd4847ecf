"""`/v1/statistics/*` answers (01 §7; 00 §6; 08 §43)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from portal.schemas.chats import ChatStatisticsOut


class UserStatisticsOut(BaseModel):
    total_count: int = Field(examples=[1500], description="registered users (strangers are not counted)")
    basic_count: int = Field(examples=[1180])
    trial_count: int = Field(examples=[20])
    premium_count: int = Field(examples=[250])
    lifetime_count: int = Field(examples=[50])


class BotStatisticsOut(BaseModel):
    total_count: int = Field(examples=[12], description="active bots")
    official_count: int = Field(examples=[2], description="bot_type 1")
    verified_count: int = Field(examples=[3], description="bot_type 2")
    community_count: int = Field(examples=[7], description="bot_type 3")


class AppStatisticsOut(BaseModel):
    application_name: str = Field(examples=["Portal"])
    version: str = Field(examples=["0.1.0"])
    started_at: datetime = Field(examples=["2026-04-04T10:00:00Z"], description="when this node started")
    users: UserStatisticsOut
    bots: BotStatisticsOut
    chats: ChatStatisticsOut
