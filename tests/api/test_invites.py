"""Invites: create, list, revoke (`/v1/portal/chats/{id}/invites*`) and redeem (`/v1/portal/resolve/{code}`).

Spec: 03 §2.6, §3.7, 00 §3.8, 08 §4, §6, §7, §20, §22, §63. Who may manage invites is in
tests/api/test_chat_permissions.py.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest

from tests.api.chats_support import (  # noqa: F401  (the `sockets` fixture)
    CHAT_FIELDS,
    INVITE_FIELDS,
    activity_rows,
    chats_path,
    expected_chat,
    invite_row,
    memberships,
    premium,
    sockets_fixture,
)
from tests.helpers import LoggedIn, Portal, expect_error
from tests.helpers import parse_time as ts

CODE = re.compile(r"[a-z0-9]{16}")


def invites_path(chat_id: int | str, rest: str = "") -> str:
    return chats_path(chat_id, f"/invites{rest}")


def resolve_path(code: str) -> str:
    return f"/v1/portal/resolve/{code}"


def iso(portal: Portal, seconds: float) -> str:
    """An ISO-8601 UTC time `seconds` from the server's now."""
    when = portal.server.clock.now() + timedelta(seconds=seconds)
    return when.isoformat().replace("+00:00", "Z")


async def create_invite(owner: LoggedIn, chat_id: int, **body: Any) -> dict[str, Any]:
    return dict(await owner.client.call("POST", invites_path(chat_id), json=body))


async def active_codes(owner: LoggedIn, chat_id: int) -> list[str]:
    return [i["code"] for i in (await owner.client.call("GET", invites_path(chat_id)))["invites"]]


# ---- create -------------------------------------------------------------------------------------------


async def test_create_answers_the_invite_object(portal: Portal) -> None:
    """03 §2.6, 08 §22: 16 characters of [a-z0-9], uses 0."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    expires = iso(portal, 3600)
    invite = await create_invite(owner, chat["id"], max_uses=10, expires_at=expires)
    assert set(invite) == INVITE_FIELDS
    assert CODE.fullmatch(invite["code"]), invite["code"]
    assert (invite["chat_id"], invite["created_by_id"], invite["uses"], invite["max_uses"]) == (
        chat["id"],
        owner.id,
        0,
        10,
    )
    assert ts(invite["expires_at"]) == ts(expires)
    assert abs((ts(invite["created_at"]) - portal.server.clock.now()).total_seconds()) < 5


async def test_create_with_an_empty_body_never_expires_and_is_unlimited(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    invite = await create_invite(owner, chat["id"])
    assert (invite["expires_at"], invite["max_uses"], invite["uses"]) == (None, None, 0)
    explicit = await create_invite(owner, chat["id"], expires_at=None, max_uses=None)
    assert (explicit["expires_at"], explicit["max_uses"]) == (None, None)
    assert explicit["code"] != invite["code"]


async def test_codes_are_unique(portal: Portal) -> None:
    owner = await premium(portal)
    first, second = await portal.private_chat(owner), await portal.public_chat(owner)
    codes = [(await create_invite(owner, chat["id"]))["code"] for chat in (first, second) for _ in range(5)]
    assert len(set(codes)) == 10


@pytest.mark.parametrize("max_uses", [1, 10000])
async def test_max_uses_limits(portal: Portal, max_uses: int) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    assert (await create_invite(owner, chat["id"], max_uses=max_uses))["max_uses"] == max_uses


async def test_invites_work_on_public_chats(portal: Portal) -> None:
    """08 §22: invites are allowed on private and public chats."""
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    invite = await create_invite(owner, chat["id"])
    assert await active_codes(owner, chat["id"]) == [invite["code"]]


async def test_official_chats_have_no_invites(portal: Portal) -> None:
    platform_owner = await portal.login("owner")
    chat = await portal.official_chat(platform_owner.id)
    await expect_error(
        platform_owner.client.call("POST", invites_path(chat["id"]), json={}),
        409,
        "Invites are for private and public chats",
    )
    assert await active_codes(platform_owner, chat["id"]) == []


BAD_BODIES: list[tuple[Any, str]] = [
    ({"max_uses": 0}, "max_uses must be between 1 and 10000"),
    ({"max_uses": 10001}, "max_uses must be between 1 and 10000"),
    ({"max_uses": -1}, "max_uses must be between 1 and 10000"),
    ({"max_uses": "10"}, "max_uses must be an integer"),
    ({"max_uses": 1.5}, "max_uses must be an integer"),
    ({"max_uses": True}, "max_uses must be an integer"),
    ({"expires_at": "tomorrow"}, "expires_at must be an ISO-8601 date-time"),
    ({"expires_at": 1893456000}, "expires_at must be an ISO-8601 date-time"),
    ({"uses": 3}, "uses is not allowed"),
    ({"code": "abcdefghijklmnop"}, "code is not allowed"),
    ([], "Invalid request"),
    ("x", "Invalid request"),
]


@pytest.mark.parametrize(("body", "error"), BAD_BODIES, ids=[f"{i}" for i in range(len(BAD_BODIES))])
async def test_create_refuses_bad_bodies(portal: Portal, body: Any, error: str) -> None:
    """08 §6, §7, §22: max_uses 1–10000 or null."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    await expect_error(owner.client.call("POST", invites_path(chat["id"]), json=body), 400, error)
    assert await active_codes(owner, chat["id"]) == []


async def test_create_refuses_broken_json(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    response = await owner.client.raw(
        "POST",
        invites_path(chat["id"]),
        content=b'{"max_uses": 1',
        headers={"Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["error"]) == (400, "Invalid request")
    assert await active_codes(owner, chat["id"]) == []


@pytest.mark.parametrize("seconds", [-3600, 0], ids=["past", "now"])
async def test_expires_at_must_be_in_the_future(portal: Portal, seconds: int) -> None:
    """08 §22: 400 "expires_at must be in the future"."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    portal.server.clock.set(portal.server.clock.now().replace(microsecond=0) + timedelta(seconds=1))
    await expect_error(
        owner.client.call("POST", invites_path(chat["id"]), json={"expires_at": iso(portal, seconds)}),
        400,
        "expires_at must be in the future",
    )
    assert await active_codes(owner, chat["id"]) == []


async def test_a_past_expires_at_is_a_validation_error_before_the_official_conflict(portal: Portal) -> None:
    """08 §4: validation (400) comes before domain errors (409)."""
    platform_owner = await portal.login("owner")
    chat = await portal.official_chat(platform_owner.id)
    await expect_error(
        platform_owner.client.call("POST", invites_path(chat["id"]), json={"expires_at": iso(portal, -60)}),
        400,
        "expires_at must be in the future",
    )
    outsider = await portal.login()
    for chat_id in (chat["id"], 999_999):  # before 403 and 404 as well
        await expect_error(
            outsider.client.call("POST", invites_path(chat_id), json={"expires_at": iso(portal, -60)}),
            400,
            "expires_at must be in the future",
        )


async def test_twenty_active_invites_then_err_invite_limit(portal: Portal) -> None:
    """03 §3.7: 20 active invites per chat; the 21st is 409 ERR_INVITE_LIMIT."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    for _ in range(20):
        await create_invite(owner, chat["id"])
    await expect_error(owner.client.call("POST", invites_path(chat["id"]), json={}), 409, "ERR_INVITE_LIMIT")
    assert len(await active_codes(owner, chat["id"])) == 20
    other = await portal.private_chat(owner)  # the limit is per chat
    await create_invite(owner, other["id"])


async def test_expired_and_used_up_invites_do_not_count_toward_the_limit(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    for _ in range(18):
        await create_invite(owner, chat["id"])
    short = await create_invite(owner, chat["id"], expires_at=iso(portal, 60))
    single = await create_invite(owner, chat["id"], max_uses=1)
    await expect_error(owner.client.call("POST", invites_path(chat["id"]), json={}), 409, "ERR_INVITE_LIMIT")
    guest = await portal.login()
    await guest.client.call("POST", resolve_path(single["code"]))  # used up
    await create_invite(owner, chat["id"])
    await expect_error(owner.client.call("POST", invites_path(chat["id"]), json={}), 409, "ERR_INVITE_LIMIT")
    portal.server.clock.advance(61)  # `short` expired
    await create_invite(owner, chat["id"])
    codes = await active_codes(owner, chat["id"])
    assert len(codes) == 20 and short["code"] not in codes and single["code"] not in codes


async def test_a_revoked_invite_frees_its_place(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    invites = [await create_invite(owner, chat["id"]) for _ in range(20)]
    await owner.client.call("POST", invites_path(chat["id"], f"/{invites[0]['code']}/delete"))
    await create_invite(owner, chat["id"])


# ---- list ---------------------------------------------------------------------------------------------


async def test_list_shows_only_active_invites(portal: Portal) -> None:
    """03 §3.7: not expired and not exhausted; `{"invites": [...]}`."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    forever = await create_invite(owner, chat["id"])
    short = await create_invite(owner, chat["id"], expires_at=iso(portal, 60))
    single = await create_invite(owner, chat["id"], max_uses=1)
    two = await create_invite(owner, chat["id"], max_uses=2)
    guest = await portal.login()
    await guest.client.call("POST", resolve_path(single["code"]))
    await guest.client.call("POST", resolve_path(two["code"]))  # already a member: no use counted
    answer = await owner.client.call("GET", invites_path(chat["id"]))
    assert set(answer) == {"invites"}
    for invite in answer["invites"]:
        assert set(invite) == INVITE_FIELDS
    assert {i["code"] for i in answer["invites"]} == {forever["code"], short["code"], two["code"]}
    assert next(i for i in answer["invites"] if i["code"] == two["code"])["uses"] == 0
    portal.server.clock.advance(61)
    assert set(await active_codes(owner, chat["id"])) == {forever["code"], two["code"]}


# ---- revoke -------------------------------------------------------------------------------------------


async def test_revoke_deletes_the_invite(portal: Portal) -> None:
    """03 §3.7: `{"message": "Invite '<code>' revoked"}`; the code stops working."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    invite = await create_invite(owner, chat["id"])
    answer = await owner.client.call("POST", invites_path(chat["id"], f"/{invite['code']}/delete"))
    assert answer == {"message": f"Invite '{invite['code']}' revoked"}
    assert await active_codes(owner, chat["id"]) == []
    assert await invite_row(portal, invite["code"]) is None
    guest = await portal.login()
    await expect_error(guest.client.call("POST", resolve_path(invite["code"])), 404, "ERR_INVITE_INVALID")
    await expect_error(
        owner.client.call("POST", invites_path(chat["id"], f"/{invite['code']}/delete")),
        404,
        "Invite not found",
    )


async def test_revoke_of_an_expired_invite(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    invite = await create_invite(owner, chat["id"], expires_at=iso(portal, 60))
    portal.server.clock.advance(61)
    answer = await owner.client.call("POST", invites_path(chat["id"], f"/{invite['code']}/delete"))
    assert answer == {"message": f"Invite '{invite['code']}' revoked"}


async def test_revoke_errors(portal: Portal) -> None:
    """03 §3.7: 404 "Invite not found" for an unknown code or another chat's code."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    other = await portal.public_chat(owner)
    foreign = await create_invite(owner, other["id"])
    for code in ("a" * 16, "unknown", "x" * 200, foreign["code"]):
        await expect_error(
            owner.client.call("POST", invites_path(chat["id"], f"/{code}/delete")), 404, "Invite not found"
        )
    assert await invite_row(portal, foreign["code"]) is not None
    await expect_error(
        owner.client.call("POST", invites_path(999_999, f"/{foreign['code']}/delete")), 404, "Chat not found"
    )


# ---- resolve ------------------------------------------------------------------------------------------


async def test_resolve_makes_a_member_and_answers_the_chat(portal: Portal) -> None:
    """00 §3.8, 08 §20, §22: membership (method invite), one use, a join activity row with the code."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner, description="secret club")
    invite = await create_invite(owner, chat["id"], max_uses=5)
    guest = await portal.login()
    answer = await guest.client.call("POST", resolve_path(invite["code"]))
    assert set(answer) == CHAT_FIELDS
    assert answer == expected_chat(chat["id"], chat["name"], owner, description="secret club")
    member = (await memberships(portal, chat["id"]))[guest.id]
    assert (member.method, member.invite_code) == ("invite", invite["code"])
    assert (await invite_row(portal, invite["code"])).uses == 1
    [row] = await activity_rows(portal, chat["id"])
    assert (row.user_id, row.action, row.method, row.invite_code, row.actor_id) == (
        guest.id,
        "join",
        "invite",
        invite["code"],
        None,
    )
    # the chat is now theirs to see and list
    assert (await guest.client.call("GET", chats_path(chat["id"])))["id"] == chat["id"]
    assert chat["id"] in [c["id"] for c in await guest.client.call("GET", "/v1/portal/chats")]


async def test_resolve_tells_the_new_members_sockets(portal: Portal, sockets: Any) -> None:
    """00 §5: the new member can list the chat now: `chat:status` to their sockets."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    invite = await create_invite(owner, chat["id"])
    guest = await portal.login()
    lobby = sockets()
    await lobby.connect(token=guest.client.session_token)
    assert chat["id"] not in [entry["chat_id"] for entry in await lobby.expect("chat:list")]
    await guest.client.call("POST", resolve_path(invite["code"]))
    assert await lobby.expect("chat:status") == {"chat_id": chat["id"], "running": False, "viewer_count": 0}


async def test_resolve_by_a_member_again_counts_no_use(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    invite = await create_invite(owner, chat["id"], max_uses=1)
    guest = await portal.login()
    await guest.client.call("POST", resolve_path(invite["code"]))
    # exhausted now, and the member is already in: the code is no longer live
    await expect_error(guest.client.call("POST", resolve_path(invite["code"])), 404, "ERR_INVITE_INVALID")
    unlimited = await create_invite(owner, chat["id"])
    answer = await guest.client.call("POST", resolve_path(unlimited["code"]))
    assert answer["id"] == chat["id"]
    assert (await invite_row(portal, unlimited["code"])).uses == 0
    assert [r.action for r in await activity_rows(portal, chat["id"])] == ["join"]


async def test_resolve_by_the_owner_counts_no_use(portal: Portal) -> None:
    """08 §22: the owner gets 200 and no use is counted (and no membership row)."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    invite = await create_invite(owner, chat["id"], max_uses=1)
    answer = await owner.client.call("POST", resolve_path(invite["code"]))
    assert answer["id"] == chat["id"]
    assert (await invite_row(portal, invite["code"])).uses == 0
    assert await memberships(portal, chat["id"]) == {}
    assert await activity_rows(portal, chat["id"]) == []


async def test_resolve_counts_every_new_member_until_max_uses(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    invite = await create_invite(owner, chat["id"], max_uses=2)
    first, second, third = await portal.login(), await portal.login(), await portal.login()
    await first.client.call("POST", resolve_path(invite["code"]))
    await second.client.call("POST", resolve_path(invite["code"]))
    await expect_error(third.client.call("POST", resolve_path(invite["code"])), 404, "ERR_INVITE_INVALID")
    assert (await invite_row(portal, invite["code"])).uses == 2
    assert set(await memberships(portal, chat["id"])) == {first.id, second.id}


async def test_resolve_of_an_expired_invite(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    invite = await create_invite(owner, chat["id"], expires_at=iso(portal, 60))
    portal.server.clock.advance(61)
    guest = await portal.login()
    await expect_error(guest.client.call("POST", resolve_path(invite["code"])), 404, "ERR_INVITE_INVALID")
    assert guest.id not in await memberships(portal, chat["id"])
    assert (await invite_row(portal, invite["code"])).uses == 0


@pytest.mark.parametrize("code", ["a" * 16, "nope", "A" * 16, "x" * 100])
async def test_resolve_of_an_unknown_code(portal: Portal, code: str) -> None:
    guest = await portal.login()
    await expect_error(guest.client.call("POST", resolve_path(code)), 404, "ERR_INVITE_INVALID")


async def test_resolve_is_case_sensitive(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    invite = await create_invite(owner, chat["id"])
    guest = await portal.login()
    if invite["code"].upper() != invite["code"]:
        await expect_error(
            guest.client.call("POST", resolve_path(invite["code"].upper())), 404, "ERR_INVITE_INVALID"
        )


async def test_resolve_access(portal: Portal) -> None:
    """08 §22: strangers get 403 "Access denied"; no session is 401."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    invite = await create_invite(owner, chat["id"])
    stranger = await portal.stranger()
    await expect_error(stranger.client.call("POST", resolve_path(invite["code"])), 403, "Access denied")
    await expect_error(
        portal.client().call("POST", resolve_path(invite["code"])), 401, "Authentication required"
    )
    assert (await invite_row(portal, invite["code"])).uses == 0


async def test_a_member_who_left_can_come_back_with_an_invite(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    invite = await create_invite(owner, chat["id"])
    guest = await portal.login()
    await guest.client.call("POST", resolve_path(invite["code"]))
    await guest.client.call("POST", chats_path(chat["id"], "/leave"))
    await guest.client.call("POST", resolve_path(invite["code"]))
    assert guest.id in await memberships(portal, chat["id"])
    assert (await invite_row(portal, invite["code"])).uses == 2
    assert [r.action for r in await activity_rows(portal, chat["id"])] == ["join", "leave", "join"]


# ---- gates on the invite endpoints ------------------------------------------------------------------------


@pytest.mark.parametrize("method,rest", [("POST", ""), ("GET", ""), ("POST", "/abcdefghijklmnop/delete")])
async def test_invite_endpoints_gates(portal: Portal, method: str, rest: str) -> None:
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    kwargs: dict[str, Any] = {"json": {}} if method == "POST" and not rest else {}
    path = invites_path(chat["id"], rest)
    await expect_error(portal.client().call(method, path, **kwargs), 401, "Authentication required")
    stranger = await portal.stranger()
    await expect_error(stranger.client.call(method, path, **kwargs), 403, "Access denied")
    await expect_error(
        owner.client.call(method, invites_path(999_999, rest), **kwargs), 404, "Chat not found"
    )
    await expect_error(
        owner.client.call(method, invites_path("x", rest), **kwargs), 400, "chat_id must be an integer"
    )


# ---- races ----------------------------------------------------------------------------------------------


async def _status(call: Any) -> Any:
    from portal.client import PortalAPIError

    try:
        await call
    except PortalAPIError as exc:
        return exc.status, exc.error
    return 200


async def test_concurrent_creates_stop_at_twenty(portal: Portal) -> None:
    """The per-chat limit holds when creates race (the chat row is locked on both backends)."""
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    for _ in range(18):
        await create_invite(owner, chat["id"])
    results = await asyncio.gather(
        *[_status(owner.client.call("POST", invites_path(chat["id"]), json={})) for _ in range(4)]
    )
    assert sorted(results, key=str) == sorted(
        [200, 200, (409, "ERR_INVITE_LIMIT"), (409, "ERR_INVITE_LIMIT")], key=str
    )
    assert len(await active_codes(owner, chat["id"])) == 20


async def test_concurrent_redeems_of_a_single_use_invite_admit_one(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    invite = await create_invite(owner, chat["id"], max_uses=1)
    guests = [await portal.login() for _ in range(3)]
    results = await asyncio.gather(
        *[_status(g.client.call("POST", resolve_path(invite["code"]))) for g in guests]
    )
    assert sorted(results, key=str) == sorted(
        [200, (404, "ERR_INVITE_INVALID"), (404, "ERR_INVITE_INVALID")], key=str
    )
    assert (await invite_row(portal, invite["code"])).uses == 1
    assert len(await memberships(portal, chat["id"])) == 1


async def test_concurrent_redeems_by_one_user_count_one_use(portal: Portal) -> None:
    owner = await premium(portal)
    chat = await portal.private_chat(owner)
    invite = await create_invite(owner, chat["id"])
    guest = await portal.login()
    results = await asyncio.gather(
        *[_status(guest.client.call("POST", resolve_path(invite["code"]))) for _ in range(4)]
    )
    assert results == [200] * 4
    assert (await invite_row(portal, invite["code"])).uses == 1
    assert [r.action for r in await activity_rows(portal, chat["id"])] == ["join"]
