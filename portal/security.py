"""Tokens, codes and keyed hashes. Every secret comparison is constant-time."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import string

CODE_ALPHABET = string.ascii_letters + string.digits
LOGIN_CODE_LENGTH = 8
BOT_KEY_PREFIX = "hbot_"
SESSION_COOKIE = "psession"  # the session token's cookie (REST, the Socket.IO handshake and the SDK)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def keyed_hash(secret: str, value: str) -> str:
    """HMAC-SHA256(secret, value) as hex: for lookups of short secrets (login codes, stranger blocks)."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def new_session_token() -> str:
    """256 random bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def session_public_id(token_hash: str) -> str:
    """The protocol's `session_id`: first 16 hex characters of SHA-256(token)."""
    return token_hash[:16]


def new_login_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(LOGIN_CODE_LENGTH))


def new_bot_key() -> str:
    """`hbot_` + 32 random URL-safe characters."""
    return BOT_KEY_PREFIX + secrets.token_urlsafe(24)[:32]


# ---- match tokens ----------------------------------------------------------------------------------------
# A direct chat member's bearer credential for `room:join {token}`: "<chat_id>.<HMAC of chat and member>".
# Derived, not stored: the chat id says where to look, the MAC proves the server issued it for that member,
# and the chat's own state (active, not archived) decides whether it still admits anyone
# (docs/decisions.md, "Matchmaking and direct chats").
MATCH_TOKEN_PURPOSE = "portal-match-token-v1"


def match_token(secret: str, chat_id: int, user_id: int) -> str:
    mac = hmac.new(secret.encode(), f"{MATCH_TOKEN_PURPOSE}:{chat_id}:{user_id}".encode(), hashlib.sha256)
    return f"{chat_id}.{mac.hexdigest()}"


def match_token_chat(token: str) -> int | None:
    """The chat a token names (not yet proof of anything), or None for a malformed token."""
    chat, dot, mac = token.partition(".")
    if not dot or not chat.isdigit() or len(chat) > 19 or len(mac) != 64:
        return None
    return int(chat)


def match_token_admits(secret: str, token: str, chat_id: int, user_id: int) -> bool:
    """The token was issued for this member of this chat (constant-time)."""
    return constant_time_equals(token, match_token(secret, chat_id, user_id))


def resolve_client_ip(peer: str, forwarded_for: str | None, trusted: list[str]) -> str:
    """The socket peer, or the first untrusted hop of `X-Forwarded-For` when the peer is a trusted proxy
    (REST requests and Socket.IO handshakes alike)."""
    if peer not in trusted:
        return peer
    hops = [h.strip() for h in (forwarded_for or "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted and _is_ip(hop):
            return hop
    return peer


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
