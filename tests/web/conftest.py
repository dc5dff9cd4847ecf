"""Fixtures for the web-client tests: a Portal server serving the built client, Debian's Chromium driven by
Playwright (async API, never `playwright install`), and people: browser contexts signed in as users.

Each `Person` has its own browser context (cookie jar, IndexedDB) and client IP (`X-Forwarded-For` from the
trusted 127.0.0.1, as the API tests do). A test fails when any page logs a console error or warning or
throws (`pageerror`). `shoot` writes screenshots at 1280x800 and 390x844 under test-artifacts/screenshots/,
and `assert_accessible` runs axe-core (from web/node_modules, injected as an init script, which the CSP
does not apply to) and fails on serious or critical violations.

Skipped, loudly, where Chromium or the built client (web/dist) is missing; `make test` builds the client.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright, expect

from portal.browser.chromium import chromium_path
from tests.helpers import LoggedIn, Portal
from tests.servers import POSTGRES_SKIP, TestServer, free_port, fresh_ip, running_server

REPO = Path(__file__).resolve().parents[2]
WEB_DIST = REPO / "web" / "dist"
AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("PORTAL_TEST_ARTIFACTS", REPO / "test-artifacts"))
SCREENSHOTS = ARTIFACTS / "screenshots"
SIZES = {"wide": (1280, 800), "phone": (390, 844)}
TIMEOUT_MS = 15_000

WEB_SKIP = (
    "Chromium NOT INSTALLED (/usr/bin/chromium): the web-client tests did NOT run "
    "(install Debian's `chromium`)"
    if chromium_path() is None
    else "web client NOT BUILT (web/dist): the web-client tests did NOT run (install Node.js >= 20.19 + npm; "
    "`make test` builds it)"
    if not (WEB_DIST / "index.html").exists() or not AXE.exists()
    else None
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if WEB_SKIP:
        for item in items:
            if "tests/web/" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=WEB_SKIP))


@dataclass
class WebServer:
    server: TestServer
    origin: str


@pytest_asyncio.fixture(scope="session", params=["sqlite"])
async def web_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[WebServer]:
    """The server the browser talks to. Tests that must also run on PostgreSQL + Redis parametrize it:
    `@pytest.mark.parametrize("web_server", ["sqlite", "postgres"], indirect=True)`."""
    backend = request.param
    if backend == "postgres" and POSTGRES_SKIP:
        pytest.skip(POSTGRES_SKIP)
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    async with running_server(
        backend,
        tmp_path_factory.mktemp(f"web-{backend}"),
        port=port,
        allowed_origins=origin,
        console_codes="on",
        web_dir=str(WEB_DIST),
    ) as server:
        yield WebServer(server, origin)


@pytest_asyncio.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium_path()))
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Person:
    """One person at one browser: a context of their own and a page that records console problems."""

    context: BrowserContext
    page: Page
    ip: str
    login: LoggedIn | None = None
    account: dict[str, Any] | None = None  # the user, when signed in through the page (no API client)
    problems: list[str] = field(default_factory=list)
    # HTTP statuses this test provokes on purpose (a wrong code, a refused action): Chromium logs every
    # 4xx/5xx fetch as a console error "Failed to load resource", which is then not a problem.
    expected_statuses: set[int] = field(default_factory=set)

    def expect_refusals(self, *statuses: int) -> None:
        self.expected_statuses.update(statuses)

    @property
    def user(self) -> dict[str, Any]:
        if self.login is not None:
            return self.login.user
        assert self.account is not None, "not signed in"
        return self.account

    @property
    def id(self) -> int:
        return int(self.user["id"])


class People:
    """Factory of `Person`s on the web server; closes them and checks their consoles at the end."""

    def __init__(self, web: WebServer, browser: Browser, portal: Portal) -> None:
        self.web = web
        self.browser = browser
        self.portal = portal
        self.everyone: list[Person] = []

    async def anonymous(self, *, width: int = 1280, height: int = 800, dark: bool = False) -> Person:
        ip = fresh_ip()
        context = await self.browser.new_context(
            base_url=self.web.origin,
            viewport={"width": width, "height": height},
            color_scheme="dark" if dark else "light",
            extra_http_headers={"X-Forwarded-For": ip},
        )
        context.set_default_timeout(TIMEOUT_MS)
        await context.add_init_script(path=str(AXE))
        page = await context.new_page()
        person = Person(context, page, ip)
        page.on("console", lambda message: _record_console(person, message))
        page.on("pageerror", lambda error: person.problems.append(f"pageerror: {error}"))
        self.everyone.append(person)
        return person

    async def signed_in(
        self, level: str = "user", *, tier: int | str | None = None, dark: bool = False, **size: int
    ) -> Person:
        """A new user signed in through the API, whose session cookie the browser context carries."""
        person = await self.anonymous(dark=dark, **size)
        person.login = await self.portal.login(level, tier=tier, ip=person.ip)
        token = person.login.client.session_token
        assert token is not None
        await person.context.add_cookies([{"name": "psession", "value": token, "url": self.web.origin}])
        return person

    async def signed_in_by_code(self, level: str = "user", *, tier: int | str | None = None) -> Person:
        """A new user who signs in on the sign-in page through the real code flow: username → platform →
        the Portal bot fetches the pending code (as it would to DM it) → the code typed in → the lobby."""
        account = await self.portal.create_user(level)
        if tier is not None:
            await self.portal.container.subscriptions.grant(
                actor=None, user_id=account["id"], tier=tier, duration_days=30 if str(tier) == "2" else None
            )
        person = await self.anonymous()
        person.account = account
        page = person.page
        await page.goto("/signin")
        await page.get_by_label("Username").fill(account["username"])
        await page.get_by_role("button", name="Continue").click()
        identity = account["linked_platforms"][0]
        await page.get_by_role("button", name=f"Send code via {identity['platform'].title()}").click()
        code_field = page.get_by_label("Code", exact=True)
        await expect(code_field).to_be_focused()
        bot = await self.portal.default_bot()
        fetched = await bot.login_code(identity["platform"], identity["platform_user_id"], "tester")
        assert fetched["code"], "no pending code"
        await code_field.fill(str(fetched["code"]))
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("heading", name="Lobby")).to_be_visible()
        return person

    async def close(self) -> list[str]:
        problems = [
            f"{p.user['username'] if p.login or p.account else 'anonymous'}: {problem}"
            for p in self.everyone
            for problem in p.problems
        ]
        for person in self.everyone:
            await person.context.close()
        return problems


FAILED_LOAD = re.compile(r"^Failed to load resource: the server responded with a status of (\d{3})")


def _record_console(person: Person, message: ConsoleMessage) -> None:
    if message.type not in ("error", "warning"):
        return
    failed = FAILED_LOAD.match(message.text)
    if failed and int(failed.group(1)) in person.expected_statuses:
        return
    person.problems.append(f"console {message.type}: {message.text} at {message.location}")


@pytest_asyncio.fixture
async def people(web_server: WebServer, browser: Browser) -> AsyncIterator[People]:
    portal = Portal(web_server.server)
    crowd = People(web_server, browser, portal)
    try:
        yield crowd
    finally:
        problems = await crowd.close()
        await portal.close()
    assert not problems, "console errors or warnings:\n" + "\n".join(problems)


async def shoot(page: Page, name: str) -> list[Path]:
    """Screenshots of the page as it is, wide and phone-sized (the viewport is restored afterwards)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    paths = []
    for label, (width, height) in SIZES.items():
        await page.set_viewport_size({"width": width, "height": height})
        path = SCREENSHOTS / f"{name}-{label}.png"
        await page.screenshot(path=str(path), animations="disabled", caret="hide")
        paths.append(path)
    if before:
        await page.set_viewport_size(before)
    return paths


async def assert_accessible(page: Page, *, context: str = "") -> None:
    """axe-core finds no serious or critical violation on the page as it is now."""
    result = await page.evaluate(
        """async () => {
            const r = await window.axe.run(document, {resultTypes: ["violations"]});
            return r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => `${v.impact} ${v.id}: ${v.help} -> ` +
                     v.nodes.map(n => n.target.join(" ")).slice(0, 5).join(", "));
        }"""
    )
    assert not result, f"axe violations {context}:\n" + "\n".join(result)
