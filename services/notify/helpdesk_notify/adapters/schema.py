"""notify's tables, in its own PostgreSQL schema ``notify`` (intake's tables are never read), and their migrations.

- ``tracking``: how far the projection got (store position and stream sequence), and
  from which stream sequence on events send mail (older history is only projected).
- ``tickets``: the per-ticket view, as JSON.
- ``outbox``: the delivery log, one row per (event, recipient), unique on ``dedup_key``;
  ``ticket_id`` is NULL for mail about no ticket (an inbound mail refused or forwarded);
  ``skipped``: not sent, its recipient's account was blocked or deactivated (the reason in ``last_error``).
- ``directory``: users and customers with their addresses, from intake's facts, and whether a
  user is blocked (MED-4) or deactivated (IMC-2) now.
- ``contacts``: an admin's overrides of the directory (address, name, language), each
  field optional; an override on a customer's id sets its users' default language.
  (Before the directory existed this table was the whole directory; its rows still apply.)
- ``webhooks``: the registered webhooks (url, subject filter), from intake's
  ``helpdesk.webhook`` facts; never their secrets (asked of intake when signing).
- ``webhook_deliveries``: one row per (webhook, event), unique on both, queued in the
  consumer's transaction; the exact CloudEvent bytes, state, attempts, next try.
- ``webhook_attempts``: every attempt of a delivery: when, the answer's status or the error.
- ``parked``: messages the projection could not apply, with why; each holds back the
  later messages of its ticket until an admin's retry applies them
  (``notify.skipped``, its predecessor, is no longer written).
"""

from __future__ import annotations

from helpdesk_shared import parking
from helpdesk_shared.migrations import Migration, Migrations

SCHEMA = "notify"

_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.tracking (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    position bigint NOT NULL DEFAULT 0, stream_seq bigint NOT NULL DEFAULT 0,
    mail_from_seq bigint NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.tickets (
    ticket_id text PRIMARY KEY, view jsonb NOT NULL, position bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.contacts (
    user_id text PRIMARY KEY, email text, name text,
    language text CHECK (language IN ('ru', 'en')),
    updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE {SCHEMA}.contacts ALTER COLUMN email DROP NOT NULL, ALTER COLUMN name DROP NOT NULL,
    ALTER COLUMN name DROP DEFAULT, ALTER COLUMN language DROP NOT NULL, ALTER COLUMN language DROP DEFAULT;
CREATE TABLE IF NOT EXISTS {SCHEMA}.directory (
    id text PRIMARY KEY, kind text NOT NULL CHECK (kind IN ('user', 'customer')), email text NOT NULL,
    name text NOT NULL DEFAULT '', role text, customer_id text, department text,
    position bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS directory_staff ON {SCHEMA}.directory (role) WHERE customer_id IS NULL;
CREATE TABLE IF NOT EXISTS {SCHEMA}.outbox (
    id bigserial PRIMARY KEY, dedup_key text NOT NULL UNIQUE, event_id text NOT NULL,
    ticket_id text, recipient_id text NOT NULL, template text NOT NULL,
    context jsonb NOT NULL, message_id text NOT NULL, position bigint NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'dead')),
    attempts integer NOT NULL DEFAULT 0, in_doubt integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(), last_error text,
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz
);
ALTER TABLE {SCHEMA}.outbox ALTER COLUMN ticket_id DROP NOT NULL;
CREATE INDEX IF NOT EXISTS outbox_due ON {SCHEMA}.outbox (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS outbox_unsent ON {SCHEMA}.outbox (state, id) WHERE state <> 'sent';
CREATE INDEX IF NOT EXISTS outbox_ticket ON {SCHEMA}.outbox (ticket_id, id);
{parking.ddl(f"{SCHEMA}.parked")}
"""


# Made by helpdesk-migrate (helpdesk_shared.migrations), never at start. Step 1 is what notify
# ran at start before migrations, idempotent, so a database it made is adopted.
# Add a change as a new step at the end; never edit a step that has shipped.
_WEBHOOKS_AND_TRACES = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.webhooks (
    webhook_id text PRIMARY KEY, url text NOT NULL, subjects jsonb NOT NULL,
    removed boolean NOT NULL DEFAULT false, stream_seq bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.webhook_deliveries (
    id bigserial PRIMARY KEY, webhook_id text NOT NULL, event_id text NOT NULL,
    subject text NOT NULL, stream_seq bigint NOT NULL, body bytea NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0, retry_base integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(), last_status integer, last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(), delivered_at timestamptz,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON {SCHEMA}.webhook_deliveries (next_attempt_at, id)
    WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_log ON {SCHEMA}.webhook_deliveries (webhook_id, id);
CREATE TABLE IF NOT EXISTS {SCHEMA}.webhook_attempts (
    delivery_id bigint NOT NULL REFERENCES {SCHEMA}.webhook_deliveries (id) ON DELETE CASCADE,
    attempt integer NOT NULL, at timestamptz NOT NULL DEFAULT now(), status integer, error text,
    duration_ms integer, PRIMARY KEY (delivery_id, attempt)
);
-- The trace context (W3C traceparent) of the fact a mail is for: its sending joins that trace (issue #14 item 7).
ALTER TABLE {SCHEMA}.outbox ADD COLUMN IF NOT EXISTS traceparent text;
"""

# The language a user or customer chose in the directory (helpdesk.*.language_changed): mail follows it.
_DIRECTORY_LANGUAGE = f"""
ALTER TABLE {SCHEMA}.directory ADD COLUMN IF NOT EXISTS language text CHECK (language IN ('ru', 'en'));
"""

# MED-4, IMC-2: a blocked or deactivated user gets no mail; such a mail is logged ``skipped``, not sent.
_INACTIVE_RECIPIENTS = f"""
ALTER TABLE {SCHEMA}.directory ADD COLUMN IF NOT EXISTS blocked boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS deactivated boolean NOT NULL DEFAULT false;
ALTER TABLE {SCHEMA}.outbox DROP CONSTRAINT IF EXISTS outbox_state_check;
ALTER TABLE {SCHEMA}.outbox ADD CONSTRAINT outbox_state_check
    CHECK (state IN ('pending', 'sending', 'sent', 'dead', 'skipped'));
"""

MIGRATIONS = Migrations(
    service="notify",
    schemas=(SCHEMA,),
    steps=(Migration("tracking, tickets, contacts, directory, outbox, parked", _DDL),
           Migration("webhooks and their deliveries; the trace context of a mail", _WEBHOOKS_AND_TRACES),
           Migration("the directory's languages: a user's own, a customer's default", _DIRECTORY_LANGUAGE),
           Migration("blocked and deactivated users; skipped mail in the delivery log", _INACTIVE_RECIPIENTS)),
)
