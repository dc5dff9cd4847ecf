"""Ceiling of the REST reads: a bare FastAPI app on the same uvicorn answering Portal's JSON for the cookie.

    python -m bench.ceilings.rest PORT      # CEILING_TOKEN, CEILING_BODIES (a JSON file: path → body)

It does what an authenticated read cannot do without: route the request, read the cookie, compare it, and
serialize the JSON body (kept as objects, so every request encodes it like Portal does). No database, no
session lookup, no response model: the gap to Portal is everything Portal adds on top.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def create_app(token: str, bodies: dict[str, Any]) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/{path:path}")
    async def read(request: Request) -> JSONResponse:
        if request.cookies.get("psession") != token:
            return JSONResponse({"detail": "Not signed in", "error": "ERR_UNAUTHORIZED"}, status_code=401)
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if wanted not in bodies:
            return JSONResponse({"detail": "Not found", "error": "ERR_NOT_FOUND"}, status_code=404)
        return JSONResponse(bodies[wanted])

    return app


def run(app: Any, port: int) -> None:
    """uvicorn as `portal serve` runs it: one worker, no access log, the same loop and HTTP parser."""
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False, server_header=False
    )


if __name__ == "__main__":
    bodies = json.loads(Path(os.environ["CEILING_BODIES"]).read_text())
    run(create_app(os.environ["CEILING_TOKEN"], bodies), int(sys.argv[1]))
