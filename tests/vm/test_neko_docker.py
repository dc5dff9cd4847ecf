"""The neko-docker backend against the Docker Engine API contract (tests/vm/fake_docker.py) — 00 §7."""

from __future__ import annotations

import pytest

from portal.browser.base import ControlSettings, VmError, VmSpec
from portal.browser.neko_docker import SHM_BYTES, NekoDockerBackend, container_spec, published_port
from tests.vm.fake_docker import API_VERSION, JPEG, fake_engine


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
