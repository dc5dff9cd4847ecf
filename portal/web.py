"""Serving the web client: the Vite build in `PORTAL_WEB_DIR` (default `<repo>/web/dist`) at `/`.

The client is the API router's `default` app, the one Starlette runs only when no route matched (not even
by path with another method, which stays a 405). So it can never shadow `/v1`, `/health`, `/docs`,
`/redoc` or `/openapi.json`; `/socket.io/` is Socket.IO's before FastAPI sees it (on an api-only node it
falls through to here and gets the API's 404 like any unknown `/v1` path). A `Mount("/")` after the
routers would shadow them: Starlette prefers the mount's full match to a route's partial (405) match.

- Real files of the build (`/assets/*`, `/favicon.svg`, ...) come from Starlette's `StaticFiles` (its path
  checks keep requests inside the build); hashed `/assets/*` are cached for a year, the rest revalidate.
- Any other GET/HEAD path without a file extension, outside the API's prefixes, is a client route and gets
  `index.html` with the server's runtime config injected as one `<meta name="portal-config">` tag.
- Without a built client, those paths get a short page saying how to build it (the API works meanwhile).
- Every response from here carries the security headers (strict CSP); API paths keep the JSON envelope.

Thin on purpose: it reads settings only, no services.
"""

from __future__ import annotations

import html
import json
import logging
import mimetypes
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal import __version__
from portal.config import Settings
from portal.security import SESSION_COOKIE

log = logging.getLogger("portal.web")

# Paths that belong to the server, never to the client (exactly, or as a prefix followed by "/").
SERVER_PATHS = ("/v1", "/socket.io", "/health", "/docs", "/redoc", "/openapi.json")
OWN_PREFIX = "/_portal/"  # the server's own files (the fallback page's stylesheet and icon)
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

# Set here rather than trusting the platform's mime.types (Chromium refuses a module script that is not
# served as JavaScript, and some systems map .js to application/x-javascript or nothing).
MEDIA_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".txt": "text/plain",
    ".wasm": "application/wasm",
}

_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$")


def media_type(path: str) -> str:
    suffix = os.path.splitext(path)[1].lower()
    return MEDIA_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def content_security_policy(host: str | None, frame_host: str | None = None) -> str:
    """The page may talk to its own origin and that origin's WebSocket (Socket.IO), nothing else. A Host
    header that is not a plain host[:port] is left out rather than copied into the policy. `frame_host`
    (the neko backend's `PORTAL_NEKO_PUBLIC_HOST`) may be framed on any port: the room embeds each chat's
    neko client from its own published port; without it `default-src 'self'` frames nothing else."""
    connect = "'self'"
    if host and _HOST.match(host):
        connect += f" ws://{host} wss://{host}"
    frames = ""
    if frame_host and _HOST.match(frame_host) and not re.search(r":[0-9]+$", frame_host):
        frames = f"frame-src http://{frame_host}:* https://{frame_host}:*; "
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; "
        f"connect-src {connect}; {frames}font-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


def neko_frame_host(settings: Settings) -> str | None:
    """The host the room frames neko clients from, when the neko backend is configured."""
    return settings.neko_public_host if settings.browser_backend == "neko-docker" else None


def security_headers(scope: Scope, frame_host: str | None = None) -> list[tuple[bytes, bytes]]:
    """The headers of every page, asset and fallback the web client is served with (the one place)."""
    host = Headers(scope=scope).get("host")
    pairs = {
        "content-security-policy": content_security_policy(host, frame_host),
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
        "cross-origin-opener-policy": "same-origin",
        "permissions-policy": "camera=(), microphone=(), geolocation=()",
    }
    return [(name.encode(), value.encode("latin-1")) for name, value in pairs.items()]


def runtime_config(settings: Settings, *, has_session: bool = False) -> dict[str, Any]:
    """What the client needs from the server before its first request (the public key is public by design:
    the client sends it as `X-API-Key` on the sign-in endpoints). `has_session` says whether the request
    carried a session cookie at all (not whether it is valid): without one the client shows the sign-in
    page at once instead of asking `/v1/users/me` for a 401 that browsers log as a console error."""
    return {
        "public_api_key": settings.resolved_public_api_key,
        "console_codes": settings.console_codes_enabled,
        "version": __version__,
        "has_session": has_session,
    }


def inject_config(page: str, config: dict[str, Any]) -> str:
    """`page` with `<meta name="portal-config" content="{escaped JSON}">` just before `</head>`."""
    tag = f'<meta name="portal-config" content="{html.escape(json.dumps(config), quote=True)}">'
    at = page.lower().find("</head>")
    if at < 0:
        return tag + page
    return page[:at] + tag + page[at:]


class _Static(StaticFiles):
    """StaticFiles with our media types and cache lifetimes."""

    def file_response(
        self, full_path: Any, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        path = str(full_path)
        hashed = get_route_path(scope).startswith("/assets/")
        response = FileResponse(
            path,
            status_code=status_code,
            stat_result=stat_result,
            media_type=media_type(path),
            headers={"cache-control": IMMUTABLE if hashed else REVALIDATE},
        )
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response


def get_route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


@dataclass
class _Index:
    key: tuple[int, int, int]
    bodies: dict[bool, bytes]  # by "the request carries a session cookie"


class WebClient:
    """The ASGI app behind every path the API's routes do not match (see the module docstring)."""

    def __init__(self, settings: Settings, not_found: ASGIApp) -> None:
        self.settings = settings
        self.directory = Path(settings.web_dir).resolve()
        self.not_found = not_found
        self.static = _Static(directory=self.directory, check_dir=False)
        self._index: _Index | None = None

    @property
    def index_path(self) -> Path:
        return self.directory / "index.html"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = get_route_path(scope)
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or _is_server_path(path):
            await self.not_found(scope, receive, send)  # the API's JSON 404 (pages are only read)
            return
        send = _with_security_headers(scope, send, neko_frame_host(self.settings))
        if path.startswith(OWN_PREFIX):
            response = _own_file(path.removeprefix(OWN_PREFIX))
        elif path in ("/", "/index.html") or not _has_extension(path):
            response = self._page(has_session=SESSION_COOKIE in Request(scope).cookies)
        elif any(part.startswith(".") for part in path.split("/")):
            response = _not_found()  # dotfiles (the build stamp) and any leftover "." / ".." segment
        else:
            try:
                response = await self.static.get_response(self.static.get_path(scope), scope)
            except HTTPException:
                response = _not_found()
        await _respond(response, scope, receive, send)

    def _page(self, *, has_session: bool) -> Response:
        index = self._read_index(has_session=has_session)
        if index is None:
            return _text(FALLBACK_PAGE, "text/html", cache=REVALIDATE)
        return Response(index, media_type="text/html", headers={"cache-control": REVALIDATE})

    def _read_index(self, *, has_session: bool) -> bytes | None:
        """index.html with the config tag, read once per process and again only if the file changed (a
        rebuild under a running server replaces the hashed asset names it points at)."""
        try:
            info = os.stat(self.index_path)
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        key = (info.st_ino, info.st_mtime_ns, info.st_size)
        if self._index is None or self._index.key != key:
            page = self.index_path.read_text(encoding="utf-8")
            self._index = _Index(
                key,
                {
                    flag: inject_config(page, runtime_config(self.settings, has_session=flag)).encode()
                    for flag in (False, True)
                },
            )
        return self._index.bodies[has_session]


def install(api: FastAPI, settings: Settings) -> None:
    """Serve the client from `api` wherever its routes do not answer."""
    router = api.router
    client = WebClient(settings, not_found=router.not_found)
    router.default = client
    if client.index_path.is_file():
        log.info("web client: serving %s", client.directory)
    else:
        log.warning("web client not built (no index.html in %s): `/` says how to build it", client.directory)


def _is_server_path(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in SERVER_PATHS)


def _has_extension(path: str) -> bool:
    return "." in path.rsplit("/", 1)[-1]


def _text(body: str, media: str, *, cache: str) -> Response:
    return Response(body, media_type=media, headers={"cache-control": cache})


def _own_file(name: str) -> Response:
    if name not in OWN_FILES:
        return _not_found()
    body, media = OWN_FILES[name]
    return _text(body, media, cache=REVALIDATE)


def _not_found() -> Response:
    """A missing file is a plain 404, never the client's page (a stale asset URL must fail visibly)."""
    headers = {"cache-control": REVALIDATE}
    return Response("Not found\n", status_code=404, media_type="text/plain", headers=headers)


def _with_security_headers(scope: Scope, send: Send, frame_host: str | None = None) -> Send:
    extra = security_headers(scope, frame_host)

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            names = {name.lower() for name, _ in message.get("headers", [])}
            headers = [*message.get("headers", []), *(h for h in extra if h[0] not in names)]
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


async def _respond(response: Response, scope: Scope, receive: Receive, send: Send) -> None:
    """Send `response`; a HEAD gets its headers (Content-Length included) and no body."""
    if scope["method"] == "HEAD" and not isinstance(response, FileResponse):
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers}
        )
        await send({"type": "http.response.body", "body": b""})
        return
    await response(scope, receive, send)


FALLBACK_PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark light">
<title>Portal: the web client is not built</title>
<link rel="stylesheet" href="/_portal/fallback.css">
<link rel="icon" href="/_portal/favicon.svg" type="image/svg+xml">
</head>
<body>
<main>
<h1>Portal is running, but its web client is not built</h1>
<p>This server serves the web client from its build folder (<code>web/dist</code>, or
<code>PORTAL_WEB_DIR</code>), and there is nothing there yet. To build it:</p>
<ol>
<li>Install <strong>Node.js 20.19 or newer</strong> and <strong>npm</strong>: from
<a href="https://nodejs.org/">nodejs.org</a>, or your system's packages if <code>node --version</code>
then says 20.19 or newer (Debian 12's own Node.js 18 is too old).</li>
<li>Then run <code>make run</code>, which builds the client before it starts the server, or build it
by hand: <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>.</li>
<li>Reload this page.</li>
</ol>
<p>Meanwhile everything else works: the REST API under <code>/v1</code> (interactive docs at
<a href="/docs">/docs</a>, the schema at <a href="/openapi.json">/openapi.json</a>), Socket.IO at
<code>/socket.io/</code> and <a href="/health">/health</a>.</p>
</main>
</body>
</html>
"""

FALLBACK_CSS = """\
:root { color-scheme: dark light; --fg: #1d2330; --bg: #f6f7fb; --card: #fff; --accent: #4b5bdc; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e8ef; --bg: #12141b; --card: #1c1f2a; --accent: #8f9bff; }
}
body { margin: 0; padding: 2rem 1rem; background: var(--bg); color: var(--fg);
  font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 40rem; margin: 0 auto; padding: 1.5rem 2rem; background: var(--card);
  border-radius: 12px; box-shadow: 0 2px 16px rgb(0 0 0 / 12%); }
h1 { font-size: 1.4rem; line-height: 1.3; margin-top: 0; }
li { margin: 0.4rem 0; }
code { font: 0.92em ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; padding: 0.1em 0.3em;
  border-radius: 4px; background: rgb(127 127 127 / 15%); overflow-wrap: anywhere; }
a { color: var(--accent); }
a:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
@media (max-width: 480px) {
  body { padding: 0.75rem 0.5rem; }
  main { padding: 1rem 1.1rem; }
  h1 { font-size: 1.25rem; }
  ol { padding-left: 1.4rem; }
}
"""

FAVICON_SVG = """\
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">\
<circle cx="16" cy="16" r="12" fill="none" stroke="#4b5bdc" stroke-width="5"/>\
<circle cx="16" cy="16" r="4" fill="#8f9bff"/></svg>
"""

OWN_FILES = {
    "fallback.css": (FALLBACK_CSS, "text/css"),
    "favicon.svg": (FAVICON_SVG, "image/svg+xml"),
}
