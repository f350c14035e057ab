"""The rebuild's bulk path (rows folded in place, binary COPY) tells the same story as the projection."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import msgspec
import psycopg
import pytest

from helpdesk_shared import events as ev
from helpdesk_shared.vocabulary import Category, Role, Status, Visibility

from helpdesk_query.adapters.bulkfold import Folded, _comment_of, _row_of, fold_rows
from helpdesk_query.adapters.bulkwrite import copying, write_rows
from helpdesk_query.adapters.eventstore import EventStream, StoredMessage
from helpdesk_query.adapters.projection import Outcome, fold_messages
from helpdesk_query.domain.ticket import TicketView
from helpdesk_query.entrypoints.rebuild import rebuild
from tests.query.conftest import projecting, reached, read_model_checksum, sql
from tests.query.handmade import Story
from tests.query.synthetic import histories, message, publish
from tests.query.test_rebuild_replay import HOURS, _budgeted

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
AGENT, CUSTOMER = ev.Actor(id="agent-1", role=Role.AGENT), ev.Actor(id="user-1", role=Role.CUSTOMER)


def _rare_story() -> list[ev.CloudEvent]:
    """Tickets that meet the facts the bulk fold leaves to ``evolve``: third parties (and a status move
    that ends the wait), details, category, service, rejections with their steps, deferral, reopening."""
    story = Story()
    for n in range(12):
        tid, at = f"rare-{n}", AT + dt.timedelta(hours=n)
        story.open(tid, f"cust-{n % 3}", at, CUSTOMER, details={"host": f"srv-{n}", "cores": n},
                   missing_details=("contract",) if n % 2 else ())
        story.fact(ev.Accepted, tid, at, AGENT, Status.IN_PROGRESS, from_status=Status.NEW, comment="берём",
                   budget_month="2026-03" if n % 3 == 0 else None, budget_minutes=30)
        story.fact(ev.ThirdPartyAwaited, tid, at, AGENT, Status.IN_PROGRESS, party="Bank", note=f"n{n}")
        story.fact(ev.CommentAdded, tid, at, CUSTOMER, Status.IN_PROGRESS, comment_id=f"c{n}", body="ждём",
                   visibility=Visibility.PUBLIC)
        story.fact(ev.DetailsChanged, tid, at, AGENT, Status.IN_PROGRESS, details={"host": "new"})
        story.fact(ev.CategoryChanged, tid, at, AGENT, Status.IN_PROGRESS, category=Category.IMPROVEMENT)
        story.fact(ev.ServiceChanged, tid, at, AGENT, Status.IN_PROGRESS, service="1C")
        if n % 4 == 0:  # closing ends the wait (END-5): a status move of a ticket that waits
            story.fact(ev.Rejected, tid, at, AGENT, Status.REJECTED, from_status=Status.IN_PROGRESS,
                       reason="дубль", done_so_far=(ev.DoneStep(at=at, what="accepted", note="берём"),))
        elif n % 4 == 1:
            story.fact(ev.ThirdPartyCleared, tid, at, AGENT, Status.IN_PROGRESS, party="Bank")
            story.fact(ev.Deferred, tid, at, AGENT, Status.DEFERRED, from_status=Status.IN_PROGRESS, reason="wait")
            story.fact(ev.Resumed, tid, at, AGENT, Status.IN_PROGRESS, from_status=Status.DEFERRED, comment="снова")
        elif n % 4 == 2:
            story.fact(ev.SolutionProposed, tid, at, AGENT, Status.CUSTOMER_TESTING,
                       from_status=Status.IN_PROGRESS, comment="готово")
        story.fact(ev.TimeLogged, tid, at, AGENT, Status.IN_PROGRESS if n % 4 != 0 else Status.REJECTED,
                   entry_id=f"t{n}", minutes=45, billed_minutes=60, budget_month="2026-03" if n % 2 else None,
                   budget_limit=600)
    return story.tickets


def _varied(tickets: int = 300) -> list[ev.CloudEvent]:
    rare = _rare_story()
    common = [_budgeted(e) for e in histories(tickets=tickets, events_per_ticket=5, customers=6, seed=29,
                                              start_position=rare[-1].sequence + 1)]
    return rare + common


def _stored(events: list[ev.CloudEvent]) -> list[StoredMessage]:
    return [StoredMessage(i + 1, *message(e)[:2], e.sequence) for i, e in enumerate(events)]


def _poisoned(msgs: list[StoredMessage], rng: random.Random) -> list[StoredMessage]:
    """Duplicates, an undecodable message, a NUL, a fact of a ticket never opened and a second opening:
    each parked or skipped by the projection's fold, and the tickets behind them held back."""
    out = list(msgs)
    for i in sorted(rng.sample(range(50, len(out)), 20), reverse=True):
        out.insert(i + 1, out[i])  # redelivered right after itself

    def fact(like: StoredMessage, ticket_id: str, sequence: int, body: bytes = b"") -> StoredMessage:
        event = msgspec.json.decode(like.payload)
        event["data"]["ticket_id"] = event["subject"] = ticket_id
        event["sequence"] = sequence
        payload = msgspec.json.encode(event)
        return StoredMessage(0, like.subject.replace(like.aggregate, ticket_id), payload.replace(
            b'"body":"', b'"body":"' + body, 1), sequence)

    kinds = {kind: next(m for m in out[100:] if f'"helpdesk.ticket.{kind}"'.encode() in m.payload)
             for kind in ("opened", "comment_added", "priority_changed")}
    gaps = [i for i in range(120, len(out) - 1) if out[i + 1].position - out[i].position == 2]  # type: ignore[operator]
    at = [gaps[len(gaps) * k // 4] for k in range(3)]
    reopened = next(m.aggregate for m in out[at[1] + 1:] if m.aggregate != out[at[1]].aggregate)
    nul = next(m.aggregate for m in out[at[2] + 1:] if b'"helpdesk.ticket.opened"' not in m.payload)
    for i, bad in sorted(((at[0], fact(kinds["priority_changed"], "ghost", out[at[0]].position + 1)),  # type: ignore[operator]
                          (at[1], fact(kinds["opened"], reopened, out[at[1]].position + 1)),  # type: ignore[operator]
                          (at[2], fact(kinds["comment_added"], nul, out[at[2]].position + 1, b"\\u0000")),  # type: ignore[operator]
                          (90, StoredMessage(0, out[70].subject, b"{not json", None))), reverse=True):
        out.insert(i + 1, bad)
    return [StoredMessage(i + 1, m.subject, m.payload, m.position) for i, m in enumerate(out)]


# the active generation's indexes, as definitions without their names and schema
_INDEXES = ("SELECT DISTINCT regexp_replace(indexdef, '^CREATE (UNIQUE )?INDEX \\S+ ON \\S+\\.', '\\1')"
            " FROM pg_indexes WHERE schemaname = (SELECT active FROM query.generation) ORDER BY 1")
# the active generation's constraints (the primary keys a bulk load builds after the rows among them)
_CONSTRAINTS = ("SELECT relname, conname, contype, pg_get_constraintdef(c.oid)"
                " FROM pg_constraint c JOIN pg_class r ON r.oid = conrelid WHERE connamespace ="
                " (SELECT oid FROM pg_namespace WHERE nspname = (SELECT active FROM query.generation)) ORDER BY 2, 3")


def _summary(outcome: Outcome) -> tuple[Any, ...]:
    return (outcome.position, outcome.stream_seq, outcome.applied, [(m.stream_seq, why) for m, why in outcome.parked],
            outcome.held, outcome.hours)


def test_perf_bulk_fold_gives_the_projection_folds_rows_comments_parking_and_hours() -> None:
    msgs = _poisoned(_stored(_varied()), random.Random(5))
    views: dict[str, TicketView] = {}
    expected = Outcome(0, 0)
    fold_messages(views, msgs, expected)
    folded, rng, i, taken = Folded(), random.Random(3), 0, []
    while i < len(msgs):  # batches of any size: the fold carries nothing from one to the next but its state
        step = rng.randrange(1, 400)
        fold_rows(folded, [(m.stream_seq, m.subject, m.payload, m.position) for m in msgs[i:i + step]])
        taken += folded.comments  # a comment is final once folded: the rebuild copies them batch by batch
        folded.comments = []
        i += step
    assert len(expected.parked) >= 5 and expected.held and expected.hours
    assert _summary(folded.outcome) == _summary(expected)
    assert folded.tickets == {tid: list(_row_of(v)) for tid, v in views.items()}
    assert sorted(taken, key=lambda c: (c[0], c[1])) == sorted(
        ((tid, *_comment_of(c)) for tid, v in views.items() for c in v.comments), key=lambda c: (c[0], c[1]))


_SEARCH = ("SELECT count(*), md5(string_agg(s.id || ' ' || s.search::text, E'\\n' ORDER BY s.id))"
           " FROM query.search s JOIN query.tickets t USING (id)")


async def test_perf_bulk_rebuild_writes_the_read_model_the_live_projector_wrote(
        read_model: str, js: Any, nc: Any) -> None:
    events = _varied(tickets=400)
    await publish(js, events)
    async with projecting(read_model, js) as watcher:
        await reached(watcher, events[-1].sequence)
        live, live_hours = await read_model_checksum(read_model), await sql(read_model, HOURS)
        live_search = await sql(read_model, _SEARCH)
        indexes, constraints = await sql(read_model, _INDEXES), await sql(read_model, _CONSTRAINTS)
        done = await rebuild(read_model, EventStream(nc), progress=False)
        assert done.events == len(events) and set(done.phases) >= {"read", "fold", "write", "index"}
        assert await read_model_checksum(read_model) == live
        assert await sql(read_model, _SEARCH) == live_search  # the same vectors, one for every ticket:
        assert await sql(read_model, "SELECT count(*) FROM query.tickets") == [(live_search[0][0],)]
        assert len(indexes) > 10 and await sql(read_model, _INDEXES) == indexes  # built on several sessions
        assert {("tickets", "tickets_pkey", "p", "PRIMARY KEY (id)"),  # built after the load, keys again
                ("comments", "comments_pkey", "p", "PRIMARY KEY (ticket_id, id)")} <= set(constraints)
        assert await sql(read_model, _CONSTRAINTS) == constraints
        assert len(live_hours) > 6 and await sql(read_model, HOURS) == live_hours
        third = await sql(read_model, "SELECT count(*) FILTER (WHERE third_party IS NOT NULL),"
                          " count(*) FILTER (WHERE details <> '{}'), count(*) FILTER (WHERE status = 'rejected')"
                          " FROM query.tickets")
        assert all(n > 0 for n in third[0])


async def test_perf_copying_commits_what_it_was_fed_and_nothing_when_the_block_fails(
        database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute("DROP TABLE IF EXISTS copy_rows;"
                           " CREATE TABLE copy_rows (n integer PRIMARY KEY, doc jsonb)")
        async with copying(database_url, "copy_rows", ("n", "doc")) as copy:
            for start in range(0, 3000, 1000):  # fed batch by batch, as the comments during the fold
                await write_rows(copy, [(n, {"n": n, "files": ()}) for n in range(start, start + 1000)])
        with pytest.raises(RuntimeError, match="stopped"):
            async with copying(database_url, "copy_rows", ("n", "doc")) as copy:
                await write_rows(copy, [(n, {}) for n in range(5000, 6000)])
                raise RuntimeError("stopped")  # a rebuild failing or cancelled mid-fold
        with pytest.raises(psycopg.errors.UniqueViolation):
            async with copying(database_url, "copy_rows", ("n", "doc")) as copy:
                await write_rows(copy, [(7000, {}), (1, None)])  # 1 is there already
        rows = await (await conn.execute("SELECT count(*), sum(n), max(doc->>'n'), max(doc->>'files')"
                                         " FROM copy_rows")).fetchone()
        assert rows == (3000, sum(range(3000)), "999", "[]")
        await conn.execute("DROP TABLE copy_rows")
