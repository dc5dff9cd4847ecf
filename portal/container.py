"""The composition root: one object that builds and owns every component (Synapse's HomeServer, lighter).

FastAPI dependencies, Socket.IO handlers and `portal admin` all take their services from here; nothing
else constructs a service. Components are built lazily on first use.
"""

from __future__ import annotations

import logging
import uuid
from functools import cached_property

from portal.clock import Clock
from portal.config import Settings
from portal.db.engine import Database
from portal.live import LiveStore, create_live_store
from portal.live.presence import Presence
from portal.services.admin_chats import AdminChatService
from portal.services.admin_users import AdminUserService
from portal.services.announcements import AnnouncementService
from portal.services.audit import AuditLogView, AuditTrail
from portal.services.auth import AuthService
from portal.services.auth_cache import AuthCache
from portal.services.bot_admin import BotAdminService
from portal.services.bots import BotService
from portal.services.chat_browser import ChatBrowserService
from portal.services.chat_config import ChatConfigService
from portal.services.chat_moderation import ChatModerationService
from portal.services.chat_views import ChatViews
from portal.services.chats import ChatService
from portal.services.control import ControlService
from portal.services.direct_chats import DirectChats
from portal.services.direct_lifecycle import DirectLifecycle
from portal.services.e2ee import E2EEService
from portal.services.geo import GeoLookup, create_geo_lookup
from portal.services.health import HealthService
from portal.services.invites import InviteService
from portal.services.janitor import Janitor
from portal.services.matchmaking import Matchmaking
from portal.services.messages import MessageService
from portal.services.messaging import MessagingService
from portal.services.notifications import NotificationService
from portal.services.notifier import Notifier, NullNotifier
from portal.services.punishments import PunishmentService
from portal.services.ratelimit import RateLimiter
from portal.services.restrictions import RestrictionService
from portal.services.rooms import RoomService
from portal.services.sessions import SessionService
from portal.services.socket_limits import SocketLimits
from portal.services.statistics import StatisticsService
from portal.services.strangers import Strangers
from portal.services.subscriptions import SubscriptionService
from portal.services.users import UserService
from portal.services.vms import VmService

log = logging.getLogger(__name__)


class Container:
    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or Clock()
        self.started_at = self.clock.now()
        self.notifier: Notifier = NullNotifier()  # replaced by the realtime layer when it runs
        self.node_id = uuid.uuid4().hex[:12]  # this process, for presence bookkeeping across nodes
        # False for processes that serve no clients (the CLI): they start browser VMs on a running server.
        self.hosts_vms = True
        self.stopping = False  # set when the app's shutdown starts (late socket handlers stand down)
        self.shutdown_overruns: list[str] = []  # shutdown steps that failed or hung (tests report them)

    # ---- infrastructure ---------------------------------------------------------------------------

    @cached_property
    def db(self) -> Database:
        db = Database(self.settings.database_url, pool_size=self.settings.db_pool_size)
        db.on_users_changed = self.auth_cache.users_changed
        return db

    @cached_property
    def auth_cache(self) -> AuthCache:
        return AuthCache(self)

    @cached_property
    def live(self) -> LiveStore:
        return create_live_store(self.settings, self.clock)

    @cached_property
    def geo(self) -> GeoLookup:
        return create_geo_lookup(self.settings.geoip_db)

    @cached_property
    def audit(self) -> AuditTrail:
        return AuditTrail(self.clock)

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        return RateLimiter(self.live, self.clock, enabled=self.settings.rate_limits_enabled)

    @cached_property
    def socket_limits(self) -> SocketLimits:
        return SocketLimits(self.rate_limiter, self.live, self.settings)

    # ---- services ---------------------------------------------------------------------------------

    @cached_property
    def auth(self) -> AuthService:
        return AuthService(self)

    @cached_property
    def sessions(self) -> SessionService:
        return SessionService(self)

    @cached_property
    def users(self) -> UserService:
        return UserService(self)

    @cached_property
    def subscriptions(self) -> SubscriptionService:
        return SubscriptionService(self)

    @cached_property
    def notifications(self) -> NotificationService:
        return NotificationService(self)

    @cached_property
    def announcements(self) -> AnnouncementService:
        return AnnouncementService(self)

    @cached_property
    def statistics(self) -> StatisticsService:
        return StatisticsService(self)

    @cached_property
    def bots(self) -> BotService:
        return BotService(self)

    @cached_property
    def bot_admin(self) -> BotAdminService:
        return BotAdminService(self)

    @cached_property
    def health(self) -> HealthService:
        return HealthService(self)

    @cached_property
    def janitor(self) -> Janitor:
        return Janitor(self)

    @cached_property
    def presence(self) -> Presence:
        return Presence(self.live)

    @cached_property
    def chats(self) -> ChatService:
        return ChatService(self)

    @cached_property
    def chat_views(self) -> ChatViews:
        return ChatViews(self)

    @cached_property
    def chat_config(self) -> ChatConfigService:
        return ChatConfigService(self)

    @cached_property
    def chat_browser(self) -> ChatBrowserService:
        return ChatBrowserService(self)

    @cached_property
    def invites(self) -> InviteService:
        return InviteService(self)

    @cached_property
    def chat_moderation(self) -> ChatModerationService:
        return ChatModerationService(self)

    @cached_property
    def admin_chats(self) -> AdminChatService:
        return AdminChatService(self)

    @cached_property
    def admin_users(self) -> AdminUserService:
        return AdminUserService(self)

    @cached_property
    def audit_log(self) -> AuditLogView:
        return AuditLogView(self)

    @cached_property
    def messages(self) -> MessageService:
        return MessageService(self)

    @cached_property
    def rooms(self) -> RoomService:
        return RoomService(self)

    @cached_property
    def vms(self) -> VmService:
        return VmService(self)

    @cached_property
    def e2ee(self) -> E2EEService:
        return E2EEService(self)

    @cached_property
    def restrictions(self) -> RestrictionService:
        return RestrictionService(self)

    @cached_property
    def messaging(self) -> MessagingService:
        return MessagingService(self)

    @cached_property
    def punishments(self) -> PunishmentService:
        return PunishmentService(self)

    @cached_property
    def matchmaking(self) -> Matchmaking:
        return Matchmaking(self)

    @cached_property
    def direct_chats(self) -> DirectChats:
        return DirectChats(self)

    @cached_property
    def direct_lifecycle(self) -> DirectLifecycle:
        return DirectLifecycle(self)

    @cached_property
    def strangers(self) -> Strangers:
        return Strangers(self)

    @cached_property
    def control(self) -> ControlService:
        return ControlService(self)

    # ---- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        _ = self.geo  # fail early on a bad PORTAL_GEOIP_DB
        await self.live.start()
        await self.auth_cache.start()
        await self.vms.start_service()

    async def close(self) -> None:
        await self.rooms.close()
        await self.e2ee.close()
        await self.vms.close()
        await self.auth_cache.close()
        await self.live.close()
        await self.db.dispose()
        close = getattr(self.geo, "close", None)
        if close:
            close()
