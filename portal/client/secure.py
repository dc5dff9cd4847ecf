"""An E2EE chat participant for the SDK: one session, its key pair, and the chat keys it holds.

    async with SecureChat(portal_client) as me:      # registers a key pair, connects Socket.IO
        await me.join(chat_id)                        # takes the key from the ack, or waits for one
        await me.send(chat_id, "hello")               # encrypts for the current epoch
        text = await me.next_text(chat_id)            # decrypts the next message:new

It plays the distributor when the server names it (`key:needed`): it makes the chat key when the epoch has
none, wraps it for every listed session and sends `key:distribute`. Keys arrive as `key:received` (the
distributor's own too: the server keeps the first blob stored for a session, so that echo is the key
everyone else got); a rotation (`room:epoch_changed`) makes the next key the one to use.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import defaultdict
from typing import Any

from portal.client import PortalClient
from portal.client.e2ee import E2EEError, KeyPair, decrypt, encrypt, envelope_epoch, new_chat_key, wrap
from portal.client.realtime import RealtimeClient
from portal.domain import MessageType

log = logging.getLogger("portal.client.secure")


class SecureChat:
    def __init__(
        self, client: PortalClient, *, key_pair: KeyPair | None = None, timeout: float = 10.0
    ) -> None:
        if client.session_token is None:
            raise ValueError("sign in first: SecureChat needs the client's session")
        self.client = client
        self.key_pair = key_pair or KeyPair.generate()
        # Only what identifies the client travels with the handshake (the IP a proxy saw, the agent).
        wanted = ("x-forwarded-for", "user-agent")
        forwarded = {k: v for k, v in client.http.headers.items() if k.lower() in wanted}
        self.rt = RealtimeClient(
            str(client.http.base_url).rstrip("/"),
            client.session_token,
            headers=forwarded,
            timeout=timeout,
        )
        self.timeout = timeout
        self.keys: dict[int, dict[int, bytes]] = defaultdict(dict)  # chat → epoch → key
        self.epochs: dict[int, int] = {}
        self._key_arrived: dict[int, asyncio.Event] = defaultdict(asyncio.Event)
        # Keys this client made as distributor, per chat and epoch: `key:needed` may arrive twice for a
        # new epoch at once (events are handled concurrently), and both answers must carry one key.
        self._made: dict[int, dict[int, bytes]] = defaultdict(dict)
        self._distributing: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.distributed: list[dict[str, Any]] = []  # what this client sent as distributor (for tests)
        self.rt.on("key:needed", self._on_key_needed)
        self.rt.on("key:received", self._on_key_received)
        self.rt.on("room:epoch_changed", self._on_epoch_changed)

    async def __aenter__(self) -> SecureChat:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        await self.client.call("POST", "/v1/portal/keys", json={"public_key": self.key_pair.public_key_b64})
        await self.rt.connect()

    async def close(self) -> None:
        await self.rt.close()

    @property
    def session_id(self) -> str:
        """This session's public handle in the protocol: the first 16 hex chars of SHA-256(token)."""
        return hashlib.sha256(self.rt.session_token.encode()).hexdigest()[:16]

    # ---- rooms ------------------------------------------------------------------------------------

    async def join(
        self, chat_id: int | None = None, *, token: str | None = None, wait_for_key: bool = True
    ) -> dict[str, Any]:
        """Join a chat by id, or a direct chat by the match `token` of `match:found` / the match status."""
        if (chat_id is None) == (token is None):
            raise ValueError("join by chat_id or by token")
        ack = await (self.rt.join(chat_id=chat_id) if token is None else self.rt.join(token=token))
        chat_id = int(ack["chat"]["id"])
        self._see_epoch(chat_id, ack["epoch"])
        if ack.get("key"):
            self._store(chat_id, ack["key"]["epoch"], ack["key"]["blob"])
        if wait_for_key:
            await self.wait_for_key(chat_id)
        return ack

    async def wait_for_key(self, chat_id: int, timeout: float | None = None) -> bytes:
        """The key of the chat's current epoch (waits for a distributor to deliver it)."""
        deadline = asyncio.get_running_loop().time() + (timeout or self.timeout)
        while (key := self.current_key(chat_id)) is None:
            event = self._key_arrived[chat_id]
            event.clear()
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no key for chat {chat_id} epoch {self.epochs.get(chat_id)}")
            await asyncio.wait_for(event.wait(), remaining)
        return key

    def current_key(self, chat_id: int) -> bytes | None:
        epoch = self.epochs.get(chat_id)
        return None if epoch is None else self.keys[chat_id].get(epoch)

    # ---- messages ---------------------------------------------------------------------------------

    async def send(self, chat_id: int, text: str) -> str:
        key = await self.wait_for_key(chat_id)
        content = encrypt(key, self.epochs[chat_id], text)
        answer = await self.client.call(
            "POST", f"/v1/portal/chats/{chat_id}/messages", json={"content": content}
        )
        return str(answer["id"])

    def open(self, message: dict[str, Any]) -> str:
        """Decrypt a history or `message:new` object (system messages are plain text)."""
        if message["type"] == MessageType.SYSTEM:
            return str(message["content"])
        epoch = envelope_epoch(message["content"])
        key = self.keys[message["chat_id"]].get(epoch)
        if key is None:
            raise E2EEError(f"no key for epoch {epoch}")
        return decrypt(key, message["content"])

    async def next_message(self, chat_id: int, *, user_only: bool = True) -> dict[str, Any]:
        while True:
            message: dict[str, Any] = await self.rt.next("message:new")
            if message["chat_id"] == chat_id and (message["type"] == MessageType.USER or not user_only):
                return message

    async def next_text(self, chat_id: int) -> str:
        return self.open(await self.next_message(chat_id))

    # ---- key handling -----------------------------------------------------------------------------

    def _see_epoch(self, chat_id: int, epoch: int) -> None:
        """Epochs only move forward: a late event about an older one changes nothing."""
        self.epochs[chat_id] = max(self.epochs.get(chat_id, epoch), epoch)
        self._key_arrived[chat_id].set()

    def _store(self, chat_id: int, epoch: int, blob: str) -> None:
        try:
            key = self.key_pair.unwrap(blob)
        except E2EEError:
            log.warning("a key for chat %s epoch %s did not open with this session's key", chat_id, epoch)
            return
        self.keys[chat_id][epoch] = key
        self._key_arrived[chat_id].set()

    async def _on_key_received(self, data: dict[str, Any]) -> None:
        self._store(data["chat_id"], data["epoch"], data["blob"])

    async def _on_epoch_changed(self, data: dict[str, Any]) -> None:
        self._see_epoch(data["chat_id"], data["epoch"])

    async def _on_key_needed(self, data: dict[str, Any]) -> None:
        """Named distributor: wrap this epoch's key for every listed session — the key it holds, else the
        one it already made for this epoch, else a new one (a new epoch, or a chat with no key yet)."""
        chat_id, epoch = data["chat_id"], data["epoch"]
        self._see_epoch(chat_id, epoch)
        async with self._distributing[chat_id]:
            key = self.keys[chat_id].get(epoch) or self._made[chat_id].get(epoch)
            if key is None:
                key = self._made[chat_id][epoch] = new_chat_key()
            keys = self._wrap_for(chat_id, key, data["sessions"])
            if not keys:
                # Every listed key was unusable: an empty answer would only make the server ask again at
                # once. Silence lets its deadline pass the request on.
                return
            try:
                ack = await self.rt.sio.call(
                    "key:distribute", {"chat_id": chat_id, "epoch": epoch, "keys": keys}, timeout=self.timeout
                )
            except Exception as exc:  # a timeout or a dropped connection: the server names someone else
                log.warning("key:distribute for chat %s epoch %s failed: %r", chat_id, epoch, exc)
                ack = {"ok": False, "error": type(exc).__name__}
            self.distributed.append({"request": data, "ack": ack})

    @staticmethod
    def _wrap_for(chat_id: int, key: bytes, sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The key wrapped for each listed session. A session whose public key cannot be sealed to (a
        server older than the key check may have stored one) is skipped, so the others still get it."""
        keys = []
        for s in sessions:
            try:
                blob = wrap(key, s["public_key"])
            except E2EEError:
                log.warning(
                    "skipped session %s of user %s in chat %s: its public key cannot be sealed to",
                    s["session_id"],
                    s["user_id"],
                    chat_id,
                )
                continue
            keys.append({"user_id": s["user_id"], "session_id": s["session_id"], "blob": blob})
        return keys
