"""`/v1/admin/bots/*`: register, list, update (verify/unverify, is_active, transfer), regenerate-key,
delete, reset-stats (06 §6; 00 §3.5, §6; 08 §3, §4, §42, §49), each with its audit event."""

from __future__ import annotations

from typing import Any

import pytest

from tests.bots.support import ADMIN, BOTS, PRIVATE_KEYS, audit_rows, bot_row, command_stats
from tests.helpers import LoggedIn, Portal, expect_error

# (method, path after /v1/admin/bots, a valid body)
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "", {"name": "Gate Bot", "owner_id": 0, "platform": "discord"}),
    ("GET", "", None),
    ("POST", "/{id}/update", {"rate_limit_per_hour": 5}),
    ("POST", "/{id}/regenerate-key", None),
    ("POST", "/{id}/delete", None),
    ("POST", "/{id}/reset-stats", None),
]
IDS = [f"{m} {p or '/'}" for m, p, _ in ENDPOINTS]


async def call(who: Any, method: str, path: str, bot_id: int, body: dict[str, Any] | None) -> Any:
    kwargs = {"json": body} if body is not None else {}
    return await who.call(method, ADMIN + path.format(id=bot_id), **kwargs)


# ---- gates ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=IDS)
async def test_gates(portal: Portal, method: str, path: str, body: dict[str, Any] | None) -> None:
    key, bot = await portal.register_bot()
    if body and "owner_id" in body:
        body = {**body, "owner_id": bot["owner_id"]}
    await expect_error(
        call(portal.client(api_key=None), method, path, bot["id"], body), 401, "Authentication required"
    )
    await expect_error(call(key, method, path, bot["id"], body), 401, "Authentication required")
    stranger = await portal.stranger()
    await expect_error(call(stranger.client, method, path, bot["id"], body), 403, "Access denied")
    for level in ("user", "moderator"):
        who = await portal.login(level)
        await expect_error(call(who.client, method, path, bot["id"], body), 403, "Admin access required")
    assert await key.call("GET", "/v1/bot/me") == bot  # nothing changed
    assert [r.event_type for r in await audit_rows(portal, bot["id"])] == ["BOT_REGISTER"]


@pytest.mark.parametrize(("method", "path", "body"), [e for e in ENDPOINTS if "{id}" in e[1]], ids=IDS[2:])
async def test_unknown_bot_is_404(
    portal: Portal, method: str, path: str, body: dict[str, Any] | None
) -> None:
    admin = await portal.login("admin")
    await expect_error(call(admin.client, method, path, 999_999_999, body), 404, "Bot not found")
    await expect_error(
        call(admin.client, method, path.replace("{id}", "abc"), 0, body), 400, "bot_id must be an integer"
    )


# ---- register ---------------------------------------------------------------------------------------


async def test_register(portal: Portal) -> None:
    admin = await portal.login("admin")
    owner = await portal.create_user()
    body = {"name": "Portal Bot", "owner_id": owner["id"], "platform": "telegram", "rate_limit_per_hour": 250}
    issued = await admin.client.call("POST", ADMIN, json=body)
    assert set(issued) == {"message", "bot", "api_key", "created_at", "updated_at"}
    assert issued["message"] == "Bot registered successfully"
    assert issued["api_key"].startswith("hbot_") and len(issued["api_key"]) == 37
    bot = issued["bot"]
    assert set(bot) == PRIVATE_KEYS
    assert (bot["name"], bot["platform"], bot["owner_id"], bot["rate_limit_per_hour"]) == (
        "Portal Bot",
        "telegram",
        owner["id"],
        250,
    )
    assert (bot["bot_type"], bot["is_active"], bot["is_verified"], bot["groups"], bot["users"]) == (
        3,
        True,
        False,
        0,
        0,
    )
    assert bot["avatar_url"] is None and bot["latency_ms"] is None and bot["last_activity_at"] is None
    assert issued["created_at"] == bot["created_at"]
    assert await portal.bot_client(issued["api_key"]).call("GET", "/v1/bot/me") == bot
    [row] = await audit_rows(portal, bot["id"])
    assert (row.event_type, row.actor_id) == ("BOT_REGISTER", admin.id)
    assert row.event_metadata == {
        "name": "Portal Bot",
        "owner_id": owner["id"],
        "platform": "telegram",
        "rate_limit_per_hour": 250,
    }
    default = await admin.client.call(
        "POST", ADMIN, json={"name": "D1", "owner_id": owner["id"], "platform": "discord"}
    )
    assert default["bot"]["rate_limit_per_hour"] == 1000


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"name": None}, "name is required"),
        ({"name": "x"}, "name must be at least 2 characters"),
        ({"name": "x" * 33}, "name must be at most 32 characters"),
        ({"owner_id": None}, "owner_id is required"),
        ({"owner_id": "1"}, "owner_id must be an integer"),
        ({"platform": None}, "platform is required"),
        ({"platform": "Discord"}, "platform contains invalid characters"),
        ({"rate_limit_per_hour": 0}, "rate_limit_per_hour must be between 1 and 100000"),
        ({"rate_limit_per_hour": 100_001}, "rate_limit_per_hour must be between 1 and 100000"),
        ({"api_key": "hbot_x"}, "api_key is not allowed"),
    ],
)
async def test_register_bad_bodies(portal: Portal, change: dict[str, Any], error: str) -> None:
    admin = await portal.login("admin")
    owner = await portal.create_user()
    body = {"name": "Bad Bot", "owner_id": owner["id"], "platform": "discord", **change}
    body = {k: v for k, v in body.items() if v is not None}
    await expect_error(admin.client.call("POST", ADMIN, json=body), 400, error)
    assert (await admin.client.call("GET", BOTS + "/search", params={"owner": owner["id"]}))["total"] == 0


async def test_register_edges_and_owner_rules(portal: Portal) -> None:
    admin = await portal.login("admin")
    owner = await portal.login("owner")
    user = await portal.create_user()
    for limit in (1, 100_000):
        body = {"name": "xy", "owner_id": user["id"], "platform": "discord", "rate_limit_per_hour": limit}
        assert (await admin.client.call("POST", ADMIN, json=body))["bot"]["rate_limit_per_hour"] == limit
    body = {"name": "x" * 32, "owner_id": 999_999_999, "platform": "discord"}
    await expect_error(admin.client.call("POST", ADMIN, json=body), 404, "User not found")
    stranger = await portal.stranger()
    await expect_error(
        admin.client.call("POST", ADMIN, json={**body, "owner_id": stranger.id}), 404, "User not found"
    )
    other_admin = await portal.create_user("admin")
    await expect_error(
        admin.client.call("POST", ADMIN, json={**body, "owner_id": other_admin["id"]}), 403, "Access denied"
    )
    await expect_error(
        admin.client.call("POST", ADMIN, json={**body, "owner_id": owner.id}), 403, "Access denied"
    )
    assert (await admin.client.call("POST", ADMIN, json={**body, "owner_id": admin.id}))["bot"][
        "owner_id"
    ] == admin.id
    other_owner = await portal.create_user("owner")
    assert (await owner.client.call("POST", ADMIN, json={**body, "owner_id": other_owner["id"]}))["bot"][
        "owner_id"
    ] == other_owner["id"]


# ---- list ---------------------------------------------------------------------------------------------


async def test_list_is_every_bot_as_private_objects(portal: Portal) -> None:
    admin = await portal.login("admin")
    for _ in range(3):
        await portal.register_bot()
    _, inactive = await portal.register_bot()
    await admin.client.call("POST", f"{ADMIN}/{inactive['id']}/update", json={"is_active": False})
    seen: list[dict[str, Any]] = []
    offset = 0
    while page := await admin.client.call("GET", ADMIN, params={"offset": offset}):
        assert len(page) <= 25
        seen += page
        offset += len(page)
    assert [b["id"] for b in seen] == sorted(b["id"] for b in seen)
    assert all(set(b) == PRIVATE_KEYS for b in seen)
    assert next(b for b in seen if b["id"] == inactive["id"])["is_active"] is False
    assert len(await admin.client.call("GET", ADMIN, params={"limit": 1})) == 1
    for bad in (0, 26):
        await expect_error(
            admin.client.call("GET", ADMIN, params={"limit": bad}), 400, "limit must be between 1 and 25"
        )


# ---- update -------------------------------------------------------------------------------------------


async def test_update_fields_and_audit(portal: Portal) -> None:
    admin = await portal.login("admin")
    key, bot = await portal.register_bot()
    path = f"{ADMIN}/{bot['id']}/update"
    new_owner = await portal.create_user()
    body = {"name": "Renamed Bot", "owner_id": new_owner["id"], "rate_limit_per_hour": 2000}
    assert await admin.client.call("POST", path, json=body) == {"message": f"Bot {bot['id']} updated"}
    me = await key.call("GET", "/v1/bot/me")
    assert (me["name"], me["owner_id"], me["rate_limit_per_hour"], me["bot_type"]) == (
        "Renamed Bot",
        new_owner["id"],
        2000,
        3,
    )
    [row] = await audit_rows(portal, bot["id"], "BOT_UPDATE")
    assert row.actor_id == admin.id
    assert row.event_metadata == {
        "changes": {
            "name": ["Test Bot", "Renamed Bot"],
            "owner_id": [bot["owner_id"], new_owner["id"]],
            "rate_limit_per_hour": [bot["rate_limit_per_hour"], 2000],
        }
    }
    # The same values again: 200, nothing written.
    await admin.client.call("POST", path, json=body)
    await admin.client.call("POST", path, json={})
    assert len(await audit_rows(portal, bot["id"], "BOT_UPDATE")) == 1


async def test_verify_and_unverify(portal: Portal) -> None:
    admin = await portal.login("admin")
    key, bot = await portal.register_bot()
    path = f"{ADMIN}/{bot['id']}/update"
    await admin.client.call("POST", path, json={"bot_type": "official", "rate_limit_per_hour": 2000})
    me = await key.call("GET", "/v1/bot/me")
    assert (me["bot_type"], me["is_verified"]) == (1, True)
    await admin.client.call("POST", path, json={"bot_type": 2})
    await admin.client.call("POST", path, json={"bot_type": "Community"})
    assert (await key.call("GET", "/v1/bot/me"))["is_verified"] is False
    await admin.client.call("POST", path, json={"bot_type": 3})  # unchanged: no event
    events = [(r.event_type, r.actor_id, r.event_metadata) for r in await audit_rows(portal, bot["id"])]
    assert events == [
        ("BOT_REGISTER", None, events[0][2]),
        ("BOT_UPDATE", admin.id, {"changes": {"rate_limit_per_hour": [bot["rate_limit_per_hour"], 2000]}}),
        ("BOT_VERIFY", admin.id, {"old_type": 3, "new_type": 1}),
        ("BOT_VERIFY", admin.id, {"old_type": 1, "new_type": 2}),
        ("BOT_UNVERIFY", admin.id, {"old_type": 2, "new_type": 3}),
    ]


async def test_deactivation_refuses_the_key_and_hides_the_bot(portal: Portal) -> None:
    admin = await portal.login("admin")
    key, bot = await portal.register_bot()
    path = f"{ADMIN}/{bot['id']}/update"
    await admin.client.call("POST", path, json={"is_active": False})
    await expect_error(key.call("GET", "/v1/bot/me"), 401, "Invalid API key")
    await expect_error(portal.client().call("GET", f"{BOTS}/{bot['id']}"), 404, "Bot not found")
    assert bot["id"] not in [
        b["id"] for b in await portal.client().call("GET", BOTS, params={"offset": 0, "limit": 100})
    ]
    [row] = await audit_rows(portal, bot["id"], "BOT_UPDATE")
    assert row.event_metadata == {"changes": {"is_active": [True, False]}}
    await admin.client.call("POST", path, json={"is_active": True})
    assert (await key.call("GET", "/v1/bot/me"))["is_active"] is True


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"name": "x"}, "name must be at least 2 characters"),
        ({"name": None}, "name must be a string"),
        ({"owner_id": None}, "owner_id must be an integer"),
        ({"rate_limit_per_hour": 0}, "rate_limit_per_hour must be between 1 and 100000"),
        ({"rate_limit_per_hour": 100_001}, "rate_limit_per_hour must be between 1 and 100000"),
        ({"bot_type": "gold"}, "bot_type must be one of: official, verified, community, 1, 2, 3"),
        ({"bot_type": 4}, "bot_type must be one of: official, verified, community, 1, 2, 3"),
        ({"bot_type": True}, "bot_type must be one of: official, verified, community, 1, 2, 3"),
        ({"bot_type": None}, "bot_type must be one of: official, verified, community, 1, 2, 3"),
        ({"is_active": "no"}, "is_active must be a boolean"),
        ({"is_active": None}, "is_active must be a boolean"),
        ({"platform": "telegram"}, "platform is not allowed"),
        ({"name": "ok name", "rate_limit_per_hour": 0}, "rate_limit_per_hour must be between 1 and 100000"),
    ],
)
async def test_update_bad_bodies_change_nothing(portal: Portal, body: dict[str, Any], error: str) -> None:
    admin = await portal.login("admin")
    key, bot = await portal.register_bot()
    await expect_error(admin.client.call("POST", f"{ADMIN}/{bot['id']}/update", json=body), 400, error)
    assert await key.call("GET", "/v1/bot/me") == bot
    assert [r.event_type for r in await audit_rows(portal, bot["id"])] == ["BOT_REGISTER"]


async def test_update_hierarchy(portal: Portal) -> None:
    admin = await portal.login("admin")
    owner = await portal.login("owner")
    other_admin = await portal.create_user("admin")
    user = await portal.create_user()
    _, admins_bot = await portal.register_bot(owner_id=other_admin["id"])
    await expect_error(
        admin.client.call("POST", f"{ADMIN}/{admins_bot['id']}/update", json={"rate_limit_per_hour": 5}),
        403,
        "Access denied",
    )
    # An Admin manages their own bot, but cannot give it (or a User's bot) to someone at their level.
    _, own = await portal.register_bot(owner_id=admin.id)
    await admin.client.call("POST", f"{ADMIN}/{own['id']}/update", json={"rate_limit_per_hour": 5})
    _, users_bot = await portal.register_bot(owner_id=user["id"])
    for target in (other_admin["id"], owner.id):
        await expect_error(
            admin.client.call("POST", f"{ADMIN}/{users_bot['id']}/update", json={"owner_id": target}),
            403,
            "Access denied",
        )
    await expect_error(
        admin.client.call("POST", f"{ADMIN}/{users_bot['id']}/update", json={"owner_id": 999_999_999}),
        404,
        "User not found",
    )
    row = await bot_row(portal, users_bot["id"])
    assert row is not None and row.owner_id == user["id"]
    # An Owner acts on another Owner's bot.
    other_owner = await portal.create_user("owner")
    _, owners_bot = await portal.register_bot(owner_id=other_owner["id"])
    await owner.client.call(
        "POST", f"{ADMIN}/{owners_bot['id']}/update", json={"owner_id": other_admin["id"]}
    )
    for bot_id in (own["id"], owners_bot["id"]):
        assert [r.event_type for r in await audit_rows(portal, bot_id)] == ["BOT_REGISTER", "BOT_UPDATE"]


# ---- regenerate-key, delete, reset-stats --------------------------------------------------------------


async def test_regenerate_key(portal: Portal) -> None:
    admin = await portal.login("admin")
    old, bot = await portal.register_bot()
    issued = await admin.client.call("POST", f"{ADMIN}/{bot['id']}/regenerate-key")
    assert set(issued) == {"message", "bot", "api_key", "created_at", "updated_at"}
    assert issued["message"] == "API key regenerated for bot Test Bot"
    assert issued["bot"]["id"] == bot["id"] and set(issued["bot"]) == PRIVATE_KEYS
    await expect_error(old.call("GET", "/v1/bot/me"), 401, "Invalid API key")
    assert (await portal.bot_client(issued["api_key"]).call("GET", "/v1/bot/me"))["id"] == bot["id"]
    [row] = await audit_rows(portal, bot["id"], "BOT_KEY_REGENERATE")
    assert (row.actor_id, row.event_metadata) == (admin.id, {})


async def test_delete(portal: Portal) -> None:
    admin = await portal.login("admin")
    key, bot = await portal.register_bot()
    await key.call("POST", "/v1/bot/batch", json={"commands": [{"command": "help"}]})
    assert await admin.client.call("POST", f"{ADMIN}/{bot['id']}/delete") == {
        "message": f"Bot {bot['id']} deleted"
    }
    assert await bot_row(portal, bot["id"]) is None and await command_stats(portal, bot["id"]) == []
    await expect_error(key.call("GET", "/v1/bot/me"), 401, "Invalid API key")
    await expect_error(portal.client().call("GET", f"{BOTS}/{bot['id']}"), 404, "Bot not found")
    await expect_error(admin.client.call("POST", f"{ADMIN}/{bot['id']}/delete"), 404, "Bot not found")
    [row] = await audit_rows(portal, bot["id"], "BOT_DELETE")
    assert row.actor_id == admin.id
    assert row.event_metadata == {"name": "Test Bot", "owner_id": bot["owner_id"], "platform": "discord"}


async def test_reset_stats(portal: Portal) -> None:
    admin = await portal.login("admin")
    key, bot = await portal.register_bot()
    await key.call(
        "POST",
        "/v1/bot/me/update",
        json={"group_ids": ["1", "2"], "users": 9, "latency_ms": 3, "name": "Kept"},
    )
    await key.call("POST", "/v1/bot/batch", json={"commands": [{"command": "help"}]})
    answer = await admin.client.call("POST", f"{ADMIN}/{bot['id']}/reset-stats")
    assert answer == {"message": f"Stats reset for bot {bot['id']}"}
    row = await bot_row(portal, bot["id"])
    assert row is not None and row.group_ids == [] and row.last_activity_at is None
    assert await command_stats(portal, bot["id"]) == []
    me = await key.call("GET", "/v1/bot/me")  # (this call refreshes nothing: only update and batch do)
    assert (me["name"], me["groups"], me["users"], me["latency_ms"], me["last_activity_at"]) == (
        "Kept",
        0,
        0,
        None,
        None,
    )
    [audit] = await audit_rows(portal, bot["id"], "BOT_RESET_STATS")
    assert (audit.actor_id, audit.event_metadata) == (admin.id, {})


@pytest.mark.parametrize("action", ["regenerate-key", "delete", "reset-stats"])
async def test_actions_follow_the_hierarchy(portal: Portal, action: str) -> None:
    admin = await portal.login("admin")
    owner: LoggedIn = await portal.login("owner")
    key, admins_bot = await portal.register_bot(owner_id=(await portal.create_user("admin"))["id"])
    await expect_error(
        admin.client.call("POST", f"{ADMIN}/{admins_bot['id']}/{action}"), 403, "Access denied"
    )
    assert await key.call("GET", "/v1/bot/me") == admins_bot
    _, own = await portal.register_bot(owner_id=admin.id)
    await admin.client.call("POST", f"{ADMIN}/{own['id']}/{action}")
    _, owners_bot = await portal.register_bot(owner_id=(await portal.create_user("owner"))["id"])
    await owner.client.call("POST", f"{ADMIN}/{owners_bot['id']}/{action}")
