"""The PostgreSQL event store (eventsourcing + psycopg 3) and the rows written beside events.

Some facts are not events but must commit with them or not at all: the answer
to an ``Idempotency-Key``, a user's credential, a ticket number's index entry,
the address indexes that identify who sent a mail (user and customer emails).
The login throttle's counters live here too (adapters/login_throttle.py), but
are written on their own: they are no one's history.
``SideRowsRecorder`` executes such rows inside the transaction that inserts the
events, so a command is never half-written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote, urlsplit
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing import persistence
from eventsourcing.persistence import JSONTranscoder, StoredEvent, Transcoding
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import get_topic, retry
import msgspec
import psycopg
from psycopg import sql

from helpdesk_shared.connections import RecentlyCheckedSync
from helpdesk_shared.events import Attachment

from helpdesk_intake.domain.customer import Customer
from helpdesk_intake.domain.release import Release
from helpdesk_intake.domain.ticket import Ticket

SCHEMA = "intake"
# What a store that is down or unreachable raises: a passing failure, worth a retry later.
STORE_UNAVAILABLE: tuple[type[Exception], ...] = (
    persistence.OperationalError, persistence.InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)


@dataclass(frozen=True)
class SideRow:
    """One SQL statement to run in the same transaction as a save."""

    statement: str
    params: tuple[Any, ...]


@dataclass
class OtherWriters:
    """Asked of a save (``others=``): which aggregates other writers saved after notification ``since``.

    Read in the save's own transaction, after its insert, under the table lock: every event
    committed before this one is visible then, and the query rides in the same round trip.
    ``written`` is ``{originator_id: its newest notification id}``, or None if they were too many.
    """

    since: int
    limit: int = 1000
    written: dict[Any, int] | None = None


@dataclass(frozen=True)
class FirstAnswer:
    """The answer stored for an ``Idempotency-Key``: the first request's hash, what it was told, and
    the store position of the event it wrote."""

    request_hash: str
    status_code: int
    body: Any
    position: int


_RELEASE_COLUMNS = "release_id::text AS id, name, kind, date"
_WEBHOOK_COLUMNS = "webhook_id::text AS id, url, subjects, registered_at"


class SideRowsRecorder(PostgresApplicationRecorder):
    """An application recorder that also writes ``rows=[SideRow, ...]`` given to ``save()``,
    and answers ``others=OtherWriters(...)``; the reads of those rows are its named methods."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._table = sql.Identifier(self.datastore.schema, self.events_table_name).as_string()
        # eventsourcing's own lock statements (lock timeout, EXCLUSIVE lock) and its NOTIFY, as text
        self._opening = [*(s.as_string() for s in self.lock_table_statements),
                         sql.SQL("NOTIFY {}").format(sql.Identifier(self.channel_name)).as_string()]

    @retry((persistence.InterfaceError, persistence.OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """eventsourcing's save (lock, notify, insert, under ``EXCLUSIVE`` until commit) as one simple query.

        ``BEGIN; <side rows>; SET LOCAL lock_timeout; LOCK; NOTIFY; INSERT … RETURNING; [others]; COMMIT``
        goes as one Query message, its values quoted in by psycopg's client-side cursor: one round
        trip, and none of the extended protocol's Parse/Bind/Describe/Execute per statement nor the
        pipeline's polling (a ticket and its number row saved alone: 871–956 → 471–541 µs of the
        worker's CPU on a busy two-core machine, issue 16). The table lock stays, so notification ids
        follow commit order (eventsourcing's insert function takes none). If a statement fails, the
        server skips the rest (COMMIT too) and the session is left in the aborted transaction,
        rolled back here.
        """
        rows, others = kwargs.get("rows", ()), kwargs.get("others")
        statements = [*(_statement(row.statement) for row in rows), *self._opening,
                      _insert(self._table, len(stored_events))]
        params = [p for row in rows for p in row.params]
        for event in stored_events:
            params += (event.originator_id, event.originator_version, event.topic, event.state)
        if others is not None:
            statements.append(_others(self._table))
            params += (others.since, others.limit + len(stored_events))
        with self.datastore.get_connection() as conn:
            cursor = psycopg.ClientCursor(conn)
            try:
                cursor.execute("BEGIN; " + "; ".join(statements) + "; COMMIT", params)
            except psycopg.Error:
                with contextlib.suppress(psycopg.Error):
                    conn.execute("ROLLBACK")
                raise
            for _ in range(1 + len(rows) + len(self._opening)):  # BEGIN's, the rows', the lock's, NOTIFY's
                cursor.nextset()
            ids = [row["notification_id"] for row in cursor.fetchall()]
            if others is not None:
                cursor.nextset()
                _learn(others, cursor.fetchall(), ids)
            return ids

    def first_answer(self, principal: str, key: str) -> FirstAnswer | None:
        """The answer stored for ``principal``'s ``Idempotency-Key`` ``key`` (``idempotency_row``), if any."""
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                "SELECT i.request_hash, i.status_code, i.body, e.notification_id"
                " FROM intake.idempotency i JOIN intake.intake_events e"
                " ON e.originator_id = i.originator_id AND e.originator_version = i.originator_version"
                " WHERE i.principal = %s AND i.key = %s",
                (principal, key),
            ).fetchone()
        if row is None:
            return None
        return FirstAnswer(row["request_hash"], row["status_code"], row["body"], row["notification_id"])

    def next_ticket_number(self) -> int:
        """The next value of the ticket number sequence (never given twice; a rolled-back save leaves a gap)."""
        with self.datastore.get_connection() as conn:
            row = conn.execute("SELECT nextval('intake.ticket_number_seq') AS n").fetchone()
        return int(row["n"])

    def last_position(self, topic_like: str, topic: str, other_topic_like: str) -> int:
        """The notification id of the newest event whose topic is ``LIKE`` either pattern or equals
        ``topic``; 0 if there is none."""
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                "SELECT notification_id FROM intake.intake_events WHERE topic LIKE %s OR topic = %s OR topic LIKE %s"
                " ORDER BY notification_id DESC LIMIT 1",
                (topic_like, topic, other_topic_like)).fetchone()
        return int(row["notification_id"]) if row else 0

    def hours_used(self, customer_id: str, month: str, measure: str) -> int:
        """Minutes the month has consumed in the norm-hours tally (adapters/hours.py), by ``measure``
        (planned or spent)."""
        column = "spent_minutes" if measure == "spent" else "planned_minutes"
        with self.datastore.get_connection() as conn:
            row = conn.execute(f"SELECT {column} AS used FROM intake.hours_tally"
                               " WHERE customer_id = %s AND month = %s", (customer_id, month)).fetchone()
        return int(row["used"]) if row else 0

    def policies(self) -> list[dict[str, Any]]:
        """Every policy's listed row (``id``, ``version``, ``published_at``, ``by``), by id."""
        with self.datastore.get_connection() as conn:
            return list(conn.execute("SELECT policy_id AS id, version, published_at, by_actor AS by"
                                     " FROM intake.policies ORDER BY policy_id"))

    def releases(self) -> list[dict[str, Any]]:
        """Every release's listed row (``id``, ``name``, ``kind``, ``date``), soonest first."""
        with self.datastore.get_connection() as conn:
            return list(conn.execute(f"SELECT {_RELEASE_COLUMNS} FROM intake.releases"
                                     " ORDER BY date, name, release_id"))

    def webhooks(self) -> list[dict[str, Any]]:
        """The registered webhooks (``id``, ``url``, ``subjects``, ``registered_at``), oldest first."""
        with self.datastore.get_connection() as conn:
            return list(conn.execute(f"SELECT {_WEBHOOK_COLUMNS} FROM intake.webhooks"
                                     " ORDER BY registered_at, webhook_id"))

    def webhook(self, webhook_id: UUID, *, secret: bool = False) -> dict[str, Any] | None:
        """A registered webhook's row as ``webhooks`` lists it, or only its ``secret``; None if there is none."""
        columns = "secret" if secret else _WEBHOOK_COLUMNS
        with self.datastore.get_connection() as conn:
            row = conn.execute(f"SELECT {columns} FROM intake.webhooks WHERE webhook_id = %s",
                               (webhook_id,)).fetchone()
        return None if row is None else dict(row)

    def ping(self) -> bool:
        """Whether the database answers a query."""
        with self.datastore.get_connection() as conn:
            return conn.execute("SELECT 1").fetchone() is not None


@functools.lru_cache(maxsize=256)
def _statement(template: str) -> str:
    """A side row's statement with its ``{schema}`` filled in (composed once per statement, not per save)."""
    return sql.SQL(template).format(schema=sql.Identifier(SCHEMA)).as_string()


@functools.lru_cache(maxsize=256)
def _insert(table: str, count: int) -> str:
    """The insert of ``count`` stored events into ``table``, numbered in the order given."""
    if not count:
        return f"SELECT notification_id FROM {table} WHERE false"
    return (f"INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES "
            + ", ".join(["(%s, %s, %s, %s)"] * count) + " RETURNING notification_id")


@functools.lru_cache(maxsize=4)
def _others(table: str) -> str:
    """Which aggregates were saved after a notification id, as ``OtherWriters`` asks."""
    return (f"SELECT originator_id, notification_id FROM {table} WHERE notification_id > %s"
            " ORDER BY notification_id LIMIT %s")


def _learn(others: OtherWriters, rows: list[dict[str, Any]], ids: list[int]) -> None:
    """``others.written`` from the rows numbered after ``others.since``: those before this save's own."""
    first = min(ids) if ids else None
    foreign = [r for r in rows if first is None or r["notification_id"] < first]
    others.written = None if len(foreign) >= others.limit else {
        r["originator_id"]: r["notification_id"] for r in foreign}


class DateAsISO(Transcoding):
    """Stores ``datetime.date`` values (planned dates) as ISO strings."""

    type = dt.date
    name = "date_iso"

    def encode(self, obj: dt.date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> dt.date:
        return dt.date.fromisoformat(data)


class AttachmentAsDict(Transcoding):
    """Stores attachment references (``events.Attachment``) as plain objects."""

    type = Attachment
    name = "attachment"

    def encode(self, obj: Attachment) -> dict[str, Any]:
        return msgspec.structs.asdict(obj)

    def decode(self, data: dict[str, Any]) -> Attachment:
        return Attachment(**data)


class IntakeEventStore(Application):
    """intake's event store: every ticket, customer and user event, in commit order."""

    name = "intake"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        transcoder.register(AttachmentAsDict())

    @property
    def rows(self) -> SideRowsRecorder:
        """The recorder of the events and the rows written beside them: their reads are its named methods
        (``first_answer``, ``next_ticket_number``, ``hours_used``, ``policies``, ``releases``, ``webhooks``…)."""
        return cast(SideRowsRecorder, self.recorder)

    def last_ticket_position(self) -> int:
        """The store position of the newest event the SLA follows (a ticket's, a customer's policy change, a
        release's): what the SLA must have taken in to be settled."""
        return self.rows.last_position(get_topic(Ticket) + ".%", get_topic(Customer.PolicyChanged),
                                       get_topic(Release) + ".%")


def email_domain(email: str) -> str:
    return email.strip().lower().rpartition("@")[2]


def idempotency_row(principal: str, key: str, request_hash: str, status_code: int, body: str,
                    originator_id: Any, originator_version: int) -> SideRow:
    """The answer to an ``Idempotency-Key`` (``body`` as JSON), tied to the last event its command wrote."""
    return SideRow("INSERT INTO {schema}.idempotency (principal, key, request_hash, status_code, body,"
                   " originator_id, originator_version) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                   (principal, key, request_hash, status_code, body, originator_id, originator_version))


def policy_row(policy_id: str, version: int, published_at: dt.datetime, by: str) -> SideRow:
    """The listed row of a policy: its version in force."""
    return SideRow(
        "INSERT INTO {schema}.policies (policy_id, version, published_at, by_actor) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (policy_id) DO UPDATE SET version = EXCLUDED.version,"
        " published_at = EXCLUDED.published_at, by_actor = EXCLUDED.by_actor",
        (policy_id, version, published_at, by))


def release_row(release_id: Any, name: str, kind: str, date: dt.date) -> SideRow:
    """The listed row of a release, as its events leave it."""
    return SideRow(
        "INSERT INTO {schema}.releases (release_id, name, kind, date) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (release_id) DO UPDATE SET name = EXCLUDED.name, date = EXCLUDED.date",
        (release_id, name, kind, date))


def webhook_row(webhook_id: Any, url: str, subjects: str, secret: str) -> SideRow:
    """A registered webhook's row (``subjects`` as JSON), the only place its signing secret is kept."""
    return SideRow("INSERT INTO {schema}.webhooks (webhook_id, url, subjects, secret)"
                   " VALUES (%s, %s, %s::jsonb, %s)", (webhook_id, url, subjects, secret))


def webhook_removal_row(webhook_id: Any) -> SideRow:
    """A removed webhook's row goes, and its secret with it."""
    return SideRow("DELETE FROM {schema}.webhooks WHERE webhook_id = %s", (webhook_id,))


def ticket_number_row(number: str, ticket_id: Any) -> SideRow:
    """The index entry that finds a ticket by its number (a mail's subject names it)."""
    return SideRow("INSERT INTO {schema}.ticket_numbers (number, ticket_id) VALUES (%s, %s)", (number, ticket_id))


def user_email_row(user_id: Any, email: str, role: str, customer_id: str | None) -> SideRow:
    """The index entry that finds a user by the address a mail came from."""
    return SideRow("INSERT INTO {schema}.user_emails (user_id, email, domain, role, customer_id)"
                   " VALUES (%s, %s, %s, %s, %s)",
                   (user_id, email.strip().lower(), email_domain(email), role, customer_id))


def customer_email_row(customer_id: Any, email: str) -> SideRow:
    """The index entry that finds a customer by its own address's domain (IMC-3)."""
    return SideRow("INSERT INTO {schema}.customer_emails (customer_id, email, domain) VALUES (%s, %s, %s)",
                   (customer_id, email.strip().lower(), email_domain(email)))


# eventsourcing's pool retries a lost connection with backoff for five minutes by default, so
# after a long outage it could come back long after the server; give up sooner and reconnect on demand.
RECONNECT_TIMEOUT = 10.0


def store_environment(database_url: str, pool_size: int = 10, cache_size: int = 0) -> dict[str, str]:
    """The eventsourcing settings for a ``postgresql://`` URL."""
    url = urlsplit(database_url)
    cache = {"AGGREGATE_CACHE_MAXSIZE": str(cache_size), "AGGREGATE_CACHE_FASTFORWARD": "y"} if cache_size else {}
    return {
        **cache,
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": f"{SideRowsRecorder.__module__}:{SideRowsRecorder.__qualname__}",
        "POSTGRES_DBNAME": url.path.lstrip("/") or "helpdesk",
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_SCHEMA": SCHEMA,
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size),
        "POSTGRES_LOCK_TIMEOUT": "5",
        # A PostgreSQL restart leaves dead connections in the pool: check each before lending it
        # (open_event_store makes the check cheap), and wait for one at most a second per attempt,
        # so an outage answers 503 within seconds.
        "POSTGRES_PRE_PING": "y",
        "POSTGRES_CONNECT_TIMEOUT": "1",
        # the tables are the migrations' to create (helpdesk-migrate), never a running service's
        "CREATE_TABLE": "n",
    }


def open_event_store(database_url: str, pool_size: int = 10, cache_size: int = 0) -> IntakeEventStore:
    """Open the event store on a migrated schema (adapters/schema.py makes it; this creates nothing)."""
    store = IntakeEventStore(env=store_environment(database_url, pool_size, cache_size))
    pool = store.recorder.datastore.pool  # type: ignore[attr-defined]
    pool.reconnect_timeout = RECONNECT_TIMEOUT
    # eventsourcing's pre-ping is an empty query on every checkout (2.5-2.8 % of a worker's CPU);
    # the other services' check instead: a round trip only for a connection not lent a moment ago.
    # The pool takes its check only when built, and eventsourcing builds it: set it before it opens.
    pool._check = RecentlyCheckedSync()
    return store


def user_email_change_row(user_id: Any, email: str) -> SideRow:
    """The index entry of a user whose address changed: mail from the new address identifies them."""
    return SideRow("UPDATE {schema}.user_emails SET email = %s, domain = %s WHERE user_id = %s",
                   (email.strip().lower(), email_domain(email), user_id))
