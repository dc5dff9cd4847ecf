"""Route class shared by every router."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


class CredentialsFirstRoute(APIRoute):
    """Keys and cookies are checked before the body, broken JSON included (401 before 400).

    FastAPI decodes a JSON body before it runs any dependency, so a body that does not decode would
    answer 400 ahead of the key check and skip the rate limit. Here such a body is handed on as its
    raw bytes (as FastAPI does for a non-JSON content type), which no request model accepts: the
    dependencies (rate limit, key, cookie) run first, then validation answers "Invalid request". A body
    nested deeper than the parser's recursion limit (`[[[[…]]]]`) is broken JSON too (08 §67): counted,
    then 400, never a 500 with a traceback.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def credentials_first(request: Request) -> Response:
            body = await request.body()
            if body:
                try:
                    request._json = json.loads(body)  # Starlette's cache of `request.json()`
                except (ValueError, RecursionError):  # nested deeper than parses safely: broken too
                    request._json = body
            return await handler(request)

        return credentials_first
