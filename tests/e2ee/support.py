"""Shared set-up for the E2EE tests: keyed sessions on raw Socket.IO probes, wrapping, database reads."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from portal.client.e2ee import KeyPair, b64encode, new_chat_key, wrap
from portal.db.models import Chat, ChatKeyBlob, SessionKey, UserSession
from tests.helpers import LoggedIn, Portal, identity_of
from tests.sockets import SocketProbe, online

BLOB_BYTES = 80  # crypto_box_seal of a 32-byte chat key


def session_id_of(token: str) -> str:
    """The protocol's public handle of a session: the first 16 hex chars of SHA-256(token) (00 §5)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


@dataclass
class Keyed:
    """One session of a user, with an X25519 key pair and (once `connect`ed) a Socket.IO probe."""

    who: LoggedIn
    pair: KeyPair = field(default_factory=KeyPair.generate)
    probe: SocketProbe | None = None
    joined: set[int] = field(default_factory=set)  # chats this test already joined it to
    token: str = ""  # kept: the client forgets it on logout

    def __post_init__(self) -> None:
        if not self.token:
            assert self.who.client.session_token is not None, "sign in first"
            self.token = self.who.client.session_token

    @property
    def user_id(self) -> int:
        return self.who.id

    @property
    def session_id(self) -> str:
        return session_id_of(self.token)

    @property
    def public_key(self) -> str:
        return self.pair.public_key_b64

    def ref(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "session_id": self.session_id}

    def with_key(self) -> dict[str, Any]:
        return {**self.ref(), "public_key": self.public_key}

    @property
    def sock(self) -> SocketProbe:
        assert self.probe is not None, "connect first"
        return self.probe

    async def register(self) -> dict[str, Any]:
        return dict(
            await self.who.client.call("POST", "/v1/portal/keys", json={"public_key": self.public_key})
        )

    async def join(self, chat_id: int) -> dict[str, Any]:
        ack = await self.sock.call("room:join", {"chat_id": chat_id})
        assert ack["ok"] is True, ack
        return dict(ack)

    async def distribute(self, chat_id: int, epoch: int, keys: list[dict[str, Any]]) -> dict[str, Any]:
        return dict(
            await self.sock.call("key:distribute", {"chat_id": chat_id, "epoch": epoch, "keys": keys})
        )

    async def needed(self, chat_id: int) -> dict[str, Any]:
        return dict(await self.sock.expect_for("key:needed", chat_id))

    async def received(self, chat_id: int) -> dict[str, Any]:
        return dict(await self.sock.expect_for("key:received", chat_id))

    def drain(self, event: str) -> None:
        """Forget every `event` received so far."""
        queue = self.sock.events[event]
        while not queue.empty():
            queue.get_nowait()


async def keyed(portal: Portal, sockets: Any, who: LoggedIn | None = None, *, register: bool = True) -> Keyed:
    """A signed-in session (a new user unless `who` is given) with its key registered and a socket."""
    member = Keyed(who or await portal.login())
    if register:
        assert (await member.register()) == {"status": "registered"}
    member.probe = await online(sockets, member.token)
    return member


async def second_session(portal: Portal, who: LoggedIn) -> LoggedIn:
    """Another session of the same user (a second web login from another client)."""
    client = portal.client()
    platform, platform_user_id = identity_of(who.user)
    user = await portal.web_login(client, platform, platform_user_id)
    return LoggedIn(client, user)


def wrapped_for(chat_key: bytes, *members: Keyed) -> list[dict[str, Any]]:
    return [{**m.ref(), "blob": wrap(chat_key, m.public_key)} for m in members]


def fake_blob(size: int = BLOB_BYTES) -> str:
    return b64encode(secrets.token_bytes(size))


def fresh_key() -> bytes:
    return new_chat_key()


def raw_public_key(size: int = 32) -> str:
    return base64.b64encode(secrets.token_bytes(size)).decode()


# ---- the database (side effects) -----------------------------------------------------------------------


async def chat_epoch(portal: Portal, chat_id: int) -> int:
    async with portal.container.db.read() as session:
        chat = await session.get(Chat, chat_id)
        assert chat is not None
        return int(chat.epoch)


async def session_pk(portal: Portal, member: Keyed | str) -> int:
    """The session row's id, for a Keyed member or a session token."""
    token = member if isinstance(member, str) else member.token
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    async with portal.container.db.read() as session:
        row = (
            await session.execute(select(UserSession).where(UserSession.token_hash == token_hash))
        ).scalar_one()
        return int(row.id)


async def blobs(portal: Portal, chat_id: int) -> dict[tuple[int, int], str]:
    """(epoch, session_pk) → blob for every stored blob of the chat."""
    async with portal.container.db.read() as session:
        rows = (await session.execute(select(ChatKeyBlob).where(ChatKeyBlob.chat_id == chat_id))).scalars()
        return {(int(r.epoch), int(r.session_pk)): r.blob for r in rows}


async def blob_epochs(portal: Portal, chat_id: int) -> set[int]:
    return {epoch for epoch, _pk in await blobs(portal, chat_id)}


async def stored_key(portal: Portal, member: Keyed) -> str | None:
    pk = await session_pk(portal, member)
    async with portal.container.db.read() as session:
        row = await session.get(SessionKey, pk)
        return row.public_key if row else None


async def force_key(portal: Portal, member: Keyed, public_key: str) -> None:
    """Store a public key for the member's session behind the API's back (a key an older server took)."""
    pk = await session_pk(portal, member)
    async with portal.container.db.transaction() as session:
        row = await session.get(SessionKey, pk)
        assert row is not None, "register first"
        row.public_key = public_key


async def blobs_of(portal: Portal, member: Keyed | str) -> list[tuple[int, int]]:
    """(chat_id, epoch) of every blob stored for the member's session."""
    pk = await session_pk(portal, member)
    async with portal.container.db.read() as session:
        rows = (await session.execute(select(ChatKeyBlob).where(ChatKeyBlob.session_pk == pk))).scalars()
        return sorted((int(r.chat_id), int(r.epoch)) for r in rows)
