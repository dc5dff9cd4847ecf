"""The server never holds plaintext (00 §4, 04 §3.5): after a conversation with distinctive words, no
table of the database, no LiveStore value and no log line contains them; the stored `content` is the
submitted ciphertext bundle, byte for byte (08 §10)."""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import MetaData, select

from portal.client.e2ee import encrypt
from portal.client.secure import SecureChat
from portal.db.models import Message
from tests.helpers import Portal
from tests.servers import REDIS_URL


async def database_dump(portal: Portal) -> str:
    """Every row of every table (reflected, so tables without a model are included), as text."""
    metadata = MetaData()
    async with portal.container.db.engine.connect() as connection:
        await connection.run_sync(metadata.reflect)
        parts: list[str] = []
        for table in metadata.sorted_tables:
            for row in (await connection.execute(select(table))).all():
                parts.append(f"{table.name}: {row!r}")
    assert any(p.startswith("messages:") for p in parts)
    return "\n".join(parts)


async def live_dump(portal: Portal) -> str:
    live: Any = portal.container.live
    if portal.server.backend != "postgres":
        return repr(live._values)
    client = aioredis.from_url(REDIS_URL, decode_responses=False)
    parts: list[str] = []
    try:
        async for key in client.scan_iter(match=f"{portal.server.settings.redis_prefix}:*"):
            kind = (await client.type(key)).decode()
            if kind == "string":
                parts.append(repr(await client.get(key)))
            elif kind == "hash":
                parts.append(repr(await client.hgetall(key)))
            elif kind == "set":
                parts.append(repr(await client.smembers(key)))
            elif kind == "zset":
                parts.append(repr(await client.zrange(key, 0, -1, withscores=True)))
            elif kind == "list":
                parts.append(repr(await client.lrange(key, 0, -1)))
            elif kind == "stream":
                parts.append(repr(await client.xrange(key)))
    finally:
        await client.aclose()
    return "\n".join(parts)


async def test_no_plaintext_in_the_database_the_live_store_or_the_logs(
    portal: Portal, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, SQL statements and parameters included
    words = [f"{name}{secrets.token_hex(4)}" for name in ("zebrafish", "quokka", "marmalade")]
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    guest = await portal.login()
    async with SecureChat(owner.client) as alice, SecureChat(guest.client) as bob:
        await alice.join(chat["id"])
        await bob.join(chat["id"])
        await alice.send(chat["id"], f"the {words[0]} swims")
        assert await bob.next_text(chat["id"]) == f"the {words[0]} swims"
        await bob.send(chat["id"], f"a {words[1]} smiles")
        assert await alice.next_text(chat["id"]) == f"the {words[0]} swims"
        assert await alice.next_text(chat["id"]) == f"a {words[1]} smiles"
        # A bundle sent by hand: stored and returned exactly as submitted.
        key = alice.current_key(chat["id"])
        assert key is not None
        content = encrypt(key, alice.epochs[chat["id"]], f"spread the {words[2]}")
        sent = await owner.client.call(
            "POST", f"/v1/portal/chats/{chat['id']}/messages", json={"content": content}
        )
        history = await guest.client.call("GET", f"/v1/portal/chats/{chat['id']}/history")
        user_messages = [m for m in history if m["type"] == "user"]
        assert [bob.open(m) for m in user_messages] == [
            f"the {words[0]} swims",
            f"a {words[1]} smiles",
            f"spread the {words[2]}",
        ]
        assert user_messages[-1]["id"] == sent["id"] and user_messages[-1]["content"] == content
        async with portal.container.db.read() as session:
            query = (
                select(Message.content)
                .where(Message.chat_id == chat["id"], Message.type == "user")
                .order_by(Message.ms, Message.seq)
            )
            stored = (await session.execute(query)).scalars().all()
        assert stored[-1] == content
        assert [m["content"] for m in user_messages] == list(stored)
        for text in stored:
            bundle = json.loads(text)
            assert set(bundle) == {"v", "epoch", "ct"} and bundle["v"] == 2

    dumps = {
        "database": await database_dump(portal),
        "live store": await live_dump(portal),
        "logs": "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records) + caplog.text,
    }
    assert caplog.records, "nothing was logged: the log check would prove nothing"
    for where, text in dumps.items():
        for word in words:
            assert word not in text, f"plaintext {word!r} found in the {where}"
    assert content in dumps["database"]  # the dump does contain what the server stored
