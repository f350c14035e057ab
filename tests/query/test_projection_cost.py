"""What a projected batch costs PostgreSQL: each ticket's search vector computed once, when it opens; the
tracking, and the notification of its position, in one statement; a backlog in few large transactions."""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg
from prometheus_client import REGISTRY

from helpdesk_query.adapters.eventstore import StoredMessage
from helpdesk_query.adapters.projection import apply_batch
from helpdesk_query.adapters.schema import POSITION_CHANNEL
from helpdesk_query.entrypoints.projector import DURABLE
from helpdesk_query.settings import QuerySettings
from tests.query.conftest import assert_matches, projecting, reached, sql
from tests.query.synthetic import histories, message, publish

_COUNTED = """
CREATE SEQUENCE search_written;
CREATE FUNCTION counted() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN PERFORM nextval('search_written'); RETURN NEW; END $$;
CREATE TRIGGER counted BEFORE INSERT OR UPDATE ON query_g1.search FOR EACH ROW EXECUTE FUNCTION counted();
"""


async def test_perf_projection_writes_a_tickets_search_vector_when_it_opens_not_on_every_update(
        read_model: str) -> None:
    events = list(histories(tickets=20, events_per_ticket=5))
    msgs = [StoredMessage(i + 1, *message(e)[:2], e.sequence) for i, e in enumerate(events)]
    async with await psycopg.AsyncConnection.connect(read_model) as conn:
        await conn.execute(_COUNTED)  # the vectors' table, through a trigger that counts its row writes
        await conn.commit()
        for i in range(0, len(msgs), 25):
            async with conn.transaction():
                await apply_batch(conn, "query_g1", msgs[i:i + 25])
    [(written,)] = await sql(read_model, "SELECT last_value FROM search_written")
    assert written == 20  # one per ticket: its text never changed after it opened
    assert await sql(read_model, "SELECT count(*) FROM query_g1.tickets t JOIN query_g1.search s USING (id)"
                     " WHERE s.search = to_tsvector('russian', t.subject || ' ' || t.description)") == [(20,)]
    await assert_matches(read_model, events)


async def test_projection_notifies_the_tracked_position_with_the_tracking_update_on_commit_only(
        read_model: str) -> None:
    events = list(histories(tickets=3, events_per_ticket=2))
    msgs = [StoredMessage(i + 1, *message(e)[:2], e.sequence) for i, e in enumerate(events)]
    async with (await psycopg.AsyncConnection.connect(read_model, autocommit=True) as listener,
                await psycopg.AsyncConnection.connect(read_model) as conn):
        await listener.execute(f"LISTEN {POSITION_CHANNEL}")
        heard = listener.notifies(timeout=0.5)
        async with conn.transaction():
            await apply_batch(conn, "query_g1", msgs)
            assert [n async for n in heard] == []  # nothing before the commit
        async for note in listener.notifies(timeout=5, stop_after=1):
            assert note.payload == str(events[-1].sequence)


async def test_perf_projector_applies_a_backlog_of_1500_events_in_one_or_two_transactions(
        read_model: str, js: Any) -> None:
    events = list(histories(tickets=300, events_per_ticket=5))
    await publish(js, events)
    batch = next(f.default for f in msgspec.structs.fields(QuerySettings) if f.name == "projector_batch")
    before = _commits()
    async with projecting(read_model, js, batch=batch) as watcher:
        await reached(watcher, events[-1].sequence)
    assert _commits() - before <= 2  # batches of 500 took three: a round trip or ten less per 500 events
    await assert_matches(read_model, events)


def _commits() -> float:
    return REGISTRY.get_sample_value("helpdesk_db_commit_seconds_count", {"writer": DURABLE}) or 0.0
