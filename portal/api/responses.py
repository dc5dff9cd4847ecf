"""OpenAPI documentation of error answers (the envelope), shared by every router."""

from __future__ import annotations

from typing import Any

from portal.schemas.common import ErrorBody

_TEXTS = {
    400: "Validation failed: the first invalid field, e.g. `username must be at least 3 characters`",
    401: "`Authentication required`, `Invalid API key` or `Invalid or expired code`",
    403: "`Access denied` or a level text such as `Admin access required`",
    404: "`<Thing> not found`",
    409: "A conflict, e.g. `ERR_TRIAL_ALREADY_USED`",
    413: "`Request body too large`",
    429: "`Too many requests` (with `Retry-After` and `X-RateLimit-*`)",
    503: "The service is unhealthy",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody, "description": _TEXTS[status]} for status in statuses}
