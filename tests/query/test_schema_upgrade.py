"""A read model made by a version without attachments (and before migrations) is upgraded in place by
the migrations, and rebuilds still switch."""

from __future__ import annotations

from typing import Any

import psycopg

from helpdesk_query.adapters.eventstore import EventStream
from helpdesk_shared.migrations import migrate

from helpdesk_query.adapters.readmodel import TicketFilter
from helpdesk_query.adapters.schema import MIGRATIONS
from helpdesk_query.entrypoints.rebuild import rebuild
from tests.query.conftest import assert_matches, projecting, reached, sql
from tests.query.synthetic import histories, publish
from tests.support.servers import RUNTIME_ROLE


async def _as_before_attachments(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url) as conn, conn.transaction():
        for table in ("tickets", "comments"):
            await conn.execute(f"DROP VIEW query.{table}")
            await conn.execute(f"ALTER TABLE query_g1.{table} DROP COLUMN attachments")
            if table == "tickets":  # nor had it the columns added after attachments (details, third party)
                await conn.execute("ALTER TABLE query_g1.tickets DROP COLUMN details, DROP COLUMN missing_details,"
                                   " DROP COLUMN third_party")
            await conn.execute(f"CREATE VIEW query.{table} AS SELECT * FROM query_g1.{table}")
        await conn.execute("DROP VIEW query.hours")  # nor the norm-hours table
        await conn.execute("DROP TABLE query_g1.hours")
        await conn.execute("DELETE FROM helpdesk_migrations WHERE service = 'query'")  # made before migrations


async def test_generation_without_attachment_columns_is_upgraded_in_place_and_a_rebuild_switches_over(
        read_model: str, js: Any, nc: Any) -> None:
    await _as_before_attachments(read_model)
    # adopted: step 1 upgrades in place, step 2 adds the details columns and the hours table, step 3 third_party,
    # step 4 the chat panel's index, step 5 the one index behind ?third_party=true, step 6 the search table
    assert migrate(read_model, MIGRATIONS, RUNTIME_ROLE) == [1, 2, 3, 4, 5, 6]
    columns = "SELECT column_name FROM information_schema.columns WHERE table_schema = 'query' AND table_name = %s"
    assert ("attachments",) in await sql(read_model, columns, "comments")
    assert await sql(read_model, "SELECT active FROM query.generation") == [("query_g1",)]
    events = list(histories(tickets=40, events_per_ticket=5, seed=5))
    await publish(js, events)
    async with projecting(read_model, js) as watcher:
        await reached(watcher, events[-1].sequence)
        await assert_matches(read_model, events)
        await rebuild(read_model, EventStream(nc), progress=False)  # a fresh generation behind the same views
    await assert_matches(read_model, events)
    assert await sql(read_model, "SELECT active FROM query.generation") == [("query_g2",)]


async def test_end5_migration_step_3_adds_third_party_to_a_generation_made_before_it(read_model: str) -> None:
    async with await psycopg.AsyncConnection.connect(read_model) as conn, conn.transaction():
        await conn.execute("DROP VIEW query.tickets")
        await conn.execute("ALTER TABLE query_g1.tickets DROP COLUMN third_party")
        await conn.execute("CREATE VIEW query.tickets AS SELECT * FROM query_g1.tickets")
        await conn.execute("DELETE FROM helpdesk_migrations WHERE service = 'query' AND version >= 3")
    assert migrate(read_model, MIGRATIONS, RUNTIME_ROLE) == [3, 4, 5, 6]
    columns = "SELECT column_name FROM information_schema.columns WHERE table_schema = 'query' AND table_name = %s"
    assert ("third_party",) in await sql(read_model, columns, "tickets")
    partial = "SELECT count(*) FROM pg_indexes WHERE schemaname = 'query_g1' AND indexdef LIKE '%%third_party IS NOT NULL%%'"
    assert await sql(read_model, partial) == [(1,)]  # the index behind ?third_party=true


async def test_tel5_migration_step_4_adds_the_chat_panels_channel_index(read_model: str) -> None:
    async with await psycopg.AsyncConnection.connect(read_model) as conn, conn.transaction():
        await conn.execute("DROP INDEX query_g1.tickets_channel_queue")
        await conn.execute("DELETE FROM helpdesk_migrations WHERE service = 'query' AND version >= 4")
    assert migrate(read_model, MIGRATIONS, RUNTIME_ROLE) == [4, 5, 6]
    index = "SELECT indexdef FROM pg_indexes WHERE schemaname = 'query_g1' AND indexname = 'tickets_channel_queue'"
    [(definition,)] = await sql(read_model, index)
    assert "(channel, queue_rank, created_at, id, status)" in definition


_THIRD_PARTY = ("SELECT indexname FROM pg_indexes WHERE schemaname = 'query_g1'"
                " AND indexdef LIKE '%%WHERE (third_party IS NOT NULL)'")


async def test_migration_step_5_leaves_one_index_behind_third_party_where_a_fresh_database_had_two(
        read_model: str) -> None:
    assert await sql(read_model, _THIRD_PARTY) == [("tickets_awaiting_third_party",)]  # made fresh: one
    async with await psycopg.AsyncConnection.connect(read_model) as conn, conn.transaction():
        # as steps 1 and 3 left a fresh database before step 5: the unnamed index beside the named one
        await conn.execute("CREATE INDEX ON query_g1.tickets (created_at DESC, id DESC) WHERE third_party IS NOT NULL")
        await conn.execute("DELETE FROM helpdesk_migrations WHERE service = 'query' AND version >= 5")
    assert len(await sql(read_model, _THIRD_PARTY)) == 2
    assert migrate(read_model, MIGRATIONS, RUNTIME_ROLE) == [5, 6]
    assert await sql(read_model, _THIRD_PARTY) == [("tickets_awaiting_third_party",)]


async def test_migration_step_5_names_the_index_a_rebuild_left_unnamed(read_model: str) -> None:
    async with await psycopg.AsyncConnection.connect(read_model) as conn, conn.transaction():
        # as a rebuild by an earlier version left its generation: the unnamed index only
        await conn.execute("DROP INDEX query_g1.tickets_awaiting_third_party")
        await conn.execute("CREATE INDEX ON query_g1.tickets (created_at DESC, id DESC) WHERE third_party IS NOT NULL")
        await conn.execute("DELETE FROM helpdesk_migrations WHERE service = 'query' AND version >= 5")
    assert migrate(read_model, MIGRATIONS, RUNTIME_ROLE) == [5, 6]
    assert await sql(read_model, _THIRD_PARTY) == [("tickets_awaiting_third_party",)]


_SEARCHED = "SELECT id FROM query.tickets WHERE {} ORDER BY id"


async def test_migration_step_6_moves_the_search_vectors_off_the_tickets_rows_into_their_own_table(
        read_model: str, js: Any) -> None:
    events = list(histories(tickets=30, events_per_ticket=3, seed=11))
    await publish(js, events[:40])
    async with projecting(read_model, js) as watcher:
        await reached(watcher, events[39].sequence)
    async with await psycopg.AsyncConnection.connect(read_model) as conn, conn.transaction():
        # as step 5 left a generation: the vector a generated column of the tickets, with the GIN index on it
        for view in ("tickets", "search"):
            await conn.execute(f"DROP VIEW query.{view}")
        await conn.execute("DROP TABLE query_g1.search")
        await conn.execute("ALTER TABLE query_g1.tickets ADD COLUMN search tsvector"
                           " GENERATED ALWAYS AS (to_tsvector('russian', subject || ' ' || description)) STORED")
        await conn.execute("CREATE INDEX ON query_g1.tickets USING gin (search)")
        await conn.execute("CREATE VIEW query.tickets AS SELECT * FROM query_g1.tickets")
        await conn.execute("DELETE FROM helpdesk_migrations WHERE service = 'query' AND version = 6")
        found = await (await conn.execute(_SEARCHED.format("search @@ websearch_to_tsquery('russian', %s)"),
                                          ("printer",))).fetchall()
    assert found
    where, args = TicketFilter(q="printer").where()
    assert migrate(read_model, MIGRATIONS, RUNTIME_ROLE) == [6]
    columns = "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = 'tickets'"
    assert ("search",) not in await sql(read_model, columns, "query_g1")
    assert await sql(read_model, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'query_g1'"
                     " AND indexdef LIKE '%%USING gin%%'") == [(1,)]  # on the vectors' table, the column's gone
    assert await sql(read_model, _SEARCHED.format(where[0]), *args) == found  # the moved vectors answer
    await publish(js, events[40:])  # the projector writes the vectors of tickets opened since
    async with projecting(read_model, js) as watcher:
        await reached(watcher, events[-1].sequence)
    await assert_matches(read_model, events)
    assert await sql(read_model, "SELECT count(*) FROM query.tickets t JOIN query.search s USING (id)"
                     " WHERE s.search = to_tsvector('russian', t.subject || ' ' || t.description)") == [(30,)]
