"""The relay's store read (entrypoints/relay.py): composed once, prepared from the first read, on uvloop.

A prepared statement may settle on a generic plan costed on the table as it was: a relay that started
on a quiet, small store must still read a grown one through the notification id index, never by
scanning and sorting the whole table per batch (what the query service's projector once did, f1dd249).
Without the relay's session settings (``Relay.listen``) this test's read scans: the generic plan made
for five analyzed events is a sequential scan and a sort, and it stays until the next ANALYZE. With
them the read is planned once (a generic plan, no custom plan per read: planning each was a third of
the relay's PostgreSQL CPU), and that plan walks the index in order.
"""

from __future__ import annotations

import asyncio

import psycopg
import uvloop

from helpdesk_intake.__main__ import run_async
from helpdesk_intake.adapters.eventstore import open_event_store
from helpdesk_intake.entrypoints.relay import BATCH, Relay

_SEQ_SCANS = "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relid = 'intake.intake_events'::regclass"
_PLANS = "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%notification_id >=%'"
_GROW = ("INSERT INTO intake.intake_events (originator_id, originator_version, topic, state)"
         " SELECT gen_random_uuid(), 1, 'helpdesk:Ticket.Opened', '{}'::bytea FROM generate_series(1, %s)")


def test_perf_the_relays_prepared_read_keeps_to_the_index_after_a_quiet_start_on_a_small_store(
        database_url: str) -> None:
    store = open_event_store(database_url, pool_size=1)
    relay = Relay(store, None, database_url)  # type: ignore[arg-type]  # only its read is used here

    async def scenario() -> tuple[int, list[int]]:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await relay.listen(conn)  # as the relay opens its session
            await conn.execute(_GROW, (5,))
            await conn.execute("ANALYZE intake.intake_events")  # the statistics say: five events
            for _ in range(20):  # the quiet start: the read prepared, and planned, on five events
                assert len(await relay._notifications(conn, 1)) == 5
            await conn.execute(_GROW, (60_000,))
            async with conn.transaction():  # pg_stat_xact counts this transaction's scans
                [(before,)] = await (await conn.execute(_SEQ_SCANS)).fetchall()
                batch = await relay._notifications(conn, 50_001)
                [(after,)] = await (await conn.execute(_SEQ_SCANS)).fetchall()
            plans = await (await conn.execute(_PLANS)).fetchall()
            read = relay._read.decode().replace("%s", "$1", 1).replace("%s", "$2", 1)
            generic = [r[0] for r in await (await conn.execute(b"EXPLAIN (GENERIC_PLAN, COSTS OFF) "
                                                               + read.encode())).fetchall()]
        return after - before, [n.id for n in batch], plans, generic

    try:
        scans, ids, plans, generic = asyncio.run(scenario())
    finally:
        store.close()
    assert ids == list(range(50_001, 50_001 + BATCH))
    assert scans == 0, "the prepared read scanned the whole grown table"
    assert plans == [(21, 0)], "a read was planned for itself"  # (reads on the generic plan, custom plans)
    assert generic[0].startswith("Limit") and "Index Scan using" in generic[1] and "Sort" not in str(generic)


def test_perf_the_relay_runs_on_uvloop() -> None:
    async def loop_kind() -> type:
        return type(asyncio.get_running_loop())

    assert run_async(loop_kind()) is uvloop.Loop
