"""A small typed async REST client for the Portal API (Socket.IO: `portal.client.realtime`; E2EE: `.secure`).

    async with PortalClient("http://127.0.0.1:8080", api_key=PUBLIC_KEY) as portal:
        await portal.request_code("discord", "1234")
        ...
        me = await portal.verify(code)          # keeps the psession cookie
        print((await portal.me())["username"])

Every non-2xx answer raises `PortalAPIError` with `status`, `error` (the envelope's text or ERR_ code),
`body` and `headers`. The client depends only on httpx, so bots and scripts can use it alone.
"""

from __future__ import annotations

from typing import Any, cast

import httpx

from portal.client.types import (
    BotCode,
    BotLoginCode,
    CodeRequested,
    Destroyed,
    Health,
    Lookup,
    MatchStatus,
    ModerationAction,
    OwnedChat,
    Sessions,
    Stranger,
    Subscription,
    UpdateMeResult,
    UserPrivate,
    UserProfile,
    UserSearch,
    Verified,
)
from portal.security import SESSION_COOKIE  # standard library only: the SDK still needs just httpx

__all__ = ["BotClient", "PortalAPIError", "PortalClient"]


class PortalAPIError(Exception):
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.status = response.status_code
        self.headers = response.headers
        try:
            self.body: dict[str, Any] = response.json()
        except ValueError:
            self.body = {"error": response.text}
        self.error: str = str(self.body.get("error", ""))
        super().__init__(f"{self.status} {self.error}")


# An idle connection is not reused after this many seconds: well inside the server's keep-alive (uvicorn
# closes idle connections after 5 s), so a request never races the server closing its connection.
KEEPALIVE_EXPIRY = 2.0


class _BaseClient:
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 15.0,
    ) -> None:
        default_headers = dict(headers or {})
        if api_key:
            default_headers["X-API-Key"] = api_key
        self.http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=default_headers,
            timeout=timeout,
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY),
        )

    async def __aenter__(self) -> _BaseClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.http.aclose()

    async def raw(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request and return the response as it is (no error handling)."""
        return await self.http.request(method, path, **kwargs)

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.raw(method, path, **kwargs)
        if response.status_code >= 400:
            raise PortalAPIError(response)
        return response.json()


class PortalClient(_BaseClient):
    """A user (or anonymous visitor) of the API. The session cookie is kept between calls."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        session: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 15.0,
    ) -> None:
        super().__init__(base_url, api_key=api_key, headers=headers, timeout=timeout)
        self.api_key = api_key
        if session:
            self.session_token = session

    @property
    def session_token(self) -> str | None:
        return self.http.cookies.get(SESSION_COOKIE)

    @session_token.setter
    def session_token(self, token: str | None) -> None:
        self.http.cookies.delete(SESSION_COOKIE) if token is None else self.http.cookies.set(
            SESSION_COOKIE, token
        )

    # ---- authentication -------------------------------------------------------------------------------

    async def lookup(self, username: str) -> Lookup:
        return cast(Lookup, await self.call("POST", "/v1/authentication/lookup", json={"username": username}))

    async def request_code(self, platform: str, platform_user_id: str) -> CodeRequested:
        body = {"platform": platform, "platform_user_id": platform_user_id}
        return cast(CodeRequested, await self.call("POST", "/v1/authentication/request", json=body))

    async def verify(self, code: str) -> Verified:
        return cast(Verified, await self.call("POST", "/v1/authentication/verify", json={"code": code}))

    async def logout(self) -> dict[str, str]:
        return cast(dict[str, str], await self.call("POST", "/v1/authentication/logout"))

    async def stranger(self) -> Stranger:
        return cast(Stranger, await self.call("POST", "/v1/authentication/stranger"))

    # ---- matchmaking (05-match; the events arrive on Socket.IO: `match:found`, `room:peer_left`, …) ------

    async def match(self, *interests: str) -> MatchStatus:
        """Queue on 1–3 interest tags; answers `searching` (pairing may happen at once: see `match_status`
        or wait for `match:found`)."""
        return cast(
            MatchStatus, await self.call("POST", "/v1/portal/match", json={"interests": list(interests)})
        )

    async def match_status(self) -> MatchStatus:
        return cast(MatchStatus, await self.call("GET", "/v1/portal/match/status"))

    async def match_dequeue(self) -> MatchStatus:
        return cast(MatchStatus, await self.call("POST", "/v1/portal/match/dequeue"))

    async def match_leave(self, chat_id: int | None = None) -> dict[str, str]:
        """End a direct chat at once (the newest active one without `chat_id`)."""
        body = {} if chat_id is None else {"chat_id": chat_id}
        return cast(dict[str, str], await self.call("POST", "/v1/portal/match/leave", json=body))

    # ---- users ----------------------------------------------------------------------------------------

    async def me(self) -> UserPrivate:
        return cast(UserPrivate, await self.call("GET", "/v1/users/me"))

    async def update_me(self, **fields: Any) -> UpdateMeResult:
        return cast(UpdateMeResult, await self.call("POST", "/v1/users/me/update", json=fields))

    async def sessions(self) -> Sessions:
        return cast(Sessions, await self.call("GET", "/v1/users/me/sessions"))

    async def destroy_session(self, token_suffix: str) -> Destroyed:
        return cast(Destroyed, await self.call("POST", f"/v1/users/me/sessions/{token_suffix}/destroy"))

    async def subscription(self) -> Subscription:
        return cast(Subscription, await self.call("GET", "/v1/users/me/subscription"))

    async def punishments(self, *, offset: int = 0, limit: int = 50) -> list[ModerationAction]:
        params = {"offset": offset, "limit": limit}
        return cast(list[ModerationAction], await self.call("GET", "/v1/users/me/punishments", params=params))

    async def my_chats(self) -> list[OwnedChat]:
        return cast(list[OwnedChat], await self.call("GET", "/v1/users/me/chats"))

    async def user(self, user_id: int) -> UserProfile:
        return cast(UserProfile, await self.call("GET", f"/v1/users/{user_id}"))

    async def profile(self, username: str) -> UserProfile:
        return cast(UserProfile, await self.call("GET", f"/v1/users/profile/{username}"))

    async def search_users(self, q: str, *, offset: int = 0, limit: int = 25) -> UserSearch:
        params = {"q": q, "offset": offset, "limit": limit}
        return cast(UserSearch, await self.call("GET", "/v1/users/search", params=params))

    # ---- monitoring -----------------------------------------------------------------------------------

    async def health(self) -> Health:
        return cast(Health, await self.call("GET", "/health"))

    async def admin_health(self) -> Health:
        return cast(Health, await self.call("GET", "/v1/admin/health"))


class BotClient(_BaseClient):
    """A platform bot, authenticated by its `hbot_` key."""

    def __init__(
        self, base_url: str, bot_key: str, *, headers: dict[str, str] | None = None, timeout: float = 15.0
    ) -> None:
        super().__init__(base_url, api_key=bot_key, headers=headers, timeout=timeout)

    @staticmethod
    def _identity(
        platform: str, platform_user_id: str, platform_username: str, platform_avatar_url: str | None
    ) -> dict[str, Any]:
        return {
            "platform": platform,
            "platform_user_id": platform_user_id,
            "platform_username": platform_username,
            "platform_avatar_url": platform_avatar_url,
        }

    async def send_code(
        self,
        platform: str,
        platform_user_id: str,
        platform_username: str,
        platform_avatar_url: str | None = None,
    ) -> BotCode:
        body = self._identity(platform, platform_user_id, platform_username, platform_avatar_url)
        return cast(BotCode, await self.call("POST", "/v1/authentication/bot/send-code", json=body))

    async def login_code(
        self,
        platform: str,
        platform_user_id: str,
        platform_username: str,
        platform_avatar_url: str | None = None,
    ) -> BotLoginCode:
        body = self._identity(platform, platform_user_id, platform_username, platform_avatar_url)
        return cast(BotLoginCode, await self.call("POST", "/v1/authentication/bot/login-code", json=body))
