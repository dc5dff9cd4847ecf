"""Serving the web client (portal/web.py): files, client routes, the runtime config, headers, fallback page.

The tests never need the real client built: each server serves a small stand-in build written into a temp
dir (`PORTAL_WEB_DIR`), shaped like Vite's output. Serving does not depend on the backend, so SQLite only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from portal import __version__
from portal.api.docs import DOCS_POLICY, REDOC_POLICY
from portal.api.middleware import JSON_POLICY
from portal.app import create_app
from portal.container import Container
from portal.web import content_security_policy
from tests.servers import PUBLIC_KEY, TestServer, build_settings, running_server

INDEX = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Portal</title>
    <script type="module" crossorigin src="/assets/app-abc.js"></script>
    <link rel="stylesheet" crossorigin href="/assets/app-abc.css">
  </head>
  <body><div id="app"></div></body>
</html>
"""
JS = "console.log('portal');\n"
CSS = "body { margin: 0; }\n"
ICO = b"\x00\x00\x01\x00\x01\x00\x10\x10"
SECRET = "SECRET-OUTSIDE-THE-BUILD"

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
CLIENT_ROUTES = ["/", "/c/some-slug", "/i/CODE", "/settings", "/lobby/", "/index.html"]


def write_build(root: Path) -> Path:
    """A Vite-like build in `root/web/dist`, with a file beside it that must never be served."""
    dist = root / "web" / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "app-abc.js").write_text(JS)
    (dist / "assets" / "app-abc.mjs").write_text(JS)
    (dist / "assets" / "app-abc.css").write_text(CSS)
    (dist / "assets" / "font-abc.woff2").write_bytes(b"wOF2")
    (dist / "favicon.ico").write_bytes(ICO)
    (dist / "favicon.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (dist / ".built").write_text("")
    (root / "web" / "secret.txt").write_text(SECRET)
    (root / "secret.txt").write_text(SECRET)
    return dist


class _Meta(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.metas: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            self.metas.append(dict(attrs))


def portal_config(page: str) -> dict[str, Any]:
    """The runtime config the page carries (HTMLParser unescapes the attribute, as a browser does)."""
    parser = _Meta()
    parser.feed(page)
    found = [meta for meta in parser.metas if meta.get("name") == "portal-config"]
    assert len(found) == 1, page
    content = found[0]["content"]
    assert content is not None
    config: dict[str, Any] = json.loads(content)
    return config


def assert_security_headers(response: httpx.Response, host: str) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.url, name, response.headers)
    csp = response.headers["content-security-policy"]
    directives = {part.split()[0]: part.split()[1:] for part in csp.split("; ")}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["connect-src"] == ["'self'", f"ws://{host}", f"wss://{host}"]
    assert directives["img-src"] == ["'self'", "data:", "blob:", "https:"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["font-src"] == ["'self'"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


async def raw_get(base_url: str, path: str) -> tuple[int, bytes]:
    """GET `path` byte for byte (httpx would normalise `..` and `%2e%2e` away before sending)."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
    status_line = answer.split(b"\r\n", 1)[0]
    return int(status_line.split()[1]), answer


@pytest_asyncio.fixture(scope="module")
async def built(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TestServer]:
    tmp = tmp_path_factory.mktemp("web-built")
    dist = write_build(tmp)
    async with running_server("sqlite", tmp, web_dir=dist) as running:
        yield running


@pytest_asyncio.fixture(scope="module")
async def unbuilt(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TestServer]:
    tmp = tmp_path_factory.mktemp("web-unbuilt")
    async with running_server("sqlite", tmp, web_dir=tmp / "web" / "dist") as running:
        yield running


def client(server: TestServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.base_url, timeout=10)


def host_of(server: TestServer) -> str:
    return server.base_url.removeprefix("http://")


# ---- files of the build ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "media_type", "body"),
    [
        ("/assets/app-abc.js", "text/javascript", JS.encode()),
        ("/assets/app-abc.mjs", "text/javascript", JS.encode()),
        ("/assets/app-abc.css", "text/css", CSS.encode()),
        ("/assets/font-abc.woff2", "font/woff2", b"wOF2"),
        ("/favicon.ico", "image/x-icon", ICO),
        ("/favicon.svg", "image/svg+xml", None),
    ],
)
async def test_files_of_the_build_are_served_with_their_media_type(
    built: TestServer, path: str, media_type: str, body: bytes | None
) -> None:
    async with client(built) as http:
        response = await http.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    if body is not None:
        assert response.content == body
    assert_security_headers(response, host_of(built))


async def test_hashed_assets_are_cached_for_a_year_and_the_rest_revalidates(built: TestServer) -> None:
    async with client(built) as http:
        asset = await http.get("/assets/app-abc.js")
        icon = await http.get("/favicon.ico")
        page = await http.get("/")
        again = await http.get("/assets/app-abc.js", headers={"If-None-Match": asset.headers["etag"]})
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert icon.headers["cache-control"] == "no-cache"
    assert page.headers["cache-control"] == "no-cache"
    assert again.status_code == 304
    assert_security_headers(again, host_of(built))


@pytest.mark.parametrize("path", ["/assets/missing.js", "/assets/app-abc.js.map", "/missing.png", "/.built"])
async def test_a_missing_file_is_a_plain_404_not_the_page(built: TestServer, path: str) -> None:
    async with client(built) as http:
        response = await http.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/plain")
    assert b"<html" not in response.content
    assert_security_headers(response, host_of(built))


@pytest.mark.parametrize(
    "path",
    [
        "/assets/../../secret.txt",
        "/assets/../../../secret.txt",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2e%2e/%2e%2e/secret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/assets/../../pyproject.toml",
        "/%2e%2e/pyproject.toml",
        "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "//etc/passwd",
    ],
)
async def test_no_path_reaches_a_file_outside_the_build(built: TestServer, path: str) -> None:
    status, answer = await raw_get(built.base_url, path)
    assert SECRET.encode() not in answer
    assert b"[build-system]" not in answer and b"root:x:0:0" not in answer
    assert status in (400, 404) or (status == 200 and b"portal-config" in answer), answer[:300]


# ---- client routes and the runtime config ----------------------------------------------------------------


@pytest.mark.parametrize("path", CLIENT_ROUTES)
async def test_client_routes_get_the_page_with_the_runtime_config(built: TestServer, path: str) -> None:
    async with client(built) as http:
        response = await http.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<script type="module" crossorigin src="/assets/app-abc.js"></script>' in page
    config = portal_config(page)
    expected = {"public_api_key": PUBLIC_KEY, "console_codes": False, "version": __version__}
    assert config == {**expected, "has_session": False}
    assert page.index('name="portal-config"') < page.index("</head>")
    assert_security_headers(response, host_of(built))


async def test_the_config_says_whether_a_session_cookie_came(built: TestServer) -> None:
    """Only the cookie's presence: a signed-out visitor's client skips `/v1/users/me` (and its 401)."""
    async with client(built) as http:
        without = portal_config((await http.get("/")).text)
        http.cookies.set("psession", "whatever")
        with_cookie = portal_config((await http.get("/c/x")).text)
    assert without["has_session"] is False
    assert with_cookie["has_session"] is True


async def test_the_config_is_escaped_in_the_attribute(tmp_path: Path) -> None:
    dist = write_build(tmp_path)
    key = 'ppub_"><script>alert(1)</script>&amp;'
    async with app_client(tmp_path, dist, public_api_key=key, console_codes="on") as http:
        page = (await http.get("/")).text
    assert "<script>alert(1)</script>" not in page
    assert portal_config(page) == {
        "public_api_key": key,
        "console_codes": True,
        "version": __version__,
        "has_session": False,
    }


async def test_head_answers_headers_without_a_body(built: TestServer) -> None:
    async with client(built) as http:
        for path in ("/", "/c/some-slug", "/assets/app-abc.js"):
            got = await http.get(path)
            head = await http.head(path)
            assert head.status_code == 200, path
            assert head.content == b""
            assert head.headers["content-length"] == str(len(got.content))
            assert head.headers["content-type"] == got.headers["content-type"]
            assert_security_headers(head, host_of(built))


async def test_other_methods_outside_the_api_stay_the_json_404(built: TestServer) -> None:
    async with client(built) as http:
        response = await http.post("/settings", json={})
    assert response.status_code == 404
    assert response.json()["error"] == "Not found"
    # The API's own policy (issue 14 item 9), not the client's.
    assert response.headers["content-security-policy"] == JSON_POLICY


# ---- the API is never shadowed -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/nope", "/v1", "/v1/", "/v1/chats/x/y/z", "/health/x", "/docs/x"])
async def test_unknown_api_paths_keep_the_json_404_envelope(built: TestServer, path: str) -> None:
    async with client(built) as http:
        response = await http.get(path)
    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "Not found"
    assert body["correlation_id"] == response.headers["x-correlation-id"]
    assert response.headers["x-content-type-options"] == "nosniff"
    # The API's own policy (issue 14 item 9), not the client's.
    assert response.headers["content-security-policy"] == JSON_POLICY


async def test_the_api_and_its_docs_are_untouched(built: TestServer) -> None:
    async with client(built) as http:
        health = await http.get("/health")
        schema = await http.get("/openapi.json")
        docs = await http.get("/docs")
        redoc = await http.get("/redoc")
        engineio = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        wrong_method = await http.post("/health")
        unknown_post = await http.post("/v1/nope", json={})
    assert health.status_code == 200 and health.json()["status"] == "healthy"
    assert health.headers["x-content-type-options"] == "nosniff"
    assert schema.status_code == 200 and schema.json()["info"]["title"] == "Portal API"
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert redoc.status_code == 200 and "redoc" in redoc.text.lower()
    # Swagger UI and ReDoc have their own policies: their files are ours, not a CDN's.
    assert docs.headers["content-security-policy"] == DOCS_POLICY
    assert redoc.headers["content-security-policy"] == REDOC_POLICY
    assert 'src="/docs/assets/redoc.standalone.js"' in redoc.text and "cdn" not in redoc.text.lower()
    assert engineio.status_code == 200 and engineio.text.startswith("0{")  # an Engine.IO handshake
    assert wrong_method.status_code == 405 and wrong_method.json()["error"] == "Method not allowed"
    assert unknown_post.status_code == 404 and unknown_post.json()["error"] == "Not found"


# ---- headers -----------------------------------------------------------------------------------------------


async def test_connect_src_names_the_request_host_and_refuses_a_forged_one(built: TestServer) -> None:
    async with client(built) as http:
        named = await http.get("/", headers={"Host": "portal.example.org"})
        forged = await http.get("/", headers={"Host": "x.org; script-src *"})
    assert_security_headers(named, "portal.example.org")
    csp = forged.headers["content-security-policy"]
    assert "connect-src 'self';" in csp
    assert "script-src *" not in csp


# ---- without a build ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/c/some-slug", "/settings"])
async def test_without_a_build_the_page_says_how_to_get_it(unbuilt: TestServer, path: str) -> None:
    async with client(unbuilt) as http:
        response = await http.get(path)
        css = await http.get("/_portal/fallback.css")
        icon = await http.get("/_portal/favicon.svg")
        other = await http.get("/_portal/other.css")
        missing = await http.get("/assets/app-abc.js")
        health = await http.get("/health")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    text = response.text
    for words in ("Node.js 20.19", "npm", "make run", "npm ci", "npm run build", "/v1", "/docs"):
        assert words in text
    assert "<script" not in text and "style=" not in text and "<style" not in text
    assert '<link rel="stylesheet" href="/_portal/fallback.css">' in text
    assert '<link rel="icon" href="/_portal/favicon.svg" type="image/svg+xml">' in text
    assert_security_headers(response, host_of(unbuilt))
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert other.status_code == 404
    assert_security_headers(css, host_of(unbuilt))
    assert missing.status_code == 404
    assert health.status_code == 200


# ---- one app, without a server -------------------------------------------------------------------------


def app_client(tmp: Path, dist: Path, role: str = "api", **overrides: Any) -> httpx.AsyncClient:
    settings = build_settings("sqlite", tmp / "var", f"sqlite+aiosqlite:///{tmp}/p.db", "x", web_dir=dist)
    if overrides:
        settings = settings.model_copy(update=overrides)
    app = create_app(Container(settings), role=role)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal.test")


async def test_api_nodes_serve_the_client_and_ws_nodes_do_not(tmp_path: Path) -> None:
    dist = write_build(tmp_path)
    async with app_client(tmp_path, dist, role="api") as http:
        api = await http.get("/c/slug")
        no_socket = await http.get("/socket.io/x")  # no Socket.IO on an api node: a JSON 404
    async with app_client(tmp_path, dist, role="ws") as http:
        ws = await http.get("/c/slug")
    assert api.status_code == 200 and "portal-config" in api.text
    assert no_socket.status_code == 404 and no_socket.json()["error"] == "Not found"
    assert ws.status_code == 404 and ws.json()["error"] == "Not found"


async def test_a_rebuild_under_a_running_server_is_picked_up(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    async with app_client(tmp_path, dist) as http:
        before = await http.get("/")
        dist.mkdir()
        (dist / "index.html").write_text(INDEX)
        first = await http.get("/")
        (dist / "index.html").write_text(INDEX.replace("app-abc", "app-defg"))
        second = await http.get("/")
    assert "not built" in before.text
    assert "/assets/app-abc.js" in first.text
    assert "/assets/app-defg.js" in second.text and "/assets/app-abc.js" not in second.text
    assert portal_config(second.text)["public_api_key"] == PUBLIC_KEY


def test_neko_clients_may_be_framed_only_from_the_neko_host() -> None:
    """The room embeds a chat's neko client from PORTAL_NEKO_PUBLIC_HOST on its published port; no other
    frame source is allowed, and nothing is framed without the neko backend."""
    assert "frame-src" not in content_security_policy("portal.example.org")
    csp = content_security_policy("portal.example.org", "vm.example.org")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split("; ")}
    assert directives["frame-src"] == ["http://vm.example.org:*", "https://vm.example.org:*"]
    assert directives["frame-ancestors"] == ["'none'"]
    for forged in ("vm.example.org:8080", "evil.org; script-src *", "a b"):
        assert "frame-src" not in content_security_policy("portal.example.org", forged)
