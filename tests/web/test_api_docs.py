"""The API's own documentation pages render in a real browser from this server's files alone: Swagger UI at
`/docs` and ReDoc at `/redoc`, under their strict CSPs (a blocked script, style or worker logs a console
error, which fails the test), with no request leaving the origin."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.async_api import Request, expect

from tests.web.conftest import People, shoot


async def test_docs_and_redoc_render_offline_under_their_csp(people: People) -> None:
    person = await people.anonymous()
    page = person.page
    elsewhere: list[str] = []
    origin = urlsplit(people.web.origin).netloc

    def watch(request: Request) -> None:
        if urlsplit(request.url).scheme in ("http", "https") and urlsplit(request.url).netloc != origin:
            elsewhere.append(request.url)

    page.on("request", watch)
    await page.goto("/docs")
    await expect(page.get_by_role("heading", name="Portal API")).to_be_visible()
    await expect(page.locator(".opblock-tag").first).to_be_visible()
    await shoot(page, "api-docs-swagger")

    await page.goto("/redoc")
    await expect(page.get_by_role("heading", name="Portal API", level=1)).to_be_visible()
    await expect(page.locator("[role=menuitem]").first).to_be_visible()
    await shoot(page, "api-docs-redoc")
    assert elsewhere == []
