"""`/health` and `/v1/admin/health`."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class DbStatistics(BaseModel):
    size: int | None = Field(examples=[10])
    checked_in: int | None = Field(examples=[9])
    checked_out: int | None = Field(examples=[1])
    overflow: int | None = Field(examples=[-9])
    total: int | None = Field(examples=[10])
    latency_ms: float | None = Field(examples=[0.8])


class CacheStatistics(BaseModel):
    memory_usage_bytes: int | None = Field(examples=[1048576])
    total_keys: int | None = Field(examples=[42])
    connected_clients: int | None = Field(examples=[3])
    uptime_seconds: int | None = Field(examples=[86400])
    evicted_keys: int | None = Field(examples=[0])
    hit_rate: float | None = Field(examples=[95.5])
    total_commands_processed: int | None = Field(examples=[123456])
    latency_ms: float | None = Field(examples=[0.3])


class HealthOut(BaseModel):
    status: str = Field(examples=["healthy"], description="healthy | degraded | unhealthy")
    database: bool
    cache: bool
    started_at: datetime
    db_statistics: DbStatistics
    cache_statistics: CacheStatistics
    errors: list[str]


class AdminHealthOut(HealthOut):
    source_hash: str = Field(examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"])
