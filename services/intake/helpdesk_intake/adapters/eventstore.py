"""The PostgreSQL event store (eventsourcing + psycopg 3) and the rows written beside events.

Some facts are not events but must commit with them or not at all: the answer
to an ``Idempotency-Key``, a user's credential, a ticket number's index entry.
``SideRowsRecorder`` executes such rows inside the transaction that inserts the
events, so a command is never half-written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, StoredEvent, Transcoding
from eventsourcing.postgres import PostgresApplicationRecorder
import psycopg
from psycopg import sql

SCHEMA = "intake"


@dataclass(frozen=True)
class SideRow:
    """One SQL statement to run in the same transaction as a save."""

    statement: str
    params: tuple[Any, ...]


class SideRowsRecorder(PostgresApplicationRecorder):
    """An application recorder that also writes ``rows=[SideRow, ...]`` given to ``save()``."""

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        for row in kwargs.get("rows", ()):
            curs.execute(sql.SQL(row.statement).format(schema=sql.Identifier(SCHEMA)), row.params)  # type: ignore[arg-type]
        super()._insert_events(curs, stored_events, **kwargs)


class DateAsISO(Transcoding):
    """Stores ``datetime.date`` values (planned dates) as ISO strings."""

    type = dt.date
    name = "date_iso"

    def encode(self, obj: dt.date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> dt.date:
        return dt.date.fromisoformat(data)


class IntakeEventStore(Application):
    """intake's event store: every ticket, customer and user event, in commit order."""

    name = "intake"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())


SIDE_TABLES = """
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE SEQUENCE IF NOT EXISTS {schema}.ticket_number_seq START 1001;
CREATE TABLE IF NOT EXISTS {schema}.ticket_numbers (
    number text PRIMARY KEY,
    ticket_id uuid NOT NULL
);
CREATE TABLE IF NOT EXISTS {schema}.credentials (
    login text PRIMARY KEY,
    user_id uuid NOT NULL,
    password_hash text NOT NULL
);
CREATE TABLE IF NOT EXISTS {schema}.idempotency (
    principal text NOT NULL,
    key text NOT NULL,
    request_hash text NOT NULL,
    status_code int NOT NULL,
    body jsonb NOT NULL,
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key)
);
"""


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
        "CREATE_TABLE": "y",
    }


def open_event_store(database_url: str, pool_size: int = 10, cache_size: int = 0) -> IntakeEventStore:
    """Create the schema if needed and open the event store."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL(SIDE_TABLES).format(schema=sql.Identifier(SCHEMA)))
    return IntakeEventStore(env=store_environment(database_url, pool_size, cache_size))
