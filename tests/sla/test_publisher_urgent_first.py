"""SLA at scale (issue #16 target 5): a fired warning or breach does not wait behind the outbox's backlog.

Against the real PostgreSQL and NATS. The timer wheel records what it fires as urgent; the
publisher sends the tickets with urgent facts first — each with its earlier facts before the
urgent one, in outbox order — and only then the oldest of the rest. Every ticket's facts stay in
outbox order on the stream, and the SLA mark still waits for a round that drained the outbox.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import nats
import psycopg

from helpdesk_shared import events as ev
from helpdesk_shared.migrations import Migrations, migrate
from helpdesk_shared.policies.loader import parse_policy
from helpdesk_shared.sla_marks import SlaMark, follow_marks, open_marks
from helpdesk_shared.stream import ensure_stream
from helpdesk_shared.vocabulary import Category, Channel, Priority, Role, Status

from helpdesk_sla.adapters.schema import MIGRATIONS
from helpdesk_sla.application import fire_due, take_events
from helpdesk_sla.entrypoints.publisher import Publisher
from tests.sla.test_publisher_batch import _outbox_size, _published
from tests.support import servers

BACKLOG = 2000  # other tickets' planning facts: four batches of 500
POSITION = 7  # the consumer's tracked ticket position the mark must carry
AT = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
POLICY = parse_policy("""
id = "urgent-first"
name = "24/7, first response in two minutes, at risk one minute before"
[calendar]
timezone = "UTC"
[calendar.hours]
mon = ["00:00-24:00"]
tue = ["00:00-24:00"]
wed = ["00:00-24:00"]
thu = ["00:00-24:00"]
fri = ["00:00-24:00"]
sat = ["00:00-24:00"]
sun = ["00:00-24:00"]
[[targets]]
first_response = "2m"
warning = "1m"
""")


def _outbox_rows() -> list[tuple[str, bool]]:
    """``(ticket id, urgent)`` in outbox order: a backlog of 40 other tickets' planning facts, ticket x's
    planning facts among them; then x's warning, y's breach (y has no earlier facts) and a later fact of x."""
    rows = [(f"b-{i % 40}", False) for i in range(BACKLOG)]
    rows[4] = rows[1500] = ("x", False)
    return [*rows, ("x", True), ("y", True), ("x", False)]


def _fill(database_url: str, rows: list[tuple[str, bool]]) -> None:
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        with cur.copy("COPY sla.outbox (ticket_id, subject, payload, urgent) FROM STDIN") as copy:
            for tid, urgent in rows:
                copy.write_row((tid, f"helpdesk.sla.{tid}.{'breached' if urgent else 'target_set'}", b"{}", urgent))
        conn.execute("UPDATE sla.tracking SET position = %s", (POSITION,))


async def test_perf_sla_publisher_sends_fired_facts_with_their_tickets_earlier_facts_before_the_backlog(
        database_url: str, nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js)
    rows = _outbox_rows()
    _fill(database_url, rows)
    marks: list[SlaMark] = []
    watching = asyncio.create_task(follow_marks(await open_marks(js), marks.append))
    publisher = Publisher(database_url, js, asyncio.Event(), batch=500)
    task = asyncio.create_task(publisher.run())
    try:
        deadline = time.monotonic() + 60
        while (await asyncio.to_thread(_outbox_size, database_url) or not marks) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        ids = [int(i.removeprefix("sla-")) for i in await _published(js, len(rows))]  # a duplicate: one more
    finally:
        publisher.stop()
        await task
        watching.cancel()
        await nc.close()
    published = [(i, rows[i - 1][0]) for i in ids]  # (outbox id, ticket id) in stream order
    ids = {tid: [i for i, (t, _) in enumerate(rows, start=1) if t == tid] for tid in ("x", "y")}
    first = sorted(ids["x"] + ids["y"])  # x's planning facts, x's warning, y's breach, x's later fact
    assert published[:len(first)] == [(i, rows[i - 1][0]) for i in first]  # in the first round, in outbox order
    rest = [(i, tid) for i, (tid, _) in enumerate(rows, start=1) if i not in first]
    assert published[len(first):] == rest  # then the backlog, oldest first, each fact once
    for tid in {t for t, _ in rows}:  # every ticket's facts in outbox order across the whole drain
        theirs = [i for i, t in published if t == tid]
        assert theirs == sorted(theirs)
    assert marks == [SlaMark(POSITION, len(rows))]  # no mark before the round that drained the outbox


def _ticket_events(tid: str) -> list[tuple[int, ev.CloudEvent]]:
    actor = ev.Actor(id="agent-1", role=Role.AGENT)
    opened = ev.TicketOpened(ticket_id=tid, customer_id="c-1", actor=actor, version=1, status=Status.NEW,
                             occurred_at=AT, number=f"HD-{tid}", subject="s", description="d",
                             channel=Channel.API, category=Category.ERROR, priority=Priority.URGENT,
                             policy="urgent-first")
    return [(1, ev.wrap(opened, event_id=f"{tid}.1", sequence=1, number=f"HD-{tid}"))]


async def test_sla_wheel_records_what_it_fires_as_urgent_and_planning_as_not(database_url: str) -> None:
    """The ticket's planning facts go in as the backlog; its warning and breach, fired by the wheel, as urgent."""
    policy_of = {"urgent-first": POLICY}.get
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        async with conn.transaction():
            await take_events(conn, _ticket_events("t-1"), policy_of)
        async with conn.transaction():
            assert await fire_due(conn, AT + dt.timedelta(minutes=3), policy_of) == 2
        cursor = await conn.execute("SELECT subject, urgent FROM sla.outbox ORDER BY id")
        outbox = [(subject.rsplit(".", 1)[-1], urgent) for subject, urgent in await cursor.fetchall()]
    planned = [kind for kind, urgent in outbox if not urgent]
    assert planned and "at_risk" not in planned and "breached" not in planned
    assert [(kind, urgent) for kind, urgent in outbox if urgent] == [("at_risk", True), ("breached", True)]


def test_sla_migration_step_5_keeps_an_outbox_made_before_it_and_marks_none_of_it_urgent(
        postgres_server: servers.PostgresServer) -> None:
    """Facts left in the outbox by the version before are kept, in order, as the backlog they were."""
    before = Migrations(MIGRATIONS.service, MIGRATIONS.schemas, MIGRATIONS.steps[:4])
    with servers.fresh_database(postgres_server, migrated=False) as url:
        assert migrate(url, before, servers.RUNTIME_ROLE) == [1, 2, 3, 4]
        with psycopg.connect(url) as conn:
            conn.execute("INSERT INTO sla.outbox (ticket_id, subject, payload) VALUES ('t-1',"
                         " 'helpdesk.sla.t-1.target_set', '{}'), ('t-1', 'helpdesk.sla.t-1.at_risk', '{}')")
        assert migrate(url, MIGRATIONS, servers.RUNTIME_ROLE) == [5]
        with psycopg.connect(url) as conn:
            kept = conn.execute("SELECT id, urgent FROM sla.outbox ORDER BY id").fetchall()
            indexes = conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'outbox'").fetchall()
        assert kept == [(1, False), (2, False)]
        assert {("outbox_urgent",), ("outbox_ticket",)} <= set(indexes)
