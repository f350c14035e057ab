"""The rebuild's bulk write: folded rows into a new generation's empty tables by binary COPY.

Binary COPY sends each value in PostgreSQL's own representation (no text to parse, no JSON
to unpack row by row: ``write_views``' ``json_populate_recordset`` was most of the
database's time in a rebuild). The tickets go over one connection and the comments over
another, each in a thread of its own, so PostgreSQL fills both tables on two cores while
this process formats the rows (psycopg's C formatter).

``synchronous_commit`` is off for these two sessions only: their commits do not wait for
the WAL flush. Nothing can be lost that matters: the generation is nobody's until the
switch, which commits synchronously on another connection and so flushes the WAL behind
these commits first (WAL is written in order); a crash before it leaves the old generation
active and the new one to be dropped by the next rebuild.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Sequence
from typing import Any

import msgspec
import psycopg
from psycopg.types.json import set_json_dumps

from helpdesk_query.adapters.schema import COMMENT_COLUMNS, TICKET_COLUMNS

_json = msgspec.json.Encoder()


def copy_rows(conninfo: str, generation: str, tickets: Sequence[Sequence[Any]],
              comments: Sequence[Sequence[Any]]) -> None:
    """COPY ``tickets`` (values in ``TICKET_COLUMNS`` order) and ``comments`` (``COMMENT_COLUMNS``)
    into ``generation``, the two tables at once; jsonb values are Python objects msgspec encodes."""
    with concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="rebuild-copy") as pool:
        done = [pool.submit(_copy, conninfo, f"{generation}.tickets", TICKET_COLUMNS, tickets),
                pool.submit(_copy, conninfo, f"{generation}.comments", COMMENT_COLUMNS, comments)]
        for future in done:
            future.result()


def _copy(conninfo: str, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with psycopg.connect(conninfo) as conn:
        set_json_dumps(_json.encode, context=conn)
        conn.execute("SET synchronous_commit = off")  # this session only: see the module's docstring
        types = _types(conn, table, columns)
        with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)


def _types(conn: psycopg.Connection[Any], table: str, columns: Sequence[str]) -> list[int]:
    """The type oids of ``columns`` of ``table``, as the catalogue has them (binary COPY needs them exactly)."""
    found = dict(conn.execute("SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass"
                              " AND attnum > 0 AND NOT attisdropped", (table,)).fetchall())
    return [found[c] for c in columns]
