"""Service health: database and LiveStore reachability plus statistics."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from portal.schemas.monitoring import AdminHealthOut, CacheStatistics, DbStatistics, HealthOut
from portal.services.base import Service

SOURCE_ROOT = Path(__file__).resolve().parent.parent


@cache
def source_hash() -> str:
    """SHA-256 over every backend source file (path and content, in path order)."""
    digest = hashlib.sha256()
    for path in sorted(SOURCE_ROOT.rglob("*.py")):
        digest.update(path.relative_to(SOURCE_ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


class HealthService(Service):
    async def check(self) -> HealthOut:
        errors: list[str] = []
        database, db_latency = True, None
        try:
            db_latency = await self.c.db.ping()
        except Exception:
            database = False
            errors.append("database unreachable")
        cache_ok = await self.c.live.ping()
        cache_stats = CacheStatistics.model_validate(
            (await self.c.live.stats()).__dict__ if cache_ok else dict.fromkeys(CacheStatistics.model_fields)
        )
        if not cache_ok:
            errors.append("cache unreachable")
        status = "unhealthy" if not database else ("degraded" if not cache_ok else "healthy")
        return HealthOut(
            status=status,
            database=database,
            cache=cache_ok,
            started_at=self.c.started_at,
            db_statistics=DbStatistics(**self.c.db.pool_stats(), latency_ms=db_latency),
            cache_statistics=cache_stats,
            errors=errors,
        )

    async def admin_check(self) -> AdminHealthOut:
        return AdminHealthOut(**(await self.check()).model_dump(), source_hash=source_hash())
