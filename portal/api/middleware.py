"""Pure ASGI middleware: correlation ids, security headers, body size limit, rate-limit headers, the
last-resort 500 (503 when the database or Redis is away), and the CORS preflight refusal in the error
envelope.

Pure ASGI (not BaseHTTPMiddleware) so streaming and exceptions keep their normal behaviour. This is the
outermost layer of the FastAPI app, so every response, errors included, carries `X-Correlation-ID`.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal.outages import as_unavailable

log = logging.getLogger("portal.api")
MAX_BODY_BYTES = 1024 * 1024
HSTS = "max-age=31536000"
# Answers that set no policy of their own (JSON, ReDoc) may not be framed; JSON loads nothing at all.
JSON_POLICY = "default-src 'none'; frame-ancestors 'none'"
FRAME_POLICY = "frame-ancestors 'none'"


class BodyTooLarge(StarletteHTTPException):
    """Raised while the body streams in; an HTTPException so FastAPI's body parsing passes it through."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="Request body too large")


def correlation_id(scope: Scope) -> str:
    correlation: str = scope.setdefault("state", {}).setdefault("correlation_id", str(uuid.uuid4()))
    return correlation


def _json_response(status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]) -> list[Message]:
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *headers,
    ]
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": payload},
    ]


def _is_api_path(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


def security_headers(
    headers: list[tuple[bytes, bytes]], *, path: str, hsts: bool
) -> list[tuple[bytes, bytes]]:
    """Add what the answer does not set itself: nosniff, `Referrer-Policy`, a CSP with `frame-ancestors
    'none'`, `Cache-Control: no-store` on `/v1` answers, and HSTS when cookies are Secure."""
    present = {name.lower() for name, _ in headers}
    content_type = next((value for name, value in headers if name.lower() == b"content-type"), b"")
    extra = {
        b"x-content-type-options": b"nosniff",  # JSON is never a script
        b"referrer-policy": b"no-referrer",
        b"content-security-policy": (
            JSON_POLICY if content_type.startswith(b"application/json") else FRAME_POLICY
        ).encode(),
    }
    if _is_api_path(path):
        extra[b"cache-control"] = b"no-store"
    if hsts:
        extra[b"strict-transport-security"] = HSTS.encode()
    return [*headers, *((name, value) for name, value in extra.items() if name not in present)]


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid = correlation_id(scope)
        state = scope["state"]
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-correlation-id", cid.encode()))
                for name, value in (state.get("rate_limit_headers") or {}).items():
                    headers.append((name.lower().encode(), value.encode()))
                headers = security_headers(headers, path=scope.get("path", ""), hsts=self.hsts)
                message = {**message, "headers": headers}
            await send(message)

        _default_to_json(scope)
        if _has_nul(scope):
            await self._send_error(send_with_headers, 400, "Invalid request", cid)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > MAX_BODY_BYTES:
            await self._send_error(send_with_headers, 413, "Request body too large", cid)
            return
        try:
            await self.app(scope, _limited(receive), send_with_headers)
        except Exception as exc:
            where = f"[correlation_id={cid}] {scope.get('method')} {scope.get('path')}"
            if unavailable := as_unavailable(exc):  # an outage, not a bug: one line, and a 503 to retry
                log.warning("database or Redis unavailable %s: %r", where, exc)
                if not started:
                    await self._send_error(
                        send_with_headers, unavailable.status, unavailable.message, cid, unavailable.headers
                    )
                return
            log.exception("unhandled error %s", where)
            if not started:
                await self._send_error(send_with_headers, 500, "Internal server error", cid)

    @staticmethod
    async def _send_error(
        send: Send, status: int, text: str, cid: str, headers: dict[str, str] | None = None
    ) -> None:
        extra = [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
        for message in _json_response(status, {"error": text, "correlation_id": cid}, extra):
            await send(message)


def _default_to_json(scope: Scope) -> None:
    """A body sent without `Content-Type` is read as JSON (the API speaks nothing else)."""
    headers = scope.get("headers", [])
    if scope.get("method") in ("POST", "PUT", "PATCH") and not any(n == b"content-type" for n, _ in headers):
        scope["headers"] = [*headers, (b"content-type", b"application/json")]


def _has_nul(scope: Scope) -> bool:
    """NUL in the path or the query (issue 14): PostgreSQL cannot store or compare it in text and SQLite's
    LIKE stops at it, so it is refused before any route sees it. Bodies: `RequestModel`."""
    query: bytes = scope.get("query_string", b"")
    raw_path: bytes = scope.get("raw_path") or b""
    return "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query or b"%00" in raw_path


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _limited(receive: Receive) -> Receive:
    """Count body bytes as they arrive (chunked uploads have no Content-Length)."""
    total = 0

    async def wrapped() -> Message:
        nonlocal total
        message = await receive()
        if message["type"] == "http.request":
            total += len(message.get("body", b""))
            if total > MAX_BODY_BYTES:
                raise BodyTooLarge()
        return message

    return wrapped


class EnvelopeCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, except that a preflight from an origin that is not allowed answers 403 in the
    error envelope (Starlette answers a plain-text 400)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "OPTIONS":
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if (
                origin is not None
                and "access-control-request-method" in headers
                and not self.is_allowed_origin(origin)
            ):
                cid = correlation_id(scope)
                for message in _json_response(
                    403, {"error": "Origin not allowed", "correlation_id": cid}, []
                ):
                    await send(message)
                return
        await super().__call__(scope, receive, send)
