"""The `portal` command run as a subprocess against a database of its own, on SQLite and PostgreSQL.

Each backend gets one database per module (migrated with `portal migrate`); tests use unique names and
platform ids, so they share it. The PostgreSQL variant also sets PORTAL_REDIS_URL / PORTAL_REDIS_PREFIX,
as an operator's shell would, and is skipped with the same reason as the server tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from portal.config import Settings
from portal.container import Container
from portal.services.permissions import LEVELS_BY_NAME
from tests.helpers import unique_name, unique_platform_id
from tests.servers import (
    POSTGRES_SKIP,
    REDIS_URL,
    RUN_ID,
    build_settings,
    create_pg_database,
    drop_pg_database,
    purge_redis,
)

BIN = Path(sys.executable).parent
PORTAL = BIN / "portal"
REPO = Path(__file__).resolve().parents[2]
ADMIN_TOOLS = REPO / "admin_tools.py"


NO_SERVER_NOTE = re.compile(r"note: no server is running \(no .*portal\.sock\): live updates were not sent")


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.code == 0, f"exit {self.code}: {self.stderr}"
        return json.loads(self.stdout)

    def assert_ok(self) -> None:
        """Exit 0 and nothing on stderr but, on SQLite with no server running, the one note that live
        updates were not sent (docs/cli.md, "Reaching running servers")."""
        assert self.code == 0, f"exit {self.code}: {self.stderr}"
        assert all(NO_SERVER_NOTE.fullmatch(line) for line in self.stderr.splitlines()), self.stderr
        assert len(self.stderr.splitlines()) <= 1, self.stderr

    def assert_one_error_line(self, text: str, *, code: int = 1) -> None:
        """00 §8: a failure exits non-zero with one clear line on stderr and nothing on stdout."""
        assert self.code == code, f"exit {self.code}, stdout={self.stdout!r} stderr={self.stderr!r}"
        assert self.stdout == ""
        assert self.stderr.splitlines() == [text], self.stderr


@dataclass
class CliBackend:
    """A database (and, for postgres, a Redis prefix) plus the environment that points the CLI at it."""

    name: str
    database_url: str
    var_dir: Path
    redis_prefix: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
        env.update(PORTAL_DATABASE_URL=self.database_url, PORTAL_VAR_DIR=str(self.var_dir))
        if self.redis_prefix:
            env.update(PORTAL_REDIS_URL=REDIS_URL, PORTAL_REDIS_PREFIX=self.redis_prefix)
        self.env = env

    async def run(self, *argv: str | Path) -> CliResult:
        process = await asyncio.create_subprocess_exec(
            *map(str, argv),
            env=self.env,
            cwd=self.var_dir.parent,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode is not None
        return CliResult(process.returncode, stdout.decode(), stderr.decode())

    async def portal(self, *args: str) -> CliResult:
        return await self.run(PORTAL, *args)

    async def admin(self, *args: str) -> CliResult:
        return await self.run(PORTAL, "admin", *args)

    async def admin_tools(self, *args: str) -> CliResult:
        return await self.run(sys.executable, ADMIN_TOOLS, *args)

    def settings(self) -> Settings:
        """Server settings for this database (the test public key; 127.0.0.1 is a trusted proxy)."""
        return build_settings(self.name, self.var_dir, self.database_url, self.redis_prefix or "cli")

    @contextlib.asynccontextmanager
    async def container(self) -> AsyncIterator[Container]:
        """The services the CLI calls, in this process: quick set-up and reads of what the CLI wrote."""
        container = Container(self.settings())
        await container.start()
        try:
            yield container
        finally:
            await container.close()

    async def make_user(self, level: str = "user") -> dict[str, Any]:
        """Set-up: a user made by the same service action as `users create`."""
        async with self.container() as container:
            user = await container.users.create(
                username=unique_name(),
                level=LEVELS_BY_NAME[level],
                platform="discord",
                platform_user_id=unique_platform_id(),
            )
        return user.model_dump(mode="json")


@contextlib.asynccontextmanager
async def fresh_backend(name: str, tmp: Path) -> AsyncIterator[CliBackend]:
    """An empty (not migrated) database for `name`, dropped afterwards."""
    if name == "postgres" and POSTGRES_SKIP:
        pytest.skip(POSTGRES_SKIP)
    if name == "sqlite":
        yield CliBackend(name, f"sqlite+aiosqlite:///{tmp / 'portal.db'}", tmp / "var")
        return
    db_name = f"portal_cli_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    url = await create_pg_database(db_name)
    try:
        yield CliBackend(name, url, tmp / "var", redis_prefix=db_name)
    finally:
        await drop_pg_database(db_name)
        await purge_redis(db_name)


@pytest_asyncio.fixture(scope="module", params=["sqlite", "postgres"])
async def cli(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[CliBackend]:
    """A migrated database for the module, on each backend."""
    async with fresh_backend(request.param, tmp_path_factory.mktemp(f"cli-{request.param}")) as backend:
        migrated = await backend.portal("migrate")
        assert migrated.code == 0, migrated.stderr
        yield backend
