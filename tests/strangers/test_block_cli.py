"""`portal admin strangers block --user-id N [--json]` (00 §8; 08 §33, §62): the same action as
`POST /v1/admin/strangers/block`, run as a real subprocess on SQLite and PostgreSQL + Redis; the audit row
has `actor_id: null`; errors are one line on stderr.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal.db.models import AuditLog
from portal.security import sha256_hex
from portal.services.auth import ClientInfo
from tests.cli.conftest import CliBackend, cli  # noqa: F401  (the fixture)


async def new_stranger(backend: CliBackend) -> tuple[int, str]:
    """A stranger made by the same action as `POST /v1/authentication/stranger`: (user id, token hash)."""
    async with backend.container() as container:
        result = await container.auth.stranger(ClientInfo(ip="203.0.113.9", user_agent="cli-test"))
    return result.body.id, sha256_hex(result.session.token)


async def is_blocked(backend: CliBackend, token_hash: str) -> bool:
    async with backend.container() as container:
        return await container.strangers.is_blocked(token_hash)


async def audit_rows(backend: CliBackend, user_id: int) -> list[AuditLog]:
    async with backend.container() as container, container.db.read() as session:
        query = select(AuditLog).where(
            AuditLog.event_type == "STRANGER_BLOCK",
            AuditLog.entity_type == "user",
            AuditLog.entity_id == user_id,
        )
        return list((await session.execute(query)).scalars().all())


async def test_block_prints_the_rest_answer_and_blocks(cli: CliBackend) -> None:  # noqa: F811
    # The block key is keyed with the secret: the CLI must use the server's (as an operator's shell would,
    # through PORTAL_SECRET_KEY or the same PORTAL_VAR_DIR).
    cli.env["PORTAL_SECRET_KEY"] = cli.settings().resolved_secret_key
    user_id, token_hash = await new_stranger(cli)
    result = await cli.admin("strangers", "block", "--user-id", str(user_id), "--json")
    assert result.json() == {"message": f"Stranger {user_id} blocked"}
    assert await is_blocked(cli, token_hash)
    [row] = await audit_rows(cli, user_id)
    assert row.actor_id is None

    again = await cli.admin("strangers", "block", "--user-id", str(user_id))  # idempotent, plain output
    assert (again.code, again.stdout, again.stderr) == (0, f"Stranger {user_id} blocked\n", "")
    assert len(await audit_rows(cli, user_id)) == 1


async def test_block_errors_are_one_line(cli: CliBackend) -> None:  # noqa: F811
    registered: dict[str, Any] = await cli.make_user()
    for target in (str(registered["id"]), "999999"):
        (await cli.admin("strangers", "block", "--user-id", target)).assert_one_error_line(
            "error: User not found"
        )
    missing = await cli.admin("strangers", "block")
    assert missing.code != 0 and missing.stdout == ""
