"""intake's schema ``intake``, made by ``helpdesk-migrate`` (helpdesk_shared.migrations), never at start.

Step 1 is what every intake process ran at start before migrations existed, kept
idempotent (IF NOT EXISTS), so a database made by that code is adopted as it is.
Add a change as a new step at the end; never edit a step that has shipped.
"""

from __future__ import annotations

import contextlib

import psycopg
from psycopg import sql

from helpdesk_shared.migrations import Migration, Migrations

from helpdesk_intake.adapters.eventstore import SCHEMA, IntakeEventStore, store_environment
from helpdesk_intake.adapters.hours import DDL as HOURS_DDL

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
CREATE TABLE IF NOT EXISTS {schema}.login_failures (
    login text PRIMARY KEY,
    failures integer NOT NULL,
    last_failure timestamptz,
    blocked_until timestamptz
);
CREATE TABLE IF NOT EXISTS {schema}.login_attempts (
    address text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    attempts integer NOT NULL
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
CREATE TABLE IF NOT EXISTS {schema}.user_emails (
    user_id uuid PRIMARY KEY,
    email text NOT NULL,
    domain text NOT NULL,
    role text NOT NULL,
    customer_id text
);
CREATE INDEX IF NOT EXISTS user_emails_email ON {schema}.user_emails (email);
CREATE INDEX IF NOT EXISTS user_emails_domain ON {schema}.user_emails (domain);
CREATE TABLE IF NOT EXISTS {schema}.customer_emails (
    customer_id uuid PRIMARY KEY,
    email text NOT NULL,
    domain text NOT NULL
);
CREATE INDEX IF NOT EXISTS customer_emails_domain ON {schema}.customer_emails (domain);
"""

# The address indexes came after the first users: a store that predates them fills them
# once, from the registration events (plain JSON, see IntakeEventStore's transcoder).
BACKFILL = """
INSERT INTO {schema}.user_emails (user_id, email, domain, role, customer_id)
SELECT e.originator_id, lower(s->>'email'), split_part(lower(s->>'email'), '@', 2), s->>'role', s->>'customer_id'
FROM {schema}.intake_events e, LATERAL convert_from(e.state, 'UTF8')::jsonb s
WHERE e.topic = 'helpdesk:User.Registered' ON CONFLICT DO NOTHING;
INSERT INTO {schema}.customer_emails (customer_id, email, domain)
SELECT e.originator_id, lower(s->>'email'), split_part(lower(s->>'email'), '@', 2)
FROM {schema}.intake_events e, LATERAL convert_from(e.state, 'UTF8')::jsonb s
WHERE e.topic = 'helpdesk:Customer.Registered' ON CONFLICT DO NOTHING;
"""


def _first_schema(conn: psycopg.Connection, conninfo: str) -> None:
    """The side tables, the address indexes' backfill, and eventsourcing's own events table."""
    schema = sql.Identifier(SCHEMA)
    fresh_index = not _exists(conn, "user_emails")
    conn.execute(sql.SQL(SIDE_TABLES).format(schema=schema))  # type: ignore[arg-type]
    if fresh_index and _exists(conn, "intake_events"):
        conn.execute(sql.SQL(BACKFILL).format(schema=schema))  # type: ignore[arg-type]
    # eventsourcing's own table, from its recorder's statements, in this step's transaction;
    # a type has no IF NOT EXISTS, so one that exists is skipped in a savepoint, as eventsourcing does
    store = IntakeEventStore(env=store_environment(conninfo, pool_size=1))
    try:
        for statement in store.recorder.sql_create_statements:  # type: ignore[attr-defined]
            with contextlib.suppress(psycopg.errors.DuplicateObject), conn.transaction():
                conn.execute(statement)
    finally:
        store.close()


def _exists(conn: psycopg.Connection, table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.{table}",)).fetchone()
    return bool(row and row[0])


WEBHOOKS = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.webhooks (
    webhook_id uuid PRIMARY KEY,
    url text NOT NULL,
    subjects jsonb NOT NULL,
    secret text NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now()
);
"""

RELEASES = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.releases (
    release_id uuid PRIMARY KEY,
    name text NOT NULL,
    kind text NOT NULL,
    date date NOT NULL
);
"""

POLICIES = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.policies (
    policy_id text PRIMARY KEY,
    version integer NOT NULL,
    published_at timestamptz NOT NULL,
    by_actor text NOT NULL
);
"""

MIGRATIONS = Migrations(
    service="intake",
    schemas=(SCHEMA,),
    steps=(
        Migration("the event store, ticket numbers, credentials, login throttle, idempotency, address indexes",
                  _first_schema),
        Migration("webhooks: their signing secrets beside the events (never in one)", WEBHOOKS),
        Migration("releases (IMC-9): the list of the vendor's releases, beside their events", RELEASES),
        Migration("norm-hours: each customer's planned and spent minutes per month (MED-12)", HOURS_DDL),
        Migration("policies (CONTRACT §5): each policy's version in force, beside its events", POLICIES),
    ),
)
