"""The SLA service's own PostgreSQL schema ``sla``, as migrations: tickets' histories, timers, outbox, commands, parked.

Timers live here, not in memory: a restart loses none, and ``fired_at`` (set in the
transaction that records the firing's facts and command) means none fires twice.
"""

from __future__ import annotations

from helpdesk_shared import parking
from helpdesk_shared.migrations import Migration, Migrations

SCHEMA = "sla"

DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.tracking (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    position bigint NOT NULL DEFAULT 0,      -- the last ticket-store position applied
    stream_seq bigint NOT NULL DEFAULT 0     -- the JetStream sequence of that message
);
INSERT INTO {SCHEMA}.tracking DEFAULT VALUES ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS {SCHEMA}.tickets (
    ticket_id text PRIMARY KEY,
    customer_id text NOT NULL,
    policy text NOT NULL,
    version integer NOT NULL,
    status text NOT NULL,
    open boolean NOT NULL,
    history bytea NOT NULL,                 -- JSON array of the ticket's CloudEvents
    announced bytea NOT NULL                -- what the SLA facts said so far (planning.Announced)
);
CREATE INDEX IF NOT EXISTS tickets_customer ON {SCHEMA}.tickets (customer_id) WHERE open;
CREATE INDEX IF NOT EXISTS tickets_policy ON {SCHEMA}.tickets (policy) WHERE open;
CREATE TABLE IF NOT EXISTS {SCHEMA}.timers (
    ticket_id text NOT NULL,
    kind text NOT NULL,
    due_at timestamptz NOT NULL,
    timer bytea NOT NULL,                   -- planning.Timer
    fired_at timestamptz,
    PRIMARY KEY (ticket_id, kind, due_at)
);
CREATE INDEX IF NOT EXISTS timers_due ON {SCHEMA}.timers (due_at) WHERE fired_at IS NULL;
CREATE TABLE IF NOT EXISTS {SCHEMA}.outbox (
    id bigserial PRIMARY KEY,
    ticket_id text NOT NULL,
    subject text NOT NULL,
    payload bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.commands (
    idempotency_key text PRIMARY KEY,
    id bigserial NOT NULL,
    ticket_id text NOT NULL,
    action text NOT NULL,
    reason text NOT NULL,
    expected_version integer NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    lease_until timestamptz,
    done_at timestamptz,
    outcome text
);
CREATE INDEX IF NOT EXISTS commands_pending ON {SCHEMA}.commands (id) WHERE done_at IS NULL;
CREATE TABLE IF NOT EXISTS {SCHEMA}.policies (
    id text PRIMARY KEY,
    fingerprint text NOT NULL
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.customer_policies (
    customer_id text PRIMARY KEY,
    policy text NOT NULL                    -- the newest policy_changed fact taken in
);
{parking.ddl(f"{SCHEMA}.parked")}
"""


TRACES = f"""
-- The trace context (W3C traceparent) of the fact that planned a timer, carried on to the command
-- and the SLA facts it causes, so they join that fact's trace (issue #14 item 7).
ALTER TABLE {SCHEMA}.timers ADD COLUMN IF NOT EXISTS traceparent text;
ALTER TABLE {SCHEMA}.commands ADD COLUMN IF NOT EXISTS traceparent text;
ALTER TABLE {SCHEMA}.outbox ADD COLUMN IF NOT EXISTS traceparent text;
"""


RELEASES = f"""
-- The vendor's releases (IMC-9), kept from helpdesk.release facts: release-bound targets are due at their dates.
CREATE TABLE IF NOT EXISTS {SCHEMA}.releases (
    release_id text PRIMARY KEY,
    kind text NOT NULL,
    date date NOT NULL
);
"""


FIRING_ORDER = f"""
-- The wheel takes due timers in (due_at, ticket_id, kind) order: an index in that order lets it
-- read a batch straight off the index, instead of sorting every due timer for each batch
-- (100,000 overdue after a restart would be sorted 200 times).
CREATE INDEX IF NOT EXISTS timers_firing_order ON {SCHEMA}.timers (due_at, ticket_id, kind) WHERE fired_at IS NULL;
DROP INDEX IF EXISTS {SCHEMA}.timers_due;
"""


URGENT_FIRST = f"""
-- Facts the timer wheel fires (warnings, breaches, reminders, transitions due) are published ahead
-- of the outbox's backlog of planning facts, each with its ticket's earlier facts before it: the
-- publisher finds the urgent rows by the partial index and their tickets' rows by ticket_id.
ALTER TABLE {SCHEMA}.outbox ADD COLUMN IF NOT EXISTS urgent boolean NOT NULL DEFAULT false;
CREATE INDEX IF NOT EXISTS outbox_urgent ON {SCHEMA}.outbox (id) WHERE urgent;
CREATE INDEX IF NOT EXISTS outbox_ticket ON {SCHEMA}.outbox (ticket_id);
"""


# Made by helpdesk-migrate (helpdesk_shared.migrations), never at start. Step 1 is what SLA
# processes ran at start before migrations, idempotent, so a database they made is adopted.
# Add a change as a new step at the end; never edit a step that has shipped.
MIGRATIONS = Migrations(
    service="sla",
    schemas=(SCHEMA,),
    steps=(Migration("tickets, timers, outbox, commands, policies, parked", DDL),
           Migration("the trace context of timers, commands and SLA facts", TRACES),
           Migration("releases: release-bound targets are due at their dates (IMC-9)", RELEASES),
           Migration("due timers indexed in the order the wheel fires them", FIRING_ORDER),
           Migration("the outbox's urgent facts (fired by the wheel) published first", URGENT_FIRST)),
)
