"""Public statistics: users, bots, chats and the application (01 §7; 08 §43)."""

from __future__ import annotations

from portal import __version__
from portal.db import statistics as statistics_db
from portal.schemas.chats import ChatStatisticsOut
from portal.schemas.statistics import AppStatisticsOut, BotStatisticsOut, UserStatisticsOut
from portal.services.base import Service
from portal.services.bots import BOT_TYPE_COMMUNITY, BOT_TYPE_OFFICIAL, BOT_TYPE_VERIFIED
from portal.services.subscriptions import Tier

APPLICATION_NAME = "Portal"


class StatisticsService(Service):
    async def users(self) -> UserStatisticsOut:
        """Registered users by the tier in force now (an ended Trial or Premium is Basic)."""
        async with self.c.db.read() as session:
            by_tier = await statistics_db.users_by_effective_tier(session, self.now)
        return UserStatisticsOut(
            total_count=sum(by_tier.values()),
            basic_count=by_tier.get(Tier.BASIC, 0),
            trial_count=by_tier.get(Tier.TRIAL, 0),
            premium_count=by_tier.get(Tier.PREMIUM, 0),
            lifetime_count=by_tier.get(Tier.LIFETIME, 0),
        )

    async def bots(self) -> BotStatisticsOut:
        """Active bots by type; the three counts add up to the total."""
        async with self.c.db.read() as session:
            by_type = await statistics_db.active_bots_by_type(session)
        return BotStatisticsOut(
            total_count=sum(by_type.values()),
            official_count=by_type.get(BOT_TYPE_OFFICIAL, 0),
            verified_count=by_type.get(BOT_TYPE_VERIFIED, 0),
            community_count=by_type.get(BOT_TYPE_COMMUNITY, 0),
        )

    async def chats(self) -> ChatStatisticsOut:
        return await self.c.chat_views.statistics()

    async def app(self) -> AppStatisticsOut:
        return AppStatisticsOut(
            application_name=APPLICATION_NAME,
            version=__version__,
            started_at=self.c.started_at,
            users=await self.users(),
            bots=await self.bots(),
            chats=await self.chats(),
        )
