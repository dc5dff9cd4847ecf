"""Group chats over REST: create, list, get, members, leave, delete, start/stop, activity, directory,
status and statistics.

Spec: 03 §1–3 (not §3.11), 00 §3.5–3.8, §6; 08 §4, §6, §7, §9, §11, §19–21, §25, §43, §58, §63.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from portal.client import PortalAPIError
from portal.db.models import ChatActivity, ChatInvite, ChatMember, Message
from tests.api.chats_support import (  # noqa: F401  (the `sockets` fixture)
    ACTIVITY_FIELDS,
    CHAT_FIELDS,
    CONFIG_FIELDS,
    DEFAULT_CONFIG,
    MEMBER_FIELDS,
    MEMBER_USER_FIELDS,
    activity_rows,
    audit_rows,
    chat_owner,
    chat_row,
    chats_path,
    count_rows,
    expected_chat,
    join_room,
    member_of,
    memberships,
    premium,
    set_chat_slots_override,
    sockets_fixture,
    system_texts,
    user_ref,
)
from tests.helpers import DAY, Portal, expect_error, unique_name
from tests.helpers import parse_time as ts
from tests.servers import node_like

CREATE = "/v1/portal/chats"


# ---- POST /v1/portal/chats -----------------------------------------------------------------------------


async def test_create_answers_the_chat_object_field_by_field(portal: Portal) -> None:
    """08 §9: one chat object; a new chat is a private group chat with no slug, label or avatar."""
    owner = await premium(portal)
    name = unique_name("movie")
    chat = await owner.client.call("POST", CREATE, json={"name": name, "description": "Films on Friday"})
    assert set(chat) == CHAT_FIELDS
    assert isinstance(chat["id"], int) and chat["id"] > 0
    assert chat == expected_chat(chat["id"], name, owner, description="Films on Friday")


async def test_create_tells_the_owners_sockets(portal: Portal, sockets: Any) -> None:
    """00 §5: `chat:status` goes to everyone who can list the chat: here, the owner."""
    owner = await premium(portal)
    lobby = sockets()
    await lobby.connect(token=owner.client.session_token)
    await lobby.expect("chat:list")
    bystander = await portal.login()
    other = sockets()
    await other.connect(token=bystander.client.session_token)
    await other.expect("chat:list")
    chat = await portal.private_chat(owner)
    assert await lobby.expect("chat:status") == {"chat_id": chat["id"], "running": False, "viewer_count": 0}
    assert other.events["chat:status"].empty()


async def test_create_stores_the_default_config(portal: Portal) -> None:
    """08 §11: the config defaults, seen by the owner in `GET …/{id}`."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    detail = await owner.client.call("GET", chats_path(chat["id"]))
    assert {name: detail[name] for name in CONFIG_FIELDS} == DEFAULT_CONFIG
    assert detail["description"] is None


async def test_create_keeps_allow_control_requests_and_browser_config(portal: Portal) -> None:
    owner = await premium(portal)
    body = {
        "name": unique_name("c"),
        "allow_control_requests": True,
        "browser_config": {"browser": "tor-browser", "start_url": "https://example.org/a?b=c", "kiosk": True},
    }
    chat = await owner.client.call("POST", CREATE, json=body)
    detail = await owner.client.call("GET", chats_path(chat["id"]))
    assert detail["allow_control_requests"] is True
    assert detail["browser_config"] == body["browser_config"]


async def test_create_fills_missing_browser_config_fields_with_defaults(portal: Portal) -> None:
    """08 §25: browser defaults to chromium, start_url to null, kiosk to false."""
    owner = await premium(portal)
    chat = await owner.client.call(
        "POST", CREATE, json={"name": unique_name("c"), "browser_config": {"browser": "brave"}}
    )
    detail = await owner.client.call("GET", chats_path(chat["id"]))
    assert detail["browser_config"] == {"browser": "brave", "start_url": None, "kiosk": False}
    chat2 = await owner.client.call("POST", CREATE, json={"name": unique_name("c"), "browser_config": None})
    detail2 = await owner.client.call("GET", chats_path(chat2["id"]))
    assert detail2["browser_config"] == DEFAULT_CONFIG["browser_config"]


@pytest.mark.parametrize("browser", ["chromium", "firefox", "brave", "tor-browser"])
async def test_create_accepts_every_browser(portal: Portal, browser: str) -> None:
    owner = await premium(portal)
    chat = await owner.client.call(
        "POST", CREATE, json={"name": unique_name("c"), "browser_config": {"browser": browser}}
    )
    detail = await owner.client.call("GET", chats_path(chat["id"]))
    assert detail["browser_config"]["browser"] == browser


@pytest.mark.parametrize(
    "start_url",
    [None, "about:blank", "http://example.org", "https://example.org/" + "a" * (2048 - 20)],
    ids=["null", "about-blank", "http", "https-2048"],
)
async def test_create_accepts_start_url(portal: Portal, start_url: str | None) -> None:
    """08 §25: null, about:blank, or an http(s) URL of at most 2048 characters."""
    if start_url is not None and start_url.startswith("https"):
        assert len(start_url) == 2048
    owner = await premium(portal)
    chat = await owner.client.call(
        "POST", CREATE, json={"name": unique_name("c"), "browser_config": {"start_url": start_url}}
    )
    detail = await owner.client.call("GET", chats_path(chat["id"]))
    assert detail["browser_config"]["start_url"] == start_url


@pytest.mark.parametrize("length", [2, 64])
async def test_create_accepts_names_at_the_length_limits(portal: Portal, length: int) -> None:
    owner = await premium(portal)
    name = ("n" * length)[:length]
    chat = await owner.client.call("POST", CREATE, json={"name": name})
    assert chat["name"] == name


async def test_create_accepts_a_500_character_description(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await owner.client.call("POST", CREATE, json={"name": "desc", "description": "d" * 500})
    assert chat["description"] == "d" * 500


BAD_CREATE_BODIES: list[tuple[Any, str]] = [
    ({}, "name is required"),
    ({"name": "x"}, "name must be at least 2 characters"),
    ({"name": "x" * 65}, "name must be at most 64 characters"),
    ({"name": 42}, "name must be a string"),
    ({"name": None}, "name must be a string"),
    ({"name": "ok", "description": "d" * 501}, "description must be at most 500 characters"),
    ({"name": "ok", "description": 5}, "description must be a string"),
    ({"name": "ok", "allow_control_requests": "yes"}, "allow_control_requests must be a boolean"),
    ({"name": "ok", "allow_control_requests": 1}, "allow_control_requests must be a boolean"),
    ({"name": "ok", "browser_config": "chromium"}, "browser_config must be an object"),
    (
        {"name": "ok", "browser_config": {"browser": "safari"}},
        "browser_config.browser must be one of: chromium, firefox, brave, tor-browser",
    ),
    (
        {"name": "ok", "browser_config": {"browser": "Chromium"}},
        "browser_config.browser must be one of: chromium, firefox, brave, tor-browser",
    ),
    (
        {"name": "ok", "browser_config": {"start_url": "https://example.org/" + "a" * (2049 - 20)}},
        "browser_config.start_url must be at most 2048 characters",
    ),
    (
        {"name": "ok", "browser_config": {"start_url": "ftp://example.org/file"}},
        "browser_config.start_url must be an http(s) URL or about:blank",
    ),
    (
        {"name": "ok", "browser_config": {"start_url": "javascript:alert(1)"}},
        "browser_config.start_url must be an http(s) URL or about:blank",
    ),
    (
        {"name": "ok", "browser_config": {"start_url": "https://"}},
        "browser_config.start_url must be an http(s) URL or about:blank",
    ),
    ({"name": "ok", "browser_config": {"start_url": 5}}, "browser_config.start_url must be a string"),
    ({"name": "ok", "browser_config": {"kiosk": "no"}}, "browser_config.kiosk must be a boolean"),
    ({"name": "ok", "browser_config": {"gpu": True}}, "browser_config.gpu is not allowed"),
    ({"name": "ok", "visibility": "public"}, "visibility is not allowed"),
    ({"name": "ok", "slug": "abc"}, "slug is not allowed"),
    ([{"name": "ok"}], "Invalid request"),
    ("name", "Invalid request"),
]


@pytest.mark.parametrize(("body", "error"), BAD_CREATE_BODIES, ids=[e for _, e in BAD_CREATE_BODIES])
async def test_create_refuses_bad_bodies_and_creates_nothing(portal: Portal, body: Any, error: str) -> None:
    """08 §6, §7: the first invalid field in plain words; unknown fields are not allowed."""
    owner = await premium(portal)
    await expect_error(owner.client.call("POST", CREATE, json=body), 400, error)
    assert await owner.client.my_chats() == []


async def test_create_refuses_broken_json(portal: Portal) -> None:
    owner = await premium(portal)
    for raw in (b'{"name": "abc"', b"not json", b'{"name": "abc"}}'):
        response = await owner.client.raw(
            "POST", CREATE, content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["error"] == "Invalid request"
    assert await owner.client.my_chats() == []


async def test_create_requires_a_session_before_anything_else(portal: Portal) -> None:
    """08 §4: 401 first, even with a broken body."""
    anonymous = portal.client()
    await expect_error(anonymous.call("POST", CREATE, json={"name": "ok"}), 401, "Authentication required")
    response = await anonymous.raw("POST", CREATE, content=b"{", headers={"Content-Type": "application/json"})
    assert response.status_code == 401


async def test_create_is_refused_to_strangers(portal: Portal) -> None:
    stranger = await portal.stranger()
    await expect_error(stranger.client.call("POST", CREATE, json={"name": "ok"}), 403, "Access denied")


@pytest.mark.parametrize("level", ["user", "moderator"])
async def test_create_needs_premium_below_admin(portal: Portal, level: str) -> None:
    """03 §3.1, 00 §3.6: Basic users (and Basic Moderators) get 403 ERR_PREMIUM_REQUIRED."""
    basic = await portal.login(level)
    await expect_error(basic.client.call("POST", CREATE, json={"name": "ok"}), 403, "ERR_PREMIUM_REQUIRED")
    assert await basic.client.my_chats() == []


async def test_create_after_premium_expired_is_refused(portal: Portal) -> None:
    """A Premium past its expiry counts as Basic (applied lazily)."""
    owner = await portal.login("user", tier=2, duration_days=1)
    await portal.private_chat(owner)
    portal.server.clock.advance(DAY + 1)
    await expect_error(owner.client.call("POST", CREATE, json={"name": "ok"}), 403, "ERR_PREMIUM_REQUIRED")


SLOTS = [
    ("user", 1, 1),  # Trial
    ("user", 2, 3),  # Premium
    ("user", 3, 5),  # Lifetime
    ("moderator", 2, 3),  # a Moderator has their tier's slots (08 §58)
    ("moderator", 3, 5),
    ("admin", None, 10),  # PORTAL_ADMIN_CHAT_SLOTS
    ("admin", 3, 10),  # max(tier, 10)
]


@pytest.mark.parametrize(("level", "tier", "slots"), SLOTS, ids=[f"{a}-tier{b}" for a, b, _ in SLOTS])
async def test_create_stops_at_the_slot_limit(
    portal: Portal, level: str, tier: int | None, slots: int
) -> None:
    """00 §3.6, 08 §58: Trial 1, Premium 3, Lifetime 5, Admin 10; the next one is 409 ERR_CHAT_SLOT_LIMIT."""
    owner = await portal.login(level, tier=tier)
    for _ in range(slots):
        await portal.private_chat(owner)
    await expect_error(owner.client.call("POST", CREATE, json={"name": "over"}), 409, "ERR_CHAT_SLOT_LIMIT")
    assert len(await owner.client.my_chats()) == slots


async def test_owner_level_has_unlimited_slots(portal: Portal) -> None:
    owner = await portal.login("owner")
    for _ in range(12):
        await portal.private_chat(owner)
    assert len(await owner.client.my_chats()) == 12


async def test_public_and_official_chats_count_against_the_slots(portal: Portal) -> None:
    """08 §58: owned official/public/private chats all count."""
    owner = await premium(portal)  # 3 slots
    await portal.public_chat(owner)
    await portal.official_chat(owner.id)
    await portal.private_chat(owner)
    await expect_error(owner.client.call("POST", CREATE, json={"name": "over"}), 409, "ERR_CHAT_SLOT_LIMIT")


async def test_a_deleted_chat_frees_its_slot(portal: Portal) -> None:
    owner = await premium(portal, tier=1)  # Trial: 1 slot
    chat = await portal.private_chat(owner)
    await expect_error(owner.client.call("POST", CREATE, json={"name": "over"}), 409, "ERR_CHAT_SLOT_LIMIT")
    await owner.client.call("POST", chats_path(chat["id"], "/delete"))
    await portal.private_chat(owner)


async def test_the_slot_override_wins(portal: Portal) -> None:
    """00 §3.6: a per-user override column wins when set (also over Owner's unlimited)."""
    owner = await premium(portal)  # 3 slots
    await set_chat_slots_override(portal, owner.id, 1)
    await portal.private_chat(owner)
    await expect_error(owner.client.call("POST", CREATE, json={"name": "over"}), 409, "ERR_CHAT_SLOT_LIMIT")
    await set_chat_slots_override(portal, owner.id, 2)
    await portal.private_chat(owner)
    platform_owner = await portal.login("owner")
    await set_chat_slots_override(portal, platform_owner.id, 0)
    await expect_error(
        platform_owner.client.call("POST", CREATE, json={"name": "over"}), 409, "ERR_CHAT_SLOT_LIMIT"
    )


async def test_validation_comes_before_the_premium_and_slot_checks(portal: Portal) -> None:
    """08 §4: schema validation (400) before domain errors."""
    basic = await portal.login()
    await expect_error(
        basic.client.call("POST", CREATE, json={"name": "x"}), 400, "name must be at least 2 characters"
    )


# ---- GET /v1/portal/chats and /v1/users/me/chats --------------------------------------------------------


async def test_list_shows_official_and_public_chats_and_own_or_joined_private_ones(portal: Portal) -> None:
    """00 §3.8: official first, then by last_activity_at desc; others' private chats are not listed."""
    clock = portal.server.clock
    owner = await premium(portal)
    other = await premium(portal)
    viewer = await premium(portal)
    platform_owner = await portal.login("owner")

    official = await portal.official_chat(platform_owner.id)
    clock.advance(1)
    public = await portal.public_chat(owner)
    clock.advance(1)
    own_private = await portal.private_chat(viewer)
    clock.advance(1)
    joined_private = await portal.private_chat(other)
    await portal.invite_into(other, joined_private["id"], viewer)
    clock.advance(1)
    hidden = await portal.private_chat(other)

    listed = await viewer.client.call("GET", CREATE)
    ids = [c["id"] for c in listed]
    assert hidden["id"] not in ids
    mine = [i for i in ids if i in {official["id"], public["id"], own_private["id"], joined_private["id"]}]
    # joined_private was created last (its last activity is the latest), then own_private, then public
    assert mine == [official["id"], joined_private["id"], own_private["id"], public["id"]]
    assert ids.index(official["id"]) < min(ids.index(i) for i in mine[1:])
    officials = [c for c in listed if c["visibility"] == "official"]
    assert listed[: len(officials)] == officials  # every official chat comes first
    for entry in listed:
        assert set(entry) == CHAT_FIELDS
    entry = next(c for c in listed if c["id"] == public["id"])
    assert entry == expected_chat(
        public["id"], public["name"], owner, visibility="public", slug=public["slug"]
    )


async def test_list_follows_last_activity(portal: Portal, sockets: Any) -> None:
    """A system message (here: a join) moves a chat up among the non-official ones."""
    clock = portal.server.clock
    owner = await premium(portal)
    first = await portal.public_chat(owner)
    clock.advance(1)
    second = await portal.public_chat(owner)
    ids = [c["id"] for c in await owner.client.call("GET", CREATE)]
    assert ids.index(second["id"]) < ids.index(first["id"])
    clock.advance(1)
    await join_room(sockets, owner, first["id"])
    ids = [c["id"] for c in await owner.client.call("GET", CREATE)]
    assert ids.index(first["id"]) < ids.index(second["id"])


async def test_list_for_a_stranger_is_empty(portal: Portal) -> None:
    """08 §32: strangers see only their direct chats (none yet), not the public ones."""
    owner = await premium(portal)
    await portal.public_chat(owner)
    stranger = await portal.stranger()
    assert await stranger.client.call("GET", CREATE) == []


async def test_list_needs_a_session(portal: Portal) -> None:
    await expect_error(portal.client().call("GET", CREATE), 401, "Authentication required")


async def test_my_chats_lists_owned_group_chats(portal: Portal) -> None:
    """00 §3.8: owned group chats as `{id, name, is_public, visibility, created_at}`."""
    owner = await premium(portal)
    private = await portal.private_chat(owner)
    public = await portal.public_chat(owner)
    other = await premium(portal)
    joined = await portal.private_chat(other)
    await portal.invite_into(other, joined["id"], owner)
    mine = await owner.client.my_chats()
    assert [c["id"] for c in mine] == [private["id"], public["id"]]
    for entry in mine:
        assert set(entry) == {"id", "name", "is_public", "visibility", "created_at"}
        ts(entry["created_at"])
    assert (mine[0]["name"], mine[0]["is_public"], mine[0]["visibility"]) == (
        private["name"],
        False,
        "private",
    )
    assert (mine[1]["is_public"], mine[1]["visibility"]) == (True, "public")


# ---- GET /v1/portal/chats/{id} ---------------------------------------------------------------------------


async def test_get_shows_live_state_and_config_to_the_owner(portal: Portal) -> None:
    """00 §6, 08 §9: the chat object + live; managers also get the config."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner, description="hello")
    detail = await owner.client.call("GET", chats_path(chat["id"]))
    assert set(detail) == CHAT_FIELDS | {"live"} | CONFIG_FIELDS
    assert detail["live"] == {"running": False, "viewer_count": 0}
    assert {k: detail[k] for k in CHAT_FIELDS} == expected_chat(
        chat["id"], chat["name"], owner, description="hello"
    )


async def test_get_counts_viewers_in_the_room(portal: Portal, sockets: Any) -> None:
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    guest = await portal.login()
    await join_room(sockets, owner, chat["id"])
    await join_room(sockets, guest, chat["id"])
    await join_room(sockets, guest, chat["id"])  # a second socket of the same user counts once
    detail = await guest.client.call("GET", chats_path(chat["id"]))
    assert detail["live"] == {"running": False, "viewer_count": 2}


async def test_get_hides_the_config_from_non_managers(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    admin = await portal.login("admin")  # may see a private chat, but not manage it
    public = await portal.public_chat(owner)
    visitor = await portal.login()
    for who, chat_id in ((member, chat["id"]), (admin, chat["id"]), (visitor, public["id"])):
        detail = await who.client.call("GET", chats_path(chat_id))
        assert set(detail) == CHAT_FIELDS | {"live"}, who.user["username"]


async def test_get_shows_the_config_to_a_moderator_on_a_user_owned_public_chat(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    moderator = await portal.login("moderator")
    detail = await moderator.client.call("GET", chats_path(chat["id"]))
    assert set(detail) == CHAT_FIELDS | {"live"} | CONFIG_FIELDS


async def test_get_of_a_private_chat_is_for_owner_members_and_admins(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    outsider = await portal.login()
    moderator = await portal.login("moderator")
    await expect_error(outsider.client.call("GET", chats_path(chat["id"])), 403, "Access denied")
    await expect_error(moderator.client.call("GET", chats_path(chat["id"])), 403, "Access denied")
    for level in ("admin", "owner"):
        staff = await portal.login(level)
        assert (await staff.client.call("GET", chats_path(chat["id"])))["id"] == chat["id"]


async def test_get_errors(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    await expect_error(owner.client.call("GET", chats_path(2**31 + 5)), 404, "Chat not found")
    await expect_error(owner.client.call("GET", chats_path(999_999)), 404, "Chat not found")
    await expect_error(owner.client.call("GET", chats_path("abc")), 400, "chat_id must be an integer")
    await expect_error(portal.client().call("GET", chats_path(chat["id"])), 401, "Authentication required")
    stranger = await portal.stranger()
    await expect_error(stranger.client.call("GET", chats_path(chat["id"])), 403, "Access denied")


# ---- GET …/members ---------------------------------------------------------------------------------------


async def test_members_of_a_private_chat_owner_first(portal: Portal, sockets: Any) -> None:
    """08 §19: private → the owner first (role owner), then the members; `online` = in the room."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    first = await member_of(portal, owner, chat["id"])
    second = await member_of(portal, owner, chat["id"], level="moderator")
    await join_room(sockets, first, chat["id"])
    answer = await second.client.call("GET", chats_path(chat["id"], "/members"))
    assert set(answer) == {"members", "total"}
    assert answer["total"] == 3
    members = answer["members"]
    for entry in members:
        assert set(entry) == MEMBER_FIELDS
        assert set(entry["user"]) == MEMBER_USER_FIELDS
        ts(entry["joined_at"])
    assert members[0]["user"] == {**user_ref(owner), "permission_level": 0}
    assert (members[0]["role"], members[0]["online"]) == ("owner", False)
    rest = {m["user"]["id"]: m for m in members[1:]}
    assert set(rest) == {first.id, second.id}
    assert rest[first.id]["role"] == rest[second.id]["role"] == "member"
    assert rest[first.id]["online"] is True and rest[second.id]["online"] is False
    assert rest[second.id]["user"]["permission_level"] == 1


async def test_members_of_a_public_chat_are_the_owner_and_recent_joiners(portal: Portal) -> None:
    """08 §19: listed → the owner first, then users who last joined 24 h ago or less, newest first."""
    clock = portal.server.clock
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    old = await member_of(portal, owner, chat["id"])
    clock.advance(3600)
    new = await member_of(portal, owner, chat["id"])
    answer = await owner.client.call("GET", chats_path(chat["id"], "/members"))
    assert [m["user"]["id"] for m in answer["members"]] == [owner.id, new.id, old.id]
    assert [m["role"] for m in answer["members"]] == ["owner", "member", "member"]
    assert answer["total"] == 3

    old_joined = ts(next(m for m in answer["members"] if m["user"]["id"] == old.id)["joined_at"])
    clock.set(old_joined + timedelta(seconds=DAY - 2))  # old joined (almost) 24 h ago: still listed
    answer = await owner.client.call("GET", chats_path(chat["id"], "/members"))
    assert [m["user"]["id"] for m in answer["members"]] == [owner.id, new.id, old.id]
    clock.set(old_joined + timedelta(seconds=DAY + 1))
    answer = await owner.client.call("GET", chats_path(chat["id"], "/members"))
    assert [m["user"]["id"] for m in answer["members"]] == [owner.id, new.id]
    assert answer["total"] == 2
    assert old.id in await memberships(portal, chat["id"])  # the membership itself stays


async def test_members_access(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    outsider = await portal.login()
    await expect_error(outsider.client.call("GET", chats_path(chat["id"], "/members")), 403, "Access denied")
    admin = await portal.login("admin")
    assert (await admin.client.call("GET", chats_path(chat["id"], "/members")))["total"] == 1
    await expect_error(owner.client.call("GET", chats_path(999_999, "/members")), 404, "Chat not found")
    await expect_error(
        owner.client.call("GET", chats_path("x", "/members")), 400, "chat_id must be an integer"
    )
    stranger = await portal.stranger()
    public = await portal.public_chat(owner)
    await expect_error(
        stranger.client.call("GET", chats_path(public["id"], "/members")), 403, "Access denied"
    )


# ---- POST …/leave ---------------------------------------------------------------------------------------


async def test_leave_drops_the_membership_and_logs_it(portal: Portal) -> None:
    """08 §21: `{ok:true}`, the membership is gone, a `leave` activity row and "left the chat"."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    assert await member.client.call("POST", chats_path(chat["id"], "/leave")) == {"ok": True}
    assert member.id not in await memberships(portal, chat["id"])
    last = (await activity_rows(portal, chat["id"]))[-1]
    assert (last.user_id, last.action, last.method, last.invite_code, last.actor_id) == (
        member.id,
        "leave",
        None,
        None,
        None,
    )
    assert (await system_texts(portal, chat["id"]))[-1] == f"{member.user['username']} left the chat"
    # the chat is no longer theirs to see
    await expect_error(member.client.call("GET", chats_path(chat["id"])), 403, "Access denied")
    assert chat["id"] not in [c["id"] for c in await member.client.call("GET", CREATE)]
    # a second leave: no membership any more (08 §21: 404, though the chat is no longer visible)
    await expect_error(member.client.call("POST", chats_path(chat["id"], "/leave")), 404, "Member not found")


async def test_leaving_a_private_chat_unlists_it_on_every_socket(portal: Portal, sockets: Any) -> None:
    """08 §18, §21: the leaver's sockets leave the room and hear `room:destroyed` (they can't list it now)."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    watcher = await join_room(sockets, owner, chat["id"])
    lobby = sockets()
    await lobby.connect(token=member.client.session_token)
    await lobby.expect("chat:list")
    await join_room(sockets, member, chat["id"])
    await member.client.call("POST", chats_path(chat["id"], "/leave"))
    assert await lobby.expect("room:destroyed") == {"chat_id": chat["id"]}
    left = await watcher.expect("room:member_left")
    while left["user"]["id"] != member.id:
        left = await watcher.expect("room:member_left")
    members = await watcher.expect("room:members")
    while any(m["user"]["id"] == member.id for m in members["members"]):
        members = await watcher.expect("room:members")
    assert (await owner.client.call("GET", chats_path(chat["id"])))["live"]["viewer_count"] == 1


async def test_leave_does_not_rotate_the_epoch(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    member = await member_of(portal, owner, chat["id"])
    before = (await chat_row(portal, chat["id"])).epoch
    await member.client.call("POST", chats_path(chat["id"], "/leave"))
    assert (await chat_row(portal, chat["id"])).epoch == before


async def test_leave_works_on_public_chats(portal: Portal, sockets: Any) -> None:
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    member = await portal.login()
    watcher = await join_room(sockets, owner, chat["id"])
    await join_room(sockets, member, chat["id"])
    assert member.id in await memberships(portal, chat["id"])
    assert await member.client.call("POST", chats_path(chat["id"], "/leave")) == {"ok": True}
    assert member.id not in await memberships(portal, chat["id"])
    left = await watcher.expect("room:member_left")
    assert left == {"chat_id": chat["id"], "user": user_ref(member)}
    message = await watcher.expect("message:new")
    while message["content"] != f"{member.user['username']} left the chat":
        message = await watcher.expect("message:new")
    assert (message["type"], message["sender"]) == ("system", None)
    members = await watcher.expect("room:members")
    while any(m["user"]["id"] == member.id for m in members["members"]):
        members = await watcher.expect("room:members")
    detail = await owner.client.call("GET", chats_path(chat["id"]))
    assert detail["live"]["viewer_count"] == 1  # the leaver's sockets left the room; the owner stays
    await expect_error(member.client.call("POST", chats_path(chat["id"], "/leave")), 404, "Member not found")


async def test_leave_errors(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    public = await portal.public_chat(owner)
    await expect_error(
        owner.client.call("POST", chats_path(chat["id"], "/leave")), 409, "Chat owner cannot leave"
    )
    await expect_error(
        owner.client.call("POST", chats_path(public["id"], "/leave")), 409, "Chat owner cannot leave"
    )
    visitor = await portal.login()
    await expect_error(
        visitor.client.call("POST", chats_path(public["id"], "/leave")), 404, "Member not found"
    )
    # 08 §21: a caller with no membership gets 404, even on a private chat they cannot see
    await expect_error(visitor.client.call("POST", chats_path(chat["id"], "/leave")), 404, "Member not found")
    admin = await portal.login("admin")
    await expect_error(admin.client.call("POST", chats_path(chat["id"], "/leave")), 404, "Member not found")
    await expect_error(visitor.client.call("POST", chats_path(999_999, "/leave")), 404, "Chat not found")
    await expect_error(
        visitor.client.call("POST", chats_path("x", "/leave")), 400, "chat_id must be an integer"
    )
    stranger = await portal.stranger()
    await expect_error(stranger.client.call("POST", chats_path(public["id"], "/leave")), 403, "Access denied")
    await expect_error(
        portal.client().call("POST", chats_path(public["id"], "/leave")), 401, "Authentication required"
    )
    assert [r.action for r in await activity_rows(portal, chat["id"])] == []


# ---- POST …/delete ----------------------------------------------------------------------------------------


async def test_delete_destroys_the_chat_and_everything_in_it(portal: Portal) -> None:
    """03 §3.5: `{"message": "Chat '<name>' destroyed"}`; members, invites, messages, activity gone."""
    owner = await premium(portal)
    name = unique_name("doomed")
    chat = await portal.private_chat(owner, name=name)
    member = await member_of(portal, owner, chat["id"])
    await owner.client.call("POST", chats_path(chat["id"], "/invites"), json={})
    await owner.client.call("POST", chats_path(chat["id"], "/config/update"), json={"wipe_preset": "1h"})
    for model in (ChatMember, ChatInvite, Message, ChatActivity):
        assert await count_rows(portal, model, chat["id"]) > 0, model

    answer = await owner.client.call("POST", chats_path(chat["id"], "/delete"))
    assert answer == {"message": f"Chat '{name}' destroyed"}
    assert await chat_row(portal, chat["id"]) is None
    for model in (ChatMember, ChatInvite, Message, ChatActivity):
        assert await count_rows(portal, model, chat["id"]) == 0, model
    audit = (await audit_rows(portal, "CHAT_DELETE", chat["id"]))[-1]  # SQLite may reuse a deleted id
    assert (audit.actor_id, audit.event_metadata) == (owner.id, {"name": name})
    await expect_error(member.client.call("GET", chats_path(chat["id"])), 404, "Chat not found")
    await expect_error(owner.client.call("POST", chats_path(chat["id"], "/delete")), 404, "Chat not found")
    assert chat["id"] not in [c["id"] for c in await member.client.call("GET", CREATE)]


async def test_delete_tells_the_room(portal: Portal, sockets: Any) -> None:
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    viewer = await portal.login()
    probe = await join_room(sockets, viewer, chat["id"])
    await owner.client.call("POST", chats_path(chat["id"], "/delete"))
    assert await probe.expect("room:destroyed") == {"chat_id": chat["id"]}


async def test_delete_by_a_platform_owner_and_not_by_an_admin(portal: Portal) -> None:
    """00 §3.5: portal delete is for the owner or an Owner (3); admins use /v1/admin/chats."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    admin = await portal.login("admin")
    await expect_error(admin.client.call("POST", chats_path(chat["id"], "/delete")), 403, "Access denied")
    assert await chat_row(portal, chat["id"]) is not None
    platform_owner = await portal.login("owner")
    answer = await platform_owner.client.call("POST", chats_path(chat["id"], "/delete"))
    assert answer == {"message": f"Chat '{chat['name']}' destroyed"}
    audit = (await audit_rows(portal, "CHAT_DELETE", chat["id"]))[-1]  # SQLite may reuse a deleted id
    assert (audit.actor_id, audit.event_metadata) == (platform_owner.id, {"name": chat["name"]})


async def test_delete_errors(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    await expect_error(owner.client.call("POST", chats_path(999_999, "/delete")), 404, "Chat not found")
    await expect_error(
        owner.client.call("POST", chats_path("x", "/delete")), 400, "chat_id must be an integer"
    )
    await expect_error(
        portal.client().call("POST", chats_path(chat["id"], "/delete")), 401, "Authentication required"
    )
    stranger = await portal.stranger()
    await expect_error(stranger.client.call("POST", chats_path(chat["id"], "/delete")), 403, "Access denied")
    assert await chat_row(portal, chat["id"]) is not None


# ---- POST …/start and …/stop -----------------------------------------------------------------------


async def test_start_without_a_vm_backend_is_unavailable(portal: Portal) -> None:
    """00 §7: with no browser backend → 503 ERR_VM_UNAVAILABLE for those allowed to start."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    platform_owner = await portal.login("owner")
    async with node_like(portal.server, browser_backend="none") as node:
        for who in (owner, platform_owner):
            client = portal.client(base_url=node.base_url, session=who.client.session_token)
            await expect_error(
                client.call("POST", chats_path(chat["id"], "/start")), 503, "ERR_VM_UNAVAILABLE"
            )


async def test_stop_is_idempotent_for_owner_and_platform_owner(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    for _ in range(2):
        assert await owner.client.call("POST", chats_path(chat["id"], "/stop")) == {"ok": True}
    platform_owner = await portal.login("owner")
    assert await platform_owner.client.call("POST", chats_path(chat["id"], "/stop")) == {"ok": True}


@pytest.mark.parametrize("action", ["start", "stop"])
async def test_start_and_stop_are_refused_to_everyone_else(portal: Portal, action: str) -> None:
    """03 §3.3–3.4: owner or platform Owner; an Admin uses the admin API."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    private = await portal.private_chat(owner)
    member = await member_of(portal, owner, private["id"])
    path = chats_path(chat["id"], f"/{action}")
    for level in ("user", "moderator", "admin"):
        who = await portal.login(level)
        await expect_error(who.client.call("POST", path), 403, "Access denied")
    await expect_error(
        member.client.call("POST", chats_path(private["id"], f"/{action}")), 403, "Access denied"
    )
    stranger = await portal.stranger()
    await expect_error(stranger.client.call("POST", path), 403, "Access denied")
    await expect_error(portal.client().call("POST", path), 401, "Authentication required")
    await expect_error(owner.client.call("POST", chats_path(999_999, f"/{action}")), 404, "Chat not found")


# ---- GET …/activity ---------------------------------------------------------------------------------------


async def test_activity_lists_joins_leaves_and_kicks_newest_first(portal: Portal, sockets: Any) -> None:
    """03 §3.9, 08 §20, §63: event shapes; invite_code = code (invite), slug (vanity), null (direct)."""
    clock = portal.server.clock
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    by_invite = await portal.login()
    invite = await owner.client.call("POST", chats_path(chat["id"], "/invites"), json={})
    await by_invite.client.call("POST", f"/v1/portal/resolve/{invite['code']}")
    clock.advance(1)
    direct = await portal.login()
    await join_room(sockets, direct, chat["id"])
    clock.advance(1)
    vanity = await portal.login()
    await join_room(sockets, vanity, chat["id"], slug=chat["slug"])
    clock.advance(1)
    await by_invite.client.call("POST", chats_path(chat["id"], "/leave"))
    clock.advance(1)
    await owner.client.call("POST", chats_path(chat["id"], "/kick"), json={"user_id": direct.id})

    answer = await owner.client.call("GET", chats_path(chat["id"], "/activity"))
    assert set(answer) == {"events", "total", "offset", "limit"}
    assert (answer["total"], answer["offset"], answer["limit"]) == (5, 0, 50)
    events = answer["events"]
    for event in events:
        assert set(event) == ACTIVITY_FIELDS
        ts(event["created_at"])
    summary = [(e["user"]["id"], e["action"], e["method"], e["invite_code"]) for e in events]
    assert summary == [
        (direct.id, "kick", None, None),
        (by_invite.id, "leave", None, None),
        (vanity.id, "join", "vanity", chat["slug"]),
        (direct.id, "join", "direct", None),
        (by_invite.id, "join", "invite", invite["code"]),
    ]
    assert events[0]["user"] == user_ref(direct)
    assert events[0]["actor"] == user_ref(owner)
    assert all(e["actor"] is None for e in events[1:])
    times = [ts(e["created_at"]) for e in events]
    assert times == sorted(times, reverse=True)


async def test_activity_pages(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    joined = [await member_of(portal, owner, chat["id"]) for _ in range(3)]
    path = chats_path(chat["id"], "/activity")
    page = await owner.client.call("GET", path, params={"offset": 1, "limit": 1})
    assert (page["total"], page["offset"], page["limit"]) == (3, 1, 1)
    assert [e["user"]["id"] for e in page["events"]] == [joined[1].id]
    page = await owner.client.call("GET", path, params={"offset": 3, "limit": 100})
    assert page["events"] == [] and page["total"] == 3
    page = await owner.client.call("GET", path, params={"limit": 100})
    assert [e["user"]["id"] for e in page["events"]] == [m.id for m in reversed(joined)]


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"limit": 0}, "limit must be between 1 and 100"),
        ({"limit": 101}, "limit must be between 1 and 100"),
        ({"limit": "ten"}, "limit must be an integer"),
        ({"offset": -1}, "offset must be between 0 and 1000000000"),
        ({"offset": "x"}, "offset must be an integer"),
    ],
)
async def test_activity_query_limits(portal: Portal, params: dict[str, Any], error: str) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    await expect_error(
        owner.client.call("GET", chats_path(chat["id"], "/activity"), params=params), 400, error
    )


async def test_activity_errors(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    await expect_error(owner.client.call("GET", chats_path(999_999, "/activity")), 404, "Chat not found")
    await expect_error(
        portal.client().call("GET", chats_path(chat["id"], "/activity")), 401, "Authentication required"
    )
    stranger = await portal.stranger()
    await expect_error(stranger.client.call("GET", chats_path(chat["id"], "/activity")), 403, "Access denied")


# ---- GET /v1/portal/directory ------------------------------------------------------------------------------


async def test_directory_needs_no_sign_in_and_lists_official_first(portal: Portal) -> None:
    """00 §3.8: official + public group chats only, the chat object, official first; no auth at all."""
    owner = await premium(portal)
    platform_owner = await portal.login("owner")
    public = await portal.public_chat(owner)
    private = await portal.private_chat(owner)
    portal.server.clock.advance(1)
    official = await portal.official_chat(platform_owner.id)
    anonymous = portal.client(api_key=False)
    listed = await anonymous.call("GET", "/v1/portal/directory")
    ids = [c["id"] for c in listed]
    assert private["id"] not in ids
    assert ids.index(official["id"]) < ids.index(public["id"])
    assert {c["visibility"] for c in listed} <= {"official", "public"}
    officials = [c for c in listed if c["visibility"] == "official"]
    assert listed[: len(officials)] == officials
    entry = next(c for c in listed if c["id"] == public["id"])
    assert entry == expected_chat(
        public["id"], public["name"], owner, visibility="public", slug=public["slug"]
    )
    response = await anonymous.raw("GET", "/v1/portal/directory")
    assert response.headers["X-RateLimit-Limit"] == "120"  # the PUBLIC tier (08 §61)


async def test_directory_entry_by_slug(portal: Portal) -> None:
    owner = await premium(portal)
    public = await portal.public_chat(owner)
    platform_owner = await portal.login("owner")
    official = await portal.official_chat(platform_owner.id)
    anonymous = portal.client(api_key=False)
    entry = await anonymous.call("GET", f"/v1/portal/directory/{public['slug']}")
    assert entry == expected_chat(
        public["id"], public["name"], owner, visibility="public", slug=public["slug"]
    )
    entry = await anonymous.call("GET", f"/v1/portal/directory/{official['slug']}")
    assert (entry["id"], entry["visibility"], entry["slug"]) == (official["id"], "official", official["slug"])
    await expect_error(anonymous.call("GET", "/v1/portal/directory/no-such-slug"), 404, "Chat not found")
    # made private again: the slug is gone and so is the entry
    await owner.client.call("POST", chats_path(public["id"], "/config/update"), json={"slug": None})
    await expect_error(anonymous.call("GET", f"/v1/portal/directory/{public['slug']}"), 404, "Chat not found")


# ---- GET /v1/portal/status --------------------------------------------------------------------------------


async def test_status_lists_users_with_a_connected_socket(portal: Portal, sockets: Any) -> None:
    """03 §2.8, 08 §43: `{online, users:[{user_id:int, username}], muted:false}`, by username."""
    caller = await portal.login()
    before = await caller.client.call("GET", "/v1/portal/status")
    assert set(before) == {"online", "users", "muted"}
    assert before["muted"] is False
    online_before = {u["user_id"] for u in before["users"]}

    alice, bob = await portal.login(), await portal.login()
    stranger = await portal.stranger()
    probes = []
    for who in (alice, bob, bob, stranger):  # bob twice: one entry; strangers are never listed
        probe = sockets()
        await probe.connect(token=who.client.session_token)
        await probe.expect("chat:list")
        probes.append(probe)
    after = await caller.client.call("GET", "/v1/portal/status")
    new = [u for u in after["users"] if u["user_id"] not in online_before]
    assert sorted(new, key=lambda u: u["user_id"]) == sorted(
        [
            {"user_id": alice.id, "username": alice.user["username"]},
            {"user_id": bob.id, "username": bob.user["username"]},
        ],
        key=lambda u: u["user_id"],
    )
    assert all(isinstance(u["user_id"], int) for u in after["users"])
    assert after["online"] == len(after["users"]) == before["online"] + 2
    names = [u["username"].lower() for u in after["users"]]
    assert names == sorted(names)

    await probes[0].close()
    await probes[1].close()  # bob still has one socket
    for _ in range(50):
        final = await caller.client.call("GET", "/v1/portal/status")
        if alice.id not in {u["user_id"] for u in final["users"]}:
            break
        await probes[2].call("presence:ping", {})  # let the server process the disconnect
    ids = {u["user_id"] for u in final["users"]}
    assert alice.id not in ids and bob.id in ids


async def test_status_access(portal: Portal) -> None:
    await expect_error(portal.client().call("GET", "/v1/portal/status"), 401, "Authentication required")
    stranger = await portal.stranger()
    await expect_error(stranger.client.call("GET", "/v1/portal/status"), 403, "Access denied")


# ---- GET /v1/statistics/chats ------------------------------------------------------------------------------


async def test_chat_statistics_count_group_chats(portal: Portal) -> None:
    """03 §6.3, 08 §43: public_count = official + public, total_count = public + private."""
    reader = portal.client()
    before = await reader.call("GET", "/v1/statistics/chats")
    assert set(before) == {"total_count", "public_count", "private_count"}
    owner = await premium(portal, tier=3)
    platform_owner = await portal.login("owner")
    await portal.private_chat(owner)
    await portal.private_chat(owner)
    await portal.public_chat(owner)
    await portal.official_chat(platform_owner.id)
    after = await reader.call("GET", "/v1/statistics/chats")
    assert after == {
        "total_count": before["total_count"] + 4,
        "public_count": before["public_count"] + 2,
        "private_count": before["private_count"] + 2,
    }
    assert after["total_count"] == after["public_count"] + after["private_count"]


async def test_chat_statistics_need_the_public_key(portal: Portal) -> None:
    await expect_error(
        portal.client(api_key=False).call("GET", "/v1/statistics/chats"), 401, "Invalid API key"
    )
    await expect_error(
        portal.client(api_key="wrong").call("GET", "/v1/statistics/chats"), 401, "Invalid API key"
    )


async def test_concurrent_creates_stop_at_the_slot_limit(portal: Portal) -> None:
    """The slot check holds when creations race (one user's creations are serialised)."""
    owner = await premium(portal)  # 3 slots
    await portal.private_chat(owner)

    async def attempt(i: int) -> Any:
        try:
            await owner.client.call("POST", CREATE, json={"name": f"race-{i}"})
        except PortalAPIError as exc:
            return exc.status, exc.error
        return 200

    results = await asyncio.gather(*[attempt(i) for i in range(4)])
    assert sorted(results, key=str) == sorted(
        [200, 200, (409, "ERR_CHAT_SLOT_LIMIT"), (409, "ERR_CHAT_SLOT_LIMIT")], key=str
    )
    assert len(await owner.client.my_chats()) == 3


async def test_user_objects_carry_the_users_avatar(portal: Portal) -> None:
    """The owner, member and activity user objects show the same avatar_url as the user's profile."""
    owner = await premium(portal)
    await owner.client.update_me(avatar_source="discord_1")
    avatar = (await owner.client.me())["avatar_url"]
    assert avatar
    chat = await portal.public_chat(owner)
    member = await portal.login()
    await member.client.update_me(avatar_source="discord_2")
    member_avatar = (await member.client.me())["avatar_url"]
    await portal.invite_into(owner, chat["id"], member)
    listed = next(c for c in await member.client.call("GET", CREATE) if c["id"] == chat["id"])
    assert listed["owner"] == {"id": owner.id, "username": owner.user["username"], "avatar_url": avatar}
    assert (await member.client.call("GET", chats_path(chat["id"])))["owner"]["avatar_url"] == avatar
    members = (await member.client.call("GET", chats_path(chat["id"], "/members")))["members"]
    assert [m["user"]["avatar_url"] for m in members] == [avatar, member_avatar]
    [event] = (await owner.client.call("GET", chats_path(chat["id"], "/activity")))["events"]
    assert event["user"]["avatar_url"] == member_avatar


async def test_staff_do_not_list_other_users_private_chats(portal: Portal) -> None:
    """00 §3.8: listing has no rank rule; Admins may open a private chat but it is not in their list."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    for level in ("moderator", "admin", "owner"):
        staff = await portal.login(level)
        assert chat["id"] not in [c["id"] for c in await staff.client.call("GET", CREATE)]
