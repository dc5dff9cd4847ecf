"""How a direct chat ends and what is left of it (05 §5.4, §6.5; 08 §28, §29, §55): leave (by id, the
newest, errors), the 24 h expiry, the archived state (join refused, sends 409, history readable, listed
with `archived: true`, no active chat left) and the purge after the archive's time."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import func, select

from portal.db.models import ChatKeyBlob, Message, UserSession
from portal.errors import PortalError
from tests.direct.support import ENDING, chat_row, in_room, order_of, pair, token_for, user_row
from tests.events import capture_events
from tests.helpers import LoggedIn, Portal, expect_error
from tests.messaging.support import frozen, history, messages_path, texts
from tests.realtime.support import private_room, system_texts
from tests.sockets import eventually, online


async def leave(portal: Portal, who: LoggedIn, chat_id: int | None = None) -> None:
    """The action behind `POST /v1/portal/match/leave` (the route is the match endpoints')."""
    await portal.container.direct_lifecycle.leave(actor=await user_row(portal, who), chat_id=chat_id)


async def refused_leave(portal: Portal, who: LoggedIn, chat_id: int | None = None) -> None:
    with pytest.raises(PortalError) as refused:
        await leave(portal, who, chat_id)
    assert (refused.value.status, refused.value.message) == (404, "ERR_MATCH_NO_ACTIVE_DIRECT")


async def listed(who: LoggedIn) -> dict[int, dict[str, Any]]:
    return {c["id"]: c for c in await who.client.call("GET", "/v1/portal/chats")}


async def blobs(portal: Portal, chat_id: int) -> int:
    async with portal.container.db.read() as session:
        query = select(func.count()).select_from(ChatKeyBlob).where(ChatKeyBlob.chat_id == chat_id)
        return int((await session.execute(query)).scalar_one())


async def messages(portal: Portal, chat_id: int) -> int:
    async with portal.container.db.read() as session:
        query = select(func.count()).select_from(Message).where(Message.chat_id == chat_id)
        return int((await session.execute(query)).scalar_one())


# ---- leave ----------------------------------------------------------------------------------------------


async def test_leave_by_id_ends_the_chat_at_once_in_the_contracts_order(portal: Portal, sockets) -> None:
    a, b, chat_id = await pair(portal)
    on_a = await in_room(portal, sockets, a, chat_id)
    on_b = await in_room(portal, sockets, b, chat_id)

    async with capture_events(portal.container) as sent:
        await leave(portal, a, chat_id)
        await on_b.expect_for("room:destroyed", chat_id)

    ending = [e for e in sent.about(chat_id) if e.name in ENDING]
    assert [e.name for e in ending] == list(ENDING)
    assert ending[0].payload["content"] == f"{a.user['username']} left the chat"
    assert ending[1].payload == {"chat_id": chat_id, "user_id": a.id, "grace_until_ms": 0}
    assert ending[1].rooms == (f"user:{b.id}",)
    assert ending[2].payload == {"chat_id": chat_id, "archived": True}
    seen = [name for name, _ in order_of(on_b, chat_id, ENDING)]
    assert seen == list(ENDING), seen
    assert [name for name, _ in order_of(on_a, chat_id, ENDING)] == ["message:new", "room:destroyed"]
    await eventually(lambda: _empty(portal, chat_id))
    # no grace: the leaver's sockets left with the eviction, and nobody hears a countdown
    await on_b.settle()
    assert [e["grace_until_ms"] for e in on_b.pending("room:peer_left", chat_id)] == [0]

    await refused_leave(portal, a, chat_id)  # twice: it is not active any more
    await refused_leave(portal, b, chat_id)
    await refused_leave(portal, a)


async def _empty(portal: Portal, chat_id: int) -> bool:
    return not await portal.container.presence.sockets_in(chat_id)


async def test_leave_without_an_id_ends_the_newest_active_chat(portal: Portal) -> None:
    a, b, older = await pair(portal)
    portal.server.clock.advance(1)
    c = await portal.login()
    newer = await portal.direct_chat(a, c)

    await leave(portal, a)

    assert (await chat_row(portal, newer)).archived_at is not None  # type: ignore[union-attr]
    assert (await chat_row(portal, older)).archived_at is None  # type: ignore[union-attr]
    await leave(portal, a)
    assert (await chat_row(portal, older)).archived_at is not None  # type: ignore[union-attr]
    await refused_leave(portal, a)
    await refused_leave(portal, b)


async def test_leave_of_a_chat_that_is_not_one_of_the_callers_active_direct_chats_is_404(
    portal: Portal,
) -> None:
    a, _, chat_id = await pair(portal)
    outsider = await portal.login()
    owner, group = await private_room(portal)
    await refused_leave(portal, outsider, chat_id)  # someone else's
    await refused_leave(portal, outsider)  # none at all
    await refused_leave(portal, a, group["id"])  # not a direct chat
    await refused_leave(portal, owner, group["id"])
    await refused_leave(portal, a, 999_999_999)
    assert (await chat_row(portal, chat_id)).archived_at is None  # type: ignore[union-attr]


# ---- the 24 h expiry ------------------------------------------------------------------------------------


async def test_the_janitor_archives_a_chat_past_its_expiry_with_chat_expired(portal: Portal, sockets) -> None:
    with frozen(portal.server.clock) as clock:
        a, b, chat_id = await pair(portal)
        on_a = await in_room(portal, sockets, a, chat_id)
        on_b = await in_room(portal, sockets, b, chat_id)
        clock.advance(portal.server.settings.direct_chat_ttl - 1)
        await portal.container.janitor.run_once()
        assert (await chat_row(portal, chat_id)).archived_at is None  # type: ignore[union-attr]

        async with capture_events(portal.container) as sent:
            clock.advance(1)
            await portal.container.janitor.run_once()
            for probe in (on_a, on_b):
                await probe.expect_for("room:destroyed", chat_id)

    assert [e.name for e in sent.about(chat_id) if e.name in ENDING] == ["message:new", "room:destroyed"]
    assert await system_texts(portal, chat_id) == ["Chat expired"]
    for probe in (on_a, on_b):
        assert [name for name, _ in order_of(probe, chat_id, ENDING)] == ["message:new", "room:destroyed"]
        await probe.assert_silent("room:peer_left", chat_id)
    await refused_leave(portal, a, chat_id)


async def test_an_expired_chat_that_no_pass_archived_yet_refuses_joins_and_is_archived(
    portal: Portal, sockets
) -> None:
    with frozen(portal.server.clock) as clock:
        a, _, chat_id = await pair(portal)
        clock.advance(portal.server.settings.direct_chat_ttl)
        probe = await in_room_refused(portal, sockets, a, chat_id)
    assert probe["error"] == "ERR_CHAT_ARCHIVED"
    assert await system_texts(portal, chat_id) == ["Chat expired"]
    await refused_leave(portal, a)


async def in_room_refused(portal: Portal, sockets: Any, who: LoggedIn, chat_id: int) -> dict[str, Any]:
    probe = await online(sockets, who.client.session_token)
    ack = await probe.call("room:join", {"token": token_for(portal, chat_id, who)})
    assert ack["ok"] is False, ack
    return dict(ack)


# ---- the archived state and the purge -------------------------------------------------------------------


async def test_an_archived_chat_is_listed_readable_closed_and_then_purged(portal: Portal, sockets) -> None:
    with frozen(portal.server.clock) as clock:
        a, b, chat_id = await pair(portal)
        stranger = await portal.stranger()
        strangers_chat = await portal.direct_chat(stranger, a)
        on_b = await in_room(portal, sockets, b, chat_id)
        async with portal.container.db.transaction() as session:  # a key blob of the chat's epoch
            session.add(
                ChatKeyBlob(
                    chat_id=chat_id,
                    epoch=0,
                    session_pk=(await _session_pk(portal, b)),
                    user_id=b.id,
                    blob="x" * 108,
                    created_at=portal.server.clock.now(),
                )
            )
        assert await blobs(portal, chat_id) == 1

        await leave(portal, a, chat_id)
        await leave(portal, stranger, strangers_chat)
        await on_b.expect_for("room:destroyed", chat_id)

        # archived: keys purged, joins refused, sends 409 right after the visibility check, history readable
        assert await blobs(portal, chat_id) == 0
        for who in (a, b):
            ack = await on_b.call("room:join", {"chat_id": chat_id})
            assert ack["ok"] is False and ack["error"] == "ERR_CHAT_ARCHIVED", ack
            await expect_error(
                who.client.call("POST", messages_path(chat_id), json={"content": "not even a bundle"}),
                409,
                "ERR_CHAT_ARCHIVED",
            )
            assert texts(await history(who, chat_id)) == [f"{a.user['username']} left the chat"]
            entry = (await listed(who))[chat_id]
            assert entry["archived"] is True and entry["chat_type"] == "direct" and entry["owner"] is None
        outsider = await portal.login()
        await expect_error(
            outsider.client.call("POST", messages_path(chat_id), json={"content": "x"}), 403, "Access denied"
        )
        assert chat_id not in await listed(outsider)
        assert (await listed(stranger))[strangers_chat]["archived"] is True
        await refused_leave(portal, a)  # an archived chat holds no slot: nothing active is left

        # the archive lasts direct_archive_ttl from archiving, then everything goes
        clock.advance(portal.server.settings.direct_archive_ttl - 1)
        await portal.container.janitor.run_once()
        assert chat_id in await listed(a)
        async with capture_events(portal.container) as sent:
            clock.advance(1)
            report = await portal.container.janitor.run_once()

    assert report.direct_chats_purged >= 2
    assert await chat_row(portal, chat_id) is None
    assert await messages(portal, chat_id) == 0
    for who in (a, b):
        await expect_error(who.client.call("GET", f"/v1/portal/chats/{chat_id}/history"), 404)
        assert chat_id not in await listed(who)
    assert await chat_row(portal, strangers_chat) is None  # (the stranger's 24 h session ended by now)
    gone = sent.about(chat_id).named("room:destroyed")
    assert [e.payload for e in gone] == [{"chat_id": chat_id}]
    assert set(gone[0].rooms or ()) == {f"user:{a.id}", f"user:{b.id}"}


async def _session_pk(portal: Portal, who: LoggedIn) -> int:
    token_hash = hashlib.sha256((who.client.session_token or "").encode()).hexdigest()
    async with portal.container.db.read() as session:
        query = select(UserSession.id).where(UserSession.token_hash == token_hash)
        return int((await session.execute(query)).scalar_one())


async def test_hard_mute_still_applies_in_a_direct_chat(portal: Portal, sockets) -> None:
    """08 §48: no per-chat moderation in direct chats, but the global hard mute holds."""
    a, b, chat_id = await pair(portal)
    await in_room(portal, sockets, a, chat_id)
    admin = await portal.login("admin")
    await admin.client.call("POST", "/v1/portal/hard-mute", json={"user_id": a.id, "duration": 300})
    error = await expect_error(
        a.client.call("POST", messages_path(chat_id), json={"content": "x"}), 403, "ERR_HARD_MUTED"
    )
    assert error.status == 403
    await expect_error(
        b.client.call("POST", f"/v1/portal/chats/{chat_id}/mute", json={"user_id": a.id}),
        409,
        "ERR_DIRECT_CHAT",
    )
