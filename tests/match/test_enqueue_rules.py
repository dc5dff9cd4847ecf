"""`POST /v1/portal/match` (and `/match/enqueue`): body forms, tag rules and the check order of 08 §30."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.helpers import Portal, expect_error, parse_time
from tests.match.support import MATCH, dequeue, enqueue, status, tag

COUNT = "interests must contain 1 to 3 items"
UNSUPPORTED = "ERR_MATCH_UNSUPPORTED_INTEREST"


@pytest.mark.parametrize("path", [MATCH, f"{MATCH}/enqueue"])
async def test_both_paths_take_both_body_forms_and_answer_searching(portal: Portal, path: str) -> None:
    alice = await portal.login()
    first, second = tag(), tag()
    answer = await enqueue(alice, first, second, path=path)
    assert set(answer) == {"state", "interests", "expires_at"}
    assert answer["state"] == "searching" and answer["interests"] == [first, second]
    ttl = timedelta(seconds=portal.container.settings.match_queue_ttl)
    assert abs(parse_time(answer["expires_at"]) - (portal.server.clock.now() + ttl)) < timedelta(seconds=1)
    await dequeue(alice)
    legacy = await alice.client.call("POST", path, json={"interest": first})
    assert legacy["state"] == "searching" and legacy["interests"] == [first]


async def test_tag_edges(portal: Portal) -> None:
    alice = await portal.login()
    for good in (["abc"], ["abcdefghijk1"], ["a1b", "999", "zz9"]):
        answer = await alice.client.call("POST", MATCH, json={"interests": good})
        assert answer["interests"] == good
        await dequeue(alice)
    for bad in (
        ["ab"],
        ["abcdefghijk12"],
        ["Music"],
        ["mu-sic"],
        ["mu sic"],
        ["émile"],
        [""],
        [5],
        ["abc", None],
    ):
        await expect_error(alice.client.call("POST", MATCH, json={"interests": bad}), 400, UNSUPPORTED)
    assert (await status(alice))["state"] == "idle"


async def test_duplicates_collapse_keeping_order(portal: Portal) -> None:
    alice = await portal.login()
    a, b = tag(), tag()
    answer = await alice.client.call("POST", MATCH, json={"interests": [b, a, b]})
    assert answer["interests"] == [b, a]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (None, "interests is required"),
        ({}, "interests is required"),
        ({"interests": []}, COUNT),
        ({"interests": ["abc", "abd", "abe", "abf"]}, COUNT),
        ({"interests": ["abc", "abc", "abc", "abc"]}, COUNT),  # counted as sent, before collapsing
        ({"interests": "music"}, "interests must be a list"),
        ({"interest": 5}, "interest must be a string"),
        ({"interests": ["abc"], "interest": "abc"}, "interest is not allowed"),
        ({"interests": ["abc"], "colour": "red"}, "colour is not allowed"),
    ],
)
async def test_body_shape_errors(portal: Portal, body: Any, error: str) -> None:
    alice = await portal.login()
    kwargs = {} if body is None else {"json": body}
    await expect_error(alice.client.call("POST", MATCH, **kwargs), 400, error)


async def test_check_order(portal: Portal) -> None:
    """A body that breaks several rules gets the earliest one's error (08 §30)."""
    alice = await portal.login()
    # count before format
    await expect_error(alice.client.call("POST", MATCH, json={"interests": ["A", "B", "C", "D"]}), 400, COUNT)
    await enqueue(alice, tag())
    # format before "already searching"
    await expect_error(alice.client.call("POST", MATCH, json={"interests": ["BAD"]}), 400, UNSUPPORTED)
    # already searching
    await expect_error(enqueue(alice, tag()), 409, "ERR_MATCH_ALREADY_SEARCHING")


async def test_already_searching_even_from_another_session(portal: Portal) -> None:
    alice = await portal.login()
    t = tag()
    await enqueue(alice, t)
    other = portal.client()
    again = await portal.web_login(other, *_identity(await alice.client.me()))
    assert again["id"] == alice.id and other.session_token != alice.client.session_token
    await expect_error(other.call("POST", MATCH, json={"interests": [t]}), 409, "ERR_MATCH_ALREADY_SEARCHING")
    assert (await status(alice))["state"] == "searching"  # never paired with themselves


def _identity(me: dict[str, Any]) -> tuple[str, str]:
    link = me["linked_platforms"][0]
    return link["platform"], link["platform_user_id"]


async def test_needs_a_session(portal: Portal) -> None:
    anonymous = portal.client()
    for method, path in (
        ("POST", MATCH),
        ("POST", f"{MATCH}/enqueue"),
        ("GET", f"{MATCH}/status"),
        ("POST", f"{MATCH}/dequeue"),
        ("POST", f"{MATCH}/leave"),
    ):
        kwargs = {"json": {"interests": ["abc"]}} if path.endswith(("match", "enqueue")) else {}
        await expect_error(anonymous.call(method, path, **kwargs), 401, "Authentication required")


async def test_dequeue_is_idempotent_and_answers_the_status(portal: Portal) -> None:
    alice = await portal.login()
    assert await dequeue(alice) == {"state": "idle"}
    await enqueue(alice, tag())
    assert await dequeue(alice) == {"state": "idle"}
    assert await dequeue(alice) == {"state": "idle"}
    assert await status(alice) == {"state": "idle"}
