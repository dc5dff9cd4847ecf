"""`POST /v1/admin/strangers/block` (00 §3.3, §6; 08 §4, §33): the gates of every level, bad bodies, the
target rules, idempotence, the audit row, how long a block lasts, and what it blocks (the same session,
not a fresh one). The CLI command is in test_block_cli.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from portal.client import PortalAPIError
from portal.db.models import AuditLog, StrangerBlock
from portal.security import sha256_hex
from tests.events import capture_events
from tests.helpers import LoggedIn, Portal, expect_error

BLOCK = "/v1/admin/strangers/block"


def token_hash(who: LoggedIn) -> str:
    token = who.client.session_token
    assert token
    return sha256_hex(token)


async def block(who: LoggedIn, target: Any) -> Any:
    return await who.client.call("POST", BLOCK, json={"user_id": target})


async def audit_rows(portal: Portal, user_id: int) -> list[AuditLog]:
    async with portal.container.db.read() as session:
        query = (
            select(AuditLog)
            .where(AuditLog.event_type == "STRANGER_BLOCK", AuditLog.entity_id == user_id)
            .order_by(AuditLog.id)
        )
        return list((await session.execute(query)).scalars().all())


async def block_rows(portal: Portal, user_id: int) -> list[StrangerBlock]:
    async with portal.container.db.read() as session:
        query = select(StrangerBlock).where(StrangerBlock.user_id == user_id)
        return list((await session.execute(query)).scalars().all())


@pytest.mark.parametrize("level", ["moderator", "admin", "owner"])
async def test_moderators_and_above_block_a_stranger(portal: Portal, level: str) -> None:
    staff = await portal.login(level)
    stranger = await portal.stranger()
    assert not await portal.container.strangers.is_blocked(token_hash(stranger))

    async with capture_events(portal.container) as sent:
        answer = await block(staff, stranger.id)

    assert answer == {"message": f"Stranger {stranger.id} blocked"}
    assert await portal.container.strangers.is_blocked(token_hash(stranger))
    assert sent.names() == []  # nothing is announced: the stranger learns of it on the next enqueue
    [row] = await audit_rows(portal, stranger.id)
    assert (row.entity_type, row.actor_id) == ("user", staff.id)
    # The stranger keeps the session, their direct chats and everything else they may use.
    assert await stranger.client.call("GET", "/v1/portal/chats") == []


async def test_the_level_gate(portal: Portal) -> None:
    """08 §3, §4: anonymous 401, a stranger 403 "Access denied" (the stranger refusal comes before the
    level text), a User 403 "Moderator access required"."""
    target = await portal.stranger()
    anonymous = portal.client()
    await expect_error(
        anonymous.call("POST", BLOCK, json={"user_id": target.id}), 401, "Authentication required"
    )
    other_stranger = await portal.stranger()
    await expect_error(block(other_stranger, target.id), 403, "Access denied")
    user = await portal.login("user")
    await expect_error(block(user, target.id), 403, "Moderator access required")
    # The gates come before the body (08 §4): a broken body still answers 401/403.
    await expect_error(anonymous.call("POST", BLOCK, content=b"{"), 401, "Authentication required")
    await expect_error(user.client.call("POST", BLOCK, json={}), 403, "Moderator access required")
    assert not await portal.container.strangers.is_blocked(token_hash(target))
    assert await audit_rows(portal, target.id) == []


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "user_id is required"),
        ({"user_id": "5"}, "user_id must be an integer"),
        ({"user_id": None}, "user_id must be an integer"),
        ({"user_id": 5, "reason": "spam"}, "reason is not allowed"),
        ([5], "Invalid request"),
        (None, "Invalid request"),
    ],
)
async def test_bad_bodies_are_400(portal: Portal, body: Any, error: str) -> None:
    moderator = await portal.login("moderator")
    kwargs: dict[str, Any] = {"content": b"{not json"} if body is None else {"json": body}
    await expect_error(moderator.client.call("POST", BLOCK, **kwargs), 400, error)


async def test_the_target_must_be_a_stranger_with_a_live_session(portal: Portal) -> None:
    """08 §33: anyone else is 404 "User not found": an unknown id, a registered user (staff included), a
    stranger who logged out, a stranger whose 24 h session expired."""
    moderator = await portal.login("moderator")
    registered = await portal.login("user")
    logged_out = await portal.stranger()
    await logged_out.client.logout()
    for target in (0, 2**31 - 1, 2**40, registered.id, moderator.id, logged_out.id):
        await expect_error(block(moderator, target), 404, "User not found")
    assert await audit_rows(portal, registered.id) == []

    expiring = await portal.stranger()
    portal.server.clock.advance(86400)
    await expect_error(block(moderator, expiring.id), 404, "User not found")


async def test_blocking_is_idempotent(portal: Portal) -> None:
    moderator, admin = await portal.login("moderator"), await portal.login("admin")
    stranger = await portal.stranger()
    first = await block(moderator, stranger.id)
    second = await block(admin, stranger.id)
    assert first == second == {"message": f"Stranger {stranger.id} blocked"}
    assert len(await block_rows(portal, stranger.id)) == 1
    [row] = await audit_rows(portal, stranger.id)  # the repeat changed nothing, so it is not logged
    assert row.actor_id == moderator.id


async def test_the_block_is_keyed_by_the_session_not_the_person(portal: Portal) -> None:
    """05 §7: the block survives reconnects while the cookie is unchanged; a new cookie is a new identity.
    The key is an HMAC: neither the token nor its plain SHA-256 is stored."""
    moderator = await portal.login("moderator")
    stranger = await portal.stranger()
    token = stranger.client.session_token
    await block(moderator, stranger.id)

    again = portal.client(session=token)  # the same cookie from another connection
    assert (await again.call("GET", "/v1/portal/chats")) == []
    assert await portal.container.strangers.is_blocked(token_hash(stranger))
    fresh = await portal.stranger()  # same person, new cookie
    assert not await portal.container.strangers.is_blocked(token_hash(fresh))

    [row] = await block_rows(portal, stranger.id)
    assert token and row.block_key not in (token, sha256_hex(token))
    assert row.block_key == portal.container.strangers.block_key(sha256_hex(token))


async def test_the_block_lasts_until_the_session_expires(portal: Portal) -> None:
    moderator = await portal.login("moderator")
    stranger = await portal.stranger()
    await block(moderator, stranger.id)
    [row] = await block_rows(portal, stranger.id)
    expires = row.expires_at

    portal.server.clock.advance((expires - portal.server.clock.now()).total_seconds() - 1)
    assert await portal.container.strangers.is_blocked(token_hash(stranger))
    portal.server.clock.advance(1)
    assert not await portal.container.strangers.is_blocked(token_hash(stranger))

    await portal.container.janitor.run_once()  # housekeeping drops the dead row
    assert await block_rows(portal, stranger.id) == []


async def _enqueue(who: LoggedIn) -> Any:
    """Enqueue on a tag, or skip while the match queue (issue 11's matchmaking branch) is not merged."""
    try:
        return await who.client.call("POST", "/v1/portal/match", json={"interests": ["music"]})
    except PortalAPIError as exc:
        if exc.status == 404 and exc.error == "Not found":
            pytest.skip("the match endpoints are not built on this branch yet")
        raise


async def test_a_blocked_stranger_is_refused_on_enqueue_and_a_fresh_session_is_not(portal: Portal) -> None:
    """05 §5.1, 08 §30: 403 ERR_STRANGER_BLOCKED with the same session; a fresh stranger is allowed. The
    block also takes the stranger out of every queue it was in."""
    moderator = await portal.login("moderator")
    stranger = await portal.stranger()
    assert (await _enqueue(stranger))["state"] == "searching"

    await block(moderator, stranger.id)

    status = await stranger.client.call("GET", "/v1/portal/match/status")
    assert status["state"] == "idle"
    await expect_error(_enqueue(stranger), 403, "ERR_STRANGER_BLOCKED")
    fresh = await portal.stranger()
    assert (await _enqueue(fresh))["state"] == "searching"
    await fresh.client.call("POST", "/v1/portal/match/dequeue")
