"""Test helpers: clients with their own IPs, users made with the real actions, logins through the API."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, update

from portal.client import BotClient, PortalAPIError, PortalClient
from portal.db.models import ChatMember, LinkedPlatform, User
from portal.db.uow import users_changed
from portal.services.permissions import LEVELS_BY_NAME
from tests.servers import TestServer, fresh_ip

_names = itertools.count(1)


def unique_name(prefix: str = "u") -> str:
    return f"{prefix}{next(_names)}_{secrets.token_hex(3)}"


def unique_platform_id() -> str:
    return str(10**17 + secrets.randbelow(9 * 10**17))


@dataclass
class LoggedIn:
    client: PortalClient
    user: dict[str, Any]

    @property
    def id(self) -> int:
        return int(self.user["id"])


class Portal:
    """Everything a test needs to drive one server."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.container = server.container
        self._clients: list[PortalClient | BotClient] = []
        self._bot: BotClient | None = None

    async def close(self) -> None:
        for client in self._clients:
            await client.close()

    # ---- clients ----------------------------------------------------------------------------------

    def client(
        self,
        *,
        ip: str | None = None,
        api_key: str | bool | None = True,
        headers: dict[str, str] | None = None,
        session: str | None = None,
        base_url: str | None = None,
    ) -> PortalClient:
        key = self.server.public_key if api_key is True else (api_key or None)
        all_headers = {
            "X-Forwarded-For": ip or fresh_ip(),
            "User-Agent": "portal-tests/1.0",
            **(headers or {}),
        }
        client = PortalClient(
            base_url or self.server.base_url, api_key=key, headers=all_headers, session=session
        )
        self._clients.append(client)
        return client

    def bot_client(self, key: str, *, ip: str | None = None) -> BotClient:
        client = BotClient(self.server.base_url, key, headers={"X-Forwarded-For": ip or fresh_ip()})
        self._clients.append(client)
        return client

    # ---- data through the real actions --------------------------------------------------------------

    async def create_user(
        self,
        level: str = "user",
        *,
        username: str | None = None,
        platform: str = "discord",
        platform_user_id: str | None = None,
    ) -> dict[str, Any]:
        user = await self.container.users.create(
            username=username or unique_name(),
            level=LEVELS_BY_NAME[level],
            platform=platform,
            platform_user_id=platform_user_id or unique_platform_id(),
            platform_username="tester",
        )
        return user.model_dump(mode="json")

    async def register_bot(
        self, *, platform: str = "discord", owner_id: int | None = None, rate_limit_per_hour: int = 100_000
    ) -> tuple[BotClient, dict[str, Any]]:
        if owner_id is None:
            owner_id = (await self.create_user())["id"]
        issued = await self.container.bots.register(
            actor=None,
            name="Test Bot",
            owner_id=owner_id,
            platform=platform,
            rate_limit_per_hour=rate_limit_per_hour,
        )
        return self.bot_client(issued.api_key), issued.bot.model_dump(mode="json")

    async def default_bot(self) -> BotClient:
        if self._bot is None:
            self._bot, _ = await self.register_bot()
        return self._bot

    async def web_login(self, client: PortalClient, platform: str, platform_user_id: str) -> dict[str, Any]:
        """The documented web flow: request → the bot fetches the code → verify."""
        await client.request_code(platform, platform_user_id)
        bot = (
            await self.default_bot()
            if platform == "discord"
            else (await self.register_bot(platform=platform))[0]
        )
        code = await bot.login_code(platform, platform_user_id, "tester")
        assert code["code"], "no pending code for the identity"
        return dict(await client.verify(code["code"]))

    async def login(
        self,
        level: str = "user",
        *,
        tier: int | str | None = None,
        duration_days: int = 30,
        ip: str | None = None,
    ) -> LoggedIn:
        """A new user of `level` (optionally with a subscription), signed in through the API."""
        created = await self.create_user(level)
        if tier is not None:
            await self.container.subscriptions.grant(
                actor=None,
                user_id=created["id"],
                tier=tier,
                duration_days=duration_days if str(tier) == "2" else None,
            )
        client = self.client(ip=ip)
        identity = created["linked_platforms"][0]
        user = await self.web_login(client, identity["platform"], identity["platform_user_id"])
        return LoggedIn(client, user)

    # ---- chats --------------------------------------------------------------------------------------

    async def private_chat(
        self, owner: LoggedIn, *, name: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """A private chat created through `POST /v1/portal/chats` (the owner needs premium or Admin+)."""
        body = {"name": name or unique_name("chat"), **fields}
        return dict(await owner.client.call("POST", "/v1/portal/chats", json=body))

    async def public_chat(
        self, owner: LoggedIn, *, name: str | None = None, slug: str | None = None
    ) -> dict[str, Any]:
        """A private chat made public by giving it a slug (config/update)."""
        chat = await self.private_chat(owner, name=name)
        slug = slug or f"pub-{chat['id']}-{secrets.token_hex(2)}"
        await owner.client.call("POST", f"/v1/portal/chats/{chat['id']}/config/update", json={"slug": slug})
        return {**chat, "visibility": "public", "slug": slug}

    async def official_chat(
        self, owner_id: int, *, name: str | None = None, slug: str | None = None
    ) -> dict[str, Any]:
        """An official chat, made by the same action as `POST /v1/admin/chats` (as the CLI does)."""
        from portal.schemas.chats import AdminCreateChatIn

        slug = slug or f"off-{secrets.token_hex(4)}"
        body = AdminCreateChatIn(name=name or unique_name("official"), slug=slug)
        live = await self.container.admin_chats.create_official(body, actor=None, owner_id=owner_id)
        return {"id": live.chat_id, "name": live.chat_name, "slug": slug, "visibility": "official"}

    async def invite_into(self, owner: LoggedIn, chat_id: int, member: LoggedIn) -> None:
        """Make `member` a member of `chat_id` through an invite the owner creates and the member redeems."""
        invite = await owner.client.call("POST", f"/v1/portal/chats/{chat_id}/invites", json={})
        await member.client.call("POST", f"/v1/portal/resolve/{invite['code']}")

    async def direct_chat(self, a: LoggedIn, b: LoggedIn) -> int:
        """A direct chat between `a` and `b`, written to the database (the match issue will make them)."""
        now = self.server.clock.now()
        chat = self.container.chats.new_chat(
            name="neon-wanderers",
            owner_id=None,  # type: ignore[arg-type]
            visibility="private",
            slug=None,
            description=None,
            allow_control_requests=False,
            browser_config={"browser": "chromium", "start_url": None, "kiosk": False},
            now=now,
        )
        chat.chat_type = "direct"
        chat.expires_at = now + timedelta(seconds=self.server.settings.direct_chat_ttl)
        async with self.container.db.transaction() as session:
            session.add(chat)
            await session.flush()
            for who in (a, b):
                session.add(
                    ChatMember(
                        chat_id=chat.id,
                        user_id=who.id,
                        method=None,
                        invite_code=None,
                        joined_at=now,
                        created_at=now,
                    )
                )
            chat_id = chat.id
        return chat_id

    async def stranger(self) -> LoggedIn:
        client = self.client()
        return LoggedIn(client, dict(await client.stranger()))


DAY = 86400


def parse_time(value: str) -> datetime:
    """Parse an API timestamp, checking it is ISO-8601 UTC with a trailing Z (00 §3.1)."""
    assert isinstance(value, str) and value.endswith("Z"), f"not an ISO-8601 UTC time with Z: {value!r}"
    return datetime.fromisoformat(value)


def identity_of(user: dict[str, Any]) -> tuple[str, str]:
    """(platform, platform_user_id) of a user's first linked identity."""
    link = user["linked_platforms"][0]
    return link["platform"], link["platform_user_id"]


async def set_user_state(portal: Portal, user_id: int, state: int, expires_at: datetime | None) -> None:
    """Time out (1) or ban (2) a user directly (the admin punishment API comes later)."""
    async with portal.container.db.transaction() as session:
        await session.execute(
            update(User).where(User.id == user_id).values(state=state, state_expires_at=expires_at)
        )
        users_changed(session, [user_id])


async def link_platform(
    portal: Portal,
    user_id: int,
    platform: str,
    *,
    platform_user_id: str | None = None,
    platform_username: str = "tester",
    avatar_url: str | None = None,
    after_seconds: float = 0,
) -> str:
    """Link another platform identity to a user, `after_seconds` from now (no link API exists yet)."""
    platform_user_id = platform_user_id or unique_platform_id()
    async with portal.container.db.transaction() as session:
        session.add(
            LinkedPlatform(
                user_id=user_id,
                platform=platform,
                platform_user_id=platform_user_id,
                platform_username=platform_username,
                platform_avatar_url=avatar_url,
                linked_at=portal.server.clock.now() + timedelta(seconds=after_seconds),
                last_authenticated_at=None,
            )
        )
    return platform_user_id


async def expect_error(call: Any, status: int, error: str | None = None) -> PortalAPIError:
    """Await `call` and assert it fails with `status` (and `error` text, when given)."""
    try:
        await call
    except PortalAPIError as exc:
        assert exc.status == status, f"expected {status}, got {exc.status} {exc.body}"
        if error is not None:
            assert exc.error == error, f"expected error {error!r}, got {exc.error!r}"
        assert exc.body.get("correlation_id"), "error envelope without correlation_id"
        assert exc.headers.get("x-correlation-id") == exc.body["correlation_id"]
        return exc
    raise AssertionError(f"expected a {status} error, the call succeeded")


@contextmanager
def counted_statements(portal: Portal) -> Iterator[list[str]]:
    """The SQL statements the portal's engine runs inside the block."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = portal.container.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
