"""Messages, epochs, keys and the wipe schedule live in SQL (00 §1.2): a restarted server on the same
database answers the same history and wipes on time. Runs on SQLite and on PostgreSQL + Redis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from portal.clock import FakeClock
from tests.helpers import LoggedIn, Portal
from tests.messaging.support import (
    history,
    id_key,
    own_backend,
    portal_on,
    public_room,
    read,
    secure,
    secure_send,
    serve,
    set_config,
    texts,
    user_ids,
)
from tests.realtime.conftest import eventually
from tests.servers import TestServer

WIPED = "Messages were wiped"


def again(here: Portal, who: LoggedIn) -> LoggedIn:
    """The same session, talking to the restarted server."""
    return LoggedIn(here.client(session=who.client.session_token), who.user)


async def settled_history(who: LoggedIn, chat_id: int, lefts: int) -> list[dict[str, Any]]:
    """The history once the sockets that closed have written their "left the chat" messages."""

    async def check() -> list[dict[str, Any]] | None:
        listed = await history(who, chat_id, limit=500)
        return listed if sum(t.endswith(" left the chat") for t in texts(listed)) == lefts else None

    return await eventually(check)


async def test_messages_survive_a_restart(server: TestServer, tmp_path: Path) -> None:
    clock = FakeClock()
    async with own_backend(server.backend, tmp_path) as settings:
        async with serve(settings, server.backend, clock) as first, portal_on(first) as here:
            owner, chat, alice = await public_room(here)
            guest = await here.login()
            bob = await secure(here, guest, chat["id"])
            sent = [
                (await secure_send(who, chat["id"], f"m{n}"))[0] for n, who in enumerate([alice, bob, alice])
            ]
            key_pairs = (alice.key_pair, bob.key_pair)
            await alice.close()
            await bob.close()
            before = await settled_history(owner, chat["id"], lefts=2)
            assert user_ids(before) == sent

        async with serve(settings, server.backend, clock) as second, portal_on(second) as here:
            owner_again = again(here, owner)
            assert await history(owner_again, chat["id"], limit=500) == before

            # the clients keep their key pairs; the blobs wrapped for them were kept too
            alice = await secure(here, owner_again, chat["id"], key_pair=key_pairs[0])
            bob = await secure(here, again(here, guest), chat["id"], key_pair=key_pairs[1])
            assert [bob.open(m) for m in before if m["type"] == "user"] == ["m0", "m1", "m2"]
            later, _ = await secure_send(alice, chat["id"], "after the restart")
            assert id_key(later) > id_key(before[-1]["id"])
            assert await read(bob, chat["id"], later) == "after the restart"
            assert (await history(owner_again, chat["id"], limit=500))[: len(before)] == before


async def test_the_wipe_schedule_survives_a_restart(server: TestServer, tmp_path: Path) -> None:
    clock = FakeClock()
    async with own_backend(server.backend, tmp_path) as settings:
        async with serve(settings, server.backend, clock) as first, portal_on(first) as here:
            owner, chat, alice = await public_room(here)
            await set_config(owner, chat["id"], wipe_preset="15m")
            await secure_send(alice, chat["id"], "to be wiped")

        clock.advance(840)
        async with serve(settings, server.backend, clock) as second, portal_on(second) as here:
            owner_again = again(here, owner)
            before = await history(owner_again, chat["id"], limit=500)
            await second.container.janitor.run_once()
            assert await history(owner_again, chat["id"], limit=500) == before
            assert "Auto-wipe set to 15m" in texts(before)

            clock.advance(60)
            report = await second.container.janitor.run_once()
            assert report.chats_wiped == 1
            assert texts(await history(owner_again, chat["id"])) == [WIPED]
            detail = await owner_again.client.call("GET", f"/v1/portal/chats/{chat['id']}")
            assert detail["wipe_preset"] == "15m"
