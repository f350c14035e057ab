"""The event store on the real PostgreSQL: schema evolution by upcasting, and pinned topics."""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import datetime as dt
import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from helpdesk_intake.adapters.committer import CommitConflict, GroupCommitter
from helpdesk_intake.adapters.eventstore import (FirstAnswer, IntakeEventStore, OtherWriters, SideRow,
                                                idempotency_row, open_event_store, store_environment,
                                                ticket_number_row)
from helpdesk_intake.domain.customer import Customer
from helpdesk_intake.domain.base import Context
from helpdesk_intake.domain.rules import PermissiveRules
from helpdesk_intake.domain.ticket import Ticket
from helpdesk_shared.vocabulary import Channel, Role
from tests.support.waiting import wait_until

NOW = dt.datetime(2026, 1, 12, 9, tzinfo=dt.UTC)


def _opened(channel: str = "email") -> Ticket:
    return Ticket.open(Context("u", Role.AGENT, NOW), PermissiveRules(), id=uuid.uuid4(), number="HD-9",
                       customer_id="c", requester_id=None, subject="s", description="d", channel=channel,
                       category=None, priority="normal", service=None, policy=None)


def test_card1_v1_opened_events_written_before_channels_existed_are_read_as_portal(database_url: str) -> None:
    store = open_event_store(database_url)
    try:
        (event,) = _opened().collect_events()
        stored = store.mapper.to_stored_event(event)
        state = json.loads(stored.state)
        assert state.pop("class_version") == 2
        del state["channel"]  # what a v1 event looked like
        store.recorder.insert_events([StoredEvent(stored.originator_id, 1, stored.topic,
                                                  json.dumps(state).encode())])
        ticket = store.repository.get(event.originator_id)
        assert ticket.channel is Channel.PORTAL
    finally:
        store.close()


def test_topics_are_pinned_names_not_module_paths(database_url: str) -> None:
    store = open_event_store(database_url)
    try:
        ticket = _opened()
        ticket.act(Context("a", Role.AGENT, NOW), PermissiveRules(), "accept")
        store.save(ticket)
        topics = [n.topic for n in store.recorder.select_notifications(start=1, limit=10)]
        assert topics == ["helpdesk:Ticket.Opened", "helpdesk:Ticket.Accepted"]
        assert store.repository.get(ticket.id).status.value == "in_progress"
    finally:
        store.close()


def test_recorder_reads_the_rows_it_wrote_beside_the_events(database_url: str) -> None:
    """STYLE habit 2: the idempotency answer, ticket numbers and the SLA's position are the store's named
    methods; the answer and the number's index entry commit with the events in the group commit."""
    store = open_event_store(database_url)
    committer = GroupCommitter(store)
    try:
        assert store.last_ticket_position() == 0
        first, second = store.rows.next_ticket_number(), store.rows.next_ticket_number()
        assert second > first
        assert store.rows.first_answer("p", "key-1") is None
        ticket = _opened()
        recordings = committer.commit(ticket.collect_events(), [
            ticket_number_row(f"HD-{first}", ticket.id),
            idempotency_row("p", "key-1", "hash", 201, '{"id": "x"}', ticket.id, ticket.version)])
        position = recordings[-1].notification.id
        assert store.rows.first_answer("p", "key-1") == FirstAnswer("hash", 201, {"id": "x"}, position)
        assert store.rows.first_answer("other", "key-1") is None
        assert store.last_ticket_position() == position
        admin = Context("admin", Role.ADMIN, NOW)
        customer = Customer.register(admin, id=uuid.uuid4(), name="c", email="c@example.com", client_code=None,
                                     policy="standard", contract={})
        store.save(customer)  # not an event the SLA follows
        assert store.last_ticket_position() == position
        customer.change(admin, policy="premium", contract=None)
        (changed,) = store.save(customer)
        assert store.last_ticket_position() == changed.notification.id > position
        with psycopg.connect(database_url) as conn:
            assert conn.execute("SELECT ticket_id FROM intake.ticket_numbers WHERE number = %s",
                                (f"HD-{first}",)).fetchone() == (ticket.id,)
        assert store.rows.ping()
    finally:
        store.close()


def test_hardening_a_commit_whose_answer_was_lost_is_done_not_a_conflict(database_url: str) -> None:
    """The store retries a save whose connection died; if that save had committed, the retry
    collides with its own rows. The command happened: it answers its positions, once."""
    store = open_event_store(database_url)
    committer = GroupCommitter(store)
    try:
        ticket = _opened()
        events = ticket.collect_events()
        number = SideRow("INSERT INTO {schema}.ticket_numbers (number, ticket_id) VALUES (%s, %s)", ("HD-9", ticket.id))
        landed = store.save(*events, rows=[number])  # the attempt whose answer was lost
        retried = committer.commit(events, [number])
        assert [r.notification.id for r in retried] == [r.notification.id for r in landed]
        assert len(store.recorder.select_notifications(start=1, limit=10)) == 1
        rival = Ticket.open(Context("u", Role.AGENT, NOW), PermissiveRules(), id=ticket.id, number="HD-10",
                            customer_id="c", requester_id=None, subject="another", description="d",
                            channel="portal", category=None, priority="normal", service=None, policy=None)
        with pytest.raises(CommitConflict):  # another save at that version is still a conflict
            committer.commit(rival.collect_events())
    finally:
        store.close()


@contextlib.contextmanager
def _traced(store: Any, path: Path) -> Iterator[None]:
    """libpq's protocol trace of both connections a ``pool_size=1`` store may lend, written to ``path``."""
    with path.open("w") as out:
        with store.recorder.datastore.get_connection() as one, store.recorder.datastore.get_connection() as other:
            one.pgconn.trace(out.fileno())
            other.pgconn.trace(out.fileno())
        yield
        for conn in (one, other):
            conn.pgconn.untrace()
        ctypes.CDLL(None).fflush(None)  # libpq traces through a stdio stream: write out its buffer


def _backend_pid(store: Any) -> int:
    with store.recorder.datastore.get_connection() as conn:
        return int(conn.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"])


def test_intakecpu_event_store_lends_a_connection_used_a_moment_ago_without_a_round_trip(
        database_url: str, tmp_path: Path) -> None:
    """The pool's check is ``RecentlyCheckedSync``: no empty query (libpq's trace shows one per check)."""
    store = open_event_store(database_url, pool_size=1)
    trace = tmp_path / "libpq.trace"
    try:
        _backend_pid(store)
        with _traced(store, trace):
            for _ in range(20):
                store.recorder.max_notification_id()
        checks = trace.read_text().count("EmptyQueryResponse")
        assert checks == 0, f"{checks} check round trips for 20 checkouts in a row"
    finally:
        store.close()


def test_intakecpu_event_store_replaces_a_connection_whose_session_the_server_ended(database_url: str) -> None:
    """As a PostgreSQL restart does to every session: the next checkout gets a live connection, no error."""
    store = open_event_store(database_url, pool_size=1)
    try:
        first = _backend_pid(store)
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))
            wait_until(lambda: admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
                                             (first,)).fetchone()[0] == 0)
        assert _backend_pid(store) != first
    finally:
        store.close()


def test_perf_a_save_with_its_side_rows_is_one_message(database_url: str, tmp_path: Path) -> None:
    """BEGIN, the side rows, the lock, the insert, the other writers' query and COMMIT go as one
    simple Query: libpq's trace shows the client sent nothing else (no Parse, Bind or Sync)."""
    store = open_event_store(database_url, pool_size=1)  # at most two connections
    trace = tmp_path / "libpq.trace"
    try:
        earlier = store.save(_opened())
        ticket = _opened()
        ticket.act(Context("a", Role.AGENT, NOW), PermissiveRules(), "accept")
        number = SideRow("INSERT INTO {schema}.ticket_numbers (number, ticket_id) VALUES (%s, %s)", ("HD-9", ticket.id))
        others = OtherWriters(since=0)
        with _traced(store, trace):
            recordings = store.save(ticket, rows=[number], others=others)
        assert [r.notification.id for r in recordings] == [2, 3]
        assert others.written == {earlier[0].notification.originator_id: 1}
        sent = [line.split("\t") for line in trace.read_text().splitlines() if "\tF\t" in line]
        assert [fields[3] for fields in sent] == ["Query"], f"{len(sent)} messages for one save"
        assert sent[0][4].startswith(' "BEGIN;') and sent[0][4].endswith('COMMIT"')
        with store.recorder.datastore.get_connection() as conn:
            assert conn.execute("SELECT ticket_id FROM intake.ticket_numbers").fetchone()["ticket_id"] == ticket.id
    finally:
        store.close()


def test_perf_concurrent_saves_of_two_workers_never_show_a_reader_a_gap_filled_later(database_url: str) -> None:
    """Two workers' stores save from many threads at once; a reader following the notification ids
    (``> position``, as the relay does) must end up with every event: an id it passed that was
    still uncommitted would be lost to it. The table lock in the one message makes commit order
    the numbering order."""
    workers = [open_event_store(database_url, pool_size=4) for _ in range(2)]
    followed: list[int] = []
    done = threading.Event()

    def follow() -> None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            while True:
                finished = done.is_set()
                position = followed[-1] if followed else 0
                followed.extend(row[0] for row in conn.execute(
                    "SELECT notification_id FROM intake.intake_events WHERE notification_id > %s"
                    " ORDER BY notification_id", (position,)))
                if finished:
                    return

    def write(store: Any) -> None:
        for n in range(40):
            ticket = _opened()
            ticket.act(Context("a", Role.AGENT, NOW), PermissiveRules(), "accept")
            store.save(ticket, rows=[SideRow("INSERT INTO {schema}.ticket_numbers (number, ticket_id)"
                                             " VALUES (%s, %s)", (f"HD-{ticket.id}", ticket.id))])

    reader = threading.Thread(target=follow)
    reader.start()
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(write, [store for store in workers for _ in range(4)]))
    finally:
        done.set()
        reader.join()
        for store in workers:
            store.close()
    with psycopg.connect(database_url) as conn:
        stored = [row[0] for row in conn.execute("SELECT notification_id FROM intake.intake_events ORDER BY 1")]
    assert len(stored) == 2 * 4 * 40 * 2
    assert followed == stored, f"the reader missed {sorted(set(stored) - set(followed))[:10]}"


def test_intakecpu_a_refused_save_rolls_back_and_leaves_its_connection_ready(database_url: str) -> None:
    """A conflict makes the server skip the segment's rest, COMMIT too: the session must not stay aborted."""
    store = open_event_store(database_url, pool_size=1)
    try:
        ticket = _opened()
        store.save(ticket)
        rival = Ticket.open(Context("u", Role.AGENT, NOW), PermissiveRules(), id=ticket.id, number="HD-7",
                            customer_id="c", requester_id=None, subject="rival", description="d",
                            channel="portal", category=None, priority="normal", service=None, policy=None)
        number = SideRow("INSERT INTO {schema}.ticket_numbers (number, ticket_id) VALUES (%s, %s)", ("HD-7", ticket.id))
        with pytest.raises(IntegrityError):
            store.save(rival, rows=[number])
        store.save(_opened())
        assert len(store.recorder.select_notifications(start=1, limit=10)) == 2
        with store.recorder.datastore.get_connection() as conn:
            assert conn.execute("SELECT count(*) AS n FROM intake.ticket_numbers").fetchone()["n"] == 0
    finally:
        store.close()


def test_perf_every_command_waiting_on_the_group_commit_hears_its_own_answer(database_url: str) -> None:
    """The leader answers each waiting command through its own held lock (no Future): from many threads
    at once, each gets the recordings of its own events, and a loser in a batch its conflict, the rest theirs."""
    store = open_event_store(database_url, pool_size=2)
    committer = GroupCommitter(store)
    taken = _opened()
    store.save(taken)
    start = threading.Barrier(12)

    def command(n: int) -> Any:
        ticket = _opened() if n else Ticket.open(  # the first one loses: its ticket's version 1 is taken
            Context("u", Role.AGENT, NOW), PermissiveRules(), id=taken.id, number="HD-1", customer_id="c",
            requester_id=None, subject="rival", description="d", channel="portal", category=None,
            priority="normal", service=None, policy=None)
        ticket.act(Context("a", Role.AGENT, NOW), PermissiveRules(), "accept")
        events = ticket.collect_events()
        start.wait()
        try:
            return events, committer.commit(events)
        except CommitConflict as conflict:
            return events, conflict

    try:
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(command, range(12)))
    finally:
        store.close()
    (_, lost), *won = answers
    assert isinstance(lost, CommitConflict) and lost.constraint == "intake_events_pkey"
    for events, recordings in won:
        assert [r.domain_event for r in recordings] == events
        assert [r.notification.originator_id for r in recordings] == [e.originator_id for e in events]
    ids = [r.notification.id for _, recordings in won for r in recordings]
    assert len(set(ids)) == len(ids) == 2 * 11


def test_hardening_a_batch_whose_conflict_cannot_be_looked_into_answers_its_commands_and_the_writer_goes_on(
        database_url: str) -> None:
    """After a conflict the leader looks for the commit's own rows (``_landed``); if the store fails that look
    (it went away again), the waiting command hears the error rather than waiting forever, and the leader
    steps down: the next commit is saved."""

    class StoreGoneAtTheLook(GroupCommitter):
        def _landed(self, commit: Any) -> Any:
            raise psycopg.OperationalError("the server closed the connection")  # as the store would raise it

    store = open_event_store(database_url)
    committer = StoreGoneAtTheLook(store)
    try:
        taken = _opened()
        store.save(taken)
        rival = Ticket.open(Context("u", Role.AGENT, NOW), PermissiveRules(), id=taken.id, number="HD-2",
                            customer_id="c", requester_id=None, subject="rival", description="d", channel="portal",
                            category=None, priority="normal", service=None, policy=None)
        heard: list[Any] = []

        def command(events: list[Any]) -> None:
            try:
                heard.append([r.domain_event for r in committer.commit(events)])
            except Exception as error:  # noqa: BLE001 - what the command hears is the assertion
                heard.append(error)

        def answer_to(events: list[Any]) -> Any:
            waiting = threading.Thread(target=command, args=(events,), daemon=True)  # a hang must not hang the suite
            waiting.start()
            waiting.join(timeout=30)
            assert not waiting.is_alive(), "the command waits forever: no one saves its commit"
            return heard.pop()

        assert type(answer_to(rival.collect_events())) is psycopg.OperationalError
        events = _opened().collect_events()
        assert answer_to(events) == events
    finally:
        store.close()


def test_perf_group_commit_refuses_a_store_whose_save_does_more_than_put(database_url: str) -> None:
    """The committer puts a batch's events straight into the event store (not ``Application.save``): a store that
    takes snapshots on save is refused, not silently left without them; intake's own store commits as before."""
    class Snapshotting(IntakeEventStore):
        snapshotting_intervals = {Ticket: 2}

    store = open_event_store(database_url)
    snapshotting = Snapshotting(env=store_environment(database_url))
    try:
        with pytest.raises(ValueError, match="snapshots"):
            GroupCommitter(snapshotting)
        events = _opened().collect_events()
        (recording,) = GroupCommitter(store).commit(events)
        assert store.repository.get(events[0].originator_id).version == 1
        assert store.recorder.select_notifications(start=recording.notification.id, limit=1)[0].topic \
            == "helpdesk:Ticket.Opened"
    finally:
        snapshotting.close()
        store.close()
