"""Request rate limits (00 §3.4; 08 §61): fixed per-minute windows aligned to the clock, keyed by client IP.

The LOGIN tier and the bot hourly quota are covered with the authentication tests; here: HEALTH, AUTH,
PUBLIC and ADMIN, the headers, the client IP behind trusted proxies, `PORTAL_RATE_LIMITS=off` and one
counter shared by several nodes on PostgreSQL + Redis.
"""

from __future__ import annotations

import math
import secrets

import httpx
import pytest

from portal.client import PortalClient
from portal.services.ratelimit import BOT_KEY_FAILURES_PER_MINUTE
from tests.helpers import Portal, unique_platform_id
from tests.servers import another_node, fresh_ip, node_like


def assert_window(
    response: httpx.Response, limit: int, remaining: int, window_end: float, now: float
) -> None:
    """The X-RateLimit-* headers: `Reset` is the whole seconds left in the window (08 §61).

    `now` is read after the response, so the server's count may be one second more.
    """
    assert response.headers["x-ratelimit-limit"] == str(limit)
    assert response.headers["x-ratelimit-remaining"] == str(remaining)
    reset = int(response.headers["x-ratelimit-reset"])
    assert reset in (math.ceil(window_end - now), math.ceil(window_end - now) + 1), (reset, now)


def assert_limited(response: httpx.Response, limit: int, window_end: float, now: float) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body == {"error": "Too many requests", "correlation_id": response.headers["x-correlation-id"]}
    assert_window(response, limit, 0, window_end, now)
    assert response.headers["retry-after"] == response.headers["x-ratelimit-reset"]


def client_on(portal: Portal, base_url: str, *, ip: str | None = None) -> PortalClient:
    client = portal.client(ip=ip, base_url=base_url)
    return client


# ---- HEALTH 60 / minute -------------------------------------------------------------------------------


async def test_health_allows_60_requests_a_minute(portal: Portal) -> None:
    clock = portal.server.clock
    window_end = portal.server.clock.advance_to_next(60, 20.5)
    client = portal.client()

    for i in range(60):
        response = await client.raw("GET", "/health")
        assert response.status_code == 200
        assert_window(response, 60, 59 - i, window_end, clock.time())

    assert_limited(await client.raw("GET", "/health"), 60, window_end, clock.time())
    # Still the same window a little before its end.
    clock.set(window_end - 0.5)
    assert_limited(await client.raw("GET", "/health"), 60, window_end, clock.time())

    # The next minute starts a new window.
    clock.set(window_end + 0.25)
    fresh = await client.raw("GET", "/health")
    assert fresh.status_code == 200
    assert_window(fresh, 60, 59, window_end + 60, clock.time())


async def test_reset_counts_the_seconds_to_the_next_minute(portal: Portal) -> None:
    clock = portal.server.clock
    window_end = portal.server.clock.advance_to_next(60, 45.5)
    response = await portal.client().raw("GET", "/health")
    assert_window(response, 60, 59, window_end, clock.time())
    assert int(response.headers["x-ratelimit-reset"]) in (14, 15)


async def test_a_second_ip_has_its_own_counter(portal: Portal) -> None:
    window_end = portal.server.clock.advance_to_next(60, 1.0)
    spent = portal.client()
    for _ in range(60):
        assert (await spent.raw("GET", "/health")).status_code == 200
    assert_limited(await spent.raw("GET", "/health"), 60, window_end, portal.server.clock.time())

    other = await portal.client().raw("GET", "/health")
    assert other.status_code == 200
    assert other.headers["x-ratelimit-remaining"] == "59"


async def test_tiers_count_separately(portal: Portal) -> None:
    """Spending HEALTH leaves the same IP's AUTH budget untouched."""
    portal.server.clock.advance_to_next(60, 1.0)
    alice = await portal.login()
    for _ in range(61):
        await alice.client.raw("GET", "/health")
    me = await alice.client.raw("GET", "/v1/users/me")
    assert me.status_code == 200
    assert me.headers["x-ratelimit-limit"] == "120"
    assert me.headers["x-ratelimit-remaining"] == "119"


# ---- AUTH 120, PUBLIC 120, ADMIN 60 -------------------------------------------------------------------


async def test_auth_tier_allows_120_requests_a_minute(portal: Portal) -> None:
    clock = portal.server.clock
    window_end = portal.server.clock.advance_to_next(60, 1.0)
    alice = await portal.login()

    for i in range(120):
        response = await alice.client.raw("GET", "/v1/users/me")
        assert response.status_code == 200
        assert response.headers["x-ratelimit-remaining"] == str(119 - i)
    assert_window(response, 120, 0, window_end, clock.time())

    assert_limited(await alice.client.raw("GET", "/v1/users/me"), 120, window_end, clock.time())
    # The whole tier shares the budget: another AUTH endpoint is refused too.
    assert_limited(await alice.client.raw("GET", "/v1/users/me/sessions"), 120, window_end, clock.time())

    clock.set(window_end + 0.5)
    assert (await alice.client.raw("GET", "/v1/users/me")).headers["x-ratelimit-remaining"] == "119"


async def test_rate_limit_headers_go_on_refusals_too(portal: Portal) -> None:
    """08 §61: every response the limit applies to carries the headers, a 401 included."""
    window_end = portal.server.clock.advance_to_next(60, 1.0)
    client = portal.client()
    response = await client.raw("GET", "/v1/users/me")
    assert response.status_code == 401
    assert_window(response, 120, 119, window_end, portal.server.clock.time())


async def test_public_tier_allows_120_requests_a_minute(portal: Portal) -> None:
    clock = portal.server.clock
    window_end = portal.server.clock.advance_to_next(60, 1.0)
    user = await portal.create_user()
    client = portal.client()  # the public API key, no session

    for i in range(120):
        response = await client.raw("GET", f"/v1/users/{user['id']}")
        assert response.status_code == 200
        assert response.headers["x-ratelimit-remaining"] == str(119 - i)
    assert_limited(await client.raw("GET", f"/v1/users/{user['id']}"), 120, window_end, clock.time())

    clock.set(window_end + 0.5)
    assert (await client.raw("GET", f"/v1/users/{user['id']}")).status_code == 200


async def test_admin_tier_allows_60_requests_a_minute(portal: Portal) -> None:
    clock = portal.server.clock
    window_end = portal.server.clock.advance_to_next(60, 1.0)
    admin = await portal.login("admin")

    for i in range(60):
        response = await admin.client.raw("GET", "/v1/admin/health")
        assert response.status_code == 200
        assert response.headers["x-ratelimit-remaining"] == str(59 - i)
    assert_limited(await admin.client.raw("GET", "/v1/admin/health"), 60, window_end, clock.time())


async def test_bot_tier_is_keyed_by_the_bot_key_not_the_ip(portal: Portal) -> None:
    """00 §3.4: key-authenticated requests count per API-key hash."""
    portal.server.clock.advance_to_next(60, 1.0)
    _, first_bot = await portal.register_bot()
    body = {
        "platform": "discord",
        "platform_user_id": unique_platform_id(),
        "platform_username": "tester",
        "platform_avatar_url": None,
    }
    key_of = {}
    for name in ("a", "b"):
        issued = await portal.container.bots.register(
            actor=None, name=f"Bot {name}", owner_id=first_bot["owner_id"], platform="discord"
        )
        key_of[name] = issued.api_key
    ip_one, ip_two = fresh_ip(), fresh_ip()

    async def remaining(bot: str, ip: str) -> str:
        client = portal.bot_client(key_of[bot], ip=ip)
        response = await client.raw("POST", "/v1/authentication/bot/login-code", json=body)
        assert response.status_code == 200, response.text
        assert response.headers["x-ratelimit-limit"] == "600"
        return response.headers["x-ratelimit-remaining"]

    assert await remaining("a", ip_one) == "599"
    assert await remaining("a", ip_two) == "598"  # same key from another IP: same counter
    assert await remaining("b", ip_one) == "599"  # another key from the same IP: its own counter


async def test_bot_key_guessing_is_counted_by_ip(portal: Portal) -> None:
    """Issue 14: refused bot keys count per client IP (20 a minute), whatever key each one presents."""
    window_end = portal.server.clock.advance_to_next(60, 1.0)
    bot, _ = await portal.register_bot()
    ip = fresh_ip()
    guesser = portal.client(api_key=None, ip=ip)

    async def guess() -> httpx.Response:
        key = "hbot_" + secrets.token_urlsafe(32)
        return await guesser.raw("GET", "/v1/bot/me", headers={"X-API-Key": key})

    for _ in range(BOT_KEY_FAILURES_PER_MINUTE):
        response = await guess()
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "Invalid API key"
    assert_limited(await guess(), BOT_KEY_FAILURES_PER_MINUTE, window_end, portal.server.clock.time())
    # Other refused keys from the IP (a non-bot value, none) are answered 429 too, before any lookup...
    for headers in ({"X-API-Key": "nope"}, {}):
        refused = await guesser.raw("GET", "/v1/bot/me", headers=headers)
        assert refused.status_code == 429 and "retry-after" in refused.headers
    # ...as is a valid key from the same IP, so a right guess looks like a wrong one until the window ends.
    same_ip = portal.bot_client(bot.http.headers["X-API-Key"], ip=ip)
    assert (await same_ip.raw("GET", "/v1/bot/me")).status_code == 429
    # A valid key from another IP is not affected, and no other endpoint of the IP is.
    assert (await bot.raw("GET", "/v1/bot/me")).status_code == 200
    assert (await guesser.raw("GET", "/health")).status_code == 200
    # The next window starts afresh.
    portal.server.clock.advance_to_next(60, 1.0)
    assert (await same_ip.raw("GET", "/v1/bot/me")).status_code == 200
    assert (await guess()).status_code == 401


async def test_an_authenticated_bot_is_not_counted_as_guessing(portal: Portal) -> None:
    portal.server.clock.advance_to_next(60, 1.0)
    bot, _ = await portal.register_bot()
    for _ in range(BOT_KEY_FAILURES_PER_MINUTE + 5):
        assert (await bot.raw("GET", "/v1/bot/me")).status_code == 200


# ---- the client IP behind proxies (00 §3.4, 08 §12) ----------------------------------------------------
# Nodes built here serve like `portal serve` (uvicorn's own X-Forwarded-For handling off), so only
# PORTAL_TRUSTED_PROXIES decides. The tests reach them from 127.0.0.1.


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(portal: Portal) -> None:
    """The peer 127.0.0.1 is trusted: the last untrusted hop of X-Forwarded-For is the client."""
    window_end = portal.server.clock.advance_to_next(60, 1.0)
    async with node_like(portal.server, trusted_proxies="127.0.0.1") as node:
        client_ip = fresh_ip()
        spoofing = client_on(portal, node.base_url, ip=f"{fresh_ip()}, {client_ip}")
        for i in range(60):
            response = await spoofing.raw("GET", "/health")
            assert response.headers["x-ratelimit-remaining"] == str(59 - i)
        # The same client without the spoofed first hop is already spent...
        direct = client_on(portal, node.base_url, ip=client_ip)
        assert_limited(await direct.raw("GET", "/health"), 60, window_end, portal.server.clock.time())
        # ...another first hop in front of it does not help...
        again = client_on(portal, node.base_url, ip=f"{fresh_ip()}, {client_ip}")
        assert (await again.raw("GET", "/health")).status_code == 429
        # ...and a different client behind the same proxy is not affected.
        other = await client_on(portal, node.base_url).raw("GET", "/health")
        assert other.headers["x-ratelimit-remaining"] == "59"


async def test_forwarded_for_is_ignored_without_trusted_proxies(portal: Portal) -> None:
    portal.server.clock.advance_to_next(60, 1.0)
    async with node_like(portal.server, trusted_proxies="") as node:
        client = client_on(portal, node.base_url)
        for i in range(60):
            # A new X-Forwarded-For each time: to this node all of them are the socket peer 127.0.0.1.
            response = await client.raw("GET", "/health", headers={"X-Forwarded-For": fresh_ip()})
            assert response.status_code == 200
            assert response.headers["x-ratelimit-remaining"] == str(59 - i)
        refused = await client.raw("GET", "/health", headers={"X-Forwarded-For": fresh_ip()})
        assert refused.status_code == 429
        assert refused.json()["error"] == "Too many requests"


# ---- PORTAL_RATE_LIMITS=off ---------------------------------------------------------------------------


async def test_rate_limits_off_disables_limits_and_headers(portal: Portal) -> None:
    portal.server.clock.advance_to_next(60, 1.0)
    async with node_like(portal.server, rate_limits="off") as node:
        client = client_on(portal, node.base_url)
        for _ in range(61):
            response = await client.raw("GET", "/health")
            assert response.status_code == 200
            assert not any(name.startswith("x-ratelimit") for name in response.headers)
            assert "retry-after" not in response.headers

        # The bots' hourly quota is off too (00 §2).
        owner = await portal.create_user()
        issued = await node.container.bots.register(
            actor=None, name="Quota Bot", owner_id=owner["id"], platform="discord", rate_limit_per_hour=1
        )
        bot = portal.bot_client(issued.api_key)
        bot.http.base_url = node.base_url  # type: ignore[assignment]
        body = {
            "platform": "discord",
            "platform_user_id": unique_platform_id(),
            "platform_username": "tester",
            "platform_avatar_url": None,
        }
        for _ in range(3):
            response = await bot.raw("POST", "/v1/authentication/bot/login-code", json=body)
            assert response.status_code == 200, response.text


# ---- several nodes --------------------------------------------------------------------------------------


async def test_nodes_sharing_redis_share_one_counter(portal: Portal) -> None:
    if portal.server.backend != "postgres":
        pytest.skip("several nodes need PostgreSQL + Redis; the sqlite backend is one process by design")
    window_end = portal.server.clock.advance_to_next(60, 1.0)
    ip = fresh_ip()
    async with another_node(portal.server) as node_b:
        on_a = portal.client(ip=ip)
        on_b = client_on(portal, node_b.base_url, ip=ip)
        for i in range(30):
            assert (await on_a.raw("GET", "/health")).headers["x-ratelimit-remaining"] == str(59 - 2 * i)
            assert (await on_b.raw("GET", "/health")).headers["x-ratelimit-remaining"] == str(58 - 2 * i)
        assert_limited(await on_a.raw("GET", "/health"), 60, window_end, portal.server.clock.time())
        assert_limited(await on_b.raw("GET", "/health"), 60, window_end, portal.server.clock.time())
