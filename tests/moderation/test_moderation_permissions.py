"""Who may mute, unmute, ban, unban, time out and warn whom: the permission matrix, written out to be audited.

Spec (the rules every expected answer below is derived from):
- 00 §3.5: levels User 0, Moderator 1, Admin 2, Owner 3; `can_act_on(a, t)` = a is Owner or a > t.
  Private chats: mute, kick, ban, timeout, warn → owner or Admin+ (the abuse-report override); Moderators
  never act by rank in private chats. Official/public: the owner, or anyone with `can_act_on(actor, owner)`.
  Targets: never yourself; the owner only with `can_act_on(actor, owner)`; acting as the owner, any user of a
  level ≤ the owner's; acting by rank, only users with `can_act_on(actor, target)`.
- 04 §6.2–6.8, §6.10: mute/unmute, ban/unban, timeout/warn share these rules.
- 08 §44: everything done by rank also needs `can_act_on(actor, owner)`.
- 08 §45: a Moderator who owns a private chat moderates it as its owner; either path suffices.
- 08 §46, §63: an owner's warn/timeout needs a link to the chat (the targets below are members); mute and
  ban may be set in advance; by rank, any `can_act_on` target.
- 08 §3, §5: every refusal here is 403 "Access denied", self-targeting included; strangers get it everywhere.
- 08 §48, §63: direct chats — outsiders 403, members 409 ERR_DIRECT_CHAT, for every action.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete

from portal.client import PortalAPIError
from portal.db.models import ChatRestriction
from tests.api.chats_support import ChatSetup, actor_for, setup_chat
from tests.helpers import LoggedIn, Portal, expect_error
from tests.moderation.support import (
    act,
    action_path,
    memberships,
    records_of,
    restriction,
    user_row,
)

OK = "ok"
DENIED = 403  # "Access denied"
ACTIONS = ("mute", "unmute", "ban", "unban", "timeout", "warn")
ROLES = ("owner", "member", "outsider", "moderator", "admin", "platform-owner")

# The main matrix: every chat is owned by a (premium) User and the target is a User member of it.
# One row per (action, chat kind); the columns are the actor's roles in ROLES order.
#                                    owner  member  outsider moderator admin  platform-owner
MATRIX: dict[tuple[str, str], tuple[Any, ...]] = {
    ("mute", "private"): (OK, DENIED, DENIED, DENIED, OK, OK),
    ("mute", "public"): (OK, DENIED, DENIED, OK, OK, OK),
    ("mute", "official"): (OK, DENIED, DENIED, OK, OK, OK),
    ("unmute", "private"): (OK, DENIED, DENIED, DENIED, OK, OK),
    ("unmute", "public"): (OK, DENIED, DENIED, OK, OK, OK),
    ("unmute", "official"): (OK, DENIED, DENIED, OK, OK, OK),
    ("ban", "private"): (OK, DENIED, DENIED, DENIED, OK, OK),
    ("ban", "public"): (OK, DENIED, DENIED, OK, OK, OK),
    ("ban", "official"): (OK, DENIED, DENIED, OK, OK, OK),
    ("unban", "private"): (OK, DENIED, DENIED, DENIED, OK, OK),
    ("unban", "public"): (OK, DENIED, DENIED, OK, OK, OK),
    ("unban", "official"): (OK, DENIED, DENIED, OK, OK, OK),
    ("timeout", "private"): (OK, DENIED, DENIED, DENIED, OK, OK),
    ("timeout", "public"): (OK, DENIED, DENIED, OK, OK, OK),
    ("timeout", "official"): (OK, DENIED, DENIED, OK, OK, OK),
    ("warn", "private"): (OK, DENIED, DENIED, DENIED, OK, OK),
    ("warn", "public"): (OK, DENIED, DENIED, OK, OK, OK),
    ("warn", "official"): (OK, DENIED, DENIED, OK, OK, OK),
}

# Rank against chat owners above User, for every action. (chat kind, owner's level, actor's level, expected)
RANK_CASES: list[tuple[str, str, str, Any]] = [
    ("public", "moderator", "moderator", DENIED),  # equal rank is not enough
    ("public", "moderator", "admin", OK),
    ("public", "admin", "moderator", DENIED),  # a Moderator can't act in an Admin's chat
    ("public", "admin", "admin", DENIED),
    ("public", "admin", "owner", OK),
    ("official", "owner", "admin", DENIED),  # the usual official chat: an Owner's
    ("official", "owner", "owner", OK),  # Owners act on each other
    ("private", "moderator", "moderator", DENIED),  # never by rank in private chats
    ("private", "moderator", "admin", OK),  # Admin+ by rank over a Moderator owner
    ("private", "admin", "admin", DENIED),  # 08 §44: rank over the owner is needed too
    ("private", "admin", "owner", OK),
]

# Chats owned by staff, acted on by their own owner (08 §45): (chat kind, owner's level)
OWN_CHAT_CASES = [(kind, level) for level in ("moderator", "admin") for kind in ("private", "public")]

# Targets. (chat kind, owner's level, actor — "chat-owner" or a level —, target's level, expected)
TARGET_CASES: list[tuple[str, str, str, str, Any]] = [
    ("private", "user", "chat-owner", "user", OK),
    ("private", "user", "chat-owner", "moderator", DENIED),  # as owner: only levels ≤ the owner's
    ("private", "user", "chat-owner", "admin", DENIED),
    ("public", "user", "chat-owner", "moderator", DENIED),
    ("official", "user", "chat-owner", "admin", DENIED),
    ("private", "moderator", "chat-owner", "moderator", OK),  # ≤ includes equal
    ("private", "moderator", "chat-owner", "admin", DENIED),
    ("private", "admin", "chat-owner", "admin", OK),
    ("private", "admin", "chat-owner", "owner", DENIED),
    ("public", "user", "moderator", "user", OK),  # a Moderator over Users in a User-owned public chat
    ("public", "user", "moderator", "moderator", DENIED),  # nobody at or above their own level
    ("public", "user", "moderator", "admin", DENIED),
    ("official", "user", "moderator", "user", OK),
    ("public", "user", "admin", "moderator", OK),
    ("public", "user", "admin", "admin", DENIED),
    ("private", "user", "admin", "moderator", OK),  # the abuse-report override
    ("private", "user", "admin", "admin", DENIED),
    ("public", "user", "owner", "owner", OK),  # Owners act on Owners
    ("public", "admin", "chat-owner", "admin", OK),  # as owner (≤), though not by rank: either path suffices
    ("public", "moderator", "owner", "owner", OK),
]

# The chat owner as the target: (chat kind, owner's level, actor's level, expected)
OWNER_AS_TARGET: list[tuple[str, str, str, Any]] = [
    ("public", "user", "user", DENIED),  # a member (below: "user" is a plain member acting)
    ("public", "user", "moderator", OK),  # can_act_on(actor, owner)
    ("public", "moderator", "moderator", DENIED),
    ("private", "user", "admin", OK),
    ("private", "admin", "admin", DENIED),
]


# ---- running one case ---------------------------------------------------------------------------------


async def _restrict(portal: Portal, chat_id: int, user_id: int, kind: str) -> None:
    """A chat mute or ban in force (replacing any), for the lifting actions to lift (no actor involved)."""
    now = portal.server.clock.now()
    async with portal.container.db.transaction() as session:
        await _clear_in(session, chat_id, user_id, kind)
        session.add(
            ChatRestriction(
                chat_id=chat_id,
                user_id=user_id,
                kind=kind,
                reason=None,
                issued_by_id=None,
                expires_at=now + timedelta(days=1),
                created_at=now,
            )
        )


async def _clear(portal: Portal, chat_id: int, user_id: int, kind: str) -> None:
    async with portal.container.db.transaction() as session:
        await _clear_in(session, chat_id, user_id, kind)


async def _clear_in(session: Any, chat_id: int, user_id: int, kind: str) -> None:
    await session.execute(
        delete(ChatRestriction).where(
            ChatRestriction.chat_id == chat_id,
            ChatRestriction.user_id == user_id,
            ChatRestriction.kind == kind,
        )
    )


async def attempt(setup: ChatSetup, action: str, actor: LoggedIn, target: LoggedIn) -> Any:
    """Run `action` on `target` as `actor`; answer OK or the error status after checking the effect."""
    portal, chat_id = setup.portal, setup.chat_id
    if action in ("unmute", "unban"):
        await _restrict(portal, chat_id, target.id, {"unmute": "mute", "unban": "ban"}[action])
    elif action in ("mute", "ban"):
        await _clear(portal, chat_id, target.id, action)
    was_member = target.id in await memberships(portal, chat_id)
    warnings_before = await _warnings(portal, target.id)
    body = {"duration": 60} if action == "timeout" else {}
    try:
        answer = await act(actor, chat_id, action, target.id, **body)
    except PortalAPIError as exc:
        assert (exc.status, exc.error) == (403, "Access denied"), (action, exc.status, exc.body)
        outcome: Any = exc.status
    else:
        assert answer == {"ok": True}
        outcome = OK
    done = outcome == OK
    if action == "mute":
        assert (await restriction(portal, chat_id, target.id, "mute") is not None) is done
    elif action == "unmute":
        assert (await restriction(portal, chat_id, target.id, "mute") is None) is done
    elif action == "ban":
        assert (await restriction(portal, chat_id, target.id, "ban") is not None) is done
        assert (target.id in await memberships(portal, chat_id)) is (was_member and not done)
    elif action == "unban":
        assert (await restriction(portal, chat_id, target.id, "ban") is None) is done
    elif action == "timeout":
        assert ((await user_row(portal, target.id)).state == 1) is done
    else:
        assert await _warnings(portal, target.id) == warnings_before + (1 if done else 0)
    return outcome


async def _warnings(portal: Portal, user_id: int) -> int:
    return len([r for r in await records_of(portal, user_id) if r.action_type == "PLATFORM_WARNING"])


# The order one target goes through: the actions that need a link to the chat (warn, timeout) come before
# the ban that removes the membership; every action's effect is checked on its own.
SEQUENCE = ("warn", "mute", "unmute", "timeout", "unban", "ban")


async def outcomes(setup: ChatSetup, actor: LoggedIn, target_level: str = "user") -> dict[str, Any]:
    """Each action, in SEQUENCE, on one member of `target_level`."""
    target = await setup.add_member(target_level)
    return {action: await attempt(setup, action, actor, target) for action in SEQUENCE}


# ---- the tests ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["private", "public", "official"])
@pytest.mark.parametrize("role", ROLES)
async def test_matrix_on_user_owned_chats(portal: Portal, sockets: Any, kind: str, role: str) -> None:
    setup = await setup_chat(portal, sockets, kind)
    actor = await actor_for(setup, role)
    column = ROLES.index(role)
    assert await outcomes(setup, actor) == {action: MATRIX[(action, kind)][column] for action in ACTIONS}


@pytest.mark.parametrize(
    ("kind", "owner_level", "actor_level", "expected"),
    RANK_CASES,
    ids=[f"{k}-of-{o}-by-{a}" for k, o, a, _ in RANK_CASES],
)
async def test_rank_over_the_chat_owner(
    portal: Portal, sockets: Any, kind: str, owner_level: str, actor_level: str, expected: Any
) -> None:
    """08 §44: acting by rank needs `can_act_on(actor, owner)`; Moderators never by rank in private chats."""
    setup = await setup_chat(portal, sockets, kind, owner_level)
    actor = await portal.login(actor_level)
    assert await outcomes(setup, actor) == dict.fromkeys(ACTIONS, expected)


@pytest.mark.parametrize(("kind", "level"), OWN_CHAT_CASES, ids=[f"{k}-{lv}" for k, lv in OWN_CHAT_CASES])
async def test_staff_moderate_their_own_chats(portal: Portal, sockets: Any, kind: str, level: str) -> None:
    """08 §45: a Moderator (or Admin) who owns a chat moderates it as its owner, private ones included."""
    setup = await setup_chat(portal, sockets, kind, level)
    assert await outcomes(setup, setup.owner) == dict.fromkeys(ACTIONS, OK)


@pytest.mark.parametrize(
    ("kind", "owner_level", "actor", "target_level", "expected"),
    TARGET_CASES,
    ids=[f"{k}-of-{o}-by-{a}-on-{t}" for k, o, a, t, _ in TARGET_CASES],
)
async def test_targets(
    portal: Portal, sockets: Any, kind: str, owner_level: str, actor: str, target_level: str, expected: Any
) -> None:
    """00 §3.5, 08 §45–46: whom each action may hit."""
    setup = await setup_chat(portal, sockets, kind, owner_level)
    who = setup.owner if actor == "chat-owner" else await portal.login(actor)
    assert await outcomes(setup, who, target_level) == dict.fromkeys(ACTIONS, expected)


@pytest.mark.parametrize(
    ("kind", "owner_level", "actor_level", "expected"),
    OWNER_AS_TARGET,
    ids=[f"{k}-of-{o}-by-{a}" for k, o, a, _ in OWNER_AS_TARGET],
)
async def test_the_chat_owner_as_target(
    portal: Portal, sockets: Any, kind: str, owner_level: str, actor_level: str, expected: Any
) -> None:
    """00 §3.5: never the chat owner unless `can_act_on(actor, owner)`."""
    setup = await setup_chat(portal, sockets, kind, owner_level)
    actor = await setup.add_member() if actor_level == "user" else await portal.login(actor_level)
    results = {}
    for action in ("mute", "ban", "warn"):  # the owner is linked to their chat (the owner of a room)
        results[action] = await attempt(setup, action, actor, setup.owner)
        if results[action] == OK and action == "ban":
            await act(actor, setup.chat_id, "unban", setup.owner.id)
    assert results == dict.fromkeys(("mute", "ban", "warn"), expected)


@pytest.mark.parametrize("action", ACTIONS)
async def test_yourself_is_always_refused(portal: Portal, sockets: Any, action: str) -> None:
    """08 §5: targeting yourself is 403 "Access denied" for everyone, the chat owner and Owners too."""
    setup = await setup_chat(portal, sockets, "public")
    body = {"duration": 60} if action == "timeout" else {}
    for who in (setup.owner, await portal.login("owner"), await portal.login("moderator")):
        await expect_error(act(who, setup.chat_id, action, who.id, **body), 403, "Access denied")
        assert await records_of(portal, who.id) == []


@pytest.mark.parametrize("kind", ["private", "public", "official"])
async def test_strangers_are_refused_everywhere(portal: Portal, sockets: Any, kind: str) -> None:
    """08 §32: strangers get 403 "Access denied" on every moderation endpoint."""
    setup = await setup_chat(portal, sockets, kind)
    target = await setup.add_member()
    stranger = await portal.stranger()
    for action in ACTIONS:
        body = {"user_id": target.id, **({"duration": 60} if action == "timeout" else {})}
        await expect_error(
            stranger.client.call("POST", action_path(setup.chat_id, action), json=body), 403, "Access denied"
        )
    for endpoint in ("hard-mute", "hard-unmute"):
        await expect_error(
            stranger.client.call("POST", f"/v1/portal/{endpoint}", json={"user_id": target.id}),
            403,
            "Access denied",
        )
    assert await records_of(portal, target.id) == []
    assert target.id in await memberships(portal, setup.chat_id)


# ---- direct chats (08 §48, §63) -----------------------------------------------------------------------


async def test_direct_chats_refuse_chat_moderation(portal: Portal) -> None:
    """08 §48, §63: members get 409 ERR_DIRECT_CHAT; outsiders (Admins too) 403 first."""
    a, b = await portal.login(), await portal.login()
    chat_id = await portal.direct_chat(a, b)
    admin, outsider = await portal.login("admin"), await portal.login()
    for action in ACTIONS:
        body = {"duration": 60} if action == "timeout" else {}
        await expect_error(act(a, chat_id, action, b.id, **body), 409, "ERR_DIRECT_CHAT")
        await expect_error(act(a, chat_id, action, 999_999, **body), 409, "ERR_DIRECT_CHAT")
        for who in (admin, outsider):
            await expect_error(act(who, chat_id, action, b.id, **body), 403, "Access denied")
    assert await records_of(portal, b.id) == []
    assert (await user_row(portal, b.id)).state == 0
