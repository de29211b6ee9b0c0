"""Plaintext stored before encryption at rest is sealed when a node starts: none is lost,
none is left readable in the database file."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from lykta.config import Settings
from lykta.conversations import content, service
from lykta.conversations.legacy import seal_plaintext
from lykta.conversations.models import Message, Note
from lykta.db import Database
from lykta.migrate import upgrade
from lykta.runtime import Runtime

SECRET = "mitt gamla hemlighet 9931"


@pytest.mark.sqlite_only  # writes rows with SQLite's SQL; the sealing is the same on both
async def test_old_plaintext_is_sealed_and_still_reads(settings: Settings) -> None:
    db = Database(settings)
    await upgrade(db, "0005")
    async with db.engine.begin() as connection:
        for statement in (
            "INSERT INTO teams (id, slug, name, timezone, default_locale, session_idle_minutes,"
            " session_absolute_hours, country, block_hours, conversation_counter, created_at)"
            " VALUES (1, 't', 'T', 'Europe/Stockholm', 'sv', 30, 12, 'se', 24, 1,"
            " '2026-01-01 00:00:00')",
            "INSERT INTO conversations (id, team_id, number, state, resume_hash, last_seq,"
            " created_at, last_activity_at, kind, flagged, youth_read_seq, staff_read_seq)"
            " VALUES ('c1', 1, 1, 'queued', X'00', 2, '2026-01-01 00:00:00',"
            " '2026-01-01 00:00:00', 'chat', 0, 0, 0)",
            "INSERT INTO messages (team_id, conversation_id, seq, client_id, sender, body,"
            " created_at) VALUES (1, 'c1', 1, 'a', 'youth', :secret, '2026-01-01 00:00:00')",
            "INSERT INTO messages (team_id, conversation_id, seq, sender, event, created_at)"
            " VALUES (1, 'c1', 2, 'system', 'closed', '2026-01-01 00:00:00')",
            "INSERT INTO notes (team_id, conversation_id, client_id, author, body, created_at)"
            " VALUES (1, 'c1', 'n', 'Anna', 'note ' || :secret, '2026-01-01 00:00:00')",
        ):
            query = text(statement)
            params = {"secret": SECRET} if ":secret" in statement else {}
            await connection.execute(query, params)
    await upgrade(db)
    await db.dispose()

    rt = Runtime.create(settings)
    await rt.start()
    try:
        assert await seal_plaintext(rt) == 2
        assert await seal_plaintext(rt) == 0  # idempotent
        batches = [b async for b in service.history(rt, 1, "c1", 0)]
        assert [(m.seq, m.body) for m in batches[0]] == [(1, SECRET), (2, None)]
        async with rt.db.read() as session:
            note = (await session.execute(select(Note))).scalar_one()
            legacy = list((await session.execute(select(Message.legacy_body))).scalars())
        assert legacy == [None, None]
        opened = content.open_text(
            await content.cipher(rt, 1, "c1"), note.body_ct, content.note_aad("c1", "n")
        )
        assert opened == f"note {SECRET}"
    finally:
        await rt.stop()
    for path in settings.data_dir.iterdir():
        assert SECRET.encode() not in path.read_bytes(), path.name
