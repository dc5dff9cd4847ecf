"""`GET /v1/users/me`, `POST /v1/users/me/update`, `/me/punishments`, `/me/chats` and the AUTH tier.

Spec: 02 §3.1, §3.6, §4.1–4.2, §4.6–4.7; 00 §3.3–3.5; 08 §4, §6, §7, §32, §36, §38, §57, §61.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.users_support import (
    LINKED_PLATFORM_FIELDS,
    MODERATION_FIELDS,
    PRIVATE_FIELDS,
    add_moderation_action,
    login_as,
    report_discord_avatar,
)
from tests.helpers import Portal, expect_error, link_platform, unique_name
from tests.helpers import parse_time as ts

DEFAULT_AVATAR = "https://cdn.discordapp.com/embed/avatars/{}.png"
ME_PATHS = [
    "/v1/users/me",
    "/v1/users/me/sessions",
    "/v1/users/me/subscription",
    "/v1/users/me/punishments",
    "/v1/users/me/chats",
]


# ---- GET /v1/users/me ------------------------------------------------------------------------------


async def test_me_returns_every_private_field(portal: Portal) -> None:
    created = await portal.create_user(username=unique_name("me"))
    alice = await login_as(portal, created)
    me = await alice.client.me()

    assert set(me) == PRIVATE_FIELDS
    assert me["id"] == created["id"] and isinstance(me["id"], int)
    assert me["username"] == created["username"]
    assert me["avatar_url"] is None
    assert (me["subscription_tier"], me["state"], me["permission_level"]) == (0, 0, 0)
    assert me["subscription_expires_at"] is None
    assert me["subscription_granted_by"] is None
    assert me["permission_since"] is None
    assert me["avatar_source"] is None
    for name in ("last_activity_at", "created_at", "updated_at"):
        ts(me[name])
    assert ts(me["created_at"]) == ts(created["created_at"])

    [link] = me["linked_platforms"]
    assert set(link) == LINKED_PLATFORM_FIELDS
    assert link["platform"] == "discord"
    assert link["platform_user_id"] == created["linked_platforms"][0]["platform_user_id"]
    assert isinstance(link["platform_user_id"], str)
    assert link["platform_username"] == "tester"
    assert link["platform_avatar_url"] is None
    ts(link["linked_at"])
    assert ts(link["last_authenticated_at"]) >= ts(link["linked_at"])


async def test_me_of_staff_shows_level_and_permission_since(portal: Portal) -> None:
    moderator = await portal.login("moderator")
    me = await moderator.client.me()
    assert me["permission_level"] == 1
    ts(me["permission_since"])


async def test_me_requires_a_valid_session(portal: Portal) -> None:
    anonymous = portal.client()
    await expect_error(anonymous.me(), 401, "Authentication required")
    garbage = portal.client(session="not-a-real-session-token")
    await expect_error(garbage.me(), 401, "Authentication required")
    too_long = portal.client(session="x" * 500)
    await expect_error(too_long.me(), 401, "Authentication required")


@pytest.mark.parametrize("path", ME_PATHS)
async def test_strangers_are_refused_on_me_endpoints(portal: Portal, path: str) -> None:
    """08 §32: strangers may use match, their direct chats, keys and logout, nothing under /v1/users."""
    stranger = await portal.stranger()
    await expect_error(stranger.client.call("GET", path), 403, "Access denied")


async def test_strangers_cannot_update_or_destroy_sessions(portal: Portal) -> None:
    stranger = await portal.stranger()
    await expect_error(stranger.client.update_me(username=unique_name("s")), 403, "Access denied")
    suffix = stranger.client.session_token[-6:]  # type: ignore[index]
    await expect_error(
        stranger.client.call("POST", f"/v1/users/me/sessions/{suffix}/destroy"), 403, "Access denied"
    )


@pytest.mark.parametrize("path", ME_PATHS)
async def test_me_endpoints_need_a_session(portal: Portal, path: str) -> None:
    await expect_error(portal.client().call("GET", path), 401, "Authentication required")


async def test_last_activity_is_written_at_most_once_a_minute(portal: Portal) -> None:
    """08 §57: `last_activity_at` moves with use, but at most once a minute."""
    alice = await portal.login()
    first = ts((await alice.client.me())["last_activity_at"])
    portal.server.clock.advance(30)
    assert ts((await alice.client.me())["last_activity_at"]) == first
    portal.server.clock.advance(40)
    later = ts((await alice.client.me())["last_activity_at"])
    assert later - first >= timedelta(seconds=70)


# ---- avatar_url resolution -------------------------------------------------------------------------


async def test_avatar_url_follows_avatar_source(portal: Portal) -> None:
    """02 §8.3: explicit platform → its avatar; discord_0..5 → default avatars; null → earliest platform."""
    alice = await portal.login()
    discord_avatar = "https://cdn.discordapp.com/avatars/1/a.png"
    telegram_avatar = "https://t.me/i/userpic/1.jpg"
    await report_discord_avatar(portal, alice.user, discord_avatar)
    await link_platform(portal, alice.id, "telegram", avatar_url=telegram_avatar)

    me = await alice.client.me()
    assert me["avatar_source"] is None
    assert me["avatar_url"] == discord_avatar  # discord was linked first
    assert [p["platform"] for p in me["linked_platforms"]] == ["discord", "telegram"]

    chosen = await alice.client.update_me(avatar_source="telegram")
    assert chosen["errors"] is None
    assert chosen["user"]["avatar_source"] == "telegram"
    assert chosen["user"]["avatar_url"] == telegram_avatar

    for n in range(6):
        result = await alice.client.update_me(avatar_source=f"discord_{n}")
        assert result["errors"] is None
        assert result["user"]["avatar_source"] == f"discord_{n}"
        assert result["user"]["avatar_url"] == DEFAULT_AVATAR.format(n)

    cleared = await alice.client.update_me(avatar_source="")
    assert cleared["errors"] is None
    assert cleared["user"]["avatar_source"] is None
    assert cleared["user"]["avatar_url"] == discord_avatar
    assert (await alice.client.me())["avatar_url"] == discord_avatar


async def test_avatar_url_is_null_when_the_earliest_platform_has_none(portal: Portal) -> None:
    alice = await portal.login()
    await link_platform(portal, alice.id, "telegram", avatar_url="https://t.me/i/userpic/2.jpg")
    me = await alice.client.me()
    assert me["avatar_source"] is None
    assert me["avatar_url"] is None


async def test_avatar_url_of_a_chosen_platform_without_avatar_is_null(portal: Portal) -> None:
    alice = await portal.login()
    await report_discord_avatar(portal, alice.user, "https://cdn.discordapp.com/avatars/2/b.png")
    await link_platform(portal, alice.id, "telegram", avatar_url=None)
    result = await alice.client.update_me(avatar_source="telegram")
    assert result["errors"] is None
    assert result["user"]["avatar_url"] is None


# ---- POST /v1/users/me/update: username ------------------------------------------------------------


@pytest.mark.parametrize("length", [3, 32])
async def test_username_length_limits_accepted(portal: Portal, length: int) -> None:
    alice = await portal.login()
    name = (unique_name("n") + "x" * 40)[:length]
    result = await alice.client.update_me(username=name)
    assert result["errors"] is None
    assert result["user"]["username"] == name
    assert (await alice.client.me())["username"] == name


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ab", "username must be at least 3 characters"),
        ("", "username must be at least 3 characters"),
        ("a" * 33, "username must be at most 32 characters"),
        ("bad name", "username contains invalid characters"),
        ("bad!name", "username contains invalid characters"),
        ("naïve", "username contains invalid characters"),
        ("a/b", "username contains invalid characters"),
        (5, "username must be a string"),
        (None, "username must be a string"),
        (["abc"], "username must be a string"),
    ],
)
async def test_bad_username_is_a_field_error_and_changes_nothing(
    portal: Portal, value: object, message: str
) -> None:
    alice = await portal.login()
    before = await alice.client.me()
    portal.server.clock.advance(5)
    result = await alice.client.update_me(username=value)
    assert result["errors"] == {"username": message}
    assert result["user"] == before
    assert await alice.client.me() == before


async def test_username_allows_letters_digits_dots_underscores_hyphens(portal: Portal) -> None:
    alice = await portal.login()
    name = "A.b_c-" + unique_name("Z9")[:20]
    result = await alice.client.update_me(username=name)
    assert result["errors"] is None
    assert result["user"]["username"] == name


async def test_username_taken_case_insensitively(portal: Portal) -> None:
    """08 §36: usernames are unique case-insensitively; a taken name is a per-field error with 200."""
    bob = await portal.create_user(username=unique_name("Bob"))
    alice = await portal.login()
    before = await alice.client.me()
    for candidate in (bob["username"], bob["username"].upper(), bob["username"].lower()):
        result = await alice.client.update_me(username=candidate)
        assert result["errors"] == {"username": "username is already taken"}
        assert result["user"] == before
    assert await alice.client.me() == before


async def test_username_can_change_case_of_own_name(portal: Portal) -> None:
    alice = await portal.login()
    upper = alice.user["username"].upper()
    result = await alice.client.update_me(username=upper)
    assert result["errors"] is None
    assert result["user"]["username"] == upper
    same = await alice.client.update_me(username=upper)
    assert same["errors"] is None
    assert same["user"]["username"] == upper


async def test_freed_username_can_be_taken(portal: Portal) -> None:
    alice = await portal.login()
    bob = await portal.login()
    old = alice.user["username"]
    assert (await alice.client.update_me(username=unique_name("new")))["errors"] is None
    result = await bob.client.update_me(username=old.upper())
    assert result["errors"] is None
    assert result["user"]["username"] == old.upper()


async def test_rename_changes_updated_at(portal: Portal) -> None:
    alice = await portal.login()
    before = await alice.client.me()
    portal.server.clock.advance(90)
    result = await alice.client.update_me(username=unique_name("ren"))
    after = result["user"]
    assert ts(after["updated_at"]) - ts(before["updated_at"]) >= timedelta(seconds=90)
    assert after["created_at"] == before["created_at"]
    assert (await alice.client.me())["updated_at"] == after["updated_at"]


# ---- POST /v1/users/me/update: avatar_source and the body ------------------------------------------


@pytest.mark.parametrize("value", ["discord_6", "discord_", "telegram", "DISCORD", "discord_-1"])
async def test_bad_avatar_source_is_a_field_error(portal: Portal, value: str) -> None:
    alice = await portal.login()
    await alice.client.update_me(avatar_source="discord_1")
    before = await alice.client.me()
    result = await alice.client.update_me(avatar_source=value)
    assert result["errors"] == {
        "avatar_source": "avatar_source must be a linked platform or one of: "
        "discord_0, discord_1, discord_2, discord_3, discord_4, discord_5"
    }
    assert result["user"] == before


@pytest.mark.parametrize("value", [5, None, True, {"a": 1}])
async def test_avatar_source_must_be_a_string(portal: Portal, value: object) -> None:
    alice = await portal.login()
    before = await alice.client.me()
    result = await alice.client.update_me(avatar_source=value)
    assert result["errors"] == {"avatar_source": "avatar_source must be a string"}
    assert result["user"] == before


async def test_linked_platform_is_a_valid_avatar_source(portal: Portal) -> None:
    alice = await portal.login()
    result = await alice.client.update_me(avatar_source="discord")
    assert result["errors"] is None
    assert result["user"]["avatar_source"] == "discord"


async def test_update_applies_good_field_and_reports_bad_one(portal: Portal) -> None:
    """02 §4.2: fields are processed independently; partial success is allowed."""
    alice = await portal.login()
    new_name = unique_name("part")
    result = await alice.client.update_me(username=new_name, avatar_source="discord_6")
    assert result["user"]["username"] == new_name
    assert result["user"]["avatar_source"] is None
    assert set(result["errors"]) == {"avatar_source"}

    result = await alice.client.update_me(username="x", avatar_source="discord_2")
    assert result["errors"] == {"username": "username must be at least 3 characters"}
    assert result["user"]["username"] == new_name
    assert result["user"]["avatar_source"] == "discord_2"
    me = await alice.client.me()
    assert (me["username"], me["avatar_source"]) == (new_name, "discord_2")


async def test_update_with_both_fields_bad_reports_both(portal: Portal) -> None:
    alice = await portal.login()
    before = await alice.client.me()
    result = await alice.client.update_me(username="!!!", avatar_source="discord_9")
    assert set(result["errors"]) == {"username", "avatar_source"}
    assert result["errors"]["username"] == "username contains invalid characters"
    assert result["user"] == before


async def test_update_with_both_fields_good(portal: Portal) -> None:
    alice = await portal.login()
    new_name = unique_name("both")
    result = await alice.client.update_me(username=new_name, avatar_source="discord_0")
    assert result == {"user": result["user"], "errors": None}
    assert result["user"]["username"] == new_name
    assert result["user"]["avatar_url"] == DEFAULT_AVATAR.format(0)


async def test_empty_update_changes_nothing(portal: Portal) -> None:
    alice = await portal.login()
    before = await alice.client.me()
    result = await alice.client.update_me()
    assert result == {"user": before, "errors": None}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"username": "okname", "bio": "x"}, "bio is not allowed"),
        ({"avatar_url": "https://x"}, "avatar_url is not allowed"),
        ({"permission_level": 3}, "permission_level is not allowed"),
    ],
)
async def test_unknown_update_field_is_refused(portal: Portal, body: dict, message: str) -> None:
    alice = await portal.login()
    before = await alice.client.me()
    await expect_error(alice.client.call("POST", "/v1/users/me/update", json=body), 400, message)
    assert await alice.client.me() == before


@pytest.mark.parametrize("content", [b"[1, 2]", b'"username"', b"42", b"null", b"{broken", b"{'a': 1}"])
async def test_update_body_must_be_a_json_object(portal: Portal, content: bytes) -> None:
    alice = await portal.login()
    before = await alice.client.me()
    response = await alice.client.raw(
        "POST",
        "/v1/users/me/update",
        content=content,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "Invalid request"
    assert await alice.client.me() == before


async def test_update_without_session_is_401_before_body_checks(portal: Portal) -> None:
    """08 §4: 401 comes before schema validation."""
    client = portal.client()
    await expect_error(
        client.call("POST", "/v1/users/me/update", json={"nope": 1}), 401, "Authentication required"
    )


# ---- GET /v1/users/me/punishments ------------------------------------------------------------------


async def test_punishments_empty_for_a_new_user(portal: Portal) -> None:
    alice = await portal.login()
    assert await alice.client.punishments() == []


async def test_punishments_shape_and_newest_first(portal: Portal) -> None:
    alice = await portal.login()
    moderator = await portal.create_user("moderator")
    clock = portal.server.clock
    now = clock.now()
    warn = await add_moderation_action(
        portal,
        alice.id,
        action_type="PLATFORM_WARNING",
        reason="Spamming",
        issued_by_id=moderator["id"],
        created_at=now - timedelta(hours=3),
    )
    mute = await add_moderation_action(
        portal,
        alice.id,
        action_type="CHAT_MUTE",
        reason=None,
        chat_id=77,
        expires_at=now - timedelta(hours=1),
        created_at=now - timedelta(hours=2),
    )
    timeout = await add_moderation_action(
        portal,
        alice.id,
        action_type="PLATFORM_TIMEOUT",
        reason="Flooding",
        issued_by_id=moderator["id"],
        is_lifted=True,
        lifted_at=now - timedelta(minutes=10),
        expires_at=now + timedelta(days=1),
        created_at=now - timedelta(hours=1),
    )
    other = await portal.create_user()
    await add_moderation_action(portal, other["id"], action_type="PLATFORM_BAN")

    rows = await alice.client.punishments()
    assert [r["id"] for r in rows] == [timeout, mute, warn]
    for row in rows:
        assert set(row) == MODERATION_FIELDS
    by_id = {r["id"]: r for r in rows}

    assert by_id[warn]["action_type"] == "PLATFORM_WARNING"
    assert by_id[warn]["reason"] == "Spamming"
    assert by_id[warn]["is_lifted"] is False
    assert by_id[warn]["expires_at"] is None
    assert by_id[warn]["lifted_at"] is None
    assert by_id[warn]["chat_id"] is None
    assert by_id[warn]["issued_by_id"] == moderator["id"]
    assert ts(by_id[warn]["created_at"]) == now - timedelta(hours=3)

    # 08 §38: an expired action keeps is_lifted false with expires_at in the past.
    assert by_id[mute]["action_type"] == "CHAT_MUTE"
    assert by_id[mute]["reason"] is None
    assert by_id[mute]["chat_id"] == 77
    assert by_id[mute]["issued_by_id"] is None
    assert by_id[mute]["is_lifted"] is False
    assert ts(by_id[mute]["expires_at"]) == now - timedelta(hours=1)

    assert by_id[timeout]["is_lifted"] is True
    assert ts(by_id[timeout]["lifted_at"]) == now - timedelta(minutes=10)
    assert ts(by_id[timeout]["expires_at"]) == now + timedelta(days=1)


async def test_punishments_paging(portal: Portal) -> None:
    alice = await portal.login()
    ids = [await add_moderation_action(portal, alice.id, reason=f"r{i}") for i in range(5)]
    newest_first = list(reversed(ids))
    assert [r["id"] for r in await alice.client.punishments()] == newest_first
    assert [r["id"] for r in await alice.client.punishments(limit=2)] == newest_first[:2]
    assert [r["id"] for r in await alice.client.punishments(offset=2, limit=2)] == newest_first[2:4]
    assert [r["id"] for r in await alice.client.punishments(offset=4, limit=100)] == newest_first[4:]
    assert await alice.client.punishments(offset=5) == []
    assert [r["id"] for r in await alice.client.punishments(limit=1)] == newest_first[:1]


async def test_punishments_default_limit_is_50(portal: Portal) -> None:
    alice = await portal.login()
    for i in range(51):
        await add_moderation_action(portal, alice.id, reason=f"r{i}")
    rows = await alice.client.call("GET", "/v1/users/me/punishments")
    assert len(rows) == 50
    assert len(await alice.client.punishments(limit=100)) == 51


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": 0}, "limit must be between 1 and 100"),
        ({"limit": 101}, "limit must be between 1 and 100"),
        ({"limit": -1}, "limit must be between 1 and 100"),
        ({"limit": "ten"}, "limit must be an integer"),
        ({"offset": -1}, "offset must be between 0 and 1000000000"),
        ({"offset": "x"}, "offset must be an integer"),
    ],
)
async def test_punishments_paging_errors(portal: Portal, params: dict, message: str) -> None:
    alice = await portal.login()
    await expect_error(alice.client.call("GET", "/v1/users/me/punishments", params=params), 400, message)


# ---- GET /v1/users/me/chats ------------------------------------------------------------------------


async def test_my_chats_is_an_empty_list_without_chats(portal: Portal) -> None:
    alice = await portal.login(tier=2)
    assert await alice.client.my_chats() == []


# ---- rate limits -----------------------------------------------------------------------------------


async def test_auth_tier_allows_120_requests_a_minute(portal: Portal) -> None:
    """00 §3.4, 08 §61: AUTH 120/min per client IP over all cookie endpoints, fixed clock-minute windows."""
    alice = await portal.login()
    portal.server.clock.advance_to_next(60, 0.01)
    paths = [*ME_PATHS, "/v1/users/search?q=abc"]
    for n in range(120):
        response = await alice.client.raw("GET", paths[n % len(paths)])
        assert response.status_code == 200, (n, response.text)
        assert response.headers["X-RateLimit-Limit"] == "120"
        assert response.headers["X-RateLimit-Remaining"] == str(119 - n)

    refused = await expect_error(alice.client.me(), 429, "Too many requests")
    assert refused.headers["X-RateLimit-Limit"] == "120"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    reset = int(refused.headers["X-RateLimit-Reset"])
    assert 1 <= reset <= 60
    assert int(refused.headers["Retry-After"]) == reset
    await expect_error(alice.client.update_me(username=unique_name("rl")), 429, "Too many requests")

    # Another client IP has its own counter; the next minute starts a fresh window.
    other = await login_as(portal, alice.user)
    assert (await other.client.me())["id"] == alice.id
    portal.server.clock.advance_to_next(60, 0.01)
    assert (await alice.client.me())["id"] == alice.id


# ---- cross-cutting request checks ------------------------------------------------------------------


async def test_update_from_a_foreign_origin_is_refused(portal: Portal) -> None:
    """00 §3.3: cookie-authenticated unsafe requests with a foreign Origin get 403."""
    alice = await portal.login()
    before = await alice.client.me()
    await expect_error(
        alice.client.call(
            "POST",
            "/v1/users/me/update",
            json={"username": unique_name("evil")},
            headers={"Origin": "https://evil.example"},
        ),
        403,
        "Origin not allowed",
    )
    assert await alice.client.me() == before
    allowed = await alice.client.call(
        "POST",
        "/v1/users/me/update",
        json={"avatar_source": "discord_1"},
        headers={"Origin": "http://127.0.0.1:8080"},
    )
    assert allowed["errors"] is None
    # Reads are not unsafe: a foreign Origin does not matter there.
    me = await alice.client.call("GET", "/v1/users/me", headers={"Origin": "https://evil.example"})
    assert me["id"] == alice.id


async def test_oversized_update_body_is_413(portal: Portal) -> None:
    """08 §7: a body over 1 MiB gets 413 in the error envelope."""
    alice = await portal.login()
    before = await alice.client.me()
    await expect_error(
        alice.client.call("POST", "/v1/users/me/update", json={"username": "a" * (1024 * 1024 + 10)}),
        413,
        "Request body too large",
    )
    assert await alice.client.me() == before
