"""Map every failure to the error envelope: one place, nothing else formats errors."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from portal.api.middleware import correlation_id
from portal.errors import PortalError
from portal.schemas.common import INVALID_REQUEST, error_message
from portal.services.ratelimit import RateLimitExceeded

log = logging.getLogger("portal.api")

HTTP_TEXTS = {
    400: INVALID_REQUEST,
    401: "Authentication required",
    403: "Access denied",
    404: "Not found",
    405: "Method not allowed",
    413: "Request body too large",
    429: "Too many requests",
}


def envelope(
    request: Request, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    cid = correlation_id(request.scope)
    return JSONResponse({**body, "correlation_id": cid}, status_code=status, headers=headers)


async def portal_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PortalError)
    if isinstance(exc, RateLimitExceeded):  # the headers describe the limit that was spent
        request.state.rate_limit_headers = exc.window.headers()
    if exc.status >= 500:
        log.warning("%s [correlation_id=%s]", exc.message, correlation_id(request.scope))
    return envelope(request, exc.status, exc.body(), exc.headers)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    message = error_message(errors[0]) if errors else INVALID_REQUEST
    if errors and _whole_body_missing(errors[0]):
        message = _first_required_field(request) or INVALID_REQUEST
    return envelope(request, 400, {"error": message})


def _whole_body_missing(error: dict[str, Any]) -> bool:
    return error.get("type") == "missing" and tuple(error.get("loc", ())) == ("body",)


def _first_required_field(request: Request) -> str | None:
    """An empty body is read as `{}`: name the first required field of the route's body model."""
    route = request.scope.get("route")
    field = getattr(route, "body_field", None)
    model = getattr(getattr(field, "field_info", None), "annotation", None)
    for name, info in getattr(model, "model_fields", {}).items():
        if info.is_required():
            return f"{name} is required"
    return None


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    text = HTTP_TEXTS.get(
        exc.status_code, "Internal server error" if exc.status_code >= 500 else INVALID_REQUEST
    )
    return envelope(request, exc.status_code, {"error": text}, getattr(exc, "headers", None))


def install(app: FastAPI) -> None:
    app.add_exception_handler(PortalError, portal_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
