"""`GET /v1/users/{id}` and `GET /v1/users/profile/{username}`: auth, errors and the shape per viewer.

Spec: 02 §3.3–3.4, §4.8–4.9; 00 §3.5 (`can_act_on`); 08 §4, §32, §34, §35, §36, §61.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.users_support import (
    DETAIL_ARRAYS,
    DETAIL_FIELDS,
    HISTORY_SESSION_FIELDS,
    MODERATION_FIELDS,
    PUBLIC_FIELDS,
    add_moderation_action,
    login_again,
    login_as,
)
from tests.helpers import LoggedIn, Portal, expect_error, unique_name
from tests.helpers import parse_time as ts


@dataclass
class Target:
    """A user with something in every history array of the detail shape."""

    user: dict[str, Any]
    action_id: int
    bot_id: int
    ended_suffix: str

    @property
    def id(self) -> int:
        return int(self.user["id"])


async def rich_target(portal: Portal, level: str = "user", *, who: LoggedIn | None = None) -> Target:
    if who is None:
        created = await portal.create_user(level, username=unique_name("T"))
        who = await login_as(portal, created)
    await portal.container.subscriptions.grant(
        actor=None, user_id=who.id, tier=2, duration_days=30, reason="gift"
    )
    action_id = await add_moderation_action(portal, who.id, reason="rude")
    _, bot = await portal.register_bot(owner_id=who.id)
    ended = await login_again(portal, who)
    ended_suffix = ended.session_token[-6:]  # type: ignore[index]
    await ended.logout()
    user = dict(await who.client.me())
    return Target(user, action_id, bot["id"], ended_suffix)


async def both_lookups(viewer: LoggedIn, target: dict[str, Any]) -> dict[str, Any]:
    """The profile by id and by username; they must agree."""
    by_id = await viewer.client.user(target["id"])
    by_name = await viewer.client.profile(target["username"])
    assert by_id == by_name
    return dict(by_id)


def assert_public(profile: dict[str, Any], target: dict[str, Any]) -> None:
    assert profile == {
        "id": target["id"],
        "username": target["username"],
        "avatar_url": target["avatar_url"],
        "subscription_tier": target["subscription_tier"],
    }


def assert_detail_fields(profile: dict[str, Any], target: dict[str, Any]) -> None:
    assert set(profile) == DETAIL_FIELDS
    for name in DETAIL_FIELDS - DETAIL_ARRAYS:
        assert profile[name] == target[name], name


def filled(profile: dict[str, Any]) -> set[str]:
    return {name for name in DETAIL_ARRAYS if profile[name]}


# ---- GET /v1/users/{id}: auth and errors -----------------------------------------------------------


async def test_profile_by_id_with_the_public_key_only(portal: Portal) -> None:
    """08 §34: the public key alone gives the public shape."""
    target = await portal.create_user("admin")
    profile = await portal.client().user(target["id"])
    assert set(profile) == PUBLIC_FIELDS
    assert_public(profile, target)


async def test_profile_by_id_needs_a_session_or_the_key(portal: Portal) -> None:
    target = await portal.create_user()
    await expect_error(portal.client(api_key=None).user(target["id"]), 401, "Authentication required")
    await expect_error(portal.client(api_key="wrong-key").user(target["id"]), 401, "Invalid API key")
    await expect_error(portal.client(api_key="").user(target["id"]), 401, "Authentication required")
    garbage = portal.client(api_key=None, session="garbage-session")
    await expect_error(garbage.user(target["id"]), 401, "Authentication required")
    garbage_bad_key = portal.client(api_key="wrong-key", session="garbage-session")
    await expect_error(garbage_bad_key.user(target["id"]), 401, "Invalid API key")


async def test_profile_by_id_with_a_session_and_no_key(portal: Portal) -> None:
    alice = await portal.login()
    cookie_only = portal.client(api_key=None, session=alice.client.session_token)
    target = await portal.create_user()
    assert_public(await cookie_only.user(target["id"]), target)


@pytest.mark.parametrize("raw_id", ["abc", "1.5", "1e3", "%20"])
async def test_profile_id_must_be_an_integer(portal: Portal, raw_id: str) -> None:
    await expect_error(portal.client().call("GET", f"/v1/users/{raw_id}"), 400, "user_id must be an integer")


async def test_profile_auth_is_checked_before_the_id(portal: Portal) -> None:
    """08 §4: 401 comes before validation."""
    await expect_error(
        portal.client(api_key=None).call("GET", "/v1/users/abc"), 401, "Authentication required"
    )
    await expect_error(portal.client(api_key="bad").call("GET", "/v1/users/abc"), 401, "Invalid API key")


@pytest.mark.parametrize("user_id", [0, -1, 987_654_321, 2**31, 2**63, 10**30])
async def test_unknown_profile_id_is_404(portal: Portal, user_id: int) -> None:
    await expect_error(portal.client().user(user_id), 404, "User not found")


async def test_strangers_have_no_profile(portal: Portal) -> None:
    """08 §32: strangers never appear in profiles (404), whoever asks."""
    stranger = await portal.stranger()
    owner = await portal.login("owner")
    await expect_error(portal.client().user(stranger.id), 404, "User not found")
    await expect_error(owner.client.user(stranger.id), 404, "User not found")
    await expect_error(owner.client.profile(stranger.user["username"]), 404, "User not found")


async def test_stranger_with_the_public_key_sees_public_profiles(portal: Portal) -> None:
    """08 §32: strangers keep the public endpoints that need no login."""
    stranger = await portal.stranger()
    target = await portal.create_user()
    assert_public(await stranger.client.user(target["id"]), target)


# ---- GET /v1/users/profile/{username} --------------------------------------------------------------


async def test_profile_by_username_is_case_insensitive(portal: Portal) -> None:
    target = await portal.create_user(username=unique_name("Case"))
    alice = await portal.login()
    for name in (target["username"], target["username"].upper(), target["username"].lower()):
        assert_public(await alice.client.profile(name), target)


async def test_profile_by_username_needs_a_session(portal: Portal) -> None:
    """08 §34: profile-by-username stays cookie-only; the public key is not enough."""
    target = await portal.create_user()
    await expect_error(portal.client().profile(target["username"]), 401, "Authentication required")
    await expect_error(
        portal.client(api_key=None).profile(target["username"]), 401, "Authentication required"
    )
    stranger = await portal.stranger()
    await expect_error(stranger.client.profile(target["username"]), 403, "Access denied")


async def test_unknown_username_is_404(portal: Portal) -> None:
    alice = await portal.login()
    await expect_error(alice.client.profile(unique_name("nobody")), 404, "User not found")
    await expect_error(alice.client.profile("x"), 404, "User not found")


# ---- the shape per viewer (08 §35) ------------------------------------------------------------------


@pytest.mark.parametrize("target_level", ["user", "moderator", "admin", "owner"])
async def test_user_viewer_gets_public_profiles(portal: Portal, target_level: str) -> None:
    target = await rich_target(portal, target_level)
    viewer = await portal.login()
    assert_public(await both_lookups(viewer, target.user), target.user)


async def test_user_viewer_sees_own_profile_public(portal: Portal) -> None:
    viewer = await portal.login()
    target = await rich_target(portal, who=viewer)
    assert_public(await both_lookups(viewer, target.user), target.user)


async def test_moderator_viewing_a_user_gets_moderation_actions_only(portal: Portal) -> None:
    target = await rich_target(portal)
    moderator = await portal.login("moderator")
    profile = await both_lookups(moderator, target.user)
    assert_detail_fields(profile, target.user)
    assert filled(profile) == {"moderation_actions"}
    [action] = profile["moderation_actions"]
    assert set(action) == MODERATION_FIELDS
    assert action["id"] == target.action_id
    assert (action["action_type"], action["reason"], action["is_lifted"]) == (
        "PLATFORM_WARNING",
        "rude",
        False,
    )


@pytest.mark.parametrize("target_level", ["moderator", "admin", "owner"])
async def test_moderator_viewing_its_level_or_above_gets_public(portal: Portal, target_level: str) -> None:
    target = await rich_target(portal, target_level)
    moderator = await portal.login("moderator")
    assert_public(await both_lookups(moderator, target.user), target.user)


async def test_moderator_viewing_itself_gets_public(portal: Portal) -> None:
    moderator = await portal.login("moderator")
    target = await rich_target(portal, who=moderator)
    assert_public(await both_lookups(moderator, target.user), target.user)


@pytest.mark.parametrize("target_level", ["user", "moderator"])
async def test_admin_viewing_lower_levels_gets_all_but_session_history(
    portal: Portal, target_level: str
) -> None:
    target = await rich_target(portal, target_level)
    admin = await portal.login("admin")
    profile = await both_lookups(admin, target.user)
    assert_detail_fields(profile, target.user)
    assert profile["session_history"] == []
    assert profile["chats"] == []  # no chats exist yet
    assert filled(profile) == {"moderation_actions", "bots", "subscription_history"} | (
        {"permission_history"} if target_level == "moderator" else set()
    )
    assert [a["id"] for a in profile["moderation_actions"]] == [target.action_id]
    [bot] = profile["bots"]
    assert (bot["id"], bot["owner_id"], bot["name"]) == (target.bot_id, target.id, "Test Bot")
    [sub] = profile["subscription_history"]
    assert set(sub) == {"id", "old_tier", "new_tier", "reason", "granted_by_id", "created_at"}
    assert (sub["old_tier"], sub["new_tier"], sub["reason"], sub["granted_by_id"]) == (0, 2, "gift", None)
    if target_level == "moderator":
        [change] = profile["permission_history"]
        assert set(change) == {"id", "old_level", "new_level", "reason", "changed_by_id", "created_at"}
        assert (change["old_level"], change["new_level"], change["changed_by_id"]) == (0, 1, None)
        ts(change["created_at"])


@pytest.mark.parametrize("target_level", ["admin", "owner"])
async def test_admin_viewing_its_level_or_above_gets_public(portal: Portal, target_level: str) -> None:
    target = await rich_target(portal, target_level)
    admin = await portal.login("admin")
    assert_public(await both_lookups(admin, target.user), target.user)


async def test_admin_viewing_itself_gets_public(portal: Portal) -> None:
    admin = await portal.login("admin")
    target = await rich_target(portal, who=admin)
    assert_public(await both_lookups(admin, target.user), target.user)


@pytest.mark.parametrize("target_level", ["user", "moderator", "admin", "owner"])
async def test_owner_gets_every_array(portal: Portal, target_level: str) -> None:
    target = await rich_target(portal, target_level)
    owner = await portal.login("owner")
    profile = await both_lookups(owner, target.user)
    assert_detail_fields(profile, target.user)
    expected = {"moderation_actions", "bots", "subscription_history", "session_history"}
    if target_level != "user":
        expected.add("permission_history")
    assert filled(profile) == expected
    [ended] = profile["session_history"]
    assert set(ended) == HISTORY_SESSION_FIELDS
    assert ended["token_suffix"] == target.ended_suffix


async def test_owner_viewing_itself_gets_the_detail(portal: Portal) -> None:
    """08 §35: viewing yourself follows can_act_on: detail for Owners."""
    owner = await portal.login("owner")
    target = await rich_target(portal, who=owner)
    profile = await both_lookups(owner, target.user)
    assert_detail_fields(profile, target.user)
    # Only ended sessions: the owner's current session is not history.
    assert [s["token_suffix"] for s in profile["session_history"]] == [target.ended_suffix]
    assert [b["id"] for b in profile["bots"]] == [target.bot_id]


async def test_session_history_in_the_detail_includes_expired_sessions(portal: Portal) -> None:
    created = await portal.create_user()
    target = await login_as(portal, created)
    old_suffix = target.client.session_token[-6:]  # type: ignore[index]
    portal.server.clock.advance(30 * 86400 + 1)
    owner = await portal.login("owner")
    profile = await owner.client.user(target.id)
    assert [s["token_suffix"] for s in profile["session_history"]] == [old_suffix]


async def test_detail_uses_the_effective_subscription(portal: Portal) -> None:
    target = await rich_target(portal)
    portal.server.clock.advance(31 * 86400)
    owner = await portal.login("owner")
    profile = await owner.client.user(target.id)
    assert (profile["subscription_tier"], profile["subscription_expires_at"]) == (0, None)
    public = await portal.client().user(target.id)
    assert public["subscription_tier"] == 0


async def test_public_key_with_a_staff_session_still_gets_the_detail(portal: Portal) -> None:
    """08 §34: a valid session decides the shape, whether or not the key comes too."""
    target = await rich_target(portal)
    owner = await portal.login("owner")
    cookie_only = portal.client(api_key=None, session=owner.client.session_token)
    with_key = await owner.client.user(target.id)
    assert with_key == await cookie_only.user(target.id)
    assert set(with_key) == DETAIL_FIELDS


# ---- rate limit ------------------------------------------------------------------------------------


async def test_profiles_use_the_public_tier(portal: Portal) -> None:
    """08 §61: `/v1/users/{id}` counts against PUBLIC (120/min), apart from AUTH."""
    alice = await portal.login()
    target = await portal.create_user()
    portal.server.clock.advance_to_next(60, 0.01)
    for n in range(120):
        response = await alice.client.raw("GET", f"/v1/users/{target['id']}")
        assert response.status_code == 200, (n, response.text)
        assert response.headers["X-RateLimit-Remaining"] == str(119 - n)
    refused = await expect_error(alice.client.user(target["id"]), 429, "Too many requests")
    assert refused.headers["X-RateLimit-Limit"] == "120"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert int(refused.headers["Retry-After"]) == int(refused.headers["X-RateLimit-Reset"])
    # The AUTH tier of the same client is untouched.
    response = await alice.client.raw("GET", "/v1/users/me")
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Remaining"] == "119"
