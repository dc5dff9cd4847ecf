"""Announcements (00 §6; 08 §41, §61): create and end (Admin+, idempotent end, audit events), the public
`GET /v1/announcements` and its window rules (starts_at ≤ now, ends_at null or later; newest first), bad
bodies, levels, and the PUBLIC rate tier."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.helpers import LoggedIn, Portal, expect_error, parse_time
from tests.notify.support import ANNOUNCE, audit_after, just_now, last_audit_id

KEYS = {"id", "title", "body", "level", "starts_at", "ends_at", "created_at"}


def iso(portal: Portal, seconds: float) -> str:
    return (portal.server.clock.now() + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


async def create(who: LoggedIn, **body: Any) -> Any:
    return await who.client.call("POST", ANNOUNCE, json={"title": "Maintenance", "body": "Soon", **body})


async def end(who: LoggedIn, announcement_id: int) -> Any:
    return await who.client.call("POST", f"{ANNOUNCE}/{announcement_id}/end")


async def public_ids(portal: Portal) -> list[int]:
    listed = await portal.client(api_key=None).call("GET", "/v1/announcements")
    return [a["id"] for a in listed]


@pytest.mark.parametrize("level", ["admin", "owner"])
async def test_create_with_the_defaults_shows_at_once(portal: Portal, level: str) -> None:
    staff = await portal.login(level)
    before = await last_audit_id(portal)
    created = await create(staff)
    assert created.keys() == KEYS
    assert (created["title"], created["body"], created["level"], created["ends_at"]) == (
        "Maintenance",
        "Soon",
        "info",
        None,
    )
    assert created["starts_at"] == created["created_at"] and just_now(portal, created["created_at"])

    listed = await portal.client(api_key=None).call("GET", "/v1/announcements")  # no key, no cookie
    assert listed[0] == created
    [audit] = await audit_after(portal, "ANNOUNCEMENT_CREATE", before)
    assert (audit.actor_id, audit.entity_type, audit.entity_id) == (staff.id, None, None)
    assert audit.event_metadata == {
        "announcement_id": created["id"],
        "title": "Maintenance",
        "level": "info",
        "starts_at": parse_time(created["starts_at"]).isoformat(),
        "ends_at": None,
    }


async def test_the_window_rules_and_order(portal: Portal) -> None:
    admin = await portal.login("admin")
    running_end = iso(portal, 600)
    running = await create(admin, level="warning", starts_at=iso(portal, -600), ends_at=running_end)
    newer = await create(admin, level="critical", starts_at=iso(portal, -60))
    scheduled = await create(admin, starts_at=iso(portal, 300))
    assert parse_time(running["ends_at"]) == parse_time(running_end)

    shown = await public_ids(portal)
    assert shown.index(newer["id"]) < shown.index(running["id"])  # newest (by starts_at) first
    assert scheduled["id"] not in shown

    portal.server.clock.advance(300)  # the scheduled one starts (starts_at == now shows)
    shown = await public_ids(portal)
    assert shown.index(scheduled["id"]) < shown.index(newer["id"]) < shown.index(running["id"])

    portal.server.clock.advance(300)  # the running one reaches its ends_at: no longer shown
    shown = await public_ids(portal)
    assert running["id"] not in shown and {newer["id"], scheduled["id"]} <= set(shown)


async def test_end_is_idempotent_and_audited_once(portal: Portal) -> None:
    admin, owner = await portal.login("admin"), await portal.login("owner")
    created = await create(admin)
    before = await last_audit_id(portal)
    portal.server.clock.advance(30)

    ended = await end(owner, created["id"])
    assert just_now(portal, ended["ends_at"])
    assert {**ended, "ends_at": None} == created
    assert created["id"] not in await public_ids(portal)

    portal.server.clock.advance(30)
    assert await end(admin, created["id"]) == ended  # unchanged
    [audit] = await audit_after(portal, "ANNOUNCEMENT_END", before)
    assert (audit.actor_id, audit.entity_type, audit.event_metadata) == (
        owner.id,
        None,
        {"announcement_id": created["id"]},
    )


async def test_ending_a_scheduled_or_timed_one(portal: Portal) -> None:
    admin = await portal.login("admin")
    scheduled = await create(admin, starts_at=iso(portal, 600))
    ended = await end(admin, scheduled["id"])
    assert just_now(portal, ended["ends_at"])
    portal.server.clock.advance(900)
    assert scheduled["id"] not in await public_ids(portal)  # it never shows

    timed = await create(admin, ends_at=iso(portal, 60))
    portal.server.clock.advance(120)  # over by itself: ending it changes nothing
    before = await last_audit_id(portal)
    assert await end(admin, timed["id"]) == timed
    assert await audit_after(portal, "ANNOUNCEMENT_END", before) == []


async def test_unknown_announcement_is_404(portal: Portal) -> None:
    admin = await portal.login("admin")
    for target in (999_999_999, 0, 2**40):
        await expect_error(end(admin, target), 404, "Announcement not found")
    await expect_error(admin.client.call("POST", f"{ANNOUNCE}/abc/end"), 400)


async def test_the_level_gate(portal: Portal) -> None:
    admin = await portal.login("admin")
    created = await create(admin)
    body = {"title": "T", "body": "B"}
    anonymous = portal.client()
    await expect_error(anonymous.call("POST", ANNOUNCE, json=body), 401, "Authentication required")
    await expect_error(
        anonymous.call("POST", f"{ANNOUNCE}/{created['id']}/end"), 401, "Authentication required"
    )
    stranger = await portal.stranger()
    await expect_error(stranger.client.call("POST", ANNOUNCE, json=body), 403, "Access denied")
    for level in ("user", "moderator"):
        who = await portal.login(level)
        await expect_error(who.client.call("POST", ANNOUNCE, json=body), 403, "Admin access required")
        await expect_error(end(who, created["id"]), 403, "Admin access required")
    assert created["id"] in await public_ids(portal)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"body": "B"}, "title is required"),
        ({"title": "T"}, "body is required"),
        ({"title": "", "body": "B"}, "title must be at least 1 character"),
        ({"title": "x" * 101, "body": "B"}, "title must be at most 100 characters"),
        ({"title": "T", "body": "x" * 2001}, "body must be at most 2000 characters"),
        ({"title": "T", "body": "B", "level": "error"}, "level must be one of: info, warning, critical"),
        ({"title": "T", "body": "B", "starts_at": "tomorrow"}, "starts_at must be an ISO-8601 date-time"),
        ({"title": "T", "body": "B", "ends_at": 5}, "ends_at must be an ISO-8601 date-time"),
        ({"title": "T", "body": "B", "type": "info"}, "type is not allowed"),
        ([], "Invalid request"),
    ],
)
async def test_bad_bodies_are_400(portal: Portal, body: Any, error: str) -> None:
    admin = await portal.login("admin")
    before = await last_audit_id(portal)
    await expect_error(admin.client.call("POST", ANNOUNCE, json=body), 400, error)
    assert await audit_after(portal, "ANNOUNCEMENT_CREATE", before) == []


async def test_the_end_must_come_after_the_start_and_now(portal: Portal) -> None:
    admin = await portal.login("admin")
    later = iso(portal, 60)
    await expect_error(create(admin, starts_at=later, ends_at=later), 400, "ends_at must be after starts_at")
    await expect_error(
        create(admin, starts_at=iso(portal, -120), ends_at=iso(portal, -60)),
        400,
        "ends_at must be in the future",
    )
    await expect_error(create(admin, ends_at=iso(portal, 0)), 400, "ends_at must be after starts_at")
    edge = await create(admin, title="x" * 100, body="y" * 2000, ends_at=iso(portal, 1))
    assert len(edge["title"]) == 100 and edge["id"] in await public_ids(portal)


async def test_the_public_list_uses_the_public_tier(portal: Portal) -> None:
    client = portal.client(api_key=None)
    response = await client.raw("GET", "/v1/announcements")
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Limit"] == "120"
