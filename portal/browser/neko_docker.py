"""The container backend: one neko container per chat through the Docker Engine API.

Each VM is a `ghcr.io/m1k1o/neko/<browser>` container with random member and admin passwords and an API
token Portal uses to drive it over neko's REST API (clipboard, screen, screenshot, settings, kicks).
Viewers get `{kind:"neko", url, username, password, role}` and talk WebRTC to the container directly.
Containers carry labels (`portal.*`) so a restarted node finds and removes what it left behind.

Configuration: `PORTAL_DOCKER_URL` (the engine, default the local socket), `PORTAL_NEKO_PUBLIC_HOST` (the
host name viewers reach published ports on), `PORTAL_NEKO_NAT1TO1` (the address announced for WebRTC),
`PORTAL_NEKO_IMAGE_PREFIX`, `PORTAL_VM_MEMORY_MB`. See docs/deployment.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

import aiodocker
import httpx

from portal.browser.base import ControlSettings, ExitSink, FrameSink, VmError, VmSpec

log = logging.getLogger("portal.browser.neko")
NEKO_PORT = "8080/tcp"
MUX_PORT = 52100
IMAGES = {"chromium": "chromium", "firefox": "firefox", "brave": "brave", "tor-browser": "tor-browser"}
CHROMIUM_FAMILY = {"chromium", "brave"}
SHM_BYTES = 2 * 1024**3  # Chromium-based images crash with Docker's default 64 MB /dev/shm
WATCH_INTERVAL = 5.0  # how often a VM's container is checked (a container that exits is a crashed VM)
HOST_POLL_INTERVAL = 1.0  # how often neko is asked whether Portal's host has opened it yet
LABEL = "portal"


def container_spec(
    spec: VmSpec,
    *,
    image_prefix: str,
    instance: str,
    member_password: str,
    admin_password: str,
    api_token: str,
    nat1to1: str,
    memory_mb: int,
) -> dict[str, Any]:
    """The Docker `POST /containers/create` body for a chat's VM (a pure function: tested as the contract)."""
    image = f"{image_prefix}{IMAGES.get(spec.browser, 'chromium')}:3"
    env = {
        "NEKO_DESKTOP_SCREEN": f"{spec.width}x{spec.height}@{spec.rate}",
        "NEKO_MEMBER_PROVIDER": "multiuser",
        "NEKO_MEMBER_MULTIUSER_USER_PASSWORD": member_password,
        "NEKO_MEMBER_MULTIUSER_ADMIN_PASSWORD": admin_password,
        "NEKO_SESSION_API_TOKEN": api_token,
        "NEKO_SESSION_IMPLICIT_HOSTING": _flag(spec.settings.implicit_hosting),
        "NEKO_SESSION_LOCKED_CONTROLS": _flag(spec.settings.locked_controls),
        "NEKO_SESSION_INACTIVE_CURSORS": _flag(spec.settings.inactive_cursors),
        "NEKO_SERVER_BIND": "0.0.0.0:8080",
        "NEKO_WEBRTC_UDPMUX": str(MUX_PORT),
        "NEKO_WEBRTC_TCPMUX": str(MUX_PORT),
    }
    if nat1to1:
        env["NEKO_WEBRTC_NAT1TO1"] = nat1to1
    if spec.start_url:
        env["NEKO_CHROMIUM_START_URL" if spec.browser in CHROMIUM_FAMILY else "NEKO_FIREFOX_START_URL"] = (
            spec.start_url
        )
    host_config: dict[str, Any] = {
        "ShmSize": SHM_BYTES if spec.browser in CHROMIUM_FAMILY else 256 * 1024**2,
        "CapAdd": ["SYS_ADMIN"],
        "PortBindings": {
            NEKO_PORT: [{"HostIp": "", "HostPort": ""}],
            f"{MUX_PORT}/udp": [{"HostIp": "", "HostPort": ""}],
            f"{MUX_PORT}/tcp": [{"HostIp": "", "HostPort": ""}],
        },
        "RestartPolicy": {"Name": "no"},
        "AutoRemove": False,
    }
    if memory_mb:
        host_config["Memory"] = memory_mb * 1024**2
    return {
        "Image": image,
        "Env": [f"{key}={value}" for key, value in sorted(env.items())],
        "ExposedPorts": {NEKO_PORT: {}, f"{MUX_PORT}/udp": {}, f"{MUX_PORT}/tcp": {}},
        "Labels": {
            f"{LABEL}.managed": "true",
            f"{LABEL}.instance": instance,
            f"{LABEL}.chat_id": str(spec.chat_id),
            f"{LABEL}.browser": spec.browser,
            f"{LABEL}.kiosk": _flag(spec.kiosk),
        },
        "HostConfig": host_config,
    }


def _flag(value: bool) -> str:
    return "true" if value else "false"


def published_port(info: dict[str, Any], port: str) -> int | None:
    """The host port Docker bound for a container port (from `GET /containers/{id}/json`)."""
    bindings = ((info.get("NetworkSettings") or {}).get("Ports") or {}).get(port) or []
    for binding in bindings:
        if binding.get("HostPort"):
            return int(binding["HostPort"])
    return None


class NekoDockerBackend:
    name = "neko-docker"

    def __init__(
        self,
        *,
        docker_url: str | None = None,
        public_host: str = "127.0.0.1",
        nat1to1: str = "",
        image_prefix: str = "ghcr.io/m1k1o/neko/",
        instance: str = "portal",
        memory_mb: int = 0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.docker_url = docker_url
        self.public_host = public_host
        self.nat1to1 = nat1to1
        self.image_prefix = image_prefix
        self.instance = instance
        self.memory_mb = memory_mb
        self._docker: aiodocker.Docker | None = None
        self._http = http or httpx.AsyncClient(timeout=10)
        self._vms: dict[int, NekoVm] = {}
        self.watch_interval = WATCH_INTERVAL
        self.host_poll_interval = HOST_POLL_INTERVAL
        self.closed = False

    @property
    def available(self) -> bool:
        return True  # an unreachable engine is reported when a VM is started

    @property
    def unavailable_reason(self) -> str:
        return ""

    def docker(self) -> aiodocker.Docker:
        if self._docker is None:
            self._docker = aiodocker.Docker(url=self.docker_url)
        return self._docker

    async def start(self, spec: VmSpec, on_frame: FrameSink, on_exit: ExitSink) -> NekoVm:
        member_password, admin_password = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
        api_token = secrets.token_urlsafe(24)
        config = container_spec(
            spec,
            image_prefix=self.image_prefix,
            instance=self.instance,
            member_password=member_password,
            admin_password=admin_password,
            api_token=api_token,
            nat1to1=self.nat1to1,
            memory_mb=self.memory_mb,
        )
        name = f"{self.instance}-chat-{spec.chat_id}"
        try:
            await self._remove_leftover(name)
            container = await self.docker().containers.create(config=config, name=name)
            await container.start()
            info = await container.show()
        except aiodocker.DockerError as exc:
            raise VmError(f"Docker refused the container: {exc.message}") from exc
        except (TimeoutError, OSError) as exc:
            raise VmError(f"the Docker engine is unreachable: {exc}") from exc
        port = published_port(info, NEKO_PORT)
        if port is None:
            with contextlib.suppress(Exception):
                await container.delete(force=True)
            raise VmError("the neko container published no HTTP port")
        vm = NekoVm(
            self,
            spec,
            container.id,
            f"http://{self.public_host}:{port}",
            member_password,
            admin_password,
            api_token,
            on_exit,
        )
        self._vms[spec.chat_id] = vm
        vm.watch()
        return vm

    async def _remove_leftover(self, name: str) -> None:
        """A container of this chat left by a crashed node is removed before a new one starts."""
        with contextlib.suppress(aiodocker.DockerError):
            old = await self.docker().containers.get(name)
            await old.delete(force=True)

    async def cleanup_instance(self) -> int:
        """Remove every container of this Portal instance (a node that restarts owns no VM any more)."""
        removed = 0
        containers = await self.docker().containers.list(
            all=True, filters={"label": [f"{LABEL}.managed=true", f"{LABEL}.instance={self.instance}"]}
        )
        for container in containers:
            with contextlib.suppress(aiodocker.DockerError):
                await container.delete(force=True)
                removed += 1
        return removed

    def forget(self, chat_id: int) -> None:
        self._vms.pop(chat_id, None)

    async def discard(self, chat_id: int) -> None:
        """Remove the container a dead node left for this chat (by its name); engine errors are ignored."""
        with contextlib.suppress(aiodocker.DockerError, OSError, TimeoutError):
            await self._remove_leftover(f"{self.instance}-chat-{chat_id}")

    async def close(self) -> None:
        self.closed = True
        for vm in list(self._vms.values()):
            await vm.stop()
        if self._docker is not None:
            await self._docker.close()
            self._docker = None
        await self._http.aclose()


class NekoVm:
    kind = "neko"

    def __init__(
        self,
        backend: NekoDockerBackend,
        spec: VmSpec,
        container_id: str,
        url: str,
        member_password: str,
        admin_password: str,
        api_token: str,
        on_exit: ExitSink,
    ) -> None:
        self.backend = backend
        self.spec = spec
        self.chat_id = spec.chat_id
        self.container_id = container_id
        self.url = url
        self.member_password = member_password
        self.admin_password = admin_password
        self.api_token = api_token
        self.on_exit = on_exit
        self.width, self.height, self.rate = spec.width, spec.height, spec.rate
        self._stopped = False
        self._watch: asyncio.Task[None] | None = None
        self._host_wait: asyncio.Task[None] | None = None  # Portal's host has no neko session yet
        self._host_lock = asyncio.Lock()  # one change of neko's control at a time

    def alive(self) -> bool:
        return not self._stopped

    def watch(self) -> None:
        self._watch = asyncio.create_task(self._watch_container(), name=f"portal-neko-{self.chat_id}")

    async def _watch_container(self) -> None:
        """A container that exits (or is removed) without Portal stopping it is a crashed VM: tell the
        manager, which announces `room:stopped` and corrects the live state. An engine that does not
        answer proves nothing; it is asked again next time."""
        container = self.backend.docker().containers.container(self.container_id)
        while not self._stopped:
            await asyncio.sleep(self.backend.watch_interval)
            if self.backend.closed:
                return
            try:
                running = bool(((await container.show()).get("State") or {}).get("Running"))
            except aiodocker.DockerError as exc:
                running = exc.status != 404
            except Exception:  # unreachable engine, timeout: no verdict
                continue
            if not running and not self._stopped:
                log.warning("the neko container of chat %s is not running any more", self.chat_id)
                self._stopped = True
                with contextlib.suppress(aiodocker.DockerError, OSError):
                    await container.delete(force=True)
                self.backend.forget(self.chat_id)
                await self.on_exit(self.chat_id, "crashed")
                return

    async def stop(self) -> None:
        self._stopped = True
        self._stop_waiting_for_host()
        if self._watch is not None and self._watch is not asyncio.current_task():
            self._watch.cancel()
        with contextlib.suppress(aiodocker.DockerError, OSError):
            container = await self.backend.docker().containers.get(self.container_id)
            await container.stop(t=5)
            await container.delete(force=True)
        self.backend.forget(self.chat_id)

    async def _api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """neko's REST API with the container's API token (Bearer)."""
        try:
            response = await self.backend._http.request(
                method, f"{self.url}{path}", headers={"Authorization": f"Bearer {self.api_token}"}, **kwargs
            )
        except httpx.HTTPError as exc:
            raise VmError(f"neko did not answer: {exc}") from exc
        if response.status_code >= 400:
            raise VmError(f"neko answered {response.status_code} to {method} {path}")
        return response

    async def credentials(self, user_id: int, role: str) -> dict[str, Any]:
        password = self.admin_password if role == "admin" else self.member_password
        return {
            "chat_id": self.chat_id,
            "kind": "neko",
            "url": self.url,
            "username": f"user{user_id}",
            "password": password,
            "role": role,
        }

    async def clipboard_get(self) -> str:
        return str((await self._api("GET", "/api/room/clipboard")).json().get("text") or "")

    async def clipboard_set(self, text: str) -> None:
        await self._api("POST", "/api/room/clipboard", json={"text": text})

    async def set_screen(self, width: int, height: int, rate: int) -> None:
        await self._api("POST", "/api/room/screen", json={"width": width, "height": height, "rate": rate})
        self.width, self.height, self.rate = width, height, rate

    async def screenshot(self) -> bytes:
        return (await self._api("GET", "/api/room/screen/shot.jpg", params={"quality": 85})).content

    async def input(self, events: list[dict[str, Any]]) -> None:
        return None  # neko viewers send input over WebRTC themselves

    async def refresh(self) -> None:
        return None  # neko streams to its viewers over WebRTC; there is no frame to send again

    async def kick(self, user_id: int) -> None:
        """Disconnect the user's neko sessions (their username is `user{id}`)."""
        for session_id in await self._sessions_of(user_id):
            await self._api("POST", f"/api/sessions/{session_id}/disconnect")

    async def set_host(self, user_id: int | None) -> None:
        """Give neko's control to the user's session (connected ones first). When Portal has no host,
        nobody hosts in neko; when Portal's host has not opened the VM yet, nobody does until they do
        (neko is asked every `host_poll_interval` seconds meanwhile)."""
        async with self._host_lock:  # two changes in a row: the later one's wait (or none) survives
            self._stop_waiting_for_host()
            sessions = await self._sessions_of(user_id) if user_id is not None else []
            if sessions:
                await self._api("POST", f"/api/room/control/give/{sessions[0]}")
                return
            await self._api("POST", "/api/room/control/reset")
            if user_id is not None:
                self._host_wait = asyncio.create_task(
                    self._give_when_opened(user_id), name=f"portal-neko-host-{self.chat_id}"
                )

    async def _give_when_opened(self, user_id: int) -> None:
        while not self._stopped:
            await asyncio.sleep(self.backend.host_poll_interval)
            async with self._host_lock:
                if self._host_wait is not asyncio.current_task():
                    return  # the host changed meanwhile
                try:
                    sessions = await self._sessions_of(user_id)
                    if sessions:
                        await self._api("POST", f"/api/room/control/give/{sessions[0]}")
                        self._host_wait = None
                        return
                except VmError:
                    continue  # neko busy or restarting: ask again next time

    def _stop_waiting_for_host(self) -> None:
        if self._host_wait is not None:
            self._host_wait.cancel()
            self._host_wait = None

    async def _sessions_of(self, user_id: int) -> list[str]:
        """The ids of the user's neko sessions, connected ones first (GET /api/sessions)."""
        sessions = (await self._api("GET", "/api/sessions")).json() or []
        mine = [s for s in sessions if (s.get("profile") or {}).get("name") == f"user{user_id}"]
        mine.sort(key=lambda s: not (s.get("state") or {}).get("is_connected", False))
        return [str(s["id"]) for s in mine]

    async def apply_settings(self, settings: ControlSettings) -> None:
        await self._api(
            "POST",
            "/api/room/settings",
            json={
                "locked_controls": settings.locked_controls,
                "implicit_hosting": settings.implicit_hosting,
                "inactive_cursors": settings.inactive_cursors,
            },
        )

    def memory_bytes(self) -> int | None:
        return None  # the container's own memory limit (PORTAL_VM_MEMORY_MB) applies
