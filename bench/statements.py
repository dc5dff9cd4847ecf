"""SQL statements per hot-path request (docs/performance.md); tests/api/test_hot_paths.py keeps them bounded.

    python -m bench.statements          # SQLite + memory, then PostgreSQL + Redis when they answer

A real server in this process (so SQLAlchemy's `before_cursor_execute` sees every statement): one user in
an official chat with a message, a second user joining it. Counted: `GET /v1/users/me`,
`GET /v1/portal/chats`, the history, one message send (target: fewer than the 11 of 2026-11-29) and one
new member's `room:join` up to its ack (target ≤ 15). No ceiling: a bare program issues one INSERT.
"""

from __future__ import annotations

import asyncio

from bench.rest_reads import official_chat
from bench.support import PUBLIC_KEY, Backend, Figure, captured_statements, run_backends, serving, sign_in
from portal.client import PortalClient
from portal.client.e2ee import encrypt
from portal.client.secure import SecureChat


async def measure(b: Backend) -> list[Figure]:
    counts: dict[str, int] = {}
    async with serving(database_url=b.database_url, redis_url=b.redis_url, browser_backend="none") as (
        c,
        base,
    ):
        first, second = await sign_in(c, 2)
        chat_id = await official_chat(c)
        async with SecureChat(PortalClient(base, api_key=PUBLIC_KEY, session=first)) as owner:
            await owner.join(chat_id)
            key, epoch = await owner.wait_for_key(chat_id), owner.epochs[chat_id]
            path = f"/v1/portal/chats/{chat_id}/messages"
            await owner.client.call("POST", path, json={"content": encrypt(key, epoch, "warm-up")})
            reads = {
                "GET /v1/users/me": "/v1/users/me",
                "GET /v1/portal/chats": "/v1/portal/chats",
                "GET history": f"/v1/portal/chats/{chat_id}/history?limit=50",
            }
            for name, read in reads.items():
                await owner.client.call("GET", read)
                with captured_statements(c) as statements:
                    await owner.client.call("GET", read)
                counts[name] = len(statements)
            with captured_statements(c) as statements:
                await owner.client.call("POST", path, json={"content": encrypt(key, epoch, "counted")})
            counts["message send"] = len(statements)
            async with SecureChat(PortalClient(base, api_key=PUBLIC_KEY, session=second)) as newcomer:
                with captured_statements(c) as statements:
                    await newcomer.join(chat_id, wait_for_key=False)
                counts["room:join (a new member, up to its ack)"] = len(statements)
                await newcomer.client.close()
            await owner.client.close()
    targets: dict[str, tuple[str, float]] = {
        "message send": ("≤", 10),
        "room:join (a new member, up to its ack)": ("≤", 15),
    }
    return [
        Figure(f"SQL statements: {name}", b.name, count, None, "", targets.get(name))
        for name, count in counts.items()
    ]


if __name__ == "__main__":
    asyncio.run(run_backends(measure))
