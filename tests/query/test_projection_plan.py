"""The live projector's statements keep finding tickets by key as the table grows under them.

psycopg prepares a statement after five executions and PostgreSQL may then settle on a generic
plan, costed once on the table as it was: a projector that began on a quiet, small table (50
tickets) and then met a backlog kept scanning the whole, grown, tickets table for every batch (the
bench's full run: PostgreSQL at 213 µs per event against 79 µs with the statements unprepared).
Unprepared, though, every batch is planned again, most of PostgreSQL's time at the live edge; so they
are prepared, planned generically at once, with sequential scans off in the projector's transaction.
"""

from __future__ import annotations

from typing import Any

import psycopg

from helpdesk_query.adapters.eventstore import StoredMessage
from helpdesk_query.adapters.projection import apply_batch
from tests.query.conftest import assert_matches
from tests.query.synthetic import histories, message

_SEQ_SCANS = "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relid = 'query_g1.tickets'::regclass"


async def test_perf_projector_reads_and_writes_tickets_by_key_after_a_quiet_start_on_a_small_table(
        read_model: str) -> None:
    events = list(histories(tickets=3000, events_per_ticket=3))
    msgs = [StoredMessage(i + 1, *message(e)[:2], e.sequence) for i, e in enumerate(events)]
    quiet, backlog, last = msgs[:60], msgs[60:-600], msgs[-600:]
    async with (await psycopg.AsyncConnection.connect(read_model) as projector,
                await psycopg.AsyncConnection.connect(read_model, prepare_threshold=None) as bulk):
        for msg in quiet:  # the quiet start: one event per transaction, a few dozen tickets
            async with projector.transaction():
                await apply_batch(projector, "query_g1", [msg])
        for i in range(0, len(backlog), 1000):  # the table grows to 3,000 tickets meanwhile
            async with bulk.transaction():
                await apply_batch(bulk, "query_g1", backlog[i:i + 1000])
        async with projector.transaction():  # this backend's unflushed counts (earlier transactions' too): a difference
            [(before,)] = await (await projector.execute(_SEQ_SCANS)).fetchall()
            await apply_batch(projector, "query_g1", last)
            [(after,)] = await (await projector.execute(_SEQ_SCANS)).fetchall()
    assert after - before == 0  # a generic plan made for 50 tickets reads all 3,000 for the batch's 600 events
    await assert_matches(read_model, events)


_PREPARED = ("SELECT name, statement, parameter_types::text[], generic_plans, custom_plans FROM pg_prepared_statements"
             " WHERE statement LIKE '%query\\_g1.tickets%'")


async def test_perf_projector_plans_its_ticket_read_and_write_once_at_the_live_edge(read_model: str) -> None:
    """At the live edge a batch is one event: planning its read and write each time (0.5 ms) was most of
    PostgreSQL's time per event. They are prepared, planned generically once, and the plans made on
    a small table find the tickets by key (no sequential scan) however large it grows."""
    events = list(histories(tickets=600, events_per_ticket=3))
    msgs = [StoredMessage(i + 1, *message(e)[:2], e.sequence) for i, e in enumerate(events)]
    async with await psycopg.AsyncConnection.connect(read_model) as projector:
        for msg in msgs[:40]:  # a quiet start, one event per transaction, on a table of a few tickets
            async with projector.transaction():
                await apply_batch(projector, "query_g1", [msg])
        async with (await psycopg.AsyncConnection.connect(read_model) as bulk, bulk.transaction()):
            await apply_batch(bulk, "query_g1", msgs[40:-20])  # the table grows to 600 tickets
        await projector.execute("ANALYZE query_g1.tickets")
        for msg in msgs[-20:]:
            async with projector.transaction():
                await apply_batch(projector, "query_g1", [msg])
        prepared = await (await projector.execute(_PREPARED)).fetchall()
        async with projector.transaction():
            # the plans as made and cached (a plan made now, with sequential scans allowed, would show them)
            await projector.execute("SET LOCAL enable_seqscan = on; SET LOCAL plan_cache_mode = force_generic_plan")
            plans = {statement: await _plan(projector, name, params) for name, statement, params, _, _ in prepared}
    assert len(prepared) == 2  # the read of the batch's tickets and the write, each prepared once
    for _, statement, _, generic, custom in prepared:
        assert (custom, generic >= 50) == (0, True), statement  # every execution but psycopg's first five
    for statement, plan in plans.items():
        scans = [line.split("Seq Scan on ")[1].split()[0] for line in plan.splitlines() if "Seq Scan on " in line]
        assert set(scans) <= {"tracking"} and "Index" in plan, (statement, plan)  # tracking: its one row
    await assert_matches(read_model, events)


async def _plan(conn: psycopg.AsyncConnection[Any], name: str, params: list[str]) -> str:
    """The plan ``name`` runs with (its generic plan: every JSON parameter an empty array, every other 0)."""
    empty = ", ".join("'[]'" if kind == "json" else "'0'" for kind in params)
    rows = await (await conn.execute(f"EXPLAIN EXECUTE {name}({empty})")).fetchall()
    return "\n".join(row[0] for row in rows)
