"""`POST /v1/admin/chats/{id}/update`: partial changes, slug and visibility rules, rank, audit, events.

Spec: 03 §2.3, §4.4; 06 §7.4; 00 §3.5; 08 §4, §6, §18, §23, §24, §39, §49, §63.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.admin_chats_support import (  # noqa: F401  (the `sockets` fixture)
    ADMIN_CHAT_FIELDS,
    BASE,
    DEFAULT_BROWSER_CONFIG,
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


async def admin_update(who: LoggedIn, chat_id: int, body: Any) -> dict[str, Any]:
    return dict(await who.client.call("POST", f"{BASE}/{chat_id}/update", json=body))


# ---- fields -----------------------------------------------------------------------------------------


async def test_update_changes_only_the_fields_sent_and_answers_the_chat(portal: Portal) -> None:
    admin = await portal.login("admin")
    owner, chat = await chat_of(portal, "user", visibility="public")
    before = await admin_chat(admin, chat["id"])
    portal.server.clock.advance(30)

    name = unique_name("renamed")
    after = await admin_update(admin, chat["id"], {"name": name})
    assert set(after) == ADMIN_CHAT_FIELDS
    assert after == {**before, "name": name, "updated_at": after["updated_at"]}
    assert (ts(after["updated_at"]) - ts(before["updated_at"])).total_seconds() >= 30
    assert await admin_chat(admin, chat["id"]) == after

    after2 = await admin_update(admin, chat["id"], {"label": "Verified", "description": "About films"})
    assert (after2["label"], after2["description"], after2["name"]) == ("Verified", "About films", name)
    # The portal's own view follows.
    portal_view = await owner.client.call("GET", f"/v1/portal/chats/{chat['id']}")
    assert (portal_view["name"], portal_view["label"], portal_view["description"]) == (
        name,
        "Verified",
        "About films",
    )


async def test_label_and_description_null_clear_them(portal: Portal) -> None:
    admin = await portal.login("admin")
    _, chat = await chat_of(portal, "user", visibility="public")
    await admin_update(admin, chat["id"], {"label": "Partner", "description": "text"})
    cleared = await admin_update(admin, chat["id"], {"label": None, "description": None})
    assert (cleared["label"], cleared["description"]) == (None, None)
    assert cleared["visibility"] == "public" and cleared["slug"] == chat["slug"]


async def test_an_empty_update_changes_nothing_and_writes_no_audit(portal: Portal) -> None:
    admin = await portal.login("admin")
    _, chat = await chat_of(portal, "user", visibility="public")
    before = await admin_chat(admin, chat["id"])
    portal.server.clock.advance(10)
    assert await admin_update(admin, chat["id"], {}) == before
    # Sending the current values is no change either.
    same = {"name": before["name"], "slug": before["slug"], "visibility": "public", "label": None}
    assert await admin_update(admin, chat["id"], same) == before
    assert not [
        row for row in await audit_rows(portal, "CHAT_UPDATE", chat["id"]) if row.actor_id == admin.id
    ]


async def test_update_with_no_body_is_400(portal: Portal) -> None:
    admin = await portal.login("admin")
    _, chat = await chat_of(portal, "user", visibility="public")
    response = await admin.client.raw("POST", f"{BASE}/{chat['id']}/update")
    assert response.status_code == 400 and response.json()["error"] == "Invalid request"


async def test_browser_config_changes_only_the_keys_sent(portal: Portal) -> None:
    admin = await portal.login("admin")
    _, chat = await chat_of(portal, "user", visibility="public")
    path = f"{BASE}/{chat['id']}"
    assert (await admin.client.call("GET", path))["browser_config"] == DEFAULT_BROWSER_CONFIG

    full = {"browser": "firefox", "start_url": "https://example.org/", "kiosk": True}
    await admin_update(admin, chat["id"], {"browser_config": full})
    assert (await admin.client.call("GET", path))["browser_config"] == full

    await admin_update(admin, chat["id"], {"browser_config": {"kiosk": False}})
    assert (await admin.client.call("GET", path))["browser_config"] == {**full, "kiosk": False}
    await admin_update(admin, chat["id"], {"browser_config": {"start_url": None, "browser": "brave"}})
    assert (await admin.client.call("GET", path))["browser_config"] == {
        "browser": "brave",
        "start_url": None,
        "kiosk": False,
    }
    await admin_update(admin, chat["id"], {"browser_config": {"start_url": "about:blank"}})
    assert (await admin.client.call("GET", path))["browser_config"]["start_url"] == "about:blank"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"name": "x"}, "name must be at least 2 characters"),
        ({"name": "x" * 65}, "name must be at most 64 characters"),
        ({"name": None}, "name must be a string"),
        ({"name": 12}, "name must be a string"),
        ({"visibility": "secret"}, "visibility must be one of: official, public, private"),
        ({"visibility": "Public"}, "visibility must be one of: official, public, private"),
        ({"visibility": None}, "visibility must be a string"),
        ({"visibility": 1}, "visibility must be a string"),
        ({"label": 5}, "label must be a string"),
        ({"label": ["a"]}, "label must be a string"),
        ({"description": "d" * 501}, "description must be at most 500 characters"),
        ({"description": False}, "description must be a string"),
        ({"slug": "a"}, "slug must be at least 2 characters"),
        ({"slug": "a" * 33}, "slug must be at most 32 characters"),
        ({"slug": "Bad"}, "slug contains invalid characters"),
        ({"slug": "bad slug"}, "slug contains invalid characters"),
        ({"slug": 7}, "slug must be a string"),
        ({"browser_config": None}, "browser_config must be an object"),
        ({"browser_config": "firefox"}, "browser_config must be an object"),
        (
            {"browser_config": {"browser": "opera"}},
            "browser_config.browser must be one of: chromium, firefox, brave, tor-browser",
        ),
        (
            {"browser_config": {"start_url": "javascript:alert(1)"}},
            "browser_config.start_url must be an http(s) URL or about:blank",
        ),
        ({"browser_config": {"kiosk": 1}}, "browser_config.kiosk must be a boolean"),
        ({"browser_config": {"extra": 1}}, "browser_config.extra is not allowed"),
        ({"owner_id": 1}, "owner_id is not allowed"),
        ({"history_visible": False}, "history_visible is not allowed"),
        # The first invalid field in the documented order wins (08 §6).
        ({"slug": "a", "name": "x"}, "name must be at least 2 characters"),
    ],
)
async def test_update_validation(portal: Portal, body: dict[str, Any], error: str) -> None:
    admin = await portal.login("admin")
    _, chat = await chat_of(portal, "user", visibility="public")
    before = await admin_chat(admin, chat["id"])
    await expect_error(admin.client.call("POST", f"{BASE}/{chat['id']}/update", json=body), 400, error)
    assert await admin_chat(admin, chat["id"]) == before


async def test_name_and_description_edges_pass(portal: Portal) -> None:
    admin = await portal.login("admin")
    _, chat = await chat_of(portal, "user", visibility="public")
    for body in ({"name": "ab"}, {"name": "n" * 64}, {"description": "d" * 500}, {"description": ""}):
        after = await admin_update(admin, chat["id"], body)
        [(field, value)] = body.items()
        assert after[field] == value


# ---- slug and visibility (08 §23) ---------------------------------------------------------------------


async def test_public_or_official_without_a_slug_is_400(portal: Portal) -> None:
    admin = await portal.login("admin")
    _, chat = await chat_of(portal, "user", visibility="private")
    before = await admin_chat(admin, chat["id"])
    for visibility in ("public", "official"):
        await expect_error(
            admin.client.call("POST", f"{BASE}/{chat['id']}/update", json={"visibility": visibility}),
            400,
            "slug is required for public chats",
        )
    assert await admin_chat(admin, chat["id"]) == before


async def test_private_chat_becomes_public_or_official_with_a_slug(portal: Portal) -> None:
    admin = await portal.login("admin")
    _, chat = await chat_of(portal, "user", visibility="private")
    slug = unique_slug("made-public")
    public = await admin_update(admin, chat["id"], {"visibility": "public", "slug": slug})
    assert (public["visibility"], public["is_public"], public["slug"]) == ("public", True, slug)
    directory = await portal.client().call("GET", f"/v1/portal/directory/{slug}")
    assert directory["id"] == chat["id"] and directory["visibility"] == "public"

    official = await admin_update(admin, chat["id"], {"visibility": "official"})
    assert (official["visibility"], official["is_public"], official["slug"]) == ("official", True, slug)
    listing = await portal.client().call("GET", "/v1/portal/directory")
    assert listing[0]["visibility"] == "official"
    assert [c["visibility"] for c in listing if c["id"] == chat["id"]] == ["official"]


async def test_a_slug_alone_makes_a_private_chat_public(portal: Portal) -> None:
    """The mirror of "slug:null without visibility → private" (03 §4.4), as config/update does (03 §3.6)."""
    admin = await portal.login("admin")
    _, chat = await chat_of(portal, "user", visibility="private")
    slug = unique_slug()
    after = await admin_update(admin, chat["id"], {"slug": slug})
    assert (after["visibility"], after["is_public"], after["slug"]) == ("public", True, slug)


async def test_a_slug_alone_on_a_listed_chat_keeps_its_visibility(portal: Portal) -> None:
    owner_ = await portal.login("owner")
    chat = await portal.official_chat(owner_.id)
    slug = unique_slug("moved")
    after = await admin_update(owner_, chat["id"], {"slug": slug})
    assert (after["visibility"], after["slug"]) == ("official", slug)
    await expect_error(
        portal.client().call("GET", f"/v1/portal/directory/{chat['slug']}"), 404, "Chat not found"
    )
    assert (await portal.client().call("GET", f"/v1/portal/directory/{slug}"))["id"] == chat["id"]


async def test_visibility_private_clears_the_slug_and_frees_it(portal: Portal) -> None:
    admin = await portal.login("admin")
    _, chat = await chat_of(portal, "user", visibility="public")
    after = await admin_update(admin, chat["id"], {"visibility": "private"})
    assert (after["visibility"], after["is_public"], after["slug"]) == ("private", False, None)
    await expect_error(
        portal.client().call("GET", f"/v1/portal/directory/{chat['slug']}"), 404, "Chat not found"
    )
    # The slug is free again.
    _, other = await chat_of(portal, "user", visibility="private")
    reused = await admin_update(admin, other["id"], {"visibility": "public", "slug": chat["slug"]})
    assert reused["slug"] == chat["slug"]


async def test_visibility_private_with_a_slug_still_clears_it(portal: Portal) -> None:
    """`visibility:"private"` clears the slug (08 §23), even when a slug comes with it."""
    admin = await portal.login("admin")
    _, chat = await chat_of(portal, "user", visibility="public")
    after = await admin_update(admin, chat["id"], {"visibility": "private", "slug": unique_slug()})
    assert (after["visibility"], after["slug"]) == ("private", None)


async def test_slug_null_without_visibility_makes_the_chat_private(portal: Portal) -> None:
    owner_ = await portal.login("owner")
    for chat in (await portal.official_chat(owner_.id), (await chat_of(portal, "user"))[1]):
        after = await admin_update(owner_, chat["id"], {"slug": None})
        assert (after["visibility"], after["is_public"], after["slug"]) == ("private", False, None)


async def test_slug_null_with_a_listed_visibility_is_400(portal: Portal) -> None:
    admin = await portal.login("admin")
    _, chat = await chat_of(portal, "user", visibility="public")
    before = await admin_chat(admin, chat["id"])
    for visibility in ("official", "public"):
        await expect_error(
            admin.client.call(
                "POST", f"{BASE}/{chat['id']}/update", json={"slug": None, "visibility": visibility}
            ),
            400,
            "slug is required for public chats",
        )
    assert await admin_chat(admin, chat["id"]) == before
    after = await admin_update(admin, chat["id"], {"slug": None, "visibility": "private"})
    assert (after["visibility"], after["slug"]) == ("private", None)


async def test_a_taken_slug_is_409_and_changes_nothing(portal: Portal) -> None:
    admin = await portal.login("admin")
    _, chat = await chat_of(portal, "user", visibility="public")
    _, other = await chat_of(portal, "user", visibility="public")
    _, private = await chat_of(portal, "user", visibility="private")
    before = await admin_chat(admin, chat["id"])
    private_before = await admin_chat(admin, private["id"])
    await expect_error(
        admin.client.call(
            "POST", f"{BASE}/{chat['id']}/update", json={"slug": other["slug"], "name": "changed-too"}
        ),
        409,
        "ERR_SLUG_TAKEN",
    )
    await expect_error(
        admin.client.call(
            "POST", f"{BASE}/{private['id']}/update", json={"visibility": "official", "slug": other["slug"]}
        ),
        409,
        "ERR_SLUG_TAKEN",
    )
    assert await admin_chat(admin, chat["id"]) == before
    assert await admin_chat(admin, private["id"]) == private_before
    assert not [r for r in await audit_rows(portal, "CHAT_UPDATE", chat["id"]) if r.actor_id == admin.id]


# ---- who may update (08 §24, §49) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "owner", "allowed"),
    [
        ("admin", "user", True),
        ("admin", "moderator", True),
        ("admin", "admin", False),
        ("admin", "owner", False),
        ("owner", "admin", True),
        ("owner", "owner", True),
    ],
)
async def test_update_needs_rank_over_the_owner(
    portal: Portal, actor: str, owner: str, allowed: bool
) -> None:
    caller = await portal.login(actor)
    for visibility in ("public", "private"):
        _, chat = await chat_of(portal, owner, visibility=visibility)
        before = await admin_chat(caller, chat["id"])
        call = admin_update(caller, chat["id"], {"name": "by-rank", "label": "x"})
        if allowed:
            assert (await call)["name"] == "by-rank"
        else:
            await expect_error(call, 403, "Access denied")
            assert await admin_chat(caller, chat["id"]) == before


async def test_an_admin_updates_their_own_chat(portal: Portal) -> None:
    """Owning the chat passes the owner-hierarchy check (08 §49)."""
    admin, chat = await chat_of(portal, "admin", visibility="private")
    assert (await admin_update(admin, chat["id"], {"name": "mine"}))["name"] == "mine"


async def test_validation_comes_before_not_found_and_rank(portal: Portal) -> None:
    """08 §4: the body is validated (400) before the chat is looked up (404) or the rank checked (403)."""
    admin = await portal.login("admin")
    _, owners_chat = await chat_of(portal, "owner")
    for chat_id in (owners_chat["id"], 2_000_000_000):
        await expect_error(
            admin.client.call("POST", f"{BASE}/{chat_id}/update", json={"name": "x"}),
            400,
            "name must be at least 2 characters",
        )
    await expect_error(admin_update(admin, 2_000_000_000, {"name": "fine"}), 404, "Chat not found")
    # Rank (403) before the slug rule (400) and a taken slug (409).
    _, other = await chat_of(portal, "user")
    await expect_error(admin_update(admin, owners_chat["id"], {"slug": None, "visibility": "public"}), 403)
    await expect_error(admin_update(admin, owners_chat["id"], {"slug": other["slug"]}), 403, "Access denied")


# ---- audit and events ---------------------------------------------------------------------------------


async def test_update_writes_a_chat_update_audit_event(portal: Portal) -> None:
    admin = await portal.login("admin")
    _, chat = await chat_of(portal, "user", visibility="public")
    await admin_update(admin, chat["id"], {"name": unique_name("audited"), "label": "L", "description": None})
    rows = [r for r in await audit_rows(portal, "CHAT_UPDATE", chat["id"]) if r.actor_id == admin.id]
    [row] = rows
    assert row.entity_type == "chat" and row.entity_id == chat["id"]
    assert row.event_metadata["fields"] == ["label", "name"]  # the description was already null


async def test_a_socket_in_the_room_gets_room_config_with_the_changed_fields(
    portal: Portal, sockets: Any
) -> None:
    admin = await portal.login("admin")
    owner, chat = await chat_of(portal, "user", visibility="public")
    probe = await in_room(sockets, owner, chat["id"])
    name, slug = unique_name("cfg"), unique_slug()
    await admin_update(
        admin,
        chat["id"],
        {"name": name, "label": "L", "slug": slug, "browser_config": {"browser": "firefox"}},
    )
    event = await next_event(probe, "room:config", chat_id=chat["id"])
    assert event == {
        "chat_id": chat["id"],
        "name": name,
        "label": "L",
        "slug": slug,
        "browser_config": {**DEFAULT_BROWSER_CONFIG, "browser": "firefox"},
    }
    await admin_update(admin, chat["id"], {"visibility": "official"})
    event = await next_event(probe, "room:config", chat_id=chat["id"])
    assert event == {"chat_id": chat["id"], "visibility": "official"}


async def test_making_a_chat_private_removes_viewers_who_are_not_members(
    portal: Portal, sockets: Any
) -> None:
    """08 §18: the room gets `room:config`; sockets of non-members below Admin get
    `room:kicked {reason:"chat is private"}`. An invited member and the owner stay."""
    admin = await portal.login("admin")
    owner, chat = await chat_of(portal, "user", visibility="public")
    viewer, invited = await portal.login(), await portal.login()
    await portal.invite_into(owner, chat["id"], invited)
    owner_probe = await in_room(sockets, owner, chat["id"])
    viewer_probe = await in_room(sockets, viewer, chat["id"])
    invited_probe = await in_room(sockets, invited, chat["id"])

    await admin_update(admin, chat["id"], {"visibility": "private"})
    for probe in (owner_probe, invited_probe):
        event = await next_event(probe, "room:config", chat_id=chat["id"])
        assert event == {"chat_id": chat["id"], "slug": None, "visibility": "private"}
    kicked = await next_event(viewer_probe, "room:kicked", chat_id=chat["id"])
    assert kicked == {"chat_id": chat["id"], "reason": "chat is private"}
    detail = await admin.client.call("GET", f"{BASE}/{chat['id']}")
    assert [m["user"]["id"] for m in detail["members"]] == [invited.id]
    await expect_error(viewer.client.call("GET", f"/v1/portal/chats/{chat['id']}"), 403, "Access denied")
    assert (await invited.client.call("GET", f"/v1/portal/chats/{chat['id']}"))["visibility"] == "private"


async def test_making_a_chat_private_hides_it_from_connected_non_members(
    portal: Portal, sockets: Any
) -> None:
    """08 §18: `room:destroyed {chat_id}` to every socket that could list the chat and no longer can."""
    admin = await portal.login("admin")
    _, chat = await chat_of(portal, "user", visibility="public")
    outsider = await portal.login()
    probe = sockets()
    await probe.connect(token=outsider.client.session_token)
    assert chat["id"] in [c["chat_id"] for c in await probe.expect("chat:list")]
    await admin_update(admin, chat["id"], {"visibility": "private"})
    assert await next_event(probe, "room:destroyed", chat_id=chat["id"]) == {"chat_id": chat["id"]}
    assert chat["id"] not in {c["id"] for c in await outsider.client.call("GET", "/v1/portal/chats")}
    await expect_error(outsider.client.call("GET", f"/v1/portal/chats/{chat['id']}"), 403, "Access denied")


async def test_making_a_chat_public_announces_it_to_connected_users(portal: Portal, sockets: Any) -> None:
    admin = await portal.login("admin")
    _, chat = await chat_of(portal, "user", visibility="private")
    outsider = await portal.login()
    probe = sockets()
    await probe.connect(token=outsider.client.session_token)
    assert chat["id"] not in [c["chat_id"] for c in await probe.expect("chat:list")]
    await admin_update(admin, chat["id"], {"visibility": "public", "slug": unique_slug()})
    status = await next_event(probe, "chat:status", chat_id=chat["id"])
    assert status == {"chat_id": chat["id"], "running": False, "viewer_count": 0}
    assert chat["id"] in {c["id"] for c in await outsider.client.call("GET", "/v1/portal/chats")}


async def test_a_foreign_origin_is_refused(portal: Portal) -> None:
    """00 §3.3: unsafe cookie requests from an origin not allowed → 403 "Origin not allowed"."""
    admin = await portal.login("admin")
    _, chat = await chat_of(portal, "user", visibility="public")
    before = await admin_chat(admin, chat["id"])
    response = await admin.client.raw(
        "POST",
        f"{BASE}/{chat['id']}/update",
        json={"name": "from-elsewhere"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403 and response.json()["error"] == "Origin not allowed"
    allowed = await admin.client.raw(
        "POST",
        f"{BASE}/{chat['id']}/update",
        json={"name": "from-here"},
        headers={"Origin": "http://127.0.0.1:8080"},
    )
    assert allowed.status_code == 200 and allowed.json()["name"] == "from-here"
    assert before["name"] != "from-here"
