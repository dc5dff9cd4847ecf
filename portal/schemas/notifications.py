"""Notification wire shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class NotificationOut(BaseModel):
    id: int = Field(examples=[1])
    title: str = Field(examples=["Welcome to Portal"])
    body: str = Field(examples=["Your account has been created."])
    type: str = Field(examples=["success"])
    read_at: datetime | None
    created_at: datetime
    created_by: int | None = Field(examples=[None])
