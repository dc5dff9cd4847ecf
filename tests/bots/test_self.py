"""The bot's own API with its key: `/v1/bot/me`, `/me/update`, `/batch`, `/users/{platform}/{id}`
(06 §5; 00 §3.3, §6; 08 §51, §61), and the hourly quota."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.bots.support import PRIVATE_KEYS, bot_row, command_stats, set_active
from tests.cli.test_admin_cli import PRIVATE_USER_KEYS
from tests.helpers import Portal, expect_error, identity_of, link_platform
from tests.helpers import parse_time as ts

ME = "/v1/bot/me"
UPDATE = "/v1/bot/me/update"
BATCH = "/v1/bot/batch"


# ---- GET /v1/bot/me ------------------------------------------------------------------------------------


async def test_me_is_the_private_object(portal: Portal) -> None:
    bot, registered = await portal.register_bot()
    me = await bot.call("GET", ME)
    assert set(me) == PRIVATE_KEYS and me == registered
    assert me["bot_type"] == 3 and me["is_active"] is True and me["groups"] == 0


async def test_bot_endpoints_refuse_other_keys(portal: Portal) -> None:
    bot, registered = await portal.register_bot()
    for path, method in ((ME, "GET"), (UPDATE, "POST"), (BATCH, "POST"), ("/v1/bot/users/discord/1", "GET")):
        body: dict[str, Any] = {"json": {}} if method == "POST" else {}
        await expect_error(portal.client(api_key=None).call(method, path, **body), 401, "Invalid API key")
        await expect_error(portal.client().call(method, path, **body), 401, "Invalid API key")  # public key
        await expect_error(
            portal.bot_client("hbot_" + "x" * 32).call(method, path, **body), 401, "Invalid API key"
        )
    await set_active(portal, registered["id"], False)
    await expect_error(bot.call("GET", ME), 401, "Invalid API key")


async def test_quota_exhaustion_answers_429_with_retry_after(portal: Portal) -> None:
    bot, _ = await portal.register_bot(rate_limit_per_hour=2)
    portal.server.clock.advance_to_next(3600, into=600)
    await bot.call("GET", ME)
    await bot.call("POST", UPDATE, json={})
    error = await expect_error(
        bot.call("POST", BATCH, json={"commands": [{"command": "x"}]}), 429, "Too many requests"
    )
    assert int(error.headers["retry-after"]) == 3000
    assert error.headers["x-ratelimit-limit"] == "2" and error.headers["x-ratelimit-remaining"] == "0"
    await expect_error(bot.call("GET", ME), 429, "Too many requests")
    portal.server.clock.advance_to_next(3600)
    await bot.call("GET", ME)


# ---- POST /v1/bot/me/update ---------------------------------------------------------------------------


async def test_update_info_and_stats(portal: Portal) -> None:
    bot, registered = await portal.register_bot()
    portal.server.clock.advance(60)
    body = {
        "name": "Portal Bot v2",
        "avatar_url": "https://cdn.example.com/a.png",
        "group_ids": ["1229891286278865008", "987654321098765432", "987654321098765432"],
        "users": 5000,
        "latency_ms": 42.5,
    }
    done = await bot.call("POST", UPDATE, json=body)
    assert set(done) == {"message", "created_at", "updated_at"}
    assert done["message"] == "Bot updated successfully"
    assert done["created_at"] == registered["created_at"]
    assert ts(done["updated_at"]) > ts(registered["updated_at"])
    me = await bot.call("GET", ME)
    assert me["name"] == "Portal Bot v2" and me["avatar_url"] == body["avatar_url"]
    assert me["groups"] == 2 and me["users"] == 5000 and me["latency_ms"] == 42.5
    assert me["updated_at"] == done["updated_at"]
    assert ts(me["last_activity_at"]) == ts(done["updated_at"])
    row = await bot_row(portal, registered["id"])
    assert row is not None and sorted(row.group_ids) == ["1229891286278865008", "987654321098765432"]


async def test_info_and_stats_change_independently(portal: Portal) -> None:
    bot, _ = await portal.register_bot()
    await bot.call("POST", UPDATE, json={"group_ids": ["1", "2", "3"], "users": 10, "latency_ms": 5})
    await bot.call("POST", UPDATE, json={"name": "Renamed"})
    me = await bot.call("GET", ME)
    assert (me["name"], me["groups"], me["users"], me["latency_ms"]) == ("Renamed", 3, 10, 5.0)
    await bot.call("POST", UPDATE, json={"users": 11})
    me = await bot.call("GET", ME)
    assert (me["name"], me["groups"], me["users"], me["latency_ms"]) == ("Renamed", 3, 11, 5.0)
    await bot.call("POST", UPDATE, json={"group_ids": []})
    assert (await bot.call("GET", ME))["groups"] == 0
    await bot.call("POST", UPDATE, json={"avatar_url": "https://x.example/a.png"})
    await bot.call("POST", UPDATE, json={"avatar_url": None})
    assert (await bot.call("GET", ME))["avatar_url"] is None


async def test_every_call_refreshes_last_activity(portal: Portal) -> None:
    bot, registered = await portal.register_bot()
    portal.server.clock.advance(120)
    done = await bot.call("POST", UPDATE, json={})
    me = await bot.call("GET", ME)
    assert me["updated_at"] == registered["updated_at"] == done["updated_at"]  # nothing else changed
    assert abs(ts(me["last_activity_at"]) - portal.server.clock.now()) < timedelta(seconds=1)
    portal.server.clock.advance(120)
    await bot.call("POST", UPDATE, json={"users": 0})  # the same value: still a refresh
    assert ts((await bot.call("GET", ME))["last_activity_at"]) > ts(me["last_activity_at"])


async def test_latency_edges(portal: Portal) -> None:
    bot, _ = await portal.register_bot()
    for value in (0, 10000, 0.5):
        await bot.call("POST", UPDATE, json={"latency_ms": value})
        assert (await bot.call("GET", ME))["latency_ms"] == value


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"latency_ms": 10000.01}, "latency_ms must be between 0 and 10000"),
        ({"latency_ms": -1}, "latency_ms must be between 0 and 10000"),
        ({"latency_ms": "5"}, "latency_ms must be a number"),
        ({"latency_ms": None}, "latency_ms must be a number"),
        ({"name": "x"}, "name must be at least 2 characters"),
        ({"name": "x" * 33}, "name must be at most 32 characters"),
        ({"name": None}, "name must be a string"),
        ({"avatar_url": "http://insecure.example/a.png"}, "avatar_url must be an https URL"),
        ({"avatar_url": "javascript:alert(1)"}, "avatar_url must be an https URL"),
        ({"group_ids": "123"}, "group_ids must be a list"),
        ({"group_ids": [123]}, "group_ids must be a string"),
        ({"users": -1}, "users must be between 0 and 2000000000"),
        ({"users": 1.5}, "users must be an integer"),
        ({"guild_ids": ["1"]}, "guild_ids is not allowed"),
        ({"name": "ok name", "users": "many"}, "users must be an integer"),
    ],
)
async def test_update_bad_bodies_change_nothing(portal: Portal, body: dict[str, Any], error: str) -> None:
    bot, registered = await portal.register_bot()
    await expect_error(bot.call("POST", UPDATE, json=body), 400, error)
    assert await bot.call("GET", ME) == registered


async def test_update_broken_json(portal: Portal) -> None:
    bot, _ = await portal.register_bot()
    await expect_error(
        bot.call("POST", UPDATE, content=b"{nope", headers={"content-type": "application/json"}),
        400,
        "Invalid request",
    )
    await expect_error(bot.call("POST", UPDATE, json=[1]), 400, "Invalid request")


# ---- POST /v1/bot/batch -------------------------------------------------------------------------------


async def test_batch_sums_per_command_and_day(portal: Portal) -> None:
    bot, registered = await portal.register_bot()
    portal.server.clock.set(portal.server.clock.now().replace(hour=12))
    today = portal.server.clock.now().date().isoformat()
    records = [
        {"command": "help", "count": 1, "user_id": 42, "group_id": 10, "timestamp": "2026-03-19T10:30:00Z"},
        {"command": "help", "count": 2, "timestamp": "2026-03-19T23:59:59Z"},
        {"command": "help", "timestamp": "2026-03-20T00:00:00Z"},
        {"command": "stats", "count": 3, "group_id": "1229891286278865008", "user_id": "99"},
    ]
    done = await bot.call("POST", BATCH, json={"commands": records})
    assert done["message"] == "Batch update processed successfully"
    assert done["created_at"] == registered["created_at"] and done["updated_at"] == registered["updated_at"]
    await bot.call("POST", BATCH, json={"commands": [{"command": "stats"}]})
    assert await command_stats(portal, registered["id"]) == sorted(
        [("help", "2026-03-19", 3), ("help", "2026-03-20", 1), ("stats", today, 4)],
        key=lambda r: (r[1], r[0]),
    )
    me = await bot.call("GET", ME)
    assert abs(ts(me["last_activity_at"]) - portal.server.clock.now()) < timedelta(seconds=1)


async def test_batch_of_1000_records_is_the_most(portal: Portal) -> None:
    bot, registered = await portal.register_bot()
    await bot.call("POST", BATCH, json={"commands": [{"command": f"c{i % 7}"} for i in range(1000)]})
    assert sum(n for _, _, n in await command_stats(portal, registered["id"])) == 1000
    await expect_error(
        bot.call("POST", BATCH, json={"commands": [{"command": "x"}] * 1001}),
        400,
        "commands must contain 1 to 1000 items",
    )
    assert sum(n for _, _, n in await command_stats(portal, registered["id"])) == 1000


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "commands is required"),
        ({"commands": []}, "commands must contain 1 to 1000 items"),
        ({"commands": "help"}, "commands must be a list"),
        ({"commands": [{"count": 1}]}, "commands.command is required"),
        ({"commands": [{"command": ""}]}, "commands.command must be between 1 and 64 characters"),
        ({"commands": [{"command": "x" * 65}]}, "commands.command must be between 1 and 64 characters"),
        ({"commands": [{"command": "x", "count": 0}]}, "commands.count must be between 1 and 10000"),
        (
            {"commands": [{"command": "x", "timestamp": "yesterday"}]},
            "commands.timestamp must be an ISO-8601 date-time",
        ),
        ({"commands": [{"command": "x", "extra": 1}]}, "commands.extra is not allowed"),
        (
            {"commands": [{"command": "ok"}, {"command": "x", "count": "2"}]},
            "commands.count must be an integer",
        ),
    ],
)
async def test_batch_bad_bodies_store_nothing(portal: Portal, body: dict[str, Any], error: str) -> None:
    bot, registered = await portal.register_bot()
    await expect_error(bot.call("POST", BATCH, json=body), 400, error)
    assert await command_stats(portal, registered["id"]) == []


# ---- GET /v1/bot/users/{platform}/{platform_user_id} ---------------------------------------------------


async def test_user_lookup(portal: Portal) -> None:
    bot, _ = await portal.register_bot()
    user = await portal.create_user()
    platform, platform_user_id = identity_of(user)
    found = await bot.call("GET", f"/v1/bot/users/{platform}/{platform_user_id}")
    assert set(found) == PRIVATE_USER_KEYS and found["id"] == user["id"]
    assert found == user | {"last_activity_at": found["last_activity_at"]}


async def test_user_lookup_errors(portal: Portal) -> None:
    bot, _ = await portal.register_bot()
    await expect_error(bot.call("GET", "/v1/bot/users/discord/404404404"), 404, "User not found")
    user = await portal.create_user()
    telegram_id = await link_platform(portal, user["id"], "telegram")
    await expect_error(bot.call("GET", f"/v1/bot/users/telegram/{telegram_id}"), 403, "Access denied")
    telegram_bot, _ = await portal.register_bot(platform="telegram")
    assert (await telegram_bot.call("GET", f"/v1/bot/users/telegram/{telegram_id}"))["id"] == user["id"]
    await expect_error(
        bot.call("GET", "/v1/bot/users/Discord!/1"), 400, "platform contains invalid characters"
    )
    await expect_error(
        bot.call("GET", "/v1/bot/users/discord/a%20b"), 400, "platform_user_id contains invalid characters"
    )
