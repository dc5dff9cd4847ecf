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


def _validation_answers_are_400(schema: dict[str, Any]) -> None:
    """FastAPI documents a 422 with its own `{"detail": [...]}` body on every route that reads input; this
    server never sends it (a validation failure is a 400 in the envelope, docs/decisions.md), so the
    OpenAPI says 400 + `ErrorBody` instead and drops the unused validation schemas."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None and "400" not in responses:
                responses["400"] = {
                    "description": "Validation failed: the first invalid field",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
                }
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)


def _document_envelope(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        schema = generate()
        if fresh:
            _validation_answers_are_400(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    _document_envelope(app)
    app.add_exception_handler(PortalError, portal_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
