"""The read model's tables, in generations that a rebuild can swap atomically (blue/green).

Everything the query service owns lives in PostgreSQL schemas of its own:

- ``query``: the stable face. ``query.generation`` names the active generation;
  ``query.tickets``, ``query.search``, ``query.comments`` and ``query.tracking`` are views onto it, so
  readers never need to know which one is live; ``query.parked`` and
  ``query.sla_parked`` keep the messages that could not be projected (held back).
- ``query_g<N>``: one generation of tables. The projector writes into the active
  one; ``helpdesk-query rebuild`` fills a new one and then, in one transaction,
  points the views at it. Intake's tables are never touched.

``helpdesk-migrate`` makes them (``MIGRATIONS``); the service only checks the version at
start. A rebuild creates schemas, so it runs under the migration role too.
"""

from __future__ import annotations

from typing import Any

import psycopg

from helpdesk_shared import parking
from helpdesk_shared.migrations import Migration, Migrations

CONTROL = "query"
POSITION_CHANNEL = "helpdesk_query_position"
SLA_POSITION_CHANNEL = "helpdesk_query_sla_position"  # the SLA projection's stream sequence, on commit

TICKET_COLUMNS = (
    "id", "number", "customer_id", "requester_id", "subject", "description", "channel", "category",
    "priority", "service", "status", "responsible_id", "owner_id", "department", "planned_date",
    "planned_minutes", "release", "policy", "version", "created_at", "updated_at", "spent_minutes",
    "billed_minutes", "position", "attachments", "details", "missing_details", "third_party",
)
COMMENT_COLUMNS = ("ticket_id", "id", "author_id", "author_role", "body", "visibility", "action",
                   "created_at", "position", "attachments")

_TABLES = """
CREATE TABLE {g}.tickets (
    id text PRIMARY KEY, number text NOT NULL, customer_id text NOT NULL, requester_id text,
    subject text NOT NULL, description text NOT NULL, channel text NOT NULL, category text,
    priority text NOT NULL, service text, status text NOT NULL, responsible_id text,
    owner_id text, department text, planned_date date, planned_minutes integer, release text,
    policy text, version integer NOT NULL, created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL, spent_minutes integer NOT NULL,
    billed_minutes integer NOT NULL, position bigint NOT NULL,
    sla_state text,
    queue_rank smallint GENERATED ALWAYS AS (CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1
        WHEN 'normal' THEN 2 ELSE 3 END) STORED,
    attachments jsonb NOT NULL DEFAULT '[]',
    details jsonb NOT NULL DEFAULT '{{}}',
    missing_details jsonb NOT NULL DEFAULT '[]',
    third_party jsonb
);
CREATE TABLE {g}.comments (
    ticket_id text NOT NULL, id text NOT NULL, author_id text NOT NULL, author_role text NOT NULL,
    body text NOT NULL, visibility text NOT NULL, action text, created_at timestamptz NOT NULL,
    position bigint NOT NULL, PRIMARY KEY (ticket_id, id),
    attachments jsonb NOT NULL DEFAULT '[]'
);
CREATE TABLE {g}.tracking (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    position bigint NOT NULL DEFAULT 0, stream_seq bigint NOT NULL DEFAULT 0
);
INSERT INTO {g}.tracking DEFAULT VALUES;
CREATE TABLE {g}.search (id text PRIMARY KEY, search tsvector NOT NULL);
""" + """
CREATE TABLE {g}.hours (
    customer_id text NOT NULL, month text NOT NULL, policy text, budget_minutes bigint,
    planned_minutes bigint NOT NULL DEFAULT 0, used_minutes bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (customer_id, month)
);
"""

# A ticket's searchable text as a vector: written when the ticket opens or its text changes (see ``_search_apart``).
SEARCH_VECTOR = "to_tsvector('russian', subject || ' ' || description)"

# Columns added since a generation could first be made: (table, column, definition). Each is
# the last column of its table, in the order of _TABLES, so a generation made before them and
# upgraded in place has the same column order as a new one (the query.* views need that).
_ADDED = (("tickets", "attachments", "jsonb NOT NULL DEFAULT '[]'"),
          ("comments", "attachments", "jsonb NOT NULL DEFAULT '[]'"),
          ("tickets", "details", "jsonb NOT NULL DEFAULT '{}'"),
          ("tickets", "missing_details", "jsonb NOT NULL DEFAULT '[]'"),
          ("tickets", "third_party", "jsonb"))
# Tables added since a generation could first be made; created where missing (norm-hours, MED-12).
_ADDED_TABLES = {"hours": _TABLES.split("CREATE TABLE {g}.hours", 1)[1]}

# Built after a bulk load (cheaper than maintaining them row by row); "russian" also
# stems English words, so one text-search configuration serves both languages.
_INDEXES = """
CREATE INDEX ON {g}.tickets (created_at DESC, id DESC);
CREATE INDEX ON {g}.tickets (updated_at DESC, id DESC);
CREATE INDEX ON {g}.tickets (queue_rank, created_at, id);
CREATE INDEX ON {g}.tickets (customer_id, created_at DESC, id DESC);
CREATE INDEX ON {g}.tickets (customer_id, queue_rank, created_at, id);
CREATE INDEX ON {g}.tickets (status, queue_rank, created_at, id);
CREATE INDEX ON {g}.tickets (status, created_at DESC, id DESC);
CREATE INDEX ON {g}.tickets (responsible_id);
CREATE INDEX ON {g}.tickets (owner_id);
CREATE INDEX tickets_awaiting_third_party ON {g}.tickets (created_at DESC, id DESC) WHERE third_party IS NOT NULL;
CREATE INDEX ON {g}.search USING gin (search);
CREATE INDEX tickets_channel_queue ON {g}.tickets (channel, queue_rank, created_at, id, status);
ANALYZE {g}.tickets;
ANALYZE {g}.comments;
ANALYZE {g}.search;
"""

_CONTROL = f"""
CREATE SCHEMA IF NOT EXISTS {CONTROL};
CREATE TABLE IF NOT EXISTS {CONTROL}.generation (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), active text NOT NULL
);
-- The sla block, folded from helpdesk.sla.> by its own consumer: not part of a generation,
-- as a rebuild replays ticket events only; its position is the SLA stream's own sequence.
CREATE TABLE IF NOT EXISTS {CONTROL}.sla (
    ticket_id text PRIMARY KEY, view bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS {CONTROL}.sla_tracking (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), stream_seq bigint NOT NULL DEFAULT 0
);
INSERT INTO {CONTROL}.sla_tracking DEFAULT VALUES ON CONFLICT DO NOTHING;
{parking.ddl(f"{CONTROL}.parked")}
{parking.ddl(f"{CONTROL}.sla_parked")}
"""


def generation_name(number: int) -> str:
    return f"query_g{number}"


# The primary keys a bulk load builds after the rows are in (a key maintained row by row in no key order
# cost PostgreSQL several times its build from the sorted whole): (table, columns).
_BULK_KEYS = (("tickets", "id"), ("comments", "ticket_id, id"), ("search", "id"))
_VIEWED = ("tickets", "comments", "tracking", "hours", "search")


async def create_generation(conn: psycopg.AsyncConnection[Any], name: str, indexes: bool = True) -> None:
    """Create the tables of generation ``name`` (a fresh schema) with their indexes, or (``indexes=False``,
    for a bulk load) without any, not even the tickets' and comments' primary keys: ``index_statements``
    and then ``key_statements`` make them."""
    await conn.execute(f"CREATE SCHEMA {name}")
    await conn.execute(_TABLES.format(g=name))
    if indexes:
        await create_indexes(conn, name)
    else:
        for table, _ in _BULK_KEYS:
            await conn.execute(f"ALTER TABLE {name}.{table} DROP CONSTRAINT {table}_pkey")


async def create_indexes(conn: psycopg.AsyncConnection[Any], name: str) -> None:
    await conn.execute(_INDEXES.format(g=name))


def index_statements(name: str) -> list[str]:
    """What ``create_generation(indexes=False)`` left out, one statement at a time (a rebuild runs them on
    several connections): the unique indexes of the primary keys (``key_statements`` makes them the keys)
    and the statements of ``create_indexes``."""
    return [f"CREATE UNIQUE INDEX {table}_pkey ON {name}.{table} ({columns})" for table, columns in _BULK_KEYS] + [
        statement.strip() for statement in _INDEXES.format(g=name).split(";") if statement.strip()]


def key_statements(name: str) -> list[str]:
    """The primary keys of ``create_generation``'s tables, from the unique indexes ``index_statements`` built."""
    return [f"ALTER TABLE {name}.{table} ADD CONSTRAINT {table}_pkey PRIMARY KEY USING INDEX {table}_pkey"
            for table, _ in _BULK_KEYS]


def search_statement(name: str) -> str:
    """The search vectors of generation ``name``'s tickets, for a bulk load (before ``index_statements``'
    indexes on ``search``: their builds wait for it to commit)."""
    return f"INSERT INTO {name}.search (id, search) SELECT id, {SEARCH_VECTOR} FROM {name}.tickets"


def _views(name: str, tables: tuple[str, ...] = _VIEWED) -> list[str]:
    """The statements that make ``query.*`` show generation ``name`` (its ``tables``)."""
    return [f"CREATE OR REPLACE VIEW {CONTROL}.{table} AS SELECT * FROM {name}.{table}" for table in tables]


async def point_views_at(conn: psycopg.AsyncConnection[Any], name: str) -> None:
    """Make ``query.*`` show generation ``name`` and record it as the active one."""
    for statement in _views(name):
        await conn.execute(statement)
    await conn.execute(f"UPDATE {CONTROL}.generation SET active = %s", (name,))


def _first_schema(conn: psycopg.Connection[Any], conninfo: str) -> None:
    """The control schema and a first generation if missing (a generation made by an older
    version gains the columns it lacks)."""
    conn.execute(_CONTROL)
    row = conn.execute(f"SELECT active FROM {CONTROL}.generation").fetchone()
    if row:
        _upgrade(conn, str(row[0]))
        return
    name = generation_name(1)
    conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    conn.execute(f"CREATE SCHEMA {name}")
    conn.execute(_TABLES.format(g=name))
    conn.execute(_INDEXES.format(g=name))
    conn.execute(f"INSERT INTO {CONTROL}.generation (active) VALUES (%s)", (name,))
    for statement in _views(name):
        conn.execute(statement)


def _upgrade(conn: psycopg.Connection[Any], name: str) -> None:
    """Add the columns a generation made by an older version lacks, and show them in the views."""
    present = set(conn.execute("SELECT table_name, column_name FROM information_schema.columns"
                               " WHERE table_schema = %s", (name,)).fetchall())
    tables = {table for table, _ in present}
    missing = [(table, column, kind) for table, column, kind in _ADDED
               if table in tables and (table, column) not in present]
    for table, column, kind in missing:
        conn.execute(f"ALTER TABLE {name}.{table} ADD COLUMN {column} {kind}")
    absent = [table for table in _ADDED_TABLES if table not in tables]
    for table in absent:
        conn.execute(f"CREATE TABLE {name}.{table}" + _ADDED_TABLES[table].format(g=name))
    if missing or absent:  # a generation from before step 6 has no search table yet: that step views it
        for statement in _views(name, tuple(t for t in _VIEWED if t in tables or t in absent)):
            conn.execute(statement)


def _details_and_hours(conn: psycopg.Connection[Any], conninfo: str) -> None:
    """Step 2: the active generation gains the details columns and the hours table."""
    row = conn.execute(f"SELECT active FROM {CONTROL}.generation").fetchone()
    if row:
        _upgrade(conn, str(row[0]))


def _third_party(conn: psycopg.Connection[Any], conninfo: str) -> None:
    """Step 3: the active generation gains tickets.third_party (END-5) and the index behind
    ``?third_party=true`` (a new generation has it from ``_INDEXES``)."""
    _details_and_hours(conn, conninfo)
    row = conn.execute(f"SELECT active FROM {CONTROL}.generation").fetchone()
    if row:
        conn.execute(f"CREATE INDEX IF NOT EXISTS tickets_awaiting_third_party ON {row[0]}.tickets"
                     " (created_at DESC, id DESC) WHERE third_party IS NOT NULL")


def _channel_queue(conn: psycopg.Connection[Any], conninfo: str) -> None:
    """Step 4: the index behind ``?channel=chat&status=<open>&order=queue`` (the agents' chat panel, TEL-5):
    the channel's tickets in queue order, the status checked inside the index, so a panel read over
    100,000 tickets touches the open chats only (a new generation has it from ``_INDEXES``)."""
    row = conn.execute(f"SELECT active FROM {CONTROL}.generation").fetchone()
    if row:
        conn.execute(f"CREATE INDEX IF NOT EXISTS tickets_channel_queue ON {row[0]}.tickets"
                     " (channel, queue_rank, created_at, id, status)")


_THIRD_PARTY_INDEX = "tickets_awaiting_third_party"


def _one_third_party_index(conn: psycopg.Connection[Any], conninfo: str) -> None:
    """Step 5: one index behind ``?third_party=true``. A database made fresh had it twice (step 1's
    was unnamed, step 3 added ``tickets_awaiting_third_party`` beside it), so every ticket written
    paid for both; a generation made by a rebuild had the unnamed one only. What is left is the one
    named index, as ``_INDEXES`` now makes it."""
    row = conn.execute(f"SELECT active FROM {CONTROL}.generation").fetchone()
    if not row:
        return
    names = [name for name, in conn.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = 'tickets'"
        " AND indexdef LIKE '%%WHERE (third_party IS NOT NULL)' ORDER BY indexname = %s DESC, indexname",
        (row[0], _THIRD_PARTY_INDEX)).fetchall()]
    if names and names[0] != _THIRD_PARTY_INDEX:
        conn.execute(f"ALTER INDEX {row[0]}.{names[0]} RENAME TO {_THIRD_PARTY_INDEX}")
    for name in names[1:]:
        conn.execute(f"DROP INDEX {row[0]}.{name}")


def _search_apart(conn: psycopg.Connection[Any], conninfo: str) -> None:
    """Step 6: the search vectors move from ``tickets.search`` (a generated column) to a table of their own,
    ``search``, with the GIN index. Every projected event rewrites its ticket's row, and a row rewritten
    beside a GIN index added the ticket's every word to it again; a vector on its own is written only when
    the ticket opens or its text changes. The vectors computed so far are moved, not computed again."""
    row = conn.execute(f"SELECT active FROM {CONTROL}.generation").fetchone()
    if not row:
        return
    name = str(row[0])
    conn.execute(f"CREATE TABLE IF NOT EXISTS {name}.search (id text PRIMARY KEY, search tsvector NOT NULL)")
    if conn.execute("SELECT 1 FROM information_schema.columns WHERE table_schema = %s AND table_name = 'tickets'"
                    " AND column_name = 'search'", (name,)).fetchone():
        conn.execute(f"INSERT INTO {name}.search (id, search) SELECT id, search FROM {name}.tickets"
                     " ON CONFLICT (id) DO NOTHING")
        conn.execute(f"DROP VIEW {CONTROL}.tickets")  # a view's columns cannot be dropped, only the view
        conn.execute(f"ALTER TABLE {name}.tickets DROP COLUMN search")  # and its GIN index with it
    conn.execute(f"CREATE INDEX IF NOT EXISTS search_search_idx ON {name}.search USING gin (search)")
    conn.execute(f"ANALYZE {name}.search")
    for statement in _views(name):
        conn.execute(statement)


# Step 1 is what query ran at start before migrations, idempotent, so a database it made is
# adopted. Add a change as a new step at the end; never edit a step that has shipped.
MIGRATIONS = Migrations(
    service="query",
    schemas=(CONTROL, "query\\_g%"),
    steps=(Migration("the control schema, the first generation, parked tables", _first_schema),
           Migration("request details and the norm-hours table (KS-7, MED-12)", _details_and_hours),
           Migration("tickets.third_party (END-5)", _third_party),
           Migration("the channel index of the agents' chat panel (TEL-5)", _channel_queue),
           Migration("one index behind ?third_party=true, not two", _one_third_party_index),
           Migration("the search vectors in a table of their own, off the tickets' rows", _search_apart)),
)


async def checksum(conn: psycopg.AsyncConnection[Any], schema: str = CONTROL) -> str:
    """An md5 over every row of the tickets and comments (in key order) of ``schema``."""
    cursor = await conn.execute(
        f"SELECT md5(coalesce((SELECT string_agg(t::text, E'\\n' ORDER BY t.id) FROM {schema}.tickets t), '')"
        f" || coalesce((SELECT string_agg(c::text, E'\\n' ORDER BY c.ticket_id, c.id)"
        f" FROM {schema}.comments c), ''))")
    row = await cursor.fetchone()
    assert row is not None
    return str(row[0])
