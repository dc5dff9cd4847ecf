"""`/v1/admin/chats`: the gates of every endpoint, list, create (official) and detail.

Spec: 03 §2.2–2.5, §4.1–4.3; 06 §7.1–7.3; 00 §3.2, §3.4–3.6, §3.8; 08 §3, §4, §6, §7, §11, §19, §39, §61.
Update, delete, transfer, kick, start and stop are in test_admin_chat_actions.py.
"""

from __future__ import annotations

import itertools
import json
import math
import secrets
import string
from typing import Any

import pytest
from sqlalchemy import update

from portal.db import chats as chats_db
from portal.db.models import User
from portal.db.uow import users_changed
from tests.api.admin_chats_support import (  # noqa: F401  (the `sockets` fixture)
    ADMIN_CHAT_FIELDS,
    BASE,
    DEFAULT_BROWSER_CONFIG,
    DETAIL_FIELDS,
    LIVE_STATE_FIELDS,
    admin_chat,
    audit_rows,
    chat_of,
    in_room,
    next_event,
    sockets_fixture,
    unique_slug,
)
from tests.helpers import LoggedIn, Portal, expect_error, unique_name
from tests.helpers import parse_time as ts

# (method, path after /v1/admin/chats, a valid body, the minimum level)
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("GET", "", None, "admin"),
    ("POST", "", {"name": "gate-test", "slug": "gate-test"}, "owner"),
    ("GET", "/{id}", None, "admin"),
    ("POST", "/{id}/update", {"name": "renamed-by-gate"}, "admin"),
    ("POST", "/{id}/delete", None, "admin"),
    ("POST", "/{id}/transfer", {"new_owner_id": 1}, "owner"),
    ("POST", "/{id}/kick", {"user_id": 1}, "admin"),
    ("POST", "/{id}/start", None, "admin"),
    ("POST", "/{id}/stop", None, "admin"),
]
ENDPOINT_IDS = [f"{m} {p or '/'}" for m, p, _, _ in ENDPOINTS]
WITH_ID = [e for e in ENDPOINTS if "{id}" in e[1]]
WITH_ID_IDS = [f"{m} {p}" for m, p, _, _ in WITH_ID]
WITH_BODY = [e for e in ENDPOINTS if e[2] is not None]
WITH_BODY_IDS = [f"{m} {p or '/'}" for m, p, _, _ in WITH_BODY]
LEVEL_TEXT = {"admin": "Admin access required", "owner": "Owner access required"}


def url(path: str, chat_id: int | str) -> str:
    return BASE + path.format(id=chat_id)


async def request(who: LoggedIn, method: str, path: str, chat_id: int | str, body: Any) -> Any:
    kwargs = {"json": body} if body is not None else {}
    return await who.client.call(method, url(path, chat_id), **kwargs)


async def assert_untouched(portal: Portal, chat: dict[str, Any], before: dict[str, Any]) -> None:
    """The chat is still there, unchanged, and the refused create made nothing."""
    owner_ = await portal.login("owner")
    assert await admin_chat(owner_, chat["id"]) == before
    assert not [c for c in await owner_.client.call("GET", BASE) if c["name"] == "gate-test"]


# ---- gates (08 §3, §4) ------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body", "level"), ENDPOINTS, ids=ENDPOINT_IDS)
async def test_anonymous_gets_401(portal: Portal, method: str, path: str, body: Any, level: str) -> None:
    _, chat = await chat_of(portal, "admin")
    before = await admin_chat(await portal.login("owner"), chat["id"])
    anonymous = LoggedIn(portal.client(), {})
    await expect_error(request(anonymous, method, path, chat["id"], body), 401, "Authentication required")
    # 401 comes before the body and the id are looked at (08 §4).
    await expect_error(request(anonymous, method, path, "abc", body), 401, "Authentication required")
    garbage = LoggedIn(portal.client(session="not-a-session"), {})
    await expect_error(request(garbage, method, path, chat["id"], body), 401, "Authentication required")
    await assert_untouched(portal, chat, before)


@pytest.mark.parametrize(("method", "path", "body", "level"), ENDPOINTS, ids=ENDPOINT_IDS)
async def test_strangers_get_403_access_denied(
    portal: Portal, method: str, path: str, body: Any, level: str
) -> None:
    _, chat = await chat_of(portal, "admin")
    before = await admin_chat(await portal.login("owner"), chat["id"])
    stranger = await portal.stranger()
    await expect_error(request(stranger, method, path, chat["id"], body), 403, "Access denied")
    await assert_untouched(portal, chat, before)


@pytest.mark.parametrize(("method", "path", "body", "level"), ENDPOINTS, ids=ENDPOINT_IDS)
async def test_levels_below_the_gate_get_the_level_text(
    portal: Portal, method: str, path: str, body: Any, level: str
) -> None:
    """User and Moderator → "Admin access required"; below Owner on Owner-only endpoints →
    "Owner access required" (08 §3), before the body or the id is validated (08 §4)."""
    owner, chat = await chat_of(portal, "user")
    before = await admin_chat(await portal.login("owner"), chat["id"])
    below = ["user", "moderator"] + (["admin"] if level == "owner" else [])
    for name in below:
        caller = owner if name == "user" else await portal.login(name)
        text = LEVEL_TEXT[level]
        await expect_error(request(caller, method, path, chat["id"], body), 403, text)
        await expect_error(request(caller, method, path, "abc", body), 403, text)
        if body is not None:
            await expect_error(request(caller, method, path, chat["id"], {"bogus": 1}), 403, text)
    await assert_untouched(portal, chat, before)


@pytest.mark.parametrize(("method", "path", "body", "level"), WITH_ID, ids=WITH_ID_IDS)
async def test_non_integer_chat_id_is_400(
    portal: Portal, method: str, path: str, body: Any, level: str
) -> None:
    owner_ = await portal.login("owner")
    for bad in ("abc", "1.5", "1e3", "%20"):
        await expect_error(request(owner_, method, path, bad, body), 400, "chat_id must be an integer")


@pytest.mark.parametrize(("method", "path", "body", "level"), WITH_ID, ids=WITH_ID_IDS)
async def test_unknown_chat_is_404(portal: Portal, method: str, path: str, body: Any, level: str) -> None:
    """Ids that no chat has, including 0, negatives and ids beyond 32 bits (never a database error)."""
    owner_ = await portal.login("owner")
    for missing in (2_000_000_000, 0, -1, 2**31, 2**63, 10**30):
        await expect_error(request(owner_, method, path, missing, body), 404, "Chat not found")


@pytest.mark.parametrize(("method", "path", "body", "level"), WITH_BODY, ids=WITH_BODY_IDS)
async def test_bad_bodies_are_400_and_change_nothing(
    portal: Portal, method: str, path: str, body: dict[str, Any], level: str
) -> None:
    """Broken JSON or a non-object → "Invalid request"; unknown fields → "{f} is not allowed";
    wrong types → "{f} must be …" (08 §6, §7)."""
    owner_ = await portal.login("owner")
    _, chat = await chat_of(portal, "user")
    before = await admin_chat(owner_, chat["id"])
    target = url(path, chat["id"])
    for raw in (b"{", b"not json", b'{"name": }'):
        response = await owner_.client.raw(
            method, target, content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "Invalid request"
    for not_object in ([], [body], "text", 5, None):
        await expect_error(
            owner_.client.call(method, target, content=json.dumps(not_object)), 400, "Invalid request"
        )
    await expect_error(
        owner_.client.call(method, target, json={**body, "extra": 1}), 400, "extra is not allowed"
    )
    field = next(iter(body))
    wrong = {"name": 5, "new_owner_id": "5", "user_id": "5"}[field]
    expected = {"name": "name must be a string"}.get(field, f"{field} must be an integer")
    await expect_error(owner_.client.call(method, target, json={**body, field: wrong}), 400, expected)
    for as_float in (1.0, True):
        if field != "name":
            await expect_error(
                owner_.client.call(method, target, json={field: as_float}), 400, f"{field} must be an integer"
            )
    await assert_untouched(portal, chat, before)


async def test_admin_endpoints_use_the_admin_tier(portal: Portal) -> None:
    """ADMIN: 60 requests per clock minute and client IP, every admin chat endpoint sharing the budget;
    failed requests count too (08 §61, docs/decisions.md)."""
    clock = portal.server.clock
    owner_ = await portal.login("owner")
    _, chat = await chat_of(portal, "user")
    window_end = clock.advance_to_next(60, 1.0)
    calls = [
        ("GET", BASE, None),
        ("GET", f"{BASE}/{chat['id']}", None),
        ("POST", f"{BASE}/{chat['id']}/update", {"bogus": 1}),
        ("POST", f"{BASE}/999999999/delete", None),
    ]
    for i in range(60):
        method, path, body = calls[i % len(calls)]
        response = await owner_.client.raw(method, path, **({"json": body} if body is not None else {}))
        assert response.status_code in (200, 400, 404), response.text
        assert response.headers["x-ratelimit-limit"] == "60"
        assert response.headers["x-ratelimit-remaining"] == str(59 - i)
    limited = await owner_.client.raw("GET", BASE)
    assert limited.status_code == 429
    assert limited.json() == {
        "error": "Too many requests",
        "correlation_id": limited.headers["x-correlation-id"],
    }
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert int(limited.headers["retry-after"]) in (
        math.ceil(window_end - clock.time()),
        math.ceil(window_end - clock.time()) + 1,
    )
    # Every endpoint of the router is spent, anonymous requests from that IP too.
    response = await owner_.client.raw("POST", f"{BASE}/{chat['id']}/delete")
    assert response.status_code == 429
    ip = owner_.client.http.headers["X-Forwarded-For"]
    assert (await portal.client(ip=ip).raw("GET", BASE)).status_code == 429
    # The chat was not deleted by the refused request; a new minute opens a new window.
    clock.set(window_end + 0.5)
    fresh = await owner_.client.raw("GET", f"{BASE}/{chat['id']}")
    assert fresh.status_code == 200
    assert fresh.headers["x-ratelimit-remaining"] == "59"


async def test_anonymous_requests_count_against_the_admin_tier(portal: Portal) -> None:
    portal.server.clock.advance_to_next(60, 1.0)
    anonymous = portal.client()
    for _ in range(60):
        assert (await anonymous.raw("POST", f"{BASE}/1/delete")).status_code == 401
    assert (await anonymous.raw("POST", f"{BASE}/1/delete")).status_code == 429


# ---- GET /v1/admin/chats ----------------------------------------------------------------------------


async def test_list_shows_every_group_chat_public_and_private(portal: Portal) -> None:
    admin = await portal.login("admin")
    user, private = await chat_of(portal, "user", visibility="private")
    _, public = await chat_of(portal, "moderator", visibility="public")
    owner_ = await portal.login("owner")
    official = await portal.official_chat(owner_.id)

    listed = await admin.client.call("GET", BASE)
    assert isinstance(listed, list)
    by_id = {c["id"]: c for c in listed}
    for entry in listed:
        assert set(entry) == ADMIN_CHAT_FIELDS

    p = by_id[private["id"]]
    assert p["name"] == private["name"] and p["owner_id"] == user.id
    assert (p["is_public"], p["visibility"], p["slug"]) == (False, "private", None)
    assert (p["label"], p["description"], p["avatar_source"]) == (None, None, None)
    assert ts(p["created_at"]) == ts(p["last_activity_at"])
    assert ts(p["updated_at"]) >= ts(p["created_at"])

    q = by_id[public["id"]]
    assert (q["is_public"], q["visibility"], q["slug"]) == (True, "public", public["slug"])

    o = by_id[official["id"]]
    assert (o["is_public"], o["visibility"], o["slug"], o["owner_id"]) == (
        True,
        "official",
        official["slug"],
        owner_.id,
    )
    # The Owner sees the same list.
    assert await owner_.client.call("GET", BASE) == listed


async def test_list_is_json_array_even_with_query_parameters(portal: Portal) -> None:
    admin = await portal.login("admin")
    listed = await admin.client.call("GET", BASE, params={"limit": 1, "offset": 5})
    assert listed == await admin.client.call("GET", BASE)


# ---- POST /v1/admin/chats (create official) -----------------------------------------------------------


async def test_create_official_answers_the_live_state_object(portal: Portal) -> None:
    owner_ = await portal.login("owner")
    portal.server.clock.advance(1)
    slug = unique_slug("general")
    name = unique_name("General")
    body = {"name": name, "slug": slug, "description": "Official general chat"}
    live = await owner_.client.call("POST", BASE, json=body)

    assert set(live) == LIVE_STATE_FIELDS
    assert isinstance(live["chat_id"], int)
    assert live == {
        "chat_id": live["chat_id"],
        "chat_name": name,
        "username": owner_.user["username"],
        "browser": "chromium",
        "allow_control_requests": False,
        "visibility": "official",
        "label": None,
        "slug": slug,
        "description": "Official general chat",
        "avatar_source": None,
        "running": False,
        "viewer_count": 0,
    }
    chat_id = live["chat_id"]
    entry = await admin_chat(owner_, chat_id)
    assert entry["owner_id"] == owner_.id and entry["is_public"] is True and entry["visibility"] == "official"

    # Official chats come first in the directory (00 §3.8); this one is the most recently active.
    directory = await portal.client().call("GET", "/v1/portal/directory")
    assert directory[0]["id"] == chat_id
    assert directory[0]["visibility"] == "official" and directory[0]["slug"] == slug
    assert directory[0]["owner"]["id"] == owner_.id
    kinds = [c["visibility"] for c in directory]
    assert kinds == sorted(kinds, key=lambda v: v != "official")
    assert (await portal.client().call("GET", f"/v1/portal/directory/{slug}"))["id"] == chat_id

    # The config defaults of 08 §11, seen by the owner (a manager) on the portal detail.
    detail = await owner_.client.call("GET", f"/v1/portal/chats/{chat_id}")
    assert detail["browser_config"] == DEFAULT_BROWSER_CONFIG
    assert detail["history_visible"] is True and detail["wipe_preset"] is None

    [row] = await audit_rows(portal, "CHAT_CREATE_OFFICIAL", chat_id)
    assert row.actor_id == owner_.id
    assert row.event_metadata["slug"] == slug and row.event_metadata["name"] == name
    assert row.event_metadata["user_id"] == owner_.id


async def test_create_official_takes_browser_config_and_control_requests(portal: Portal) -> None:
    owner_ = await portal.login("owner")
    config = {"browser": "firefox", "start_url": "https://example.org/start", "kiosk": True}
    body = {
        "name": "browsing",
        "slug": unique_slug(),
        "allow_control_requests": True,
        "browser_config": config,
    }
    live = await owner_.client.call("POST", BASE, json=body)
    assert (live["browser"], live["allow_control_requests"], live["description"]) == ("firefox", True, None)
    detail = await owner_.client.call("GET", f"{BASE}/{live['chat_id']}")
    assert detail["browser_config"] == config
    partial = await owner_.client.call(
        "POST",
        BASE,
        json={"name": "tor", "slug": unique_slug(), "browser_config": {"browser": "tor-browser"}},
    )
    detail = await owner_.client.call("GET", f"{BASE}/{partial['chat_id']}")
    assert detail["browser_config"] == {"browser": "tor-browser", "start_url": None, "kiosk": False}


async def test_create_official_announces_chat_status_to_connected_users(portal: Portal, sockets: Any) -> None:
    owner_ = await portal.login("owner")
    watcher = await portal.login()
    probe = sockets()
    await probe.connect(token=watcher.client.session_token)
    await probe.expect("chat:list")
    live = await owner_.client.call("POST", BASE, json={"name": "announced", "slug": unique_slug()})
    status = await next_event(probe, "chat:status", chat_id=live["chat_id"])
    assert status == {"chat_id": live["chat_id"], "running": False, "viewer_count": 0}


async def test_create_official_is_owner_only_and_admins_get_owner_access_required(portal: Portal) -> None:
    admin = await portal.login("admin")
    slug = unique_slug()
    await expect_error(
        admin.client.call("POST", BASE, json={"name": "nope", "slug": slug}), 403, "Owner access required"
    )
    await expect_error(portal.client().call("GET", f"/v1/portal/directory/{slug}"), 404, "Chat not found")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "name is required"),
        ({"slug": "abc"}, "name is required"),
        ({"name": "General"}, "slug is required"),
        ({"name": "x", "slug": "abc"}, "name must be at least 2 characters"),
        ({"name": "x" * 65, "slug": "abc"}, "name must be at most 64 characters"),
        ({"name": None, "slug": "abc"}, "name must be a string"),
        ({"name": ["General"], "slug": "abc"}, "name must be a string"),
        ({"name": "General", "slug": "a"}, "slug must be at least 2 characters"),
        ({"name": "General", "slug": ""}, "slug must be at least 2 characters"),
        ({"name": "General", "slug": "a" * 33}, "slug must be at most 32 characters"),
        ({"name": "General", "slug": "Gen"}, "slug contains invalid characters"),
        ({"name": "General", "slug": "gen_eral"}, "slug contains invalid characters"),
        ({"name": "General", "slug": "gen eral"}, "slug contains invalid characters"),
        ({"name": "General", "slug": "gén"}, "slug contains invalid characters"),
        ({"name": "General", "slug": "gen/x"}, "slug contains invalid characters"),
        ({"name": "General", "slug": None}, "slug must be a string"),
        ({"name": "General", "slug": 12}, "slug must be a string"),
        (
            {"name": "General", "slug": "abc", "description": "d" * 501},
            "description must be at most 500 characters",
        ),
        ({"name": "General", "slug": "abc", "description": 5}, "description must be a string"),
        (
            {"name": "General", "slug": "abc", "allow_control_requests": "yes"},
            "allow_control_requests must be a boolean",
        ),
        (
            {"name": "General", "slug": "abc", "allow_control_requests": 1},
            "allow_control_requests must be a boolean",
        ),
        ({"name": "General", "slug": "abc", "browser_config": "firefox"}, "browser_config must be an object"),
        (
            {"name": "General", "slug": "abc", "browser_config": {"browser": "safari"}},
            "browser_config.browser must be one of: chromium, firefox, brave, tor-browser",
        ),
        (
            {"name": "General", "slug": "abc", "browser_config": {"start_url": "ftp://example.org"}},
            "browser_config.start_url must be an http(s) URL or about:blank",
        ),
        (
            {
                "name": "General",
                "slug": "abc",
                "browser_config": {"start_url": "https://e.org/" + "a" * 2035},
            },
            "browser_config.start_url must be at most 2048 characters",
        ),
        (
            {"name": "General", "slug": "abc", "browser_config": {"kiosk": "yes"}},
            "browser_config.kiosk must be a boolean",
        ),
        (
            {"name": "General", "slug": "abc", "browser_config": {"zoom": 2}},
            "browser_config.zoom is not allowed",
        ),
        ({"name": "General", "slug": "abc", "visibility": "public"}, "visibility is not allowed"),
        ({"name": "General", "slug": "abc", "owner_id": 1}, "owner_id is not allowed"),
    ],
)
async def test_create_official_validation(portal: Portal, body: dict[str, Any], error: str) -> None:
    owner_ = await portal.login("owner")
    before = len(await owner_.client.call("GET", BASE))
    await expect_error(owner_.client.call("POST", BASE, json=body), 400, error)
    assert len(await owner_.client.call("GET", BASE)) == before


async def test_create_official_with_an_empty_body_names_the_first_required_field(portal: Portal) -> None:
    owner_ = await portal.login("owner")
    response = await owner_.client.raw("POST", BASE)
    assert response.status_code == 400 and response.json()["error"] == "name is required"


async def test_create_official_name_and_slug_edges(portal: Portal) -> None:
    """name of 2 and 64 characters, slug of 2 and 32 characters of lowercase letters, digits and hyphens."""
    owner_ = await portal.login("owner")
    two = await free_two_character_slug(portal)
    long = secrets.token_hex(16)
    for name, slug in (("ab", two), ("n" * 64, long), ("Name with spaces", f"-{long[:8]}-0")):
        live = await owner_.client.call("POST", BASE, json={"name": name, "slug": slug})
        assert (live["chat_name"], live["slug"]) == (name, slug)
        assert (await admin_chat(owner_, live["chat_id"]))["slug"] == slug


async def free_two_character_slug(portal: Portal) -> str:
    async with portal.container.db.read() as session:
        for a, b in itertools.product(string.ascii_lowercase, string.digits):
            if await chats_db.by_slug(session, a + b) is None:
                return a + b
    raise AssertionError("no free two-character slug")


async def test_create_official_with_a_taken_slug_is_409(portal: Portal) -> None:
    owner_ = await portal.login("owner")
    user, public = await chat_of(portal, "user", visibility="public")
    official = await portal.official_chat(owner_.id)
    before = len(await owner_.client.call("GET", BASE))
    for taken in (public["slug"], official["slug"]):
        await expect_error(
            owner_.client.call("POST", BASE, json={"name": "dup", "slug": taken}), 409, "ERR_SLUG_TAKEN"
        )
    assert len(await owner_.client.call("GET", BASE)) == before
    # A slug freed by making the chat private can be used again.
    await user.client.call("POST", f"/v1/portal/chats/{public['id']}/config/update", json={"slug": None})
    live = await owner_.client.call("POST", BASE, json={"name": "reuse", "slug": public["slug"]})
    assert live["slug"] == public["slug"]


async def test_create_official_respects_a_slot_override_of_the_owner(portal: Portal) -> None:
    """Owners are unlimited, but a per-user override wins when set (00 §3.6, 08 §58)."""
    owner_ = await portal.login("owner")
    await owner_.client.call("POST", BASE, json={"name": "first", "slug": unique_slug()})
    async with portal.container.db.transaction() as session:
        await session.execute(update(User).where(User.id == owner_.id).values(chat_slots_override=1))
        users_changed(session, [owner_.id])
    slug = unique_slug()
    await expect_error(
        owner_.client.call("POST", BASE, json={"name": "second", "slug": slug}), 409, "ERR_CHAT_SLOT_LIMIT"
    )
    await expect_error(portal.client().call("GET", f"/v1/portal/directory/{slug}"), 404, "Chat not found")
    async with portal.container.db.transaction() as session:
        await session.execute(update(User).where(User.id == owner_.id).values(chat_slots_override=None))
        users_changed(session, [owner_.id])
    assert (await owner_.client.call("POST", BASE, json={"name": "second", "slug": slug}))["slug"] == slug


# ---- GET /v1/admin/chats/{id} -------------------------------------------------------------------------


async def test_detail_of_a_private_chat_lists_members_without_the_owner(portal: Portal, sockets: Any) -> None:
    admin = await portal.login("admin")
    owner, chat = await chat_of(portal, "user", visibility="private")
    alice, bob = await portal.login(), await portal.login("moderator")
    await portal.invite_into(owner, chat["id"], alice)
    portal.server.clock.advance(5)
    await portal.invite_into(owner, chat["id"], bob)
    await in_room(sockets, alice, chat["id"])
    await in_room(sockets, owner, chat["id"])

    detail = await admin.client.call("GET", f"{BASE}/{chat['id']}")
    assert set(detail) == DETAIL_FIELDS
    assert {k: detail[k] for k in ADMIN_CHAT_FIELDS} == await admin_chat(admin, chat["id"])
    assert detail["browser_config"] == DEFAULT_BROWSER_CONFIG
    assert detail["member_count"] == 2
    by_user = {m["user"]["id"]: m for m in detail["members"]}
    assert set(by_user) == {alice.id, bob.id}
    for member, who, level in ((by_user[alice.id], alice, 0), (by_user[bob.id], bob, 1)):
        assert set(member) == {"user", "is_online", "joined_at"}
        assert member["user"] == {
            "id": who.id,
            "username": who.user["username"],
            "avatar_url": None,
            "permission_level": level,
        }
        ts(member["joined_at"])
    assert by_user[alice.id]["is_online"] is True
    assert by_user[bob.id]["is_online"] is False


async def test_detail_of_an_official_chat_shows_who_joined_and_who_is_online(
    portal: Portal, sockets: Any
) -> None:
    admin = await portal.login("admin")
    owner_ = await portal.login("owner")
    chat = await portal.official_chat(owner_.id)
    detail = await admin.client.call("GET", f"{BASE}/{chat['id']}")
    assert (detail["member_count"], detail["members"]) == (0, [])
    assert (detail["visibility"], detail["is_public"], detail["owner_id"]) == ("official", True, owner_.id)

    viewer = await portal.login()
    probe = await in_room(sockets, viewer, chat["id"])
    await in_room(sockets, owner_, chat["id"])  # the owner in the room is still not a member
    detail = await admin.client.call("GET", f"{BASE}/{chat['id']}")
    assert detail["member_count"] == 1
    [member] = detail["members"]
    assert member["user"]["id"] == viewer.id and member["is_online"] is True

    assert (await probe.call("room:leave", {"chat_id": chat["id"]}))["ok"] is True
    detail = await admin.client.call("GET", f"{BASE}/{chat['id']}")
    assert detail["member_count"] == 1 and detail["members"][0]["is_online"] is False


async def test_detail_is_open_to_every_admin_whoever_owns_the_chat(portal: Portal) -> None:
    """Reading needs Admin+ only; no hierarchy against the owner (03 §4.3)."""
    admin = await portal.login("admin")
    _, owners_chat = await chat_of(portal, "owner", visibility="private")
    _, admins_chat = await chat_of(portal, "admin", visibility="private")
    for chat in (owners_chat, admins_chat):
        detail = await admin.client.call("GET", f"{BASE}/{chat['id']}")
        assert detail["id"] == chat["id"] and detail["visibility"] == "private"
