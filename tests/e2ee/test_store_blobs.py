"""Blobs of one `key:distribute` go in with one statement (`db/e2ee.py` `store_blobs`): the first blob per
session wins, within the batch and against what was stored before, and a session that went meanwhile (its
foreign key fails the batch) costs only its own blob."""

from __future__ import annotations

from portal.db import e2ee as e2ee_db
from portal.db.models import ChatKeyBlob
from tests.e2ee.support import blobs, fake_blob, session_pk
from tests.helpers import Portal, counted_statements


async def test_a_batch_stores_each_sessions_first_blob_once(portal: Portal) -> None:
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    people = [await portal.login() for _ in range(3)]
    pks = [await session_pk(portal, who.client.session_token or "") for who in people]
    first, second, third = fake_blob(), fake_blob(), fake_blob()
    now = portal.container.clock.now()

    def blob(pk: int, user_id: int, content: str) -> ChatKeyBlob:
        return ChatKeyBlob(
            chat_id=chat["id"], epoch=0, session_pk=pk, user_id=user_id, blob=content, created_at=now
        )

    async with portal.container.db.transaction() as session:
        assert await e2ee_db.store_blobs(session, [blob(pks[0], people[0].id, first)]) == {pks[0]}
    batch = [
        blob(pks[0], people[0].id, fake_blob()),  # stored before: the first one stays
        blob(pks[1], people[1].id, second),
        blob(pks[1], people[1].id, fake_blob()),  # twice in the batch: the first wins
        blob(pks[2], people[2].id, third),
    ]
    with counted_statements(portal) as statements:
        async with portal.container.db.transaction() as session:
            assert await e2ee_db.store_blobs(session, batch) == {pks[1], pks[2]}
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1, statements
    stored = await blobs(portal, chat["id"])
    assert {pk: stored[(0, pk)] for pk in pks} == {pks[0]: first, pks[1]: second, pks[2]: third}


async def test_a_session_gone_meanwhile_costs_only_its_own_blob(portal: Portal) -> None:
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    who = await portal.login()
    pk = await session_pk(portal, who.client.session_token or "")
    now = portal.container.clock.now()
    kept, lost = fake_blob(), fake_blob()
    async with portal.container.db.transaction() as session:
        stored = await e2ee_db.store_blobs(
            session,
            [
                ChatKeyBlob(
                    chat_id=chat["id"], epoch=0, session_pk=pk, user_id=who.id, blob=kept, created_at=now
                ),
                ChatKeyBlob(
                    chat_id=chat["id"], epoch=0, session_pk=10**9, user_id=who.id, blob=lost, created_at=now
                ),
            ],
        )
    assert stored == {pk}
    assert await blobs(portal, chat["id"]) == {(0, pk): kept}
