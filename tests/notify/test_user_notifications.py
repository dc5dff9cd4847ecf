"""A user's own notifications (02 §3.9, §5; 00 §6): the list with paging and counts, one read (404 vs 409),
the unread count, read-all; anonymous 401, strangers 403, bad paging 400."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import Portal, expect_error, parse_time
from tests.notify.support import just_now, notifications_of, notify

NOTIFICATION_KEYS = {"id", "title", "body", "type", "read_at", "created_at", "created_by"}


async def test_a_new_account_lists_its_welcome_notification(portal: Portal) -> None:
    alice = await portal.login()
    listed = await alice.client.call("GET", "/v1/notifications")
    assert listed.keys() == {"notifications", "total", "unread", "offset", "limit"}
    [welcome] = listed["notifications"]
    assert welcome.keys() == NOTIFICATION_KEYS
    assert (welcome["title"], welcome["body"], welcome["type"]) == (
        "Welcome to Portal",
        "Your account has been created.",
        "success",
    )
    assert (welcome["read_at"], welcome["created_by"]) == (None, None)
    parse_time(welcome["created_at"])
    assert (listed["total"], listed["unread"], listed["offset"], listed["limit"]) == (1, 1, 0, 50)


async def test_paging_is_newest_first_with_total_and_unread(portal: Portal) -> None:
    alice = await portal.login()
    ids = [await notify(portal, alice.id, title=f"n{i}") for i in range(4)]
    await alice.client.call("POST", f"/v1/notifications/{ids[0]}/read")

    page = await alice.client.call("GET", "/v1/notifications", params={"offset": 1, "limit": 2})
    assert [n["id"] for n in page["notifications"]] == [ids[2], ids[1]]
    assert (page["total"], page["unread"], page["offset"], page["limit"]) == (5, 4, 1, 2)
    full = await alice.client.call("GET", "/v1/notifications", params={"limit": 100})
    assert [n["title"] for n in full["notifications"]] == ["n3", "n2", "n1", "n0", "Welcome to Portal"]
    beyond = await alice.client.call("GET", "/v1/notifications", params={"offset": 5})
    assert (beyond["notifications"], beyond["total"]) == ([], 5)


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"limit": 0}, "limit must be between 1 and 100"),
        ({"limit": 101}, "limit must be between 1 and 100"),
        ({"limit": "x"}, "limit must be an integer"),
        ({"offset": -1}, "offset must be between 0 and 1000000000"),
    ],
)
async def test_paging_limits(portal: Portal, params: dict[str, Any], error: str) -> None:
    alice = await portal.login()
    await expect_error(alice.client.call("GET", "/v1/notifications", params=params), 400, error)


async def test_limit_edges_are_accepted(portal: Portal) -> None:
    alice = await portal.login()
    for limit in (1, 100):
        page = await alice.client.call("GET", "/v1/notifications", params={"limit": limit})
        assert page["limit"] == limit and len(page["notifications"]) == 1


async def test_marking_one_read_then_again_then_someone_elses(portal: Portal) -> None:
    alice, bob = await portal.login(), await portal.login()
    nid = await notify(portal, alice.id, title="Read me", type="warning")
    read = await alice.client.call("POST", f"/v1/notifications/{nid}/read")
    assert read.keys() == NOTIFICATION_KEYS
    assert (read["id"], read["title"], read["type"]) == (nid, "Read me", "warning")
    assert just_now(portal, read["read_at"])
    stamped = parse_time(read["read_at"])

    portal.server.clock.advance(60)
    await expect_error(
        alice.client.call("POST", f"/v1/notifications/{nid}/read"), 409, "ERR_NOTIFICATION_ALREADY_READ"
    )
    [_, row] = await notifications_of(portal, alice.id)
    assert row.read_at == stamped  # not re-stamped

    # Someone else's, and ids of nothing: the same 404, so nothing leaks.
    for target in (nid, 999_999_999, 0, 2**40):
        await expect_error(
            bob.client.call("POST", f"/v1/notifications/{target}/read"), 404, "ERR_NOTIFICATION_NOT_FOUND"
        )
    await expect_error(alice.client.call("POST", "/v1/notifications/abc/read"), 400)


async def test_unread_count_and_read_all(portal: Portal) -> None:
    alice, bob = await portal.login(), await portal.login()
    await notify(portal, alice.id)
    await notify(portal, bob.id)
    assert await alice.client.call("GET", "/v1/notifications/unread-count") == {"unread": 2}

    assert await alice.client.call("POST", "/v1/notifications/read-all") == {"updated": 2}
    assert await alice.client.call("GET", "/v1/notifications/unread-count") == {"unread": 0}
    assert await alice.client.call("POST", "/v1/notifications/read-all") == {"updated": 0}  # idempotent
    listed = await alice.client.call("GET", "/v1/notifications")
    assert listed["unread"] == 0 and all(n["read_at"] for n in listed["notifications"])
    # Bob's are untouched.
    assert await bob.client.call("GET", "/v1/notifications/unread-count") == {"unread": 2}


ENDPOINTS = [
    ("GET", "/v1/notifications"),
    ("GET", "/v1/notifications/unread-count"),
    ("POST", "/v1/notifications/read-all"),
    ("POST", "/v1/notifications/1/read"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_anonymous_401_and_strangers_403(portal: Portal, method: str, path: str) -> None:
    await expect_error(portal.client().call(method, path), 401, "Authentication required")
    stranger = await portal.stranger()
    await expect_error(stranger.client.call(method, path), 403, "Access denied")


@pytest.mark.parametrize("level", ["moderator", "admin", "owner"])
async def test_every_registered_level_reads_its_own(portal: Portal, level: str) -> None:
    staff = await portal.login(level)
    nid = await notify(portal, staff.id)
    assert (await staff.client.call("POST", f"/v1/notifications/{nid}/read"))["read_at"]
    assert await staff.client.call("GET", "/v1/notifications/unread-count") == {"unread": 1}
