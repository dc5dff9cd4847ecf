"""Settings: every knob is an environment variable `PORTAL_*` (docs/configuration.md).

Build one `Settings` object and hand it to `create_container` / `create_app`; tests build their own.
Secrets that are not configured are generated once into `var_dir` so a fresh clone just works.
"""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_ORIGINS = "http://127.0.0.1:8080,http://localhost:8080"
# The web client's build (`make run` builds it there), found from the package in a source checkout.
DEFAULT_WEB_DIR = Path(__file__).resolve().parent.parent / "web" / "dist"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTAL_", env_ignore_empty=True, extra="ignore")

    var_dir: Path = Path("./var")
    database_url: str = "sqlite+aiosqlite:///./var/portal.db"
    redis_url: str | None = None
    redis_prefix: str = "portal"
    public_api_key: str | None = None
    secret_key: str | None = None
    allowed_origins: str = DEFAULT_ORIGINS
    cookie_secure: bool = False
    rate_limits: Literal["on", "off"] = "on"
    trusted_proxies: str = ""
    console_codes: Literal["on", "off"] | None = None
    geoip_db: str = ""
    web_dir: Path = DEFAULT_WEB_DIR  # the built web client served at `/` (portal/web.py)

    browser_backend: Literal["auto", "chromium", "neko-docker", "none"] = "auto"
    vm_idle_timeout: int = 300
    vm_max: int = 4
    vm_memory_mb: int = 1024  # per VM: Chromium's processes are stopped above it; neko's container limit
    docker_url: str | None = None  # neko-docker: the Docker Engine (default: the local socket)
    neko_public_host: str = "127.0.0.1"  # neko-docker: the host viewers reach published ports on
    neko_nat1to1: str = ""  # neko-docker: the address announced to WebRTC peers
    neko_image_prefix: str = "ghcr.io/m1k1o/neko/"

    bot_login_web_required_every: int = Field(default=5, ge=1)
    admin_chat_slots: int = 10
    key_distributor_timeout: int = 5
    message_rate_user: str = "30/10"
    message_rate_chat: str = "300/10"
    janitor_interval: int = 30
    # Seconds a cached session lookup may live if an invalidation is lost (docs/performance.md); 0 = no cache.
    auth_cache_ttl: float = Field(default=30, ge=0)
    # Socket.IO limits (08 §69), "count/seconds" like the message rates; off with PORTAL_RATE_LIMITS=off.
    socket_event_rate: str = Field(default="60/10", pattern=r"^[1-9][0-9]*/[1-9][0-9]*$")  # per socket
    socket_join_rate: str = Field(default="30/10", pattern=r"^[1-9][0-9]*/[1-9][0-9]*$")  # room:join per user
    socket_key_rate: str = Field(default="30/10", pattern=r"^[1-9][0-9]*/[1-9][0-9]*$")  # key:distribute/user
    socket_vm_input_rate: str = Field(default="600/10", pattern=r"^[1-9][0-9]*/[1-9][0-9]*$")  # per socket
    socket_handshake_rate: str = Field(default="60/60", pattern=r"^[1-9][0-9]*/[1-9][0-9]*$")  # per IP
    socket_max_per_session: int = Field(default=10, ge=1)
    socket_max_per_user: int = Field(default=30, ge=1)
    # Dead-connection detection: a client that stops answering pings is dropped within interval + timeout.
    socket_ping_interval: float = 10
    socket_ping_timeout: float = 10
    # A node refreshes its liveness key every node_ttl/3 s; others clean up its sockets once it lapses.
    node_ttl: float = 30
    # room:members and chat:status at most once per this many seconds per room: the first change is sent at
    # once, later ones within the interval share one trailing update (docs/decisions.md); 0 = every change.
    room_list_interval: float = Field(default=0.5, ge=0)
    # A join does not ask the key distributor again while its last ask, younger than this many seconds, is
    # unanswered: the answer asks for the rest (docs/realtime.md, "Keys"); 0 = every join asks. As long as
    # the distributor's 5 s by default: asks that overlap make answers that cover only an older list, which
    # a loaded node would take for silence.
    key_ask_interval: float = Field(default=5.0, ge=0)
    # Where this node listens, stable across its restarts (default: `portal serve` uses hostname:port). A node
    # that starts on a name a crashed node held sweeps that node's sockets at once instead of after node_ttl.
    node_name: str | None = None

    # Matchmaking and direct chats (docs/configuration.md).
    match_disconnect_grace: int = Field(default=60, ge=0)  # a direct chat's and a queue entry's grace
    match_queue_ttl: int = Field(default=600, ge=1)  # a queue entry's life after its last refresh
    direct_chat_ttl: int = Field(default=86400, ge=1)  # a direct chat's life until its expires_at
    direct_archive_ttl: int = Field(default=86400, ge=0)  # how long an archived direct chat is kept

    login_code_ttl: int = 600
    max_pending_codes_per_ip: int = 5
    db_pool_size: int = 10
    log_level: str = "INFO"

    @field_validator("redis_url", "public_api_key", "secret_key", "docker_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    # ---- derived values -------------------------------------------------------------------------

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def rate_limits_enabled(self) -> bool:
        return self.rate_limits == "on"

    @property
    def console_codes_enabled(self) -> bool:
        if self.console_codes is None:
            return self.is_sqlite
        return self.console_codes == "on"

    @cached_property
    def allowed_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()]

    def refuses_origin(self, origin: str | None) -> bool:
        """An `Origin` header naming none of the allowed origins (REST cookie requests, Socket.IO). A request
        without one is not a browser's cross-site request, so it is not refused."""
        return origin is not None and origin.rstrip("/") not in self.allowed_origin_list

    @cached_property
    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @cached_property
    def resolved_public_api_key(self) -> str:
        return self.public_api_key or _read_or_create_secret(self.var_dir / "public_api_key", "ppub_")

    @cached_property
    def resolved_secret_key(self) -> str:
        return self.secret_key or _read_or_create_secret(self.var_dir / "secret_key", "")


def _read_or_create_secret(path: Path, prefix: str) -> str:
    """Return the secret stored in `path`, generating it (mode 0600) on first use."""
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    path.parent.mkdir(parents=True, exist_ok=True)
    value = prefix + secrets.token_urlsafe(32)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value
