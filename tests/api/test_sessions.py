"""`GET /v1/users/me/sessions` and `POST /v1/users/me/sessions/{token_suffix}/destroy`.

Spec: 02 §3.7, §4.3–4.4; 00 §3.3 (TTL 30 days for levels 0–1, 1 day for 2–3); 08 §57 (fixed TTL).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.users_support import (
    ACTIVE_SESSION_FIELDS,
    GEO_FIELDS,
    HISTORY_SESSION_FIELDS,
    login_again,
)
from tests.helpers import DAY, Portal, expect_error
from tests.helpers import parse_time as ts


def suffix_of(client) -> str:
    token = client.session_token
    assert token
    return token[-6:]


async def test_sessions_lists_the_current_session(portal: Portal) -> None:
    alice = await portal.login(ip="10.200.0.7")
    listing = await alice.client.sessions()
    assert set(listing) == {"sessions", "history"}
    assert listing["history"] == []
    [current] = listing["sessions"]
    assert set(current) == ACTIVE_SESSION_FIELDS
    assert current["token_suffix"] == suffix_of(alice.client)
    assert len(current["token_suffix"]) == 6
    assert current["is_current"] is True
    assert current["client_ip"] == "10.200.0.7"
    assert current["user_agent"] == "portal-tests/1.0"
    assert set(current["geo"]) == GEO_FIELDS
    assert all(value is None for value in current["geo"].values())
    created, expires = ts(current["created_at"]), ts(current["expires_at"])
    assert expires - created == timedelta(days=30)
    assert abs(created - portal.server.clock.now()) < timedelta(seconds=30)


@pytest.mark.parametrize(("level", "days"), [("user", 30), ("moderator", 30), ("admin", 1), ("owner", 1)])
async def test_session_ttl_by_level(portal: Portal, level: str, days: int) -> None:
    """00 §3.3: 30 days for levels 0–1, 1 day for levels 2–3."""
    who = await portal.login(level)
    [current] = (await who.client.sessions())["sessions"]
    assert ts(current["expires_at"]) - ts(current["created_at"]) == timedelta(days=days)


async def test_sessions_lists_every_active_session_with_its_own_ip(portal: Portal) -> None:
    alice = await portal.login(ip="10.200.1.1")
    second = await login_again(portal, alice, ip="10.200.1.2")
    third = await login_again(portal, alice, ip="10.200.1.3")

    listing = await second.sessions()
    by_suffix = {s["token_suffix"]: s for s in listing["sessions"]}
    assert set(by_suffix) == {suffix_of(c) for c in (alice.client, second, third)}
    assert [s["is_current"] for s in listing["sessions"]].count(True) == 1
    assert by_suffix[suffix_of(second)]["is_current"] is True
    assert by_suffix[suffix_of(alice.client)]["client_ip"] == "10.200.1.1"
    assert by_suffix[suffix_of(second)]["client_ip"] == "10.200.1.2"
    assert by_suffix[suffix_of(third)]["client_ip"] == "10.200.1.3"
    assert listing["history"] == []

    # Another user's sessions never show up.
    bob = await portal.login()
    bob_listing = await bob.client.sessions()
    assert [s["token_suffix"] for s in bob_listing["sessions"]] == [suffix_of(bob.client)]


async def test_destroy_another_session(portal: Portal) -> None:
    alice = await portal.login(ip="10.200.2.1")
    other = await login_again(portal, alice, ip="10.200.2.2")
    target = suffix_of(other)

    assert await alice.client.destroy_session(target) == {"destroyed": True}
    await expect_error(other.me(), 401, "Authentication required")

    listing = await alice.client.sessions()
    assert [s["token_suffix"] for s in listing["sessions"]] == [suffix_of(alice.client)]
    [ended] = listing["history"]
    assert set(ended) == HISTORY_SESSION_FIELDS
    assert ended["token_suffix"] == target
    assert ended["client_ip"] == "10.200.2.2"
    assert ended["user_agent"] == "portal-tests/1.0"
    assert set(ended["geo"]) == GEO_FIELDS

    # Destroying it again: no active session has that suffix any more.
    await expect_error(alice.client.destroy_session(target), 404, "Session not found")
    assert (await alice.client.me())["id"] == alice.id


async def test_destroy_current_session_is_refused(portal: Portal) -> None:
    """02 §4.4: the current session cannot be destroyed this way (use logout)."""
    alice = await portal.login()
    await expect_error(alice.client.destroy_session(suffix_of(alice.client)), 400)
    assert (await alice.client.me())["id"] == alice.id
    listing = await alice.client.sessions()
    assert [s["token_suffix"] for s in listing["sessions"]] == [suffix_of(alice.client)]
    assert listing["history"] == []


@pytest.mark.parametrize("suffix", ["zzzzzz", "abc", "a" * 40])
async def test_destroy_unknown_suffix_is_404(portal: Portal, suffix: str) -> None:
    alice = await portal.login()
    if suffix_of(alice.client) == suffix:  # pragma: no cover - one chance in 64**6
        pytest.skip("suffix collision")
    await expect_error(alice.client.destroy_session(suffix), 404, "Session not found")


async def test_destroy_another_users_session_is_404(portal: Portal) -> None:
    alice = await portal.login()
    bob = await portal.login()
    await expect_error(alice.client.destroy_session(suffix_of(bob.client)), 404, "Session not found")
    assert (await bob.client.me())["id"] == bob.id


async def test_destroy_needs_a_session(portal: Portal) -> None:
    alice = await portal.login()
    anonymous = portal.client()
    await expect_error(anonymous.destroy_session(suffix_of(alice.client)), 401, "Authentication required")
    assert (await alice.client.me())["id"] == alice.id


async def test_logout_moves_session_to_history(portal: Portal) -> None:
    alice = await portal.login()
    other = await login_again(portal, alice)
    ended_suffix = suffix_of(other)
    await other.logout()
    listing = await alice.client.sessions()
    assert [s["token_suffix"] for s in listing["sessions"]] == [suffix_of(alice.client)]
    assert [h["token_suffix"] for h in listing["history"]] == [ended_suffix]


async def test_user_session_expires_after_30_days(portal: Portal) -> None:
    alice = await portal.login(ip="10.200.3.1")
    old_suffix = suffix_of(alice.client)
    clock = portal.server.clock
    clock.advance(30 * DAY - 60)
    assert (await alice.client.me())["id"] == alice.id
    clock.advance(61)
    await expect_error(alice.client.me(), 401, "Authentication required")

    fresh = await login_again(portal, alice, ip="10.200.3.2")
    listing = await fresh.sessions()
    assert [s["token_suffix"] for s in listing["sessions"]] == [suffix_of(fresh)]
    [expired] = listing["history"]
    assert expired["token_suffix"] == old_suffix
    assert expired["client_ip"] == "10.200.3.1"


async def test_expired_session_is_in_history_even_before_it_is_used_again(portal: Portal) -> None:
    """An expired session is history at once, whether or not its cookie comes back."""
    alice = await portal.login()
    old_suffix = suffix_of(alice.client)
    portal.server.clock.advance(30 * DAY + 1)
    fresh = await login_again(portal, alice)
    listing = await fresh.sessions()
    assert [s["token_suffix"] for s in listing["sessions"]] == [suffix_of(fresh)]
    assert [h["token_suffix"] for h in listing["history"]] == [old_suffix]
    await expect_error(alice.client.me(), 401, "Authentication required")


@pytest.mark.parametrize("level", ["admin", "owner"])
async def test_staff_session_expires_after_one_day(portal: Portal, level: str) -> None:
    staff = await portal.login(level)
    clock = portal.server.clock
    clock.advance(DAY - 60)
    assert (await staff.client.me())["id"] == staff.id
    clock.advance(61)
    await expect_error(staff.client.me(), 401, "Authentication required")


async def test_moderator_session_lives_30_days(portal: Portal) -> None:
    moderator = await portal.login("moderator")
    portal.server.clock.advance(DAY + 60)
    assert (await moderator.client.me())["id"] == moderator.id


async def test_session_ttl_is_fixed_from_creation(portal: Portal) -> None:
    """08 §57: use does not extend a session."""
    alice = await portal.login()
    [before] = (await alice.client.sessions())["sessions"]
    clock = portal.server.clock
    for _ in range(3):
        clock.advance(10 * DAY - 120)
        assert (await alice.client.me())["id"] == alice.id
    [after] = (await alice.client.sessions())["sessions"]
    assert after["expires_at"] == before["expires_at"]
    assert after["created_at"] == before["created_at"]
    clock.advance(361)  # 30 days and one second after creation
    await expect_error(alice.client.me(), 401, "Authentication required")


async def test_destroying_an_expired_session_is_404(portal: Portal) -> None:
    alice = await portal.login()
    clock = portal.server.clock
    clock.advance(29 * DAY)
    later = await login_again(portal, alice)
    clock.advance(DAY + 1)  # the first session is past its 30 days, the second is not
    await expect_error(later.destroy_session(suffix_of(alice.client)), 404, "Session not found")


async def test_login_cookie_max_age_is_the_session_ttl(portal: Portal) -> None:
    """00 §3.3: the psession cookie's Max-Age is the TTL (30 days for a User, 1 day for an Admin)."""
    for level, ttl in (("user", 30 * DAY), ("admin", DAY)):
        created = await portal.create_user(level)
        platform_user_id = created["linked_platforms"][0]["platform_user_id"]
        client = portal.client()
        await client.request_code("discord", platform_user_id)
        bot = await portal.default_bot()
        code = (await bot.login_code("discord", platform_user_id, "tester"))["code"]
        response = await client.raw("POST", "/v1/authentication/verify", json={"code": code})
        assert response.status_code == 200, response.text
        cookie = response.headers["set-cookie"].lower()
        assert f"max-age={ttl}" in cookie, cookie
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie


async def set_state(portal: Portal, user_id: int, state: int, until_seconds: float | None) -> None:
    """Put a user in timeout (1) or banned (2) state; the moderation API that does this comes later."""
    from portal.db.models import User

    clock = portal.server.clock
    async with portal.container.db.transaction() as session:
        user = await session.get(User, user_id)
        assert user is not None
        user.state = state
        user.state_expires_at = (
            None if until_seconds is None else clock.now() + timedelta(seconds=until_seconds)
        )


@pytest.mark.parametrize("state", [1, 2])
async def test_restricted_account_loses_its_sessions(portal: Portal, state: int) -> None:
    """00 §3.3: a timed-out or banned user's sessions are ended (403, then 401)."""
    alice = await portal.login()
    other = await login_again(portal, alice)
    await set_state(portal, alice.id, state, 3600)
    await expect_error(alice.client.me(), 403, "Account restricted")
    await expect_error(alice.client.me(), 401, "Authentication required")
    await expect_error(other.me(), 401, "Authentication required")


async def test_finished_timeout_lifts_itself(portal: Portal) -> None:
    alice = await portal.login()
    await set_state(portal, alice.id, 1, -1)  # a timeout that ended a second ago
    me = await alice.client.me()
    assert me["state"] == 0
    assert (await alice.client.me())["state"] == 0
