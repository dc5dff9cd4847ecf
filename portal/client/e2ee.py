"""End-to-end encryption for clients: the server only ever sees what these functions output.

- Each session has an X25519 key pair; the public half is registered with `POST /v1/portal/keys`.
- A chat key is 32 random bytes per (chat, epoch); it travels wrapped for one session as
  `crypto_box_seal(chat_key, session_public_key)`, base64 ("a blob").
- A message is the JSON string `{"v":2,"epoch":N,"ct":"<base64(nonce24 || secretbox)>"}`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.secret import SecretBox
from nacl.utils import random as random_bytes

PROTOCOL_VERSION = 2
CHAT_KEY_BYTES = SecretBox.KEY_SIZE  # 32


class E2EEError(ValueError):
    """A blob or message that cannot be opened with the keys at hand."""


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode()


def b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as exc:
        raise E2EEError("not base64") from exc


@dataclass(frozen=True)
class KeyPair:
    """A session's X25519 key pair. The private half never leaves the client."""

    private_key: PrivateKey

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(PrivateKey.generate())

    @property
    def public_key_b64(self) -> str:
        return b64encode(bytes(self.private_key.public_key))

    def unwrap(self, blob: str) -> bytes:
        """Open a chat-key blob sealed for this key pair."""
        try:
            key = SealedBox(self.private_key).decrypt(b64decode(blob))
        except CryptoError as exc:
            raise E2EEError("the blob was not sealed for this key") from exc
        if len(key) != CHAT_KEY_BYTES:
            raise E2EEError("a chat key is 32 bytes")
        return key


def new_chat_key() -> bytes:
    return random_bytes(CHAT_KEY_BYTES)


def wrap(chat_key: bytes, recipient_public_key_b64: str) -> str:
    """Seal a chat key for one session's public key (anyone can seal; only that session can open).
    A key that is not a usable X25519 public key (wrong size, a small-order point) is an `E2EEError`."""
    try:
        recipient = PublicKey(b64decode(recipient_public_key_b64))
        return b64encode(SealedBox(recipient).encrypt(chat_key))
    except CryptoError as exc:
        raise E2EEError("not a usable X25519 public key") from exc


def encrypt(chat_key: bytes, epoch: int, plaintext: str) -> str:
    """The `content` to send: a CiphertextV2 JSON string."""
    sealed = SecretBox(chat_key).encrypt(plaintext.encode())  # nonce (24 bytes) || ciphertext
    return json.dumps(
        {"v": PROTOCOL_VERSION, "epoch": epoch, "ct": b64encode(bytes(sealed))}, separators=(",", ":")
    )


def envelope_epoch(content: str) -> int:
    """The epoch a message was encrypted for (to pick the key)."""
    try:
        bundle = json.loads(content)
        return int(bundle["epoch"])
    except (ValueError, KeyError, TypeError) as exc:
        raise E2EEError("not a CiphertextV2 bundle") from exc


def decrypt(chat_key: bytes, content: str) -> str:
    try:
        bundle = json.loads(content)
        sealed = b64decode(bundle["ct"])
    except (ValueError, KeyError, TypeError) as exc:
        raise E2EEError("not a CiphertextV2 bundle") from exc
    try:
        return SecretBox(chat_key).decrypt(sealed).decode()
    except CryptoError as exc:
        raise E2EEError("wrong key for this message") from exc


def safety_code(public_key_b64: str) -> str:
    """A session's safety code, as the web client shows it beside each session: BLAKE2b-256 of the raw public
    key, its first 8 bytes as a big-endian number, the last 12 decimal digits in groups of four. Two people
    compare it out of band to check that nobody swapped a key (docs/webclient.md)."""
    digest = hashlib.blake2b(b64decode(public_key_b64), digest_size=32).digest()
    digits = f"{int.from_bytes(digest[:8], 'big') % 10**12:012d}"
    return f"{digits[:4]} {digits[4:8]} {digits[8:]}"
