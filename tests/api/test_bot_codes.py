"""`/v1/authentication/bot/send-code|login-code` and the bot key.

Spec: 00 §3.3, §3.4; 01 §4.5–4.6; 08 §51, §56, §61.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from portal.client import BotClient
from portal.schemas.bots import AdminBotUpdateIn
from tests.admin.support import audit_rows
from tests.api.auth_support import (
    AUTH,
    CODE_RE,
    LOGIN_CODE_TTL,
    NO_CODE,
    assert_around,
    set_bot_active,
    set_link_avatar,
    user_row,
    web_code,
)
from tests.helpers import Portal, expect_error, identity_of, link_platform, set_user_state, unique_platform_id
from tests.helpers import parse_time as when

ENDPOINTS = ["send-code", "login-code"]
WEB_REQUIRED_EVERY = 5  # PORTAL_BOT_LOGIN_WEB_REQUIRED_EVERY default (08 §12)


def body(
    platform: str, platform_user_id: str, overrides: dict[str, object] | None = None
) -> dict[str, object]:
    return {
        "platform": platform,
        "platform_user_id": platform_user_id,
        "platform_username": "tester",
        "platform_avatar_url": None,
        **(overrides or {}),
    }


async def bot_login(portal: Portal, bot: BotClient, platform: str, platform_user_id: str) -> dict:
    """One quick login: the bot asks for a code, the user verifies it (from any IP)."""
    sent = await bot.send_code(platform, platform_user_id, "tester")
    return dict(await portal.client().verify(sent["code"]))


# ---- the bot key ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("key", ["missing", "public", "unknown", "not_a_bot_key", "inactive"])
async def test_bot_endpoints_need_an_active_bot_key(portal: Portal, endpoint: str, key: str) -> None:
    user = await portal.create_user()
    bot, info = await portal.register_bot()
    headers: dict[str, str] = {}
    if key == "public":
        headers["X-API-Key"] = portal.server.public_key
    elif key == "unknown":
        headers["X-API-Key"] = "hbot_" + "A" * 32
    elif key == "not_a_bot_key":
        headers["X-API-Key"] = "A" * 37
    elif key == "inactive":
        await set_bot_active(portal, info["id"], False)
        headers["X-API-Key"] = bot.http.headers["X-API-Key"]
    client = portal.client(api_key=None)
    await expect_error(
        client.call("POST", f"{AUTH}/bot/{endpoint}", json=body(*identity_of(user)), headers=headers),
        401,
        "Invalid API key",
    )


async def test_a_reactivated_bot_works_again(portal: Portal) -> None:
    user = await portal.create_user()
    bot, info = await portal.register_bot()
    await set_bot_active(portal, info["id"], False)
    await expect_error(bot.send_code(*identity_of(user), "tester"), 401, "Invalid API key")
    await set_bot_active(portal, info["id"], True)
    assert CODE_RE.match((await bot.send_code(*identity_of(user), "tester"))["code"])


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_bad_key_is_reported_before_a_bad_body(portal: Portal, endpoint: str) -> None:
    """08 §4: 401 before 400, broken JSON included."""
    client = portal.client(api_key=None)
    path = f"{AUTH}/bot/{endpoint}"
    for headers in ({}, {"X-API-Key": "hbot_" + "B" * 32}, {"X-API-Key": portal.server.public_key}):
        await expect_error(
            client.call("POST", path, json={"platform": "X"}, headers=headers), 401, "Invalid API key"
        )
        response = await client.raw(
            "POST", path, content=b"{oops", headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "Invalid API key"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_a_bot_acts_only_for_its_own_platform(portal: Portal, endpoint: str) -> None:
    """08 §51: a telegram bot may not ask for discord identities (known or not)."""
    user = await portal.create_user()
    telegram_bot, _ = await portal.register_bot(platform="telegram")
    path = f"{AUTH}/bot/{endpoint}"
    await expect_error(telegram_bot.call("POST", path, json=body(*identity_of(user))), 403, "Access denied")
    await expect_error(
        telegram_bot.call("POST", path, json=body("discord", unique_platform_id())), 403, "Access denied"
    )
    # Nothing was issued for the identity.
    discord_bot = await portal.default_bot()
    assert await discord_bot.login_code(*identity_of(user), "tester") == NO_CODE


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"platform": None}, "platform must be a string"),
        ({"platform": "Discord"}, "platform contains invalid characters"),
        ({"platform": "d"}, "platform must be at least 2 characters"),
        ({"platform_user_id": 5}, "platform_user_id must be a string"),
        ({"platform_username": ""}, "platform_username must be at least 1 character"),
        ({"platform_username": "n" * 101}, "platform_username must be at most 100 characters"),
        ({"platform_username": 3}, "platform_username must be a string"),
        ({"platform_avatar_url": 3}, "platform_avatar_url must be a string"),
        ({"platform_avatar_url": "h" * 2049}, "platform_avatar_url must be an https URL"),
        ({"guild_id": "1"}, "guild_id is not allowed"),
    ],
)
async def test_bot_bodies_are_validated(
    portal: Portal, endpoint: str, overrides: dict[str, object], error: str
) -> None:
    bot = await portal.default_bot()
    payload = body("discord", unique_platform_id(), overrides)
    await expect_error(bot.call("POST", f"{AUTH}/bot/{endpoint}", json=payload), 400, error)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"platform_avatar_url": "javascript:alert(1)"}, "platform_avatar_url must be an https URL"),
        (
            {"platform_avatar_url": "JavaScript:alert(1)//https://x"},
            "platform_avatar_url must be an https URL",
        ),
        ({"platform_avatar_url": "http://cdn.example/a.png"}, "platform_avatar_url must be an https URL"),
        ({"platform_avatar_url": "data:image/png;base64,AAAA"}, "platform_avatar_url must be an https URL"),
        ({"platform_avatar_url": ""}, "platform_avatar_url must be an https URL"),
        ({"platform_avatar_url": "https://"}, "platform_avatar_url must be an https URL"),
        ({"platform_avatar_url": "https://cdn.example/a b.png"}, "platform_avatar_url must be an https URL"),
        (
            {"platform_avatar_url": "https://x.example/" + "a" * 495},
            "platform_avatar_url must be an https URL",
        ),
        ({"platform_username": "nul\x00name"}, "platform_username contains invalid characters"),
        ({"platform_username": "two\nlines"}, "platform_username contains invalid characters"),
        ({"platform_username": "tab\tbed"}, "platform_username contains invalid characters"),
        ({"platform_username": "evil\u202egnp.exe"}, "platform_username contains invalid characters"),
        ({"platform_username": "iso\u2066late"}, "platform_username contains invalid characters"),
        ({"platform_username": "zero\u200bwidth"}, "platform_username contains invalid characters"),
        ({"platform_username": "line\u2028sep"}, "platform_username contains invalid characters"),
    ],
)
async def test_bot_reported_profile_data_is_checked(
    portal: Portal, endpoint: str, overrides: dict[str, object], error: str
) -> None:
    """08 §66: only https avatars of at most 512 characters; no control, format or bidi characters."""
    bot = await portal.default_bot()
    payload = body("discord", unique_platform_id(), overrides)
    await expect_error(bot.call("POST", f"{AUTH}/bot/{endpoint}", json=payload), 400, error)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_bot_reported_profile_data_that_is_fine(portal: Portal, endpoint: str) -> None:
    """Names in any script, emoji and spaces pass; an https URL of exactly 512 characters passes."""
    bot = await portal.default_bot()
    url = "https://x.example/" + "a" * 494
    assert len(url) == 512
    payload = body(
        "discord", unique_platform_id(), {"platform_username": "Nïels 名前 🚀", "platform_avatar_url": url}
    )
    response = await bot.raw("POST", f"{AUTH}/bot/{endpoint}", json=payload)
    assert response.status_code in (200, 404), response.text


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "missing", ["platform", "platform_user_id", "platform_username", "platform_avatar_url"]
)
async def test_all_four_bot_fields_are_required(portal: Portal, endpoint: str, missing: str) -> None:
    bot = await portal.default_bot()
    payload = body("discord", unique_platform_id())
    del payload[missing]
    await expect_error(
        bot.call("POST", f"{AUTH}/bot/{endpoint}", json=payload), 400, f"{missing} is required"
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_bot_broken_json_and_empty_body(portal: Portal, endpoint: str) -> None:
    bot = await portal.default_bot()
    path = f"{AUTH}/bot/{endpoint}"
    broken = await bot.raw("POST", path, content=b"{oops", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json()["error"] == "Invalid request"
    await expect_error(bot.call("POST", path), 400, "platform is required")
    await expect_error(bot.call("POST", path, json=[1]), 400, "Invalid request")


# ---- send-code ------------------------------------------------------------------------------------------


async def test_send_code_answers_a_code_that_verifies_from_anywhere(portal: Portal) -> None:
    user = await portal.create_user()
    bot = await portal.default_bot()
    before = portal.server.clock.now()
    sent = await bot.send_code(*identity_of(user), "tester")
    after = portal.server.clock.now()
    assert set(sent) == {"code", "expires_at"}
    assert CODE_RE.match(sent["code"])
    assert_around(sent["expires_at"], before, after, LOGIN_CODE_TTL)
    # Bot codes have no IP binding (00 §3.3).
    verified = await portal.client().verify(sent["code"])
    assert verified["id"] == user["id"]
    assert verified["user_created"] is False
    await expect_error(portal.client().verify(sent["code"]), 401, "Invalid or expired code")


async def test_send_code_for_an_unknown_identity_is_404(portal: Portal) -> None:
    bot = await portal.default_bot()
    await expect_error(bot.send_code("discord", unique_platform_id(), "newbie"), 404, "User not found")


async def test_send_code_repeats_the_live_code(portal: Portal) -> None:
    """01 §4.5: the same code while it lives, a new one after it expired or was used."""
    user = await portal.create_user()
    bot = await portal.default_bot()
    first = await bot.send_code(*identity_of(user), "tester")
    portal.server.clock.advance(LOGIN_CODE_TTL - 5)
    again = await bot.send_code(*identity_of(user), "tester")
    assert again == first
    portal.server.clock.advance(6)
    fresh = await bot.send_code(*identity_of(user), "tester")
    assert fresh["code"] != first["code"]
    assert when(fresh["expires_at"]) > when(first["expires_at"])
    await expect_error(portal.client().verify(first["code"]), 401, "Invalid or expired code")
    await portal.client().verify(fresh["code"])
    after_use = await bot.send_code(*identity_of(user), "tester")
    assert after_use["code"] != fresh["code"]


async def test_concurrent_send_codes_share_one_code(portal: Portal) -> None:
    user = await portal.create_user()
    bot = await portal.default_bot()
    answers = await asyncio.gather(*(bot.send_code(*identity_of(user), "tester") for _ in range(4)))
    assert len({a["code"] for a in answers}) == 1


async def test_send_code_and_a_web_code_are_separate(portal: Portal) -> None:
    """A pending bot code is not a web code: login-code does not hand it out, and both verify."""
    user = await portal.create_user()
    bot = await portal.default_bot()
    sent = await bot.send_code(*identity_of(user), "tester")
    assert await bot.login_code(*identity_of(user), "tester") == NO_CODE
    client = portal.client()
    web = await web_code(portal, client, *identity_of(user))
    assert web != sent["code"]
    assert (await bot.send_code(*identity_of(user), "tester"))["code"] == sent["code"]
    assert (await client.verify(web))["id"] == user["id"]
    assert (await portal.client().verify(sent["code"]))["id"] == user["id"]


@pytest.mark.parametrize(("state", "hours"), [(1, 1), (2, None)])
async def test_send_code_refuses_restricted_accounts(portal: Portal, state: int, hours: int | None) -> None:
    """08 §51."""
    user = await portal.create_user()
    expires = portal.server.clock.now() + timedelta(hours=hours) if hours else None
    await set_user_state(portal, user["id"], state, expires)
    bot = await portal.default_bot()
    await expect_error(bot.send_code(*identity_of(user), "tester"), 403, "Account restricted")
    if hours:
        portal.server.clock.advance(hours * 3600 + 1)
        assert CODE_RE.match((await bot.send_code(*identity_of(user), "tester"))["code"])


async def test_a_live_bot_code_of_a_user_banned_later_does_not_verify(portal: Portal) -> None:
    user = await portal.create_user()
    bot = await portal.default_bot()
    sent = await bot.send_code(*identity_of(user), "tester")
    await set_user_state(portal, user["id"], 2, None)
    await expect_error(portal.client().verify(sent["code"]), 403, "Account restricted")


async def test_a_stored_avatar_that_is_not_https_is_never_served(portal: Portal) -> None:
    """08 §66: a `javascript:` URL stored before the rule existed is shown as null everywhere."""
    user = await portal.create_user()
    await set_link_avatar(portal, user["id"], "discord", "javascript:alert(document.cookie)")
    assert (await portal.client().lookup(user["username"]))["avatar_url"] is None
    viewer = await portal.login()
    profile = await viewer.client.call("GET", f"/v1/users/profile/{user['username']}")
    assert profile["avatar_url"] is None
    own = portal.client()
    await portal.web_login(own, *identity_of(user))
    mine = await own.me()
    assert mine["avatar_url"] is None
    assert [link["platform_avatar_url"] for link in mine["linked_platforms"]] == [None]


async def test_send_code_refreshes_the_linked_platform(portal: Portal) -> None:
    """01 §4.5: the bot reports the user's current platform name and avatar."""
    user = await portal.create_user()
    bot = await portal.default_bot()
    avatar = "https://cdn.example/fresh.png"
    sent = await bot.send_code(*identity_of(user), "Renamed", avatar)
    found = await portal.client().lookup(user["username"])
    assert found["avatar_url"] == avatar
    verified = await portal.client().verify(sent["code"])
    [link] = verified["linked_platforms"]
    assert link["platform_username"] == "Renamed"
    assert link["platform_avatar_url"] == avatar
    assert verified["avatar_url"] == avatar
    # A later report replaces it again (null clears the avatar).
    await bot.send_code(*identity_of(user), "Renamed Again", None)
    assert (await portal.client().lookup(user["username"]))["avatar_url"] is None


async def test_login_code_refreshes_the_linked_platform(portal: Portal) -> None:
    user = await portal.create_user()
    bot = await portal.default_bot()
    await bot.login_code(*identity_of(user), "Fresh", "https://cdn.example/l.png")
    assert (await portal.client().lookup(user["username"]))["avatar_url"] == "https://cdn.example/l.png"


# ---- staff sign-ins (08 §65) ------------------------------------------------------------------------------

BOT_TYPES = {"official": 1, "verified": 2, "community": 3}


async def bot_of_type(portal: Portal, bot_type: str) -> tuple[BotClient, int]:
    bot, info = await portal.register_bot()
    if bot_type != "community":
        await portal.container.bot_admin.update(info["id"], AdminBotUpdateIn(bot_type=bot_type), actor=None)
    return bot, info["id"]


@pytest.mark.parametrize("bot_type", list(BOT_TYPES))
@pytest.mark.parametrize("level", ["user", "moderator", "admin", "owner"])
async def test_send_code_for_staff_needs_an_official_bot(portal: Portal, level: str, bot_type: str) -> None:
    user = await portal.create_user(level)
    bot, bot_id = await bot_of_type(portal, bot_type)
    if level != "user" and bot_type != "official":
        await expect_error(bot.send_code(*identity_of(user), "tester"), 403, "Web login required")
        assert await audit_rows(portal, "USER_BOT_LOGIN", user["id"]) == []
        # The web flow (login-code) still works for them.
        client = portal.client()
        assert (await client.verify(await web_code(portal, client, *identity_of(user), bot=bot)))["id"]
        assert await audit_rows(portal, "USER_BOT_LOGIN", user["id"]) == []
        return
    sent = await bot.send_code(*identity_of(user), "tester")
    client = portal.client()
    assert (await client.verify(sent["code"]))["id"] == user["id"]
    rows = await audit_rows(portal, "USER_BOT_LOGIN", user["id"])
    if level == "user":
        assert rows == []
        return
    [row] = rows
    assert (row.actor_id, row.entity_type, row.entity_id) == (None, "user", user["id"])
    assert row.event_metadata == {"bot_id": bot_id, "ip": client.http.headers["X-Forwarded-For"]}


async def test_a_web_login_of_staff_writes_no_bot_login_event(portal: Portal) -> None:
    staff = await portal.login("moderator")
    assert await audit_rows(portal, "USER_BOT_LOGIN", staff.user["id"]) == []


async def test_a_bot_code_verified_after_a_promotion_is_audited(portal: Portal) -> None:
    """A code issued to a User who is a Moderator by the time it verifies is a staff sign-in."""
    user = await portal.create_user()
    bot, bot_id = await bot_of_type(portal, "community")
    sent = await bot.send_code(*identity_of(user), "tester")
    await portal.container.admin_users.set_permission(user["id"], 1, actor=None)
    client = portal.client()
    await client.verify(sent["code"])
    [row] = await audit_rows(portal, "USER_BOT_LOGIN", user["id"])
    assert row.event_metadata == {"bot_id": bot_id, "ip": client.http.headers["X-Forwarded-For"]}


# ---- the bot-login counter (00 §3.3, 08 §56) -----------------------------------------------------------


async def test_web_login_required_after_five_bot_logins(portal: Portal) -> None:
    user = await portal.create_user()
    bot = await portal.default_bot()
    for _ in range(WEB_REQUIRED_EVERY):
        await bot_login(portal, bot, *identity_of(user))
    await expect_error(bot.send_code(*identity_of(user), "tester"), 403, "Web login required")
    # login-code (the web flow) is not blocked, and one web login resets the counter.
    client = portal.client()
    await client.verify(await web_code(portal, client, *identity_of(user)))
    assert (await user_row(portal, user["id"])).bot_login_streak == 0
    for _ in range(WEB_REQUIRED_EVERY):
        await bot_login(portal, bot, *identity_of(user))
    await expect_error(bot.send_code(*identity_of(user), "tester"), 403, "Web login required")


async def test_only_verified_bot_codes_count(portal: Portal) -> None:
    """08 §56: issuing codes does not count; the fifth login is still allowed."""
    user = await portal.create_user()
    bot = await portal.default_bot()
    for _ in range(WEB_REQUIRED_EVERY - 1):
        await bot_login(portal, bot, *identity_of(user))
    for _ in range(3):  # unused codes, expired or repeated
        await bot.send_code(*identity_of(user), "tester")
        portal.server.clock.advance(LOGIN_CODE_TTL + 1)
    fifth = await bot.send_code(*identity_of(user), "tester")
    assert (await portal.client().verify(fifth["code"]))["id"] == user["id"]
    await expect_error(bot.send_code(*identity_of(user), "tester"), 403, "Web login required")


async def test_a_web_login_between_bot_logins_resets_the_count(portal: Portal) -> None:
    user = await portal.create_user()
    bot = await portal.default_bot()
    for _ in range(WEB_REQUIRED_EVERY - 1):
        await bot_login(portal, bot, *identity_of(user))
    client = portal.client()
    await client.verify(await web_code(portal, client, *identity_of(user)))
    for _ in range(WEB_REQUIRED_EVERY - 1):
        await bot_login(portal, bot, *identity_of(user))
    assert CODE_RE.match((await bot.send_code(*identity_of(user), "tester"))["code"])


async def test_a_code_issued_before_the_fifth_login_still_verifies(portal: Portal) -> None:
    """08 §56: the counter is checked when a code is issued, not when it is verified."""
    user = await portal.create_user()
    telegram_id = unique_platform_id()
    await link_platform(
        portal, user["id"], "telegram", platform_user_id=telegram_id, platform_username="second"
    )
    discord_bot = await portal.default_bot()
    telegram_bot, _ = await portal.register_bot(platform="telegram")
    for _ in range(WEB_REQUIRED_EVERY - 1):
        await bot_login(portal, discord_bot, *identity_of(user))
    on_discord = await discord_bot.send_code(*identity_of(user), "tester")
    on_telegram = await telegram_bot.send_code("telegram", telegram_id, "tester")
    await portal.client().verify(on_discord["code"])  # the fifth
    await expect_error(discord_bot.send_code(*identity_of(user), "tester"), 403, "Web login required")
    await expect_error(telegram_bot.send_code("telegram", telegram_id, "tester"), 403, "Web login required")
    assert (await portal.client().verify(on_telegram["code"]))["id"] == user["id"]


# ---- login-code -----------------------------------------------------------------------------------------


async def test_login_code_hands_out_the_pending_web_code(portal: Portal) -> None:
    identity = unique_platform_id()
    bot = await portal.default_bot()
    assert await bot.login_code("discord", identity, "tester") == NO_CODE
    client = portal.client()
    requested = await client.request_code("discord", identity)
    got = await bot.login_code("discord", identity, "tester")
    assert CODE_RE.match(got["code"])
    assert when(got["expires_at"]) == when(requested["expires_at"])
    # Asking twice gives the same pending code.
    assert await bot.login_code("discord", identity, "tester") == got
    # A newer request replaces it.
    await client.request_code("discord", identity)
    replaced = await bot.login_code("discord", identity, "tester")
    assert replaced["code"] != got["code"]
    await client.verify(replaced["code"])
    assert await bot.login_code("discord", identity, "tester") == NO_CODE


async def test_login_code_is_null_after_expiry(portal: Portal) -> None:
    identity = unique_platform_id()
    bot = await portal.default_bot()
    await portal.client().request_code("discord", identity)
    assert (await bot.login_code("discord", identity, "tester"))["code"]
    portal.server.clock.advance(LOGIN_CODE_TTL + 1)
    assert await bot.login_code("discord", identity, "tester") == NO_CODE


async def test_login_code_gives_the_newest_code_and_every_pending_one_across_ips(portal: Portal) -> None:
    """08 §64: `code` is the newest; `pending` lists every live web code of the identity, newest first."""
    identity = unique_platform_id()
    bot = await portal.default_bot()
    first, second = portal.client(), portal.client()
    asked_first = await first.request_code("discord", identity)
    portal.server.clock.advance(1)
    asked_second = await second.request_code("discord", identity)
    got = await bot.login_code("discord", identity, "tester")
    assert set(got) == {"code", "expires_at", "pending"}
    newest, oldest = got["pending"]
    assert set(newest) == {"code", "requested_at", "expires_at"}
    assert got["code"] == newest["code"] and got["expires_at"] == newest["expires_at"]
    assert when(newest["expires_at"]) == when(asked_second["expires_at"])
    assert when(oldest["expires_at"]) == when(asked_first["expires_at"])
    for code in (newest, oldest):
        assert when(code["expires_at"]) - when(code["requested_at"]) == timedelta(seconds=LOGIN_CODE_TTL)
    # Each code verifies only from the IP that asked for it.
    await expect_error(first.verify(newest["code"]), 401, "Invalid or expired code")
    assert (await first.verify(oldest["code"]))["user_created"] is True
    after = await bot.login_code("discord", identity, "tester")
    assert [p["code"] for p in after["pending"]] == [newest["code"]]
    assert (await second.verify(newest["code"]))["user_created"] is False


async def test_login_code_lists_at_most_five_pending_codes(portal: Portal) -> None:
    identity = unique_platform_id()
    bot = await portal.default_bot()
    codes = []
    for _ in range(7):
        await portal.client().request_code("discord", identity)
        codes.append((await bot.login_code("discord", identity, "tester"))["code"])
        portal.server.clock.advance(1)
    got = await bot.login_code("discord", identity, "tester")
    assert [p["code"] for p in got["pending"]] == codes[::-1][:5]
    # A second request from the same IP replaces that IP's code.
    client = portal.client()
    await client.request_code("discord", identity)
    replaced = (await bot.login_code("discord", identity, "tester"))["code"]
    portal.server.clock.advance(1)
    await client.request_code("discord", identity)
    got = await bot.login_code("discord", identity, "tester")
    assert replaced not in [p["code"] for p in got["pending"]]
    await expect_error(client.verify(replaced), 401, "Invalid or expired code")


# ---- quotas (00 §3.3, §3.4; 08 §61) --------------------------------------------------------------------


async def test_bot_hourly_quota(portal: Portal) -> None:
    user = await portal.create_user()
    bot, _ = await portal.register_bot(rate_limit_per_hour=3)
    other, _ = await portal.register_bot()
    portal.server.clock.advance_to_next(3600)
    for _ in range(3):
        await bot.send_code(*identity_of(user), "tester")
    error = await expect_error(bot.send_code(*identity_of(user), "tester"), 429, "Too many requests")
    retry_after = int(error.headers["retry-after"])
    assert 3590 <= retry_after <= 3600
    # Failed requests of a spent bot are refused too; other bots are not affected.
    await expect_error(bot.login_code(*identity_of(user), "tester"), 429, "Too many requests")
    await other.send_code(*identity_of(user), "tester")
    # Still the same hour a little later.
    portal.server.clock.advance(1800)
    await expect_error(bot.send_code(*identity_of(user), "tester"), 429, "Too many requests")
    portal.server.clock.advance_to_next(3600)
    assert CODE_RE.match((await bot.send_code(*identity_of(user), "tester"))["code"])


async def test_bot_hourly_quota_429_describes_the_quota(portal: Portal) -> None:
    """08 §61: the headers go on every response the limits apply to; a 429 must not say 'remaining'."""
    user = await portal.create_user()
    bot, _ = await portal.register_bot(rate_limit_per_hour=1)
    portal.server.clock.advance_to_next(3600)
    await bot.send_code(*identity_of(user), "tester")
    error = await expect_error(bot.send_code(*identity_of(user), "tester"), 429, "Too many requests")
    assert error.headers["x-ratelimit-remaining"] == "0"
    assert error.headers["x-ratelimit-limit"] == "1"
    assert error.headers["x-ratelimit-reset"] == error.headers["retry-after"]


async def test_bot_requests_carry_the_bot_tier_headers(portal: Portal) -> None:
    bot = await portal.default_bot()
    response = await bot.raw("POST", f"{AUTH}/bot/login-code", json=body("discord", unique_platform_id()))
    assert response.status_code == 200
    assert response.headers["x-ratelimit-limit"] == "600"
    assert int(response.headers["x-ratelimit-remaining"]) < 600
