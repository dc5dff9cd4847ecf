"""The one error hierarchy. Services raise these; the API, Socket.IO acks and the CLI format them.

Wire shape: `{"error": <text or ERR_ code>, "correlation_id": <uuid>, **extra}`.
Socket.IO acks map generic errors to fixed codes; domain `ERR_*` codes pass through.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Every domain code that appears on the wire."""

    BAD_REQUEST = "ERR_BAD_REQUEST"
    UNAUTHORIZED = "ERR_UNAUTHORIZED"
    FORBIDDEN = "ERR_FORBIDDEN"
    NOT_FOUND = "ERR_NOT_FOUND"
    CONFLICT = "ERR_CONFLICT"
    RATE_LIMITED = "ERR_RATE_LIMITED"
    INTERNAL = "ERR_INTERNAL"  # a server failure (5xx) on Socket.IO; REST answers 500 "Internal server error"
    ACCOUNT_RESTRICTED = "ERR_ACCOUNT_RESTRICTED"
    ORIGIN_NOT_ALLOWED = "ERR_ORIGIN_NOT_ALLOWED"
    TRIAL_ALREADY_USED = "ERR_TRIAL_ALREADY_USED"
    NOTIFICATION_NOT_FOUND = "ERR_NOTIFICATION_NOT_FOUND"
    NOTIFICATION_ALREADY_READ = "ERR_NOTIFICATION_ALREADY_READ"
    PREMIUM_REQUIRED = "ERR_PREMIUM_REQUIRED"
    CHAT_SLOT_LIMIT = "ERR_CHAT_SLOT_LIMIT"
    SLUG_TAKEN = "ERR_SLUG_TAKEN"
    INVITE_LIMIT = "ERR_INVITE_LIMIT"
    INVITE_INVALID = "ERR_INVITE_INVALID"
    NOT_JOINED = "ERR_NOT_JOINED"
    MUTED = "ERR_MUTED"
    BANNED = "ERR_BANNED"
    HARD_MUTED = "ERR_HARD_MUTED"
    VM_UNAVAILABLE = "ERR_VM_UNAVAILABLE"
    VM_CAPACITY = "ERR_VM_CAPACITY"
    VM_NOT_RUNNING = "ERR_VM_NOT_RUNNING"
    CONTROL_DISABLED = "ERR_CONTROL_DISABLED"
    NOT_HOST = "ERR_NOT_HOST"
    DIRECT_CHAT = "ERR_DIRECT_CHAT"
    CHAT_ARCHIVED = "ERR_CHAT_ARCHIVED"
    MATCH_UNSUPPORTED_INTEREST = "ERR_MATCH_UNSUPPORTED_INTEREST"
    STRANGER_BLOCKED = "ERR_STRANGER_BLOCKED"
    MATCH_ALREADY_SEARCHING = "ERR_MATCH_ALREADY_SEARCHING"
    MATCH_SLOT_LIMIT = "ERR_MATCH_SLOT_LIMIT"
    MATCH_NO_ACTIVE_DIRECT = "ERR_MATCH_NO_ACTIVE_DIRECT"
    EPOCH_MISMATCH = "ERR_EPOCH_MISMATCH"
    NO_ROOM_KEY = "ERR_NO_ROOM_KEY"
    NOT_DISTRIBUTOR = "ERR_NOT_DISTRIBUTOR"
    # The database or Redis does not answer (REST: 503 "Service unavailable"): retry later
    # (docs/deployment.md "Outages").
    SERVICE_UNAVAILABLE = "ERR_SERVICE_UNAVAILABLE"


# Socket.IO ack code for a generic (non-ERR_) error of each status.
GENERIC_ACK_CODES: dict[int, ErrorCode] = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.BAD_REQUEST,
    429: ErrorCode.RATE_LIMITED,
}


class PortalError(Exception):
    """A client-facing error: HTTP status, wire text, extra body fields and headers."""

    status: int = 400
    default_message: str = "Invalid request"

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        if status is not None:
            self.status = status
        self.extra = extra or {}
        self.headers = headers or {}
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return {"error": self.message, **self.extra}

    def ack_code(self) -> str:
        if self.message.startswith("ERR_"):
            return self.message
        if self.status == 503:
            return ErrorCode.SERVICE_UNAVAILABLE.value
        if self.status >= 500:
            return ErrorCode.INTERNAL.value
        return GENERIC_ACK_CODES.get(self.status, ErrorCode.BAD_REQUEST).value

    def ack(self) -> dict[str, Any]:
        """The Socket.IO ack for this error (may add `message` and `ttl`)."""
        payload: dict[str, Any] = {"ok": False, "error": self.ack_code(), "message": self.message}
        payload.update(self.extra)
        return payload


class BadRequest(PortalError):
    status = 400
    default_message = "Invalid request"


class AuthRequired(PortalError):
    status = 401
    default_message = "Authentication required"


class InvalidApiKey(PortalError):
    status = 401
    default_message = "Invalid API key"


class AccessDenied(PortalError):
    status = 403
    default_message = "Access denied"


class LevelRequired(AccessDenied):
    """The endpoint-level gate: names the minimum level."""

    def __init__(self, level_name: str) -> None:
        super().__init__(f"{level_name} access required")


class AccountRestricted(AccessDenied):
    default_message = "Account restricted"


class NotFound(PortalError):
    status = 404

    def __init__(self, thing: str = "Resource", *, message: str | None = None) -> None:
        super().__init__(message or f"{thing} not found")


class Conflict(PortalError):
    status = 409
    default_message = "Entity already exists"


class RateLimited(PortalError):
    status = 429
    default_message = "Too many requests"

    def __init__(self, message: str | None = None, *, retry_after: int | None = None) -> None:
        headers = {"Retry-After": str(max(1, retry_after))} if retry_after is not None else None
        super().__init__(message, headers=headers)


class ServiceUnavailable(PortalError):
    """The database or Redis is away (an outage): the request may succeed when retried."""

    status = 503
    default_message = "Service unavailable"

    def __init__(self, message: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class SocketGone(Conflict):
    """The socket disconnected while its event was handled: the answer reaches nobody, and nothing was
    left behind for it (a `room:join` racing its disconnect)."""

    default_message = "Socket disconnected"


def coded(code: ErrorCode, status: int, **extra: Any) -> PortalError:
    """A domain error whose wire text is its `ERR_*` code, e.g. `coded(ErrorCode.MUTED, 403, ttl=30)`."""
    return PortalError(code.value, status=status, extra=extra)
