"""Group commit: the events of concurrent commands saved in one transaction.

eventsourcing's PostgreSQL recorder takes an EXCLUSIVE table lock per save so
notification ids follow commit order — the guarantee the relay and every
follower depend on. That lock serialises saves, so one transaction per command
caps throughput at the lock's round trip. Instead, the commits waiting at once
are saved together: the lock is paid once per batch, and ordering is kept.
There is no writer thread: the command that finds no save under way saves the
batch itself (the leader), and the commands that arrive meanwhile wait; when its
batch is saved, the oldest of them leads the next. A command alone is thus saved
on its own thread, without a hand-off to another and back. A batch that fails
(one command lost an optimistic concurrency race) is retried one commit at a
time, so only the loser fails.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Notification, Recording
from psycopg import sql

from helpdesk_shared.metrics import COMMIT_SECONDS

from helpdesk_intake.adapters.eventstore import OtherWriters, SideRow
from helpdesk_intake.adapters.saved_aggregates import SavedAggregates


class CommitConflict(Exception):
    """A unique constraint refused the commit; ``constraint`` names which one."""

    def __init__(self, constraint: str | None) -> None:
        super().__init__(f"unique constraint {constraint!r} refused the commit")
        self.constraint = constraint


class _Commit:
    """One command's events and rows, and its answer: ``done`` once (or ``lead``), then ``result()``.

    A held lock, released by the leader's thread, rather than a ``concurrent.futures.Future`` (a condition,
    its re-entrant lock, a waiter lock and a notify over every waiter per commit): a command has one
    waiter, its own thread (about 12 µs CPU less per command, issue 16).
    """

    __slots__ = ("events", "rows", "answered", "leads", "_woken", "_recordings", "_error")

    def __init__(self, events: list[Any], rows: Sequence[SideRow]) -> None:
        self.events, self.rows = events, rows
        self.answered = False  # the leader's own record: whether ``done`` was called
        self.leads = False  # woken to save the next batch rather than with an answer
        self._woken = threading.Lock()
        self._woken.acquire()
        self._recordings: list[Recording] = []
        self._error: BaseException | None = None

    def done(self, recordings: list[Recording] | None = None, error: BaseException | None = None) -> None:
        """Answer the command (the leader, once): its recordings, or the error its commit raised."""
        self._recordings, self._error = recordings or [], error
        self.answered = True
        self._woken.release()

    def lead(self) -> None:
        """Wake the command to save the batch it heads."""
        self.leads = True
        self._woken.release()

    def wait(self) -> None:
        """Until the command is answered or asked to lead."""
        self._woken.acquire()

    def result(self) -> list[Recording]:
        """The answer ``done`` gave; the commit's error is raised here."""
        if self._error is not None:
            raise self._error
        return self._recordings


class GroupCommitter:
    """Saves commits from many threads in as few transactions as the load allows, each batch on the
    thread of the command that heads it."""

    def __init__(self, store: Application, max_batch: int = 128) -> None:
        self._store = store
        self._max_batch = max_batch
        self._guard = threading.Lock()  # over ``_waiting`` and ``_saving``
        self._waiting: deque[_Commit] = deque()
        self._saving = False  # a leader is saving; then ``_waiting`` is only ever empty for a moment
        # what the batches tell of other writers, for the aggregate cache (None without one)
        self.saved = SavedAggregates(store.repository) if store.repository.cache is not None else None
        _check_puts_alone(store)

    def commit(self, events: list[Any], rows: Sequence[SideRow] = ()) -> list[Recording]:
        """Save ``events`` (and ``rows``) atomically; raises ``CommitConflict`` on a lost race."""
        if not events:
            return []
        item = _Commit(events, rows)
        with self._guard:
            self._waiting.append(item)
            item.leads = not self._saving
            self._saving = True
        if not item.leads:
            item.wait()
        if item.leads:  # at the head of the queue: its batch includes its own commit
            self._lead()
        return item.result()

    def _lead(self) -> None:
        """Save the batch at the head of the queue, then wake the next one's leader, if any."""
        with self._guard:
            batch = [self._waiting.popleft() for _ in range(min(self._max_batch, len(self._waiting)))]
        try:
            self._save(batch)
        except Exception as error:  # noqa: BLE001 - no command waits forever, the next batch is saved
            # e.g. the store went away between a conflict and the look for the commit's own rows
            # (``_landed``): its commands hear the error
            for item in batch:
                if not item.answered:
                    item.done(error=error)
        finally:
            with self._guard:
                self._saving = bool(self._waiting)
                successor = self._waiting[0] if self._waiting else None
            if successor is not None:
                successor.lead()

    def _save(self, batch: list[_Commit]) -> None:
        since = self.saved.since if self.saved is not None else None
        others = OtherWriters(since) if since is not None else None
        try:
            with COMMIT_SECONDS.labels("intake-group-commit").time():
                recordings = self._store.events.put(
                    [e for c in batch for e in c.events], rows=[r for c in batch for r in c.rows], others=others
                )
        except IntegrityError as error:
            for item in batch:
                if (landed := self._landed(item)) is not None:
                    item.done(landed)
                elif len(batch) == 1:
                    item.done(error=CommitConflict(_constraint_of(error)))
                else:
                    self._save([item])
            return
        except Exception as error:  # noqa: BLE001 - every waiting command must hear of it
            for item in batch:
                item.done(error=error)
            return
        if self.saved is not None and recordings:
            self.saved.batch_committed(recordings[0].notification.id, recordings[-1].notification.id,
                                       others.written if others is not None else None)
        start = 0
        for item in batch:
            item.done(recordings[start : start + len(item.events)])
            start += len(item.events)


    def _landed(self, commit: _Commit) -> list[Recording] | None:
        """``commit``'s recordings if it is in the store already, else None.

        The store retries a save whose connection was lost; if the lost attempt had in fact
        committed, the retry collides with its own rows. Then the commit happened — answering
        a conflict would make the command look failed, and re-deciding it would save it twice.
        """
        recorder = self._store.recorder
        table = sql.Identifier(recorder.datastore.schema, recorder.events_table_name)  # type: ignore[attr-defined]
        query = sql.SQL("SELECT notification_id, state FROM {} WHERE originator_id = %s AND originator_version = %s"
                        ).format(table)
        recordings = []
        with recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
            for event in commit.events:
                stored = self._store.mapper.to_stored_event(event)
                row = conn.execute(query, (stored.originator_id, stored.originator_version)).fetchone()
                if row is None or bytes(row["state"]) != stored.state:
                    return None
                recordings.append(Recording(event, Notification(
                    id=row["notification_id"], originator_id=stored.originator_id,
                    originator_version=stored.originator_version, topic=stored.topic, state=stored.state)))
        return recordings


def _check_puts_alone(store: Application) -> None:
    """The batch goes straight to the event store (``store.events.put``), not through ``Application.save``,
    whose per-event protocol checks (``isinstance`` of a runtime protocol: 1.6 % of a worker's CPU, issue 16)
    only serve snapshots, a cache filled on save and ``_notify``; refuse a store that needs any of them."""
    repository = store.repository
    if (store.snapshotting_intervals or (repository.cache is not None and not repository.fastforward)
            or type(store)._notify is not Application._notify):
        raise ValueError(f"{type(store).__name__} takes snapshots, fills its cache on save or is notified of"
                         " saves: the group commit does none of these")


def _constraint_of(error: BaseException) -> str | None:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, psycopg.Error) and cause.diag is not None:
            return cause.diag.constraint_name
        cause = cause.__cause__ or cause.__context__
    return None
