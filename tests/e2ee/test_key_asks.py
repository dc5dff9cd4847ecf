"""Key asks under a burst of joins, with an ask interval (`PORTAL_KEY_ASK_INTERVAL`; other tests run with 0,
so every join asks): while the distributor has not answered its last ask, a join does not ask again; the
answer brings one ask listing everyone who joined meanwhile; an unanswered ask older than the interval is
repeated by the next join; a registered key always asks; an election the chat's lock kept out runs again
(docs/realtime.md, "Keys"; docs/decisions.md, "Batched key asks")."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from portal.clock import FakeClock
from portal.services import e2ee as e2ee_service
from portal.services.e2ee import _distributor_key as distributor_key
from tests.e2ee.support import Keyed, fresh_key, keyed, wrapped_for
from tests.helpers import Portal
from tests.messaging.support import own_backend, portal_on, serve
from tests.servers import TestServer
from tests.sockets import SocketProbe

INTERVAL = 2.0  # under the distributor's 5 s: an unanswered ask is repeated before it fails over


def by_session(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entries, key=lambda e: e["session_id"])


@contextlib.asynccontextmanager
async def room(
    server: TestServer, tmp_path: Path, people: int, interval: float = INTERVAL
) -> AsyncIterator[tuple[FakeClock, int, list[Keyed], TestServer]]:
    """A node with the interval on a frozen clock, a public chat, and `people` keyed sessions online."""
    clock = FakeClock(start=time.time())  # frozen: only the test moves it
    async with (
        own_backend(server.backend, tmp_path, key_ask_interval=interval) as settings,
        serve(settings, server.backend, clock) as node,
        portal_on(node) as here,
    ):
        chat = await here.public_chat(await here.login("user", tier=2))
        members = [await keyed_on(here, node) for _ in range(people)]
        try:
            yield clock, chat["id"], members, node
        finally:
            for member in members:
                await member.sock.close()


async def keyed_on(here: Portal, node: TestServer) -> Keyed:
    member = Keyed(await here.login())
    assert (await member.register()) == {"status": "registered"}
    member.probe = SocketProbe(node.base_url)
    await member.probe.connect(token=member.token)
    return member


async def test_joins_during_an_unanswered_ask_are_listed_together_once_it_is_answered(
    server: TestServer, tmp_path: Path
) -> None:
    async with room(server, tmp_path, 4) as (_clock, chat_id, (first, *later), _node):
        await first.join(chat_id)
        assert (await first.needed(chat_id))["sessions"] == [first.with_key()]
        for member in later:
            await member.join(chat_id)
        await first.sock.assert_silent("key:needed", chat_id)  # its ask is unanswered: no second one

        key = fresh_key()
        assert await first.distribute(chat_id, 0, wrapped_for(key, first)) == {"ok": True, "stored": 1}
        needed = await first.needed(chat_id)
        assert by_session(needed["sessions"]) == by_session([m.with_key() for m in later])
        assert await first.distribute(chat_id, 0, wrapped_for(key, *later)) == {"ok": True, "stored": 3}
        for member in later:
            assert member.pair.unwrap((await member.received(chat_id))["blob"]) == key
        await first.sock.assert_silent("key:needed", chat_id)  # nobody lacks the key: no further ask


async def test_an_unanswered_ask_older_than_the_interval_is_repeated_by_the_next_join(
    server: TestServer, tmp_path: Path
) -> None:
    async with room(server, tmp_path, 3) as (clock, chat_id, (first, second, third), _node):
        await first.join(chat_id)
        await first.needed(chat_id)
        await second.join(chat_id)
        await first.sock.assert_silent("key:needed", chat_id)

        clock.advance(INTERVAL + 0.1)
        await third.join(chat_id)
        needed = await first.needed(chat_id)
        assert by_session(needed["sessions"]) == by_session(
            [first.with_key(), second.with_key(), third.with_key()]
        )


async def test_a_registered_key_asks_even_while_an_ask_is_unanswered(
    server: TestServer, tmp_path: Path
) -> None:
    async with room(server, tmp_path, 2) as (_clock, chat_id, (first, second), _node):
        await first.join(chat_id)
        await first.needed(chat_id)
        await second.join(chat_id)
        await first.sock.assert_silent("key:needed", chat_id)

        second.pair = type(second.pair).generate()  # a reload: the same session, a new key pair
        assert await second.register() == {"status": "registered"}
        needed = await first.needed(chat_id)
        assert by_session(needed["sessions"]) == by_session([first.with_key(), second.with_key()])


async def test_a_join_whose_skipped_election_the_answer_missed_is_asked_for_after_the_interval(
    server: TestServer, tmp_path: Path
) -> None:
    """The answer's election may read the room just before a join enters it, while the join still sees the
    old ask unanswered and skips its election. The join looks again once the interval has passed (real
    time: 0.2 s here)."""
    async with room(server, tmp_path, 2, interval=0.2) as (clock, chat_id, (first, second), node):
        await first.join(chat_id)
        await first.needed(chat_id)
        key = fresh_key()
        assert await first.distribute(chat_id, 0, wrapped_for(key, first)) == {"ok": True, "stored": 1}
        live, name = node.container.live, distributor_key(chat_id)
        answered = json.loads(await live.get(name) or "{}")
        assert answered["pending"] is False  # nobody lacked the key: no ask out
        # What the join sees in the race: the ask as it was before the answer's election closed it.
        await live.set(name, json.dumps({**answered, "pending": True, "asked_at": clock.time()}))
        await second.join(chat_id)
        await first.sock.assert_silent("key:needed", chat_id)
        await live.set(name, json.dumps(answered))  # what the answer's election wrote

        assert (await first.needed(chat_id))["sessions"] == [second.with_key()]


async def test_an_election_the_chats_lock_kept_out_tries_again(
    portal: Portal, sockets: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A join whose election gives up on the chat's lock (busy past LOCK_WAIT, shortened here) is not left
    unasked: the election runs again a moment later (`RECHECK_AFTER_BUSY`; this server's interval is 0)."""
    monkeypatch.setattr(e2ee_service, "LOCK_WAIT", 0.1)
    chat = await portal.public_chat(await portal.login("user", tier=2))
    first, second = await keyed(portal, sockets), await keyed(portal, sockets)
    await first.join(chat["id"])
    assert (await first.needed(chat["id"]))["sessions"] == [first.with_key()]

    async with portal.container.live.lock(f"e2ee:{chat['id']}", ttl=10, wait=5):  # busy elsewhere
        await second.join(chat["id"])  # its election gave up on the lock
        await first.sock.assert_silent("key:needed", chat["id"])

    needed = await first.needed(chat["id"])
    assert by_session(needed["sessions"]) == by_session([first.with_key(), second.with_key()])
