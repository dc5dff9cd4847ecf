"""`POST /v1/portal/chats/{id}/config/update`: partial config, slug and visibility, wipe presets, name.

Spec: 03 §3.6, 00 §3.5, 08 §4, §6, §7, §11, §16–18, §23, §39, §63. Who may call it is in
tests/api/test_chat_permissions.py.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest

from tests.api.chats_support import (  # noqa: F401  (the `sockets` fixture)
    CONFIG_FIELDS,
    DEFAULT_CONFIG,
    audit_rows,
    chat_row,
    chats_path,
    join_room,
    member_of,
    memberships,
    premium,
    sockets_fixture,
    system_texts,
)
from tests.helpers import LoggedIn, Portal, expect_error

OK = {"message": "Room config updated"}
FLAGS = (
    "history_visible",
    "allow_control_requests",
    "locked_controls",
    "implicit_hosting",
    "inactive_cursors",
)


def config_path(chat_id: int | str) -> str:
    return chats_path(chat_id, "/config/update")


def new_slug(prefix: str = "s") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def config_of(who: LoggedIn, chat_id: int) -> dict[str, Any]:
    detail = await who.client.call("GET", chats_path(chat_id))
    return {name: detail[name] for name in CONFIG_FIELDS}


# ---- the flags -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", FLAGS)
async def test_each_flag_changes_alone(portal: Portal, flag: str) -> None:
    """03 §3.6: only the fields sent are applied."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    value = not DEFAULT_CONFIG[flag]
    assert await owner.client.call("POST", config_path(chat["id"]), json={flag: value}) == OK
    assert await config_of(owner, chat["id"]) == {**DEFAULT_CONFIG, flag: value}
    assert await owner.client.call("POST", config_path(chat["id"]), json={flag: not value}) == OK
    assert await config_of(owner, chat["id"]) == DEFAULT_CONFIG


async def test_several_fields_at_once_and_an_empty_body(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    body = {flag: True for flag in FLAGS} | {"history_visible": False, "wipe_preset": "4h"}
    assert await owner.client.call("POST", config_path(chat["id"]), json=body) == OK
    expected = {**DEFAULT_CONFIG, **body}
    assert await config_of(owner, chat["id"]) == expected
    assert await owner.client.call("POST", config_path(chat["id"]), json={}) == OK
    assert await config_of(owner, chat["id"]) == expected


async def test_an_update_writes_a_chat_update_audit_row(portal: Portal) -> None:
    """00 §6, 08 §39: CHAT_UPDATE, entity chat, written whoever acts (chat owners included)."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    await owner.client.call(
        "POST", config_path(chat["id"]), json={"locked_controls": True, "name": "renamed"}
    )
    [row] = await audit_rows(portal, "CHAT_UPDATE", chat["id"])
    assert row.actor_id == owner.id
    assert row.event_metadata == {"fields": ["locked_controls", "name"]}


async def test_an_update_that_changes_nothing_writes_no_audit_row(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    await owner.client.call("POST", config_path(chat["id"]), json={"locked_controls": False})
    assert await audit_rows(portal, "CHAT_UPDATE", chat["id"]) == []


async def test_an_update_tells_the_room(portal: Portal, sockets: Any) -> None:
    """08 §18, §63: `room:config {chat_id, …changed fields}`."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    probe = await join_room(sockets, owner, chat["id"])
    await owner.client.call(
        "POST",
        config_path(chat["id"]),
        json={"history_visible": False, "allow_control_requests": False, "wipe_preset": "1h"},
    )
    # allow_control_requests was already false: not a change
    assert await probe.expect("room:config") == {
        "chat_id": chat["id"],
        "history_visible": False,
        "wipe_preset": "1h",
    }


# ---- name ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [2, 64])
async def test_rename_at_the_length_limits(portal: Portal, length: int) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    name = "r" * length
    assert await owner.client.call("POST", config_path(chat["id"]), json={"name": name}) == OK
    assert (await owner.client.call("GET", chats_path(chat["id"])))["name"] == name
    assert name in [c["name"] for c in await owner.client.my_chats()]


# ---- slug and visibility ---------------------------------------------------------------------------


async def test_a_slug_makes_a_private_chat_public(portal: Portal, sockets: Any) -> None:
    """03 §3.6: setting a slug promotes the chat to public; it shows in the directory."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    probe = await join_room(sockets, owner, chat["id"])
    slug = new_slug()
    assert await owner.client.call("POST", config_path(chat["id"]), json={"slug": slug}) == OK
    detail = await owner.client.call("GET", chats_path(chat["id"]))
    assert (detail["visibility"], detail["slug"]) == ("public", slug)
    assert (await portal.client().call("GET", f"/v1/portal/directory/{slug}"))["id"] == chat["id"]
    assert await probe.expect("room:config") == {"chat_id": chat["id"], "slug": slug, "visibility": "public"}
    outsider = await portal.login()
    assert (await outsider.client.call("GET", chats_path(chat["id"])))["visibility"] == "public"
    [row] = await audit_rows(portal, "CHAT_UPDATE", chat["id"])
    assert row.event_metadata == {"fields": ["slug", "visibility"]}


async def test_changing_the_slug_of_a_public_chat_keeps_it_public(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    slug = new_slug()
    await owner.client.call("POST", config_path(chat["id"]), json={"slug": slug})
    detail = await owner.client.call("GET", chats_path(chat["id"]))
    assert (detail["visibility"], detail["slug"]) == ("public", slug)
    await expect_error(
        portal.client().call("GET", f"/v1/portal/directory/{chat['slug']}"), 404, "Chat not found"
    )


async def test_a_null_slug_makes_the_chat_private_again(portal: Portal, sockets: Any) -> None:
    """03 §3.6, 08 §18, §23: slug null → private; non-members' sockets (not Admin+) are removed."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    visitor, admin = await portal.login(), await portal.login("admin")
    member = await member_of(portal, owner, chat["id"])
    watcher = await join_room(sockets, owner, chat["id"])
    visitor_socket = await join_room(sockets, visitor, chat["id"])
    admin_socket = await join_room(sockets, admin, chat["id"])
    member_socket = await join_room(sockets, member, chat["id"])

    assert await owner.client.call("POST", config_path(chat["id"]), json={"slug": None}) == OK
    detail = await owner.client.call("GET", chats_path(chat["id"]))
    assert (detail["visibility"], detail["slug"]) == ("private", None)
    assert await watcher.expect("room:config") == {
        "chat_id": chat["id"],
        "slug": None,
        "visibility": "private",
    }
    assert await visitor_socket.expect("room:kicked") == {"chat_id": chat["id"], "reason": "chat is private"}
    assert await visitor_socket.expect("room:destroyed") == {"chat_id": chat["id"]}
    await expect_error(visitor.client.call("GET", chats_path(chat["id"])), 403, "Access denied")
    assert chat["id"] not in [c["id"] for c in await visitor.client.call("GET", "/v1/portal/chats")]
    left = await watcher.expect("room:member_left")
    assert left["user"]["id"] == visitor.id
    # joins of the public chat were memberships of a viewer: only the invited member keeps one
    assert set(await memberships(portal, chat["id"])) == {member.id}
    # the member keeps the chat; the admin stays in the room
    assert chat["id"] in [c["id"] for c in await member.client.call("GET", "/v1/portal/chats")]
    detail = await owner.client.call("GET", chats_path(chat["id"]))
    assert detail["live"]["viewer_count"] == 3
    assert member_socket.events["room:kicked"].empty() and admin_socket.events["room:kicked"].empty()
    slugs = {c["slug"] for c in await portal.client().call("GET", "/v1/portal/directory")}
    assert chat["slug"] not in slugs


async def test_a_null_slug_on_a_private_chat_changes_nothing(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    assert await owner.client.call("POST", config_path(chat["id"]), json={"slug": None}) == OK
    assert (await chat_row(portal, chat["id"])).visibility == "private"
    assert await audit_rows(portal, "CHAT_UPDATE", chat["id"]) == []


async def test_an_official_chat_may_change_its_slug_but_not_clear_it(portal: Portal) -> None:
    """08 §23: official chats keep a slug (400 "slug is required for public chats"); they stay official."""
    platform_owner = await portal.login("owner")
    chat = await portal.official_chat(platform_owner.id)
    await expect_error(
        platform_owner.client.call("POST", config_path(chat["id"]), json={"slug": None, "name": "changed"}),
        400,
        "slug is required for public chats",
    )
    row = await chat_row(portal, chat["id"])
    assert (row.visibility, row.slug, row.name) == ("official", chat["slug"], chat["name"])
    slug = new_slug("off")
    assert await platform_owner.client.call("POST", config_path(chat["id"]), json={"slug": slug}) == OK
    detail = await platform_owner.client.call("GET", chats_path(chat["id"]))
    assert (detail["visibility"], detail["slug"]) == ("official", slug)


async def test_a_taken_slug_is_refused_and_nothing_changes(portal: Portal) -> None:
    """ERR_SLUG_TAKEN (409); the rest of the request is not applied either."""
    owner = await premium(portal)
    taken = await portal.public_chat(owner)
    chat = await portal.private_chat(owner)
    body = {"slug": taken["slug"], "name": "renamed", "wipe_preset": "1h", "locked_controls": True}
    await expect_error(owner.client.call("POST", config_path(chat["id"]), json=body), 409, "ERR_SLUG_TAKEN")
    row = await chat_row(portal, chat["id"])
    assert (row.visibility, row.slug, row.name, row.wipe_preset, row.locked_controls) == (
        "private",
        None,
        chat["name"],
        None,
        False,
    )
    assert await system_texts(portal, chat["id"]) == []
    assert await audit_rows(portal, "CHAT_UPDATE", chat["id"]) == []
    platform_owner = await portal.login("owner")
    official = await portal.official_chat(platform_owner.id)
    await expect_error(
        owner.client.call("POST", config_path(chat["id"]), json={"slug": official["slug"]}),
        409,
        "ERR_SLUG_TAKEN",
    )


async def test_a_chat_may_send_its_own_slug_again(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    assert await owner.client.call("POST", config_path(chat["id"]), json={"slug": chat["slug"]}) == OK
    assert (await chat_row(portal, chat["id"])).slug == chat["slug"]


async def test_a_two_character_slug_is_accepted(portal: Portal) -> None:
    """03 §1.4: slugs are 2–32 characters (slugs are unique, so pick a free 2-character one)."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-"
    for _ in range(10):
        slug = secrets.choice(alphabet) + secrets.choice(alphabet)
        response = await owner.client.raw("POST", config_path(chat["id"]), json={"slug": slug})
        if response.status_code != 409:
            break
        assert response.json()["error"] == "ERR_SLUG_TAKEN"
    assert response.status_code == 200, response.json()
    assert (await chat_row(portal, chat["id"])).slug == slug


@pytest.mark.parametrize(
    "slug",
    [
        lambda: secrets.token_hex(16),
        lambda: "a-1-" + secrets.token_hex(3),
        lambda: "--" + secrets.token_hex(3),
    ],
    ids=["32-chars", "hyphens-and-digits", "leading-hyphens"],
)
async def test_slugs_that_are_accepted(portal: Portal, slug: Any) -> None:
    """Lowercase letters, digits and hyphens (the admin-create rule, 03 §1.4)."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    value = slug()
    assert await owner.client.call("POST", config_path(chat["id"]), json={"slug": value}) == OK
    assert (await chat_row(portal, chat["id"])).slug == value


# ---- wipe presets ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["1m", "15m", "1h", "4h", "24h"])
async def test_a_wipe_preset_is_stored_and_announced(portal: Portal, preset: str) -> None:
    """03 §3.6, 08 §17: the preset is stored and the chat gets "Auto-wipe set to {preset}"."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    assert await owner.client.call("POST", config_path(chat["id"]), json={"wipe_preset": preset}) == OK
    assert (await config_of(owner, chat["id"]))["wipe_preset"] == preset
    assert await system_texts(portal, chat["id"]) == [f"Auto-wipe set to {preset}"]


async def test_a_null_wipe_preset_turns_auto_wipe_off(portal: Portal, sockets: Any) -> None:
    """08 §11, §17: null switches auto-wipe off: "Auto-wipe turned off" (seen live as message:new)."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    await owner.client.call("POST", config_path(chat["id"]), json={"wipe_preset": "15m"})
    probe = await join_room(sockets, owner, chat["id"])
    assert await owner.client.call("POST", config_path(chat["id"]), json={"wipe_preset": None}) == OK
    assert (await config_of(owner, chat["id"]))["wipe_preset"] is None
    joined = await probe.expect("message:new")  # the joiner sees its own "joined the chat" first
    assert joined["content"].endswith("joined the chat")
    message = await probe.expect("message:new")
    assert (message["type"], message["sender"], message["content"]) == (
        "system",
        None,
        "Auto-wipe turned off",
    )
    assert message["chat_id"] == chat["id"] and message["epoch"] == "0000000000000000"
    assert await system_texts(portal, chat["id"]) == [
        "Auto-wipe set to 15m",
        f"{owner.user['username']} joined the chat",
        "Auto-wipe turned off",
    ]


async def test_setting_the_same_preset_again_restarts_the_timer(portal: Portal) -> None:
    """03 §3.6: setting a preset restarts the wipe timer (and posts the message again)."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    await owner.client.call("POST", config_path(chat["id"]), json={"wipe_preset": "1h"})
    first = (await chat_row(portal, chat["id"])).wipe_anchor_at
    portal.server.clock.advance(600)
    await owner.client.call("POST", config_path(chat["id"]), json={"wipe_preset": "1h"})
    second = (await chat_row(portal, chat["id"])).wipe_anchor_at
    assert first is not None and second is not None
    assert (second - first).total_seconds() >= 600
    assert await system_texts(portal, chat["id"]) == ["Auto-wipe set to 1h", "Auto-wipe set to 1h"]


# ---- bad input ---------------------------------------------------------------------------------------------

BAD_BODIES: list[tuple[Any, str]] = [
    ({"wipe_preset": "2h"}, "wipe_preset must be one of: 1m, 15m, 1h, 4h, 24h"),
    ({"wipe_preset": "1H"}, "wipe_preset must be one of: 1m, 15m, 1h, 4h, 24h"),
    ({"wipe_preset": 60}, "wipe_preset must be a string"),
    ({"history_visible": "false"}, "history_visible must be a boolean"),
    ({"history_visible": 0}, "history_visible must be a boolean"),
    ({"history_visible": None}, "history_visible must be a boolean"),
    ({"allow_control_requests": None}, "allow_control_requests must be a boolean"),
    ({"locked_controls": "yes"}, "locked_controls must be a boolean"),
    ({"implicit_hosting": []}, "implicit_hosting must be a boolean"),
    ({"inactive_cursors": None}, "inactive_cursors must be a boolean"),
    ({"slug": "a"}, "slug must be at least 2 characters"),
    ({"slug": "a" * 33}, "slug must be at most 32 characters"),
    ({"slug": "Movie"}, "slug contains invalid characters"),
    ({"slug": "movie_night"}, "slug contains invalid characters"),
    ({"slug": "movie night"}, "slug contains invalid characters"),
    ({"slug": "kino-ü"}, "slug contains invalid characters"),
    ({"slug": 12}, "slug must be a string"),
    ({"name": "x"}, "name must be at least 2 characters"),
    ({"name": "x" * 65}, "name must be at most 64 characters"),
    ({"name": None}, "name must be a string"),
    ({"name": 5}, "name must be a string"),
    ({"visibility": "public"}, "visibility is not allowed"),
    ({"description": "new"}, "description is not allowed"),
    ({"browser_config": {"browser": "brave"}}, "browser_config is not allowed"),
    ({"wipe": "1h"}, "wipe is not allowed"),
    ([], "Invalid request"),
    ("slug", "Invalid request"),
    (None, "Invalid request"),
]


@pytest.mark.parametrize(
    ("body", "error"), BAD_BODIES, ids=[f"{i}-{e}" for i, (_, e) in enumerate(BAD_BODIES)]
)
async def test_bad_bodies_change_nothing(portal: Portal, body: Any, error: str) -> None:
    """08 §6, §7: 400 with the first invalid field; nothing is applied."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    bad = {"locked_controls": True, **body} if isinstance(body, dict) else body
    await expect_error(owner.client.call("POST", config_path(chat["id"]), json=bad), 400, error)
    detail = await owner.client.call("GET", chats_path(chat["id"]))
    assert {name: detail[name] for name in CONFIG_FIELDS} == DEFAULT_CONFIG
    assert (detail["name"], detail["slug"], detail["visibility"]) == (chat["name"], chat["slug"], "public")
    assert await system_texts(portal, chat["id"]) == []


async def test_broken_json_is_an_invalid_request(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    for raw in (b'{"wipe_preset": "1h"', b"wipe_preset=1h", b"\xff"):
        response = await owner.client.raw(
            "POST", config_path(chat["id"]), content=raw, headers={"Content-Type": "application/json"}
        )
        assert (response.status_code, response.json()["error"]) == (400, "Invalid request")
    assert (await chat_row(portal, chat["id"])).wipe_preset is None


async def test_validation_comes_before_the_chat_lookup_and_permissions(portal: Portal) -> None:
    """08 §4: 401, then 400 (the body), then 404, then 403."""
    outsider = await portal.login()
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    bad = {"history_visible": None}
    await expect_error(
        portal.client().call("POST", config_path(chat["id"]), json=bad), 401, "Authentication required"
    )
    await expect_error(
        outsider.client.call("POST", config_path(999_999), json=bad), 400, "history_visible must be a boolean"
    )
    await expect_error(
        outsider.client.call("POST", config_path(chat["id"]), json=bad),
        400,
        "history_visible must be a boolean",
    )
    await expect_error(outsider.client.call("POST", config_path(999_999), json={}), 404, "Chat not found")
    await expect_error(outsider.client.call("POST", config_path(chat["id"]), json={}), 403, "Access denied")
    await expect_error(
        outsider.client.call("POST", config_path("x"), json={}), 400, "chat_id must be an integer"
    )
    stranger = await portal.stranger()
    await expect_error(stranger.client.call("POST", config_path(chat["id"]), json={}), 403, "Access denied")


async def test_two_chats_racing_for_one_slug(portal: Portal) -> None:
    """One wins; the other gets ERR_SLUG_TAKEN (never a 500) and keeps its old state."""
    owner = await premium(portal)
    first, second = await portal.private_chat(owner), await portal.private_chat(owner)
    slug = new_slug("race")

    async def attempt(chat_id: int) -> Any:
        response = await owner.client.raw(
            "POST", config_path(chat_id), json={"slug": slug, "wipe_preset": "1h", "name": "racer"}
        )
        return response.status_code, response.json().get("error")

    results = await asyncio.gather(attempt(first["id"]), attempt(second["id"]))
    assert sorted(results, key=str) == sorted([(200, None), (409, "ERR_SLUG_TAKEN")], key=str)
    rows = [await chat_row(portal, chat["id"]) for chat in (first, second)]
    winner, loser = rows if rows[0].slug == slug else rows[::-1]
    assert (winner.visibility, winner.name, winner.wipe_preset) == ("public", "racer", "1h")
    assert (loser.slug, loser.visibility, loser.wipe_preset) == (None, "private", None)
    assert await system_texts(portal, loser.id) == []
