"""The neko-docker backend against the Docker Engine API contract (tests/vm/fake_docker.py) — 00 §7."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from portal.browser.base import ControlSettings, VmError, VmSpec
from portal.browser.neko_docker import SHM_BYTES, NekoDockerBackend, container_spec, published_port
from tests.helpers import LoggedIn, Portal, expect_error
from tests.servers import TestServer, node_like
from tests.sockets import SocketProbe, eventually
from tests.vm.fake_docker import API_VERSION, JPEG, fake_engine
from tests.vm.support import chat_path, joined

HOST_POLL = 0.02  # neko is asked this often whether Portal's host has opened it


async def _no_frames(frame: object) -> None:
    return None


async def _no_exit(chat_id: int, reason: str) -> None:
    return None


def spec(**overrides: object) -> VmSpec:
    values: dict[str, object] = {
        "chat_id": 7,
        "browser": "brave",
        "start_url": "https://example.org",
        "kiosk": True,
        "width": 1920,
        "height": 1080,
        "rate": 30,
        "settings": ControlSettings(locked_controls=True, implicit_hosting=False, inactive_cursors=True),
    }
    return VmSpec(**{**values, **overrides})  # type: ignore[arg-type]


def env_of(config: dict[str, object]) -> dict[str, str]:
    return dict(str(item).split("=", 1) for item in config["Env"])  # type: ignore[union-attr]


def test_the_container_spec_follows_the_chat() -> None:
    config = container_spec(
        spec(),
        image_prefix="ghcr.io/m1k1o/neko/",
        instance="portal",
        member_password="m",
        admin_password="a",
        api_token="t",
        nat1to1="203.0.113.9",
        memory_mb=1024,
    )
    assert config["Image"] == "ghcr.io/m1k1o/neko/brave:3"
    env = env_of(config)
    assert env["NEKO_DESKTOP_SCREEN"] == "1920x1080@30"
    assert env["NEKO_MEMBER_PROVIDER"] == "multiuser"
    assert (env["NEKO_MEMBER_MULTIUSER_USER_PASSWORD"], env["NEKO_MEMBER_MULTIUSER_ADMIN_PASSWORD"]) == (
        "m",
        "a",
    )
    assert env["NEKO_SESSION_API_TOKEN"] == "t"
    assert (
        env["NEKO_SESSION_LOCKED_CONTROLS"],
        env["NEKO_SESSION_IMPLICIT_HOSTING"],
        env["NEKO_SESSION_INACTIVE_CURSORS"],
    ) == ("true", "false", "true")
    assert env["NEKO_WEBRTC_NAT1TO1"] == "203.0.113.9"
    assert env["NEKO_CHROMIUM_START_URL"] == "https://example.org"
    assert config["Labels"] == {
        "portal.managed": "true",
        "portal.instance": "portal",
        "portal.chat_id": "7",
        "portal.browser": "brave",
        "portal.kiosk": "true",
    }
    host = config["HostConfig"]
    assert (
        host["ShmSize"] == SHM_BYTES and host["CapAdd"] == ["SYS_ADMIN"] and host["Memory"] == 1024 * 1024**2
    )
    assert set(host["PortBindings"]) == {"8080/tcp", "52100/udp", "52100/tcp"}
    assert set(config["ExposedPorts"]) == {"8080/tcp", "52100/udp", "52100/tcp"}


@pytest.mark.parametrize(
    ("browser", "image", "big_shm"),
    [
        ("chromium", "chromium", True),
        ("brave", "brave", True),
        ("firefox", "firefox", False),
        ("tor-browser", "tor-browser", False),
    ],
)
def test_each_browser_has_its_image_and_shm(browser: str, image: str, big_shm: bool) -> None:
    config = container_spec(
        spec(browser=browser, start_url=None),
        image_prefix="p/",
        instance="i",
        member_password="m",
        admin_password="a",
        api_token="t",
        nat1to1="",
        memory_mb=0,
    )
    assert config["Image"] == f"p/{image}:3"
    assert (config["HostConfig"]["ShmSize"] == SHM_BYTES) is big_shm
    assert "Memory" not in config["HostConfig"] and "NEKO_WEBRTC_NAT1TO1" not in env_of(config)


def test_published_port_reads_the_inspect_answer() -> None:
    info = {"NetworkSettings": {"Ports": {"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "49153"}]}}}
    assert published_port(info, "8080/tcp") == 49153
    assert published_port({"NetworkSettings": {"Ports": {}}}, "8080/tcp") is None


async def test_a_vm_is_a_container_driven_over_neko_rest() -> None:
    async with fake_engine() as (engine, url):
        backend = NekoDockerBackend(docker_url=url, public_host="vm.example", instance="portal")
        try:
            vm = await backend.start(spec(), _no_frames, _no_exit)
            created = [r for r in engine.requests if r[1].endswith("/containers/create")]
            assert created[0][2] == {"name": "portal-chat-7"}
            (container,) = engine.containers.values()
            assert container.running and container.config["Image"].endswith("/brave:3")
            assert vm.url == f"http://vm.example:{engine.neko_port}"

            member = await vm.credentials(5, "member")
            admin = await vm.credentials(6, "admin")
            assert member == {
                "chat_id": 7,
                "kind": "neko",
                "url": vm.url,
                "username": "user5",
                "password": container.env()["NEKO_MEMBER_MULTIUSER_USER_PASSWORD"],
                "role": "member",
            }
            assert (
                admin["password"]
                == container.env()["NEKO_MEMBER_MULTIUSER_ADMIN_PASSWORD"]
                != member["password"]
            )

            vm.url = f"http://127.0.0.1:{engine.neko_port}"  # the fake neko listens on loopback
            neko = engine.neko[container.env()["NEKO_SESSION_API_TOKEN"]]
            await vm.clipboard_set("copied")
            assert neko.clipboard == "copied" and await vm.clipboard_get() == "copied"
            await vm.set_screen(1024, 768, 30)
            assert neko.screen == {"width": 1024, "height": 768, "rate": 30}
            assert await vm.screenshot() == JPEG
            await vm.apply_settings(ControlSettings(locked_controls=False, implicit_hosting=True))
            assert neko.settings == {
                "locked_controls": False,
                "implicit_hosting": True,
                "inactive_cursors": False,
            }
            neko.sessions = [
                {"id": "s1", "profile": {"name": "user5"}},
                {"id": "s2", "profile": {"name": "user6"}},
            ]
            await vm.kick(5)
            assert neko.disconnected == ["s1"]

            await vm.stop()
            paths = [(r[0], r[1]) for r in engine.requests]
            assert ("POST", f"/v{API_VERSION}/containers/{container.id}/stop") in paths
            assert ("DELETE", f"/v{API_VERSION}/containers/{container.id}") in paths
            assert engine.containers == {}
        finally:
            await backend.close()


async def test_engine_errors_become_vm_errors_and_leave_nothing() -> None:
    async with fake_engine() as (engine, url):
        engine.fail_create = "pull access denied for ghcr.io/m1k1o/neko/brave"
        backend = NekoDockerBackend(docker_url=url)
        try:
            with pytest.raises(VmError, match="Docker refused the container"):
                await backend.start(spec(), _no_frames, _no_exit)
            assert engine.containers == {}
        finally:
            await backend.close()


async def test_an_unreachable_engine_is_a_vm_error() -> None:
    backend = NekoDockerBackend(docker_url="tcp://127.0.0.1:9")
    try:
        with pytest.raises(VmError):
            await backend.start(spec(), _no_frames, _no_exit)
    finally:
        await backend.close()


async def test_a_leftover_container_of_the_chat_is_replaced_and_instances_are_cleaned_up() -> None:
    async with fake_engine() as (engine, url):
        backend = NekoDockerBackend(docker_url=url, instance="portal")
        try:
            await backend.start(spec(), _no_frames, _no_exit)
            backend._vms.clear()  # a node that crashed forgot its VM, the container lives on
            await backend.start(spec(), _no_frames, _no_exit)
            assert len(engine.containers) == 1
            await backend.start(spec(chat_id=8), _no_frames, _no_exit)
            assert await backend.cleanup_instance() == 2
            assert engine.containers == {}
        finally:
            await backend.close()


# ---- through the app: a server whose VMs are neko containers ---------------------------------------------


@contextlib.asynccontextmanager
async def neko_node(portal: Portal, **settings: Any) -> AsyncIterator[tuple[Any, TestServer]]:
    if portal.server.backend != "sqlite":
        pytest.skip("the container backend does not depend on the database: run once (sqlite)")
    async with (
        fake_engine() as (engine, url),
        node_like(portal.server, browser_backend="neko-docker", docker_url=url, **settings) as node,
    ):
        node.container.vms.backend.watch_interval = 0.1  # type: ignore[attr-defined]
        node.container.vms.backend.host_poll_interval = HOST_POLL  # type: ignore[attr-defined]
        yield engine, node


def on(portal: Portal, node: TestServer, who: LoggedIn) -> LoggedIn:
    return LoggedIn(portal.client(base_url=node.base_url, session=who.client.session_token), who.user)


async def two_in_a_chat(
    portal: Portal, sockets: Any, node: TestServer
) -> tuple[LoggedIn, LoggedIn, int, SocketProbe, SocketProbe]:
    """A premium owner's public chat on `node`, with the owner and a viewer joined (in that order)."""
    owner = on(portal, node, await portal.login("user", tier=2))
    chat_id = (await portal.public_chat(owner))["id"]
    viewer = on(portal, node, await portal.login())
    owner_probe = await joined(sockets, owner, chat_id, node.base_url)
    viewer_probe = await joined(sockets, viewer, chat_id, node.base_url)
    return owner, viewer, chat_id, owner_probe, viewer_probe


async def test_a_chat_vm_is_a_neko_container_with_credentials_per_role(portal: Portal, sockets) -> None:
    """08 §26: `{chat_id, kind:"neko", url, username, password, role}`, `admin` for chat managers and
    `member` for the others; stop removes the container."""
    async with neko_node(portal) as (engine, node):
        owner, viewer, chat_id, owner_probe, viewer_probe = await two_in_a_chat(portal, sockets, node)

        assert await owner.client.call("POST", chat_path(chat_id, "/start")) == {"ok": True}
        (container,) = engine.containers.values()
        env = container.env()
        assert container.running and container.name == f"{node.settings.redis_prefix}-chat-{chat_id}"
        assert container.config["Labels"]["portal.chat_id"] == str(chat_id)
        url = f"http://127.0.0.1:{engine.neko_port}"
        admin = await owner_probe.expect_for("vm:credentials", chat_id)
        assert admin == {
            "chat_id": chat_id,
            "kind": "neko",
            "url": url,
            "username": f"user{owner.id}",
            "password": env["NEKO_MEMBER_MULTIUSER_ADMIN_PASSWORD"],
            "role": "admin",
        }
        member = await viewer_probe.expect_for("vm:credentials", chat_id)
        assert member == {
            **admin,
            "username": f"user{viewer.id}",
            "password": env["NEKO_MEMBER_MULTIUSER_USER_PASSWORD"],
            "role": "member",
        }
        moderator = on(portal, node, await portal.login("moderator"))  # outranks the owner: a manager
        late = await joined(sockets, moderator, chat_id, node.base_url)
        assert late.join_ack["vm"]["role"] == "admin"

        assert await owner.client.call("POST", chat_path(chat_id, "/stop")) == {"ok": True}
        assert await owner_probe.expect_for("room:stopped", chat_id) == {
            "chat_id": chat_id,
            "reason": "stopped",
        }
        assert engine.containers == {}


async def test_the_vm_endpoints_drive_neko(portal: Portal, sockets) -> None:
    """Clipboard, screen and screenshot go to the container's neko REST API; config flags are applied to the
    running room (apply_settings); a kick disconnects the user's neko sessions."""
    async with neko_node(portal) as (engine, node):
        owner = on(portal, node, await portal.login("user", tier=2))
        chat = await portal.public_chat(owner)
        chat_id = chat["id"]
        viewer = on(portal, node, await portal.login())
        await joined(sockets, viewer, chat_id, node.base_url)
        assert await owner.client.call("POST", chat_path(chat_id, "/start")) == {"ok": True}
        (container,) = engine.containers.values()
        neko = engine.neko[container.env()["NEKO_SESSION_API_TOKEN"]]

        body = {"text": "copied text"}
        assert await owner.client.call("POST", chat_path(chat_id, "/clipboard/update"), json=body) == {
            "ok": True
        }
        assert neko.clipboard == "copied text"
        assert await owner.client.call("GET", chat_path(chat_id, "/clipboard")) == body
        size = {"width": 1600, "height": 900, "rate": 30}
        assert (await owner.client.call("POST", chat_path(chat_id, "/screen/update"), json=size))[
            "width"
        ] == 1600
        assert neko.screen == size
        shot = await viewer.client.raw("GET", chat_path(chat_id, "/screenshot"))
        assert (
            shot.status_code == 200 and shot.content == JPEG and shot.headers["content-type"] == "image/jpeg"
        )

        flags = {"locked_controls": True, "implicit_hosting": True, "inactive_cursors": True}
        await owner.client.call("POST", chat_path(chat_id, "/config/update"), json=flags)
        assert neko.settings == flags

        neko.sessions = [{"id": "s-viewer", "profile": {"name": f"user{viewer.id}"}}]
        await owner.client.call("POST", chat_path(chat_id, "/kick"), json={"user_id": viewer.id})
        assert neko.disconnected == ["s-viewer"]
        await owner.client.call("POST", chat_path(chat_id, "/stop"))


async def test_portals_host_is_neko_hosts(portal: Portal, sockets) -> None:
    """00 §7 "Control (both backends): one host at a time": every change of Portal's host is pushed to neko's
    control API (give to the user's connected session, or reset when nobody hosts or the host has no neko
    session), and a start pushes the current host."""
    async with neko_node(portal) as (engine, node):
        owner, viewer, chat_id, owner_probe, viewer_probe = await two_in_a_chat(portal, sockets, node)
        assert await owner_probe.call("control:take", {"chat_id": chat_id}) == {"ok": True}
        await owner_probe.expect_for("control:update", chat_id)

        assert await owner.client.call("POST", chat_path(chat_id, "/start")) == {"ok": True}
        (container,) = engine.containers.values()
        neko = engine.neko[container.env()["NEKO_SESSION_API_TOKEN"]]
        assert neko.host is None  # the owner has not opened neko yet: nobody hosts there
        neko.sessions = [{"id": "s-owner", "profile": {"name": f"user{owner.id}"}}]
        await eventually(lambda: _hosted_by(neko, "s-owner"))  # they open it: they get neko's control

        neko.sessions = [
            {"id": "s-owner-old", "profile": {"name": f"user{owner.id}"}, "state": {"is_connected": False}},
            {"id": "s-owner", "profile": {"name": f"user{owner.id}"}, "state": {"is_connected": True}},
            {"id": "s-viewer", "profile": {"name": f"user{viewer.id}"}, "state": {"is_connected": True}},
        ]
        give = {"chat_id": chat_id, "user_id": viewer.id}
        assert await owner_probe.call("control:give", give) == {"ok": True}
        await owner_probe.expect_for("control:update", chat_id)
        assert neko.host == "s-viewer"
        assert await owner_probe.call("control:take", {"chat_id": chat_id}) == {"ok": True}
        await owner_probe.expect_for("control:update", chat_id)
        assert neko.host == "s-owner"  # the connected session of the two
        assert await owner_probe.call("control:release", {"chat_id": chat_id}) == {"ok": True}
        await owner_probe.expect_for("control:update", chat_id)
        assert neko.host is None

        # A host named before opening neko who loses hosting meanwhile is not given neko's control later.
        neko.sessions = [s for s in neko.sessions if s["id"] != "s-viewer"]
        assert await viewer_probe.call("control:take", {"chat_id": chat_id}) == {"ok": True}
        await owner_probe.expect_for("control:update", chat_id)
        assert neko.host is None
        assert await owner_probe.call("control:take", {"chat_id": chat_id}) == {"ok": True}
        await owner_probe.expect_for("control:update", chat_id)
        assert neko.host == "s-owner"
        neko.sessions.append({"id": "s-viewer", "profile": {"name": f"user{viewer.id}"}})
        await asyncio.sleep(HOST_POLL * 5)  # several polls' worth: nobody is waiting for the viewer now
        assert neko.host == "s-owner"

        await owner.client.call("POST", chat_path(chat_id, "/stop"))
        assert await viewer_probe.call("control:take", {"chat_id": chat_id}) == {"ok": True}  # VM stopped
        engine.first_sessions = neko.sessions  # the same people open the next neko at once
        assert await owner.client.call("POST", chat_path(chat_id, "/start")) == {"ok": True}
        (container,) = engine.containers.values()
        assert engine.neko[container.env()["NEKO_SESSION_API_TOKEN"]].host == "s-viewer"
        await owner.client.call("POST", chat_path(chat_id, "/stop"))


async def _hosted_by(neko: Any, session_id: str) -> bool:
    return neko.host == session_id


async def test_engine_and_neko_failures_are_503_without_their_text(portal: Portal, sockets) -> None:
    """Engine errors → 503 ERR_VM_UNAVAILABLE, nothing running, no engine text leaked; a neko that stops
    answering makes the VM endpoints 503 (not 500)."""
    async with neko_node(portal) as (engine, node):
        owner = on(portal, node, await portal.login("user", tier=2))
        chat = await portal.private_chat(owner)
        chat_id = chat["id"]
        engine.fail_create = "pull access denied for ghcr.io/m1k1o/neko/chromium: secret-registry-detail"
        failure = await expect_error(owner.client.call("POST", chat_path(chat_id, "/start")), 503)
        assert failure.body["error"] == "ERR_VM_UNAVAILABLE"
        assert "secret-registry-detail" not in failure.response.text and "pull" not in failure.response.text
        assert not (await owner.client.call("GET", chat_path(chat_id)))["live"]["running"]
        assert engine.containers == {}

        engine.fail_create = None
        assert await owner.client.call("POST", chat_path(chat_id, "/start")) == {"ok": True}
        engine.neko.clear()  # neko refuses the API token from now on
        for method, path, body in (
            ("GET", "/clipboard", None),
            ("POST", "/clipboard/update", {"text": "x"}),
            ("GET", "/screenshot", None),
            ("POST", "/screen/update", {"width": 800, "height": 600, "rate": 30}),
        ):
            kwargs = {"json": body} if body is not None else {}
            await expect_error(
                owner.client.call(method, chat_path(chat_id, path), **kwargs), 503, "ERR_VM_UNAVAILABLE"
            )
        await owner.client.call("POST", chat_path(chat_id, "/stop"))
        assert engine.containers == {}


async def test_a_neko_that_stops_answering_holds_up_no_kick_config_or_delete(portal: Portal, sockets) -> None:
    """03 §4.8 "best-effort removal" from the VM: the kicked user still leaves the room, a config change
    still reaches the room, a deletion still destroys it, when neko's API fails for each of them."""
    async with neko_node(portal) as (engine, node):
        owner, viewer, chat_id, owner_probe, viewer_probe = await two_in_a_chat(portal, sockets, node)
        assert await owner.client.call("POST", chat_path(chat_id, "/start")) == {"ok": True}
        engine.neko.clear()  # neko refuses the API token from now on

        await owner.client.call("POST", chat_path(chat_id, "/kick"), json={"user_id": viewer.id})
        assert await viewer_probe.expect("room:kicked") == {"chat_id": chat_id, "reason": None}
        removed = await owner_probe.expect("portal:key_removed")
        assert removed == {"chat_id": chat_id, "user_id": viewer.id}

        flags = {"locked_controls": True}
        await owner.client.call("POST", chat_path(chat_id, "/config/update"), json=flags)
        assert await owner_probe.expect("room:config") == {"chat_id": chat_id, **flags}

        await owner.client.call("POST", chat_path(chat_id, "/delete"))
        assert await owner_probe.expect_for("room:destroyed", chat_id) == {"chat_id": chat_id}
        assert engine.containers == {}  # the container goes: only neko's own API was failing


async def test_a_container_that_exits_is_a_stopped_vm(portal: Portal, sockets) -> None:
    """Crash detection for containers: `room:stopped {reason:"crashed"}`, live state corrected."""
    async with neko_node(portal) as (engine, node):
        owner = on(portal, node, await portal.login("user", tier=2))
        chat = await portal.private_chat(owner)
        chat_id = chat["id"]
        probe = await joined(sockets, owner, chat_id, node.base_url)
        assert await owner.client.call("POST", chat_path(chat_id, "/start")) == {"ok": True}
        (container,) = engine.containers.values()
        container.running = False  # the browser inside died and took the container with it
        assert await probe.expect_for("room:stopped", chat_id) == {"chat_id": chat_id, "reason": "crashed"}
        assert not (await owner.client.call("GET", chat_path(chat_id)))["live"]["running"]
        assert engine.containers == {}  # removed, so the next start gets a fresh one
        assert await owner.client.call("POST", chat_path(chat_id, "/start")) == {"ok": True}
        assert len(engine.containers) == 1
        await owner.client.call("POST", chat_path(chat_id, "/stop"))


async def test_a_dead_nodes_container_is_discarded_by_name() -> None:
    """`discard(chat_id)` (run by the node that sweeps a dead node's VMs) removes that chat's container."""
    async with fake_engine() as (engine, url):
        backend = NekoDockerBackend(docker_url=url, instance="portal")
        other = NekoDockerBackend(docker_url=url, instance="portal")  # another node of the same install
        try:
            await backend.start(spec(), _no_frames, _no_exit)
            await backend.start(spec(chat_id=8), _no_frames, _no_exit)
            await other.discard(7)
            assert [c.name for c in engine.containers.values()] == ["portal-chat-8"]
            await other.discard(7)  # nothing left: no error
        finally:
            await backend.close()
            await other.close()
