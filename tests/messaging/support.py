"""Shared set-up for the messaging tests: E2EE participants, hand-made bundles, raw sends and history.

Senders are real `SecureChat` clients (a registered key pair, a Socket.IO connection, the chat key from
the distributor). Error paths send hand-made CiphertextV2 bundles over raw REST: the server only checks
the outer shape, so a bundle with random bytes as `ct` is a valid message for it.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from portal.client.e2ee import encrypt
from portal.client.secure import SecureChat
from portal.clock import FakeClock
from portal.config import Settings
from portal.container import Container
from portal.db.migrate import upgrade_async
from portal.db.models import Chat, Message, User
from portal.db.uow import users_changed
from tests.helpers import LoggedIn, Portal
from tests.realtime.conftest import SocketProbe
from tests.servers import (
    TestServer,
    build_settings,
    create_pg_database,
    drop_pg_database,
    purge_redis,
    serving,
    unique_backend_name,
)

MESSAGE_ID = re.compile(r"^(\d{13})-(\d+)$")
MESSAGE_KEYS = {
    "chat_id",
    "chat_name",
    "id",
    "sender",
    "permission_level",
    "content",
    "type",
    "epoch",
    "timestamp",
}
SYSTEM_EPOCH = "0000000000000000"


# ---- bundles and ids ----------------------------------------------------------------------------------


def bundle(epoch: int, *, ct_bytes: int = 40, v: Any = 2, **extra: Any) -> str:
    """A CiphertextV2 string with `ct_bytes` random bytes as `ct` (the server cannot tell it from real)."""
    ct = base64.b64encode(os.urandom(ct_bytes)).decode()
    return json.dumps({"v": v, "epoch": epoch, "ct": ct, **extra}, separators=(",", ":"))


def padded_bundle(epoch: int, length: int) -> str:
    """A valid bundle of exactly `length` characters: a longer `ct` and up to 3 spaces of JSON whitespace
    (08 §67 allows no extra field to pad with)."""
    empty = len(json.dumps({"v": 2, "epoch": epoch, "ct": ""}, separators=(",", ":")))
    ct_chars = (length - empty) // 4 * 4
    assert ct_chars >= 56, "too short for a valid bundle"
    base = bundle(epoch, ct_bytes=ct_chars // 4 * 3)
    padded = "{" + " " * (length - len(base)) + base[1:]
    assert len(padded) == length
    return padded


def id_key(message_id: str) -> tuple[int, int]:
    match = MESSAGE_ID.match(message_id)
    assert match, f"not a message id: {message_id!r}"
    return int(match.group(1)), int(match.group(2))


def epoch_hex(epoch: int) -> str:
    return f"{epoch:016x}"


@contextlib.contextmanager
def frozen(clock: FakeClock) -> Iterator[FakeClock]:
    """Stop the fake clock's real-time drift inside the block: it moves only by `advance`, so TTLs and
    deadlines come out exact on a loaded machine. Afterwards it runs on from where it stood."""
    clock._frozen, clock._offset = clock.time(), 0.0
    try:
        yield clock
    finally:
        now = clock.time()
        clock._frozen, clock._offset = None, 0.0
        clock.set(now)


def on_frozen_clock(test: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Run a `portal` test with the server's clock frozen (see `frozen`)."""

    @functools.wraps(test)
    async def run(portal: Portal, *args: Any, **kwargs: Any) -> None:
        with frozen(portal.server.clock):
            await test(portal, *args, **kwargs)

    return run


# ---- REST ---------------------------------------------------------------------------------------------


def messages_path(chat_id: int) -> str:
    return f"/v1/portal/chats/{chat_id}/messages"


async def send_raw(who: LoggedIn, chat_id: int, content: str) -> str:
    """`POST …/messages` with `content` as given; answers the new id."""
    answer = await who.client.call("POST", messages_path(chat_id), json={"content": content})
    assert set(answer) == {"id"}, answer
    assert MESSAGE_ID.match(answer["id"]), answer
    return str(answer["id"])


async def history(who: LoggedIn, chat_id: int, **params: Any) -> list[dict[str, Any]]:
    answer = await who.client.call("GET", f"/v1/portal/chats/{chat_id}/history", params=params)
    assert isinstance(answer, list), answer
    return answer


def texts(messages: list[dict[str, Any]]) -> list[str]:
    """The contents of the system messages in a history, in order."""
    return [m["content"] for m in messages if m["type"] == "system"]


def user_ids(messages: list[dict[str, Any]]) -> list[str]:
    return [m["id"] for m in messages if m["type"] == "user"]


async def set_config(owner: LoggedIn, chat_id: int, **fields: Any) -> dict[str, Any]:
    return dict(await owner.client.call("POST", f"/v1/portal/chats/{chat_id}/config/update", json=fields))


# ---- participants -------------------------------------------------------------------------------------


def _closed_with(portal: Portal, thing: Any) -> None:
    """Close `thing` when the test's `portal` closes its clients (after the test)."""
    portal._clients.append(thing)


async def secure(portal: Portal, who: LoggedIn, *chat_ids: int, **kwargs: Any) -> SecureChat:
    """A started SecureChat for `who`, joined to `chat_ids` with their keys in hand."""
    chat = SecureChat(who.client, **kwargs)
    _closed_with(portal, chat)
    await chat.start()
    for chat_id in chat_ids:
        await chat.join(chat_id)
    return chat


class Watcher(SocketProbe):
    """A Socket.IO probe that also keeps every event in arrival order (`log`)."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.log: list[tuple[str, Any]] = []

    async def _record(self, event: str, data: Any = None) -> None:
        self.log.append((event, data))
        await super()._record(event, data)

    def order(self, chat_id: int, *names: str) -> list[tuple[str, Any]]:
        """The events named `names` about `chat_id`, in arrival order."""
        return [
            (event, data)
            for event, data in self.log
            if event in names and isinstance(data, dict) and data.get("chat_id") == chat_id
        ]


async def watcher(portal: Portal, who: LoggedIn, *chat_ids: int, base_url: str | None = None) -> Watcher:
    """A connected keyless socket of `who`'s session, joined to `chat_ids` (sees the room's events)."""
    probe = Watcher(base_url or portal.server.base_url)
    _closed_with(portal, probe)
    await probe.connect(token=who.client.session_token)
    await probe.expect("chat:list")
    for chat_id in chat_ids:
        ack = await probe.call("room:join", {"chat_id": chat_id})
        assert ack["ok"] is True, ack
    return probe


async def second_session(portal: Portal, who: LoggedIn) -> LoggedIn:
    """Another signed-in session of the same user (its own client and IP)."""
    client = portal.client()
    link = who.user["linked_platforms"][0]
    user = await portal.web_login(client, link["platform"], link["platform_user_id"])
    assert user["id"] == who.id
    return LoggedIn(client, user)


async def secure_send(chat: SecureChat, chat_id: int, text: str) -> tuple[str, str]:
    """Encrypt `text` with the current key and send it over raw REST; answers (id, content sent)."""
    key = await chat.wait_for_key(chat_id)
    content = encrypt(key, chat.epochs[chat_id], text)
    answer = await chat.client.call("POST", messages_path(chat_id), json={"content": content})
    return str(answer["id"]), content


async def read(chat: SecureChat, chat_id: int, message_id: str) -> str:
    """Wait for the `message:new` with `message_id` (earlier ones are skipped) and decrypt it."""
    while True:
        message = await chat.next_message(chat_id)
        if message["id"] == message_id:
            return chat.open(message)


# ---- rooms --------------------------------------------------------------------------------------------


async def public_room(portal: Portal) -> tuple[LoggedIn, dict[str, Any], SecureChat]:
    """A premium owner, their public chat, and the owner's SecureChat joined to it (holding the key)."""
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    return owner, chat, await secure(portal, owner, chat["id"])


async def private_room(portal: Portal) -> tuple[LoggedIn, dict[str, Any], SecureChat]:
    owner = await portal.login("user", tier=2)
    chat = await portal.private_chat(owner)
    return owner, chat, await secure(portal, owner, chat["id"])


# ---- database reads (side effects without an endpoint) ------------------------------------------------


async def epoch_of(portal: Portal, chat_id: int) -> int:
    async with portal.container.db.read() as session:
        chat = await session.get(Chat, chat_id)
        assert chat is not None
        return int(chat.epoch)


async def stored(portal: Portal, chat_id: int) -> list[tuple[str, str, str]]:
    """(id, type, content) of every stored message of the chat, oldest first."""
    async with portal.container.db.read() as session:
        query = select(Message).where(Message.chat_id == chat_id).order_by(Message.ms, Message.seq)
        return [(m.wire_id, m.type, m.content) for m in (await session.execute(query)).scalars().all()]


async def set_level(portal: Portal, user_id: int, level: int) -> None:
    """Change a user's level in the database, sessions kept (the permission endpoint would end them); a bulk
    update tells the auth cache itself (docs/architecture.md, "Storage")."""
    async with portal.container.db.transaction() as session:
        await session.execute(update(User).where(User.id == user_id).values(permission_level=level))
        users_changed(session, [user_id])


# ---- servers of one's own (restarts) ------------------------------------------------------------------


@contextlib.asynccontextmanager
async def own_backend(backend: str, tmp: Path, **overrides: Any) -> AsyncIterator[Settings]:
    """A fresh database (and Redis prefix) that outlives the servers started on it inside the block."""
    name = unique_backend_name()
    database_url = (
        await create_pg_database(name)
        if backend == "postgres"
        else f"sqlite+aiosqlite:///{tmp / 'portal.db'}"
    )
    try:
        await upgrade_async(database_url)
        yield build_settings(backend, tmp / "var", database_url, name, **overrides)
    finally:
        if backend == "postgres":
            await drop_pg_database(name)
            await purge_redis(name)


def serve(
    settings: Settings, backend: str, clock: FakeClock
) -> contextlib.AbstractAsyncContextManager[TestServer]:
    """A new server process (container) on `settings`' database."""
    return serving(Container(settings, clock=clock), backend, clock)


@contextlib.asynccontextmanager
async def portal_on(server: TestServer) -> AsyncIterator[Portal]:
    """A `Portal` factory for a server the test started itself."""
    factory = Portal(server)
    try:
        yield factory
    finally:
        await factory.close()
