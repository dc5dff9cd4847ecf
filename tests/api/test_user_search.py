"""`GET /v1/users/search?q=&offset=&limit=`.

Spec: 00 §6; 02 §4.10; 08 §32, §36 (q 1–32, case-insensitive, prefix before substring then by username,
limit 1–100 default 25, strangers excluded, detail-without-arrays rows where the viewer `can_act_on`).
Every test searches for its own unique prefix, so results do not depend on other tests' users.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.api.users_support import PUBLIC_FIELDS, STAFF_FIELDS, login_as
from tests.helpers import Portal, expect_error


def tag() -> str:
    """A unique lowercase search token (no `_`, so it is plain text in LIKE too)."""
    return "q" + secrets.token_hex(5)


async def users_named(portal: Portal, *names: str, level: str = "user") -> list[dict[str, Any]]:
    return [await portal.create_user(level, username=name) for name in names]


def names(result: dict[str, Any]) -> list[str]:
    return [row["username"] for row in result["users"]]


async def test_search_answer_shape_and_public_rows_for_a_user(portal: Portal) -> None:
    t = tag()
    [target] = await users_named(portal, t + "alpha")
    alice = await portal.login()
    result = await alice.client.search_users(t)
    assert result == {
        "users": [
            {
                "id": target["id"],
                "username": target["username"],
                "avatar_url": None,
                "subscription_tier": 0,
            }
        ],
        "total": 1,
        "offset": 0,
        "limit": 25,
    }


async def test_search_is_case_insensitive(portal: Portal) -> None:
    t = tag()
    await users_named(portal, t.upper() + "X", t + "y")
    alice = await portal.login()
    for q in (t, t.upper(), t[:4].upper() + t[4:]):
        result = await alice.client.search_users(q)
        assert names(result) == [t.upper() + "X", t + "y"]
        assert result["total"] == 2


async def test_prefix_matches_come_first_then_by_username(portal: Portal) -> None:
    t = tag()
    await users_named(portal, "zz" + t, t + "b", "aa" + t + "z", t.upper() + "C", t + "a", "m" + t)
    alice = await portal.login()
    result = await alice.client.search_users(t)
    assert names(result) == [
        t + "a",
        t + "b",
        t.upper() + "C",
        "aa" + t + "z",
        "m" + t,
        "zz" + t,
    ]
    assert result["total"] == 6


async def test_search_matches_substrings_anywhere(portal: Portal) -> None:
    t = tag()
    await users_named(portal, "pre" + t + "post")
    alice = await portal.login()
    assert names(await alice.client.search_users(t[3:8])) == ["pre" + t + "post"]
    assert (await alice.client.search_users(t + "postX"))["total"] == 0


async def test_strangers_are_not_found(portal: Portal) -> None:
    stranger = await portal.stranger()
    alice = await portal.login()
    result = await alice.client.search_users(stranger.user["username"])
    assert stranger.id not in [row["id"] for row in result["users"]]
    owner = await portal.login("owner")
    result = await owner.client.search_users(stranger.user["username"])
    assert stranger.id not in [row["id"] for row in result["users"]]


async def test_strangers_cannot_search(portal: Portal) -> None:
    stranger = await portal.stranger()
    await expect_error(stranger.client.search_users("abc"), 403, "Access denied")


async def test_search_needs_a_session(portal: Portal) -> None:
    """08 §34: search is cookie-only; the public key is not enough."""
    await expect_error(portal.client().search_users("abc"), 401, "Authentication required")
    await expect_error(portal.client().call("GET", "/v1/users/search"), 401, "Authentication required")


async def test_like_wildcards_are_literal(portal: Portal) -> None:
    t = tag()
    await users_named(portal, t + "_x", t + "ax", t + "-x")
    alice = await portal.login()
    assert names(await alice.client.search_users(t + "_")) == [t + "_x"]
    assert names(await alice.client.search_users(t + "_x")) == [t + "_x"]
    for q in (t + "%", t + "%x", "%" + t, t + "\\", t + "[a]", t + "*"):
        result = await alice.client.search_users(q)
        assert result == {"users": [], "total": 0, "offset": 0, "limit": 25}, q
    # No username contains % or a backslash, so these match nobody at all.
    assert (await alice.client.search_users("%"))["total"] == 0
    assert (await alice.client.search_users("\\"))["total"] == 0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "q is required"),
        ({"q": ""}, "q must be at least 1 character"),
        ({"q": "a" * 33}, "q must be at most 32 characters"),
        ({"q": "abc", "limit": 0}, "limit must be between 1 and 100"),
        ({"q": "abc", "limit": 101}, "limit must be between 1 and 100"),
        ({"q": "abc", "limit": "x"}, "limit must be an integer"),
        ({"q": "abc", "offset": -1}, "offset must be between 0 and 1000000000"),
        ({"q": "abc", "offset": "x"}, "offset must be an integer"),
    ],
)
async def test_search_parameter_errors(portal: Portal, params: dict[str, Any], message: str) -> None:
    alice = await portal.login()
    await expect_error(alice.client.call("GET", "/v1/users/search", params=params), 400, message)


async def test_q_of_1_and_32_characters(portal: Portal) -> None:
    t = tag()
    long_name = (t + "x" * 32)[:32]
    await users_named(portal, long_name)
    alice = await portal.login()
    assert names(await alice.client.search_users(long_name)) == [long_name]
    one = await alice.client.search_users("q")
    assert one["total"] >= 1
    assert all("q" in name.lower() for name in names(one))


async def test_paging(portal: Portal) -> None:
    t = tag()
    all_names = [f"{t}{i:02d}" for i in range(30)]
    await users_named(portal, *all_names)
    alice = await portal.login()

    default = await alice.client.call("GET", "/v1/users/search", params={"q": t})
    assert (default["total"], default["offset"], default["limit"]) == (30, 0, 25)
    assert names(default) == all_names[:25]

    page = await alice.client.search_users(t, offset=25, limit=25)
    assert names(page) == all_names[25:]
    assert (page["total"], page["offset"], page["limit"]) == (30, 25, 25)

    one = await alice.client.search_users(t, offset=3, limit=1)
    assert names(one) == [all_names[3]]
    assert one["total"] == 30

    everything = await alice.client.search_users(t, limit=100)
    assert names(everything) == all_names

    beyond = await alice.client.search_users(t, offset=30)
    assert beyond == {"users": [], "total": 30, "offset": 30, "limit": 25}


# ---- rows per viewer (08 §36) -------------------------------------------------------------------------


async def levelled_users(portal: Portal, t: str) -> dict[str, dict[str, Any]]:
    found = {}
    for level in ("user", "moderator", "admin", "owner"):
        [found[level]] = await users_named(portal, f"{t}{level}", level=level)
    return found


def assert_row(row: dict[str, Any], target: dict[str, Any], *, detail: bool) -> None:
    if detail:
        assert set(row) == STAFF_FIELDS  # no history arrays, no created_at/updated_at
        for name in STAFF_FIELDS:
            assert row[name] == target[name], name
    else:
        assert set(row) == PUBLIC_FIELDS
        assert row == {name: target[name] for name in PUBLIC_FIELDS}


@pytest.mark.parametrize(
    ("viewer_level", "detail_for"),
    [
        ("user", set()),
        ("moderator", {"user"}),
        ("admin", {"user", "moderator"}),
        ("owner", {"user", "moderator", "admin", "owner"}),
    ],
)
async def test_rows_are_detail_only_for_users_the_viewer_can_act_on(
    portal: Portal, viewer_level: str, detail_for: set[str]
) -> None:
    t = tag()
    targets = await levelled_users(portal, t)
    viewer = await portal.login(viewer_level)
    result = await viewer.client.search_users(t)
    by_name = {row["username"]: row for row in result["users"]}
    assert set(by_name) == {target["username"] for target in targets.values()}
    for level, target in targets.items():
        assert_row(by_name[target["username"]], target, detail=level in detail_for)


@pytest.mark.parametrize(("level", "detail"), [("user", False), ("admin", False), ("owner", True)])
async def test_viewer_finds_itself_by_can_act_on(portal: Portal, level: str, detail: bool) -> None:
    t = tag()
    [created] = await users_named(portal, t + "self", level=level)
    viewer = await login_as(portal, created)
    [row] = (await viewer.client.search_users(t))["users"]
    assert_row(row, viewer.user, detail=detail)
