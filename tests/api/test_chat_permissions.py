"""Who may manage and moderate a group chat: the permission matrix, written out so it can be audited.

Spec (the rules every expected answer below is derived from):
- 00 §3.5: levels User 0, Moderator 1, Admin 2, Owner 3; `can_act_on(a, t)` = a is Owner or a > t.
  `can_manage_chat`: the owner, or (official/public only) `can_act_on(actor, owner)`.
  Private chats: config and invites → owner only; kick (and the other chat moderation) → owner or Admin+;
  portal delete/start/stop → owner or a platform Owner. Moderators never act by rank in private chats.
  Targets: never yourself; the owner only with `can_act_on(actor, owner)`; acting as the owner, anyone of a
  level ≤ the owner's; acting by rank, only users with `can_act_on(actor, target)`.
- 03 §3.6–3.9: config and invites use `can_manage_room`; activity: owner, or rank over the owner on
  official/public chats; Moderators may not read private chats' activity (08 §20).
- 08 §44: everything done by rank also needs `can_act_on(actor, owner)`.
- 08 §45: a Moderator who owns a private chat acts in it as its owner; when both paths apply, either suffices.
- 08 §22: invites exist on private and public chats (creating one on an official chat is a 409).
- 08 §3: every one of these refusals is 403 "Access denied"; strangers get it everywhere (08 §32).
"""

from __future__ import annotations

from typing import Any

import pytest

from portal.db.models import ChatInvite
from tests.api.chats_support import (  # noqa: F401  (the `sockets` fixture)
    ChatSetup,
    actor_for,
    audit_rows,
    chat_owner,
    chat_row,
    chats_path,
    count_rows,
    invite_row,
    join_room,
    make_chat,
    memberships,
    setup_chat,
    sockets_fixture,
)
from tests.helpers import LoggedIn, Portal, expect_error

OK = "ok"
DENIED = 403  # "Access denied"
OFFICIAL_INVITE = 409  # "Invites are for private and public chats" (08 §22)
NO_INVITE = 404  # "Invite not found": official chats never have one to revoke

ROLES = ("owner", "member", "outsider", "moderator", "admin", "platform-owner")

# The main matrix: every chat is owned by a (premium) User. One row per (action, chat kind); the columns are
# the actor's roles in ROLES order.
#                                    owner  member  outsider moderator admin  platform-owner
MATRIX: dict[tuple[str, str], tuple[Any, ...]] = {
    ("config", "private"): (OK, DENIED, DENIED, DENIED, DENIED, DENIED),
    ("config", "public"): (OK, DENIED, DENIED, OK, OK, OK),
    ("config", "official"): (OK, DENIED, DENIED, OK, OK, OK),
    ("invite-create", "private"): (OK, DENIED, DENIED, DENIED, DENIED, DENIED),
    ("invite-create", "public"): (OK, DENIED, DENIED, OK, OK, OK),
    ("invite-create", "official"): (
        OFFICIAL_INVITE,
        DENIED,
        DENIED,
        OFFICIAL_INVITE,
        OFFICIAL_INVITE,
        OFFICIAL_INVITE,
    ),
    ("invite-list", "private"): (OK, DENIED, DENIED, DENIED, DENIED, DENIED),
    ("invite-list", "public"): (OK, DENIED, DENIED, OK, OK, OK),
    ("invite-list", "official"): (OK, DENIED, DENIED, OK, OK, OK),
    ("invite-revoke", "private"): (OK, DENIED, DENIED, DENIED, DENIED, DENIED),
    ("invite-revoke", "public"): (OK, DENIED, DENIED, OK, OK, OK),
    ("invite-revoke", "official"): (NO_INVITE, DENIED, DENIED, NO_INVITE, NO_INVITE, NO_INVITE),
    ("activity", "private"): (OK, DENIED, DENIED, DENIED, OK, OK),
    ("activity", "public"): (OK, DENIED, DENIED, OK, OK, OK),
    ("activity", "official"): (OK, DENIED, DENIED, OK, OK, OK),
    ("delete", "private"): (OK, DENIED, DENIED, DENIED, DENIED, OK),
    ("delete", "public"): (OK, DENIED, DENIED, DENIED, DENIED, OK),
    ("delete", "official"): (OK, DENIED, DENIED, DENIED, DENIED, OK),
    # kick: the target is a User member of the chat (not the actor)
    ("kick", "private"): (OK, DENIED, DENIED, DENIED, OK, OK),
    ("kick", "public"): (OK, DENIED, DENIED, OK, OK, OK),
    ("kick", "official"): (OK, DENIED, DENIED, OK, OK, OK),
}
MATRIX_CASES = [
    (action, kind, role, expected)
    for (action, kind), row in MATRIX.items()
    for role, expected in zip(ROLES, row, strict=True)
]

# Rank against owners above User. (action, chat kind, chat owner's level, actor's level, expected)
RANK_CASES: list[tuple[str, str, str, str, Any]] = [
    ("config", "public", "moderator", "moderator", DENIED),  # equal rank is not enough
    ("config", "public", "moderator", "admin", OK),
    ("config", "public", "admin", "moderator", DENIED),  # a Moderator can't manage an Admin's chat
    ("config", "public", "admin", "admin", DENIED),
    ("config", "public", "admin", "owner", OK),
    ("config", "public", "owner", "admin", DENIED),
    ("config", "public", "owner", "owner", OK),  # Owners act on each other
    ("config", "official", "owner", "admin", DENIED),  # the usual official chat: an Owner's
    ("config", "official", "owner", "owner", OK),
    ("config", "private", "moderator", "owner", DENIED),  # private config: owner only
    ("invite-create", "public", "moderator", "admin", OK),
    ("invite-create", "public", "admin", "moderator", DENIED),
    ("invite-create", "private", "moderator", "admin", DENIED),
    ("invite-list", "public", "admin", "admin", DENIED),
    ("invite-list", "public", "admin", "owner", OK),
    ("activity", "public", "admin", "moderator", DENIED),
    ("activity", "public", "moderator", "admin", OK),
    ("activity", "official", "owner", "admin", DENIED),
    ("activity", "private", "moderator", "admin", OK),  # Admin+ by rank over a Moderator owner
    ("activity", "private", "moderator", "moderator", DENIED),
    ("activity", "private", "admin", "admin", DENIED),  # 08 §44: rank over the owner is needed too
    ("activity", "private", "admin", "owner", OK),
    ("kick", "private", "admin", "admin", DENIED),
    ("kick", "private", "admin", "owner", OK),
    ("kick", "private", "moderator", "admin", OK),
    ("kick", "public", "moderator", "moderator", DENIED),
    ("kick", "public", "moderator", "admin", OK),
    ("kick", "public", "admin", "moderator", DENIED),
    ("kick", "official", "owner", "admin", DENIED),
    ("kick", "official", "owner", "owner", OK),
    ("delete", "public", "admin", "owner", OK),  # only a platform Owner deletes someone else's chat
    ("delete", "private", "owner", "owner", OK),  # even another Owner's
    ("delete", "private", "moderator", "admin", DENIED),  # admins use /v1/admin/chats/{id}/delete
    ("delete", "public", "moderator", "admin", DENIED),
]

# Chats owned by staff, acted on by their own owner (08 §45, §49: owning it is enough).
OWN_CHAT_CASES: list[tuple[str, str, str]] = [
    (action, kind, level)
    for level in ("moderator", "admin")
    for action in ("config", "invite-create", "activity", "kick", "delete")
    for kind in ("private", "public")
]

# Kick targets. (chat kind, chat owner's level, actor — "chat-owner" or a level —, target's level, expected)
TARGET_CASES: list[tuple[str, str, str, str, Any]] = [
    ("private", "user", "chat-owner", "user", OK),
    ("private", "user", "chat-owner", "moderator", DENIED),  # as owner: only levels ≤ the owner's
    ("private", "user", "chat-owner", "admin", DENIED),
    ("public", "user", "chat-owner", "moderator", DENIED),
    ("private", "moderator", "chat-owner", "moderator", OK),  # ≤ includes equal
    ("private", "moderator", "chat-owner", "admin", DENIED),
    ("private", "admin", "chat-owner", "admin", OK),
    ("private", "admin", "chat-owner", "owner", DENIED),
    ("public", "user", "moderator", "user", OK),  # by rank: the kick page's "ADMIN+" is superseded
    ("public", "user", "moderator", "moderator", DENIED),
    ("public", "user", "moderator", "admin", DENIED),
    ("official", "user", "moderator", "user", OK),
    ("official", "user", "moderator", "admin", DENIED),
    ("public", "user", "admin", "moderator", OK),
    ("public", "user", "admin", "admin", DENIED),
    ("private", "user", "admin", "moderator", OK),  # the abuse-report override
    ("private", "user", "admin", "admin", DENIED),
    ("public", "user", "owner", "owner", OK),  # Owners act on Owners
    ("public", "admin", "chat-owner", "admin", OK),  # as owner (≤), though not by rank: either path suffices
    ("public", "moderator", "owner", "owner", OK),
]


# ---- running one case -----------------------------------------------------------------------------------


async def attempt(setup: ChatSetup, action: str, actor: LoggedIn, *, target_level: str = "user") -> Any:
    """Run `action` as `actor`; answer OK or the error status, after checking the effect (or its absence)."""
    portal, chat_id = setup.portal, setup.chat["id"]
    path = chats_path(chat_id)
    if action == "config":
        audits = len(await audit_rows(portal, "CHAT_UPDATE", chat_id))
        call = actor.client.call("POST", f"{path}/config/update", json={"locked_controls": True})
        outcome = await _outcome(call)
        assert (await chat_row(portal, chat_id)).locked_controls is (outcome == OK)
        assert len(await audit_rows(portal, "CHAT_UPDATE", chat_id)) == audits + (1 if outcome == OK else 0)
        return outcome
    if action == "invite-create":
        before = await count_rows(portal, ChatInvite, chat_id)
        outcome = await _outcome(actor.client.call("POST", f"{path}/invites", json={}))
        assert await count_rows(portal, ChatInvite, chat_id) == before + (1 if outcome == OK else 0)
        return outcome
    if action == "invite-list":
        if setup.kind != "official":
            await setup.owner.client.call("POST", f"{path}/invites", json={})
        answer: dict[str, Any] = {}
        outcome = await _outcome(actor.client.call("GET", f"{path}/invites"), answer)
        if outcome == OK:
            assert len(answer["body"]["invites"]) == (0 if setup.kind == "official" else 1)
        return outcome
    if action == "invite-revoke":
        code = "a" * 16
        if setup.kind != "official":
            code = (await setup.owner.client.call("POST", f"{path}/invites", json={}))["code"]
        outcome = await _outcome(actor.client.call("POST", f"{path}/invites/{code}/delete"))
        if setup.kind != "official":
            assert (await invite_row(portal, code) is None) is (outcome == OK)
        return outcome
    if action == "activity":
        await setup.add_member()  # one join row to read
        answer = {}
        outcome = await _outcome(actor.client.call("GET", f"{path}/activity"), answer)
        if outcome == OK:
            assert answer["body"]["total"] >= 1
        return outcome
    if action == "delete":
        outcome = await _outcome(actor.client.call("POST", f"{path}/delete"))
        assert (await chat_row(portal, chat_id) is None) is (outcome == OK)
        return outcome
    assert action == "kick", action
    target = await setup.add_member(target_level)
    outcome = await _outcome(actor.client.call("POST", f"{path}/kick", json={"user_id": target.id}))
    assert (target.id not in await memberships(portal, chat_id)) is (outcome == OK)
    return outcome


async def _outcome(call: Any, answer: dict[str, Any] | None = None) -> Any:
    from portal.client import PortalAPIError

    try:
        body = await call
    except PortalAPIError as exc:
        expected_text = {
            403: "Access denied",
            404: "Invite not found",
            409: "Invites are for private and public chats",
        }.get(exc.status)
        assert exc.error == expected_text, (exc.status, exc.error)
        return exc.status
    if answer is not None:
        answer["body"] = body
    return OK


# ---- the tests ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "kind", "role", "expected"),
    MATRIX_CASES,
    ids=[f"{a}-{k}-{r}" for a, k, r, _ in MATRIX_CASES],
)
async def test_matrix_on_user_owned_chats(
    portal: Portal, sockets: Any, action: str, kind: str, role: str, expected: Any
) -> None:
    setup = await setup_chat(portal, sockets, kind, keep_sockets=True)
    actor = await actor_for(setup, role)
    assert await attempt(setup, action, actor) == expected


@pytest.mark.parametrize(
    ("action", "kind", "owner_level", "actor_level", "expected"),
    RANK_CASES,
    ids=[f"{a}-{k}-of-{o}-by-{r}" for a, k, o, r, _ in RANK_CASES],
)
async def test_rank_over_the_chat_owner(
    portal: Portal, sockets: Any, action: str, kind: str, owner_level: str, actor_level: str, expected: Any
) -> None:
    """08 §44: acting by rank needs `can_act_on(actor, owner)`."""
    setup = await setup_chat(portal, sockets, kind, owner_level, keep_sockets=True)
    actor = await portal.login(actor_level)
    assert await attempt(setup, action, actor) == expected


@pytest.mark.parametrize(
    ("action", "kind", "level"), OWN_CHAT_CASES, ids=[f"{a}-{k}-{lv}" for a, k, lv in OWN_CHAT_CASES]
)
async def test_staff_manage_their_own_chats(
    portal: Portal, sockets: Any, action: str, kind: str, level: str
) -> None:
    """08 §45, §49: a Moderator (or Admin) who owns a chat acts in it as its owner, private ones included."""
    setup = await setup_chat(portal, sockets, kind, level, keep_sockets=True)
    assert await attempt(setup, action, setup.owner) == OK


@pytest.mark.parametrize(
    ("kind", "owner_level", "actor", "target_level", "expected"),
    TARGET_CASES,
    ids=[f"{k}-of-{o}-by-{a}-kicks-{t}" for k, o, a, t, _ in TARGET_CASES],
)
async def test_kick_targets(
    portal: Portal, sockets: Any, kind: str, owner_level: str, actor: str, target_level: str, expected: Any
) -> None:
    """00 §3.5, 08 §45–46: who a kick may hit."""
    setup = await setup_chat(portal, sockets, kind, owner_level, keep_sockets=True)
    who = setup.owner if actor == "chat-owner" else await portal.login(actor)
    assert await attempt(setup, "kick", who, target_level=target_level) == expected


ACTIONS = [
    ("POST", "/config/update", {"locked_controls": True}),
    ("POST", "/invites", {}),
    ("GET", "/invites", None),
    ("POST", "/invites/abcdefghijklmnop/delete", None),
    ("GET", "/activity", None),
    ("POST", "/delete", None),
    ("POST", "/kick", {"user_id": 1}),
    ("POST", "/start", None),
    ("POST", "/stop", None),
    ("POST", "/leave", None),
    ("GET", "/members", None),
    ("GET", "", None),
]


@pytest.mark.parametrize("kind", ["private", "public", "official"])
async def test_strangers_are_refused_everywhere(portal: Portal, sockets: Any, kind: str) -> None:
    """00 §3.3, 08 §32: strangers get 403 "Access denied" on every group-chat endpoint."""
    setup = await setup_chat(portal, sockets, kind, keep_sockets=True)
    stranger = await portal.stranger()
    for method, rest, body in ACTIONS:
        kwargs = {"json": body} if body is not None else {}
        await expect_error(
            stranger.client.call(method, chats_path(setup.chat["id"], rest), **kwargs), 403, "Access denied"
        )
    await expect_error(
        stranger.client.call("POST", "/v1/portal/chats", json={"name": "nope"}), 403, "Access denied"
    )
    await expect_error(stranger.client.call("GET", "/v1/portal/status"), 403, "Access denied")
    await expect_error(
        stranger.client.call("POST", "/v1/portal/resolve/abcdefghijklmnop"), 403, "Access denied"
    )
    assert await chat_row(portal, setup.chat["id"]) is not None


async def test_every_chat_endpoint_needs_a_session_then_an_integer_id(portal: Portal) -> None:
    """08 §4: 401 first (no session), then 400 for a chat id that is not an integer, then 404."""
    anonymous = portal.client()
    user = await portal.login()
    for method, rest, body in ACTIONS:
        kwargs = {"json": body} if body is not None else {}
        for chat_id in (1, "abc", "1.5"):
            await expect_error(
                anonymous.call(method, chats_path(chat_id, rest), **kwargs), 401, "Authentication required"
            )
        for chat_id in ("abc", "1.5"):
            await expect_error(
                user.client.call(method, chats_path(chat_id, rest), **kwargs),
                400,
                "chat_id must be an integer",
            )
        for chat_id in (999_999, 0, -1, 2**40):
            await expect_error(
                user.client.call(method, chats_path(chat_id, rest), **kwargs), 404, "Chat not found"
            )
