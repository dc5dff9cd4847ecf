"""The host's input (`vm:input`, 08 §27) and where the browser may go (issue 5: http(s) and about:blank
only; kiosk keeps the page on the start URL's site).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import Portal
from tests.sockets import eventually, online
from tests.vm.support import (
    VM_START_TIMEOUT,
    Site,
    browser,
    chord,
    click,
    copy_all,
    input_events,
    joined,
    needs_chromium,
    premium_chat,
    start,
    stop,
)

pytestmark = [needs_chromium, pytest.mark.usefixtures("clean_vms")]


@pytest.fixture(autouse=True)
def sqlite_only(portal: Portal) -> None:
    if portal.server.backend != "sqlite":
        pytest.skip("the browser does not depend on the database: run once (sqlite)")


async def test_input_rules(portal: Portal, sockets, site: Site) -> None:
    """At most 100 events per emit; unknown types and bad values are skipped, the rest applied; input from
    a socket of the host that has not joined the room, or sent while the VM is stopped, changes nothing;
    coordinates are screen pixels (a click at the box focuses it)."""
    owner, chat = await premium_chat(portal, browser_config=browser(site.url("/input")))
    chat_id = chat["id"]
    host = await joined(sockets, owner, chat_id)
    assert await input_events(host, chat_id, [{"type": "text", "text": "early"}]) is None  # stopped: dropped
    await start(owner, chat_id)
    try:
        await host.expect_for("room:started", chat_id, VM_START_TIMEOUT)
        await site.wait_for("/input")
        assert await host.call("control:take", {"chat_id": chat_id}) == {"ok": True}

        await input_events(host, chat_id, click(100, 40))
        await input_events(host, chat_id, [{"type": "text", "text": "a"}] * 101)
        assert await copy_all(host, owner, chat_id) == "a" * 100

        odd = [
            {"type": "teleport", "x": 1},
            {"type": "mousemove", "x": "far", "y": None},
            {"type": "keydown", "key": "NoSuchKey"},
            {"type": "keyup", "key": "NoSuchKey"},
            {"type": "wheel", "dx": 0, "dy": 50},
            {"x": 3},
            {"type": "text", "text": "b"},
        ]
        await input_events(host, chat_id, [*chord("a"), *odd])
        assert await copy_all(host, owner, chat_id) == "b"

        # Clicking outside the box (screen pixels) takes the focus away: typing then changes nothing.
        await input_events(host, chat_id, [*click(900, 600), {"type": "text", "text": "lost"}])
        await input_events(host, chat_id, click(100, 40))
        assert await copy_all(host, owner, chat_id) == "b"

        # The host's second socket, not joined to the room, is not the host's hand in the VM.
        outside = await online(sockets, owner.client.session_token)
        assert await input_events(outside, chat_id, [{"type": "text", "text": "outside"}]) is None
        assert await copy_all(host, owner, chat_id) == "b"
    finally:
        await stop(owner, chat_id)


async def test_the_page_cannot_leave_http(portal: Portal, sockets, site: Site) -> None:
    """file:, chrome:, data: and view-source: navigations from the page are refused (the page stays and
    goes on running); an ordinary http link elsewhere is followed (no kiosk)."""
    js = (
        "location.href='file:///etc/hostname';"
        "setTimeout(()=>location.href='chrome://version',150);"
        "setTimeout(()=>location.href='data:text/html,<b>x</b>',300);"
        "setTimeout(()=>location.href='view-source:" + site.url("/landed") + "',450);"
        "setTimeout(()=>location.href='" + site.url("/landed", host="localhost") + "',1200);"
    )
    owner, chat = await premium_chat(portal, browser_config=browser(site.go_url(js)))
    await start(owner, chat["id"])
    try:
        await site.wait_for("/attempted")  # 800 ms after loading the page was still there
        await site.wait_for("/landed")
    finally:
        await stop(owner, chat["id"])
    assert f"/landed@localhost:{site.port}" in site.requests  # (a favicon request may follow it)
    assert sum(r.startswith("/go") for r in site.requests) == 1
    assert site.requests.index(f"/landed@localhost:{site.port}") > next(
        i for i, r in enumerate(site.requests) if r.startswith("/attempted")
    )


async def test_kiosk_keeps_the_page_on_its_site(portal: Portal, sockets, site: Site) -> None:
    """Kiosk: a link to another site does nothing, opened in place or as a popup (target=_blank); a popup
    on the same site opens in the one page viewers see."""
    elsewhere = site.url("/landed", host="localhost")  # same port, another host name: another site
    start_url = site.kiosk_url(elsewhere, site.url("/landed"))
    owner, chat = await premium_chat(portal, browser_config=browser(start_url, kiosk=True))
    chat_id = chat["id"]
    host = await joined(sockets, owner, chat_id)
    await start(owner, chat_id)
    try:
        await host.expect_for("room:started", chat_id, VM_START_TIMEOUT)
        await site.wait_for("/kiosk")
        assert await host.call("control:take", {"chat_id": chat_id}) == {"ok": True}
        await input_events(host, chat_id, click(50, 50))  # another site, in place
        await input_events(host, chat_id, click(50, 150))  # another site, as a popup
        await input_events(host, chat_id, click(50, 250))  # this site, as a popup
        await site.wait_for("/landed")
        vm = portal.container.vms.local[chat_id]
        await eventually(lambda: _landed(vm, site.url("/landed")))
        assert not any("@localhost" in r for r in site.requests), site.requests
        assert [p.url for p in vm.page.context.pages] == [site.url("/landed")]  # no popup is left
    finally:
        await stop(owner, chat_id)


async def _landed(vm: Any, url: str) -> bool:
    return bool(vm.page.url == url)
