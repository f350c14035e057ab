"""The rebuild's bulk write: folded rows into a new generation's empty tables by binary COPY.

Binary COPY sends each value in PostgreSQL's own representation (no text to parse, no JSON
to unpack row by row: ``write_views``' ``json_populate_recordset`` was most of the
database's time in a rebuild). Each COPY (``copying``) runs on a connection of its own, fed
from the event loop while the rebuild is still reading and folding: PostgreSQL stores the
rows on another core meanwhile, and when it falls behind the socket fills and the writer
waits (memory stays bounded). The comments (final once folded) go batch by batch during the
fold; the tickets (final only at the end of the stream) at the end, over two COPYs at once.
No threads: the formatting is this process's and the storing PostgreSQL's either way, and
a failure or cancellation inside ``copying`` ends the COPY with an error (nothing of it stays).

``synchronous_commit`` is off for these sessions only: their commits do not wait for
the WAL flush. Nothing can be lost that matters: the generation is nobody's until the
switch, which commits synchronously on another connection and so flushes the WAL behind
these commits first (WAL is written in order); a crash before it leaves the old generation
active and the new one to be dropped by the next rebuild.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import msgspec
import psycopg
from psycopg.adapt import Dumper
from psycopg.postgres import types as pg_types
from psycopg.pq import Format

_encode = msgspec.json.Encoder().encode


class _JsonbBinary(Dumper):
    """A jsonb value in binary COPY: the format's version byte, then msgspec's JSON of the Python
    object (one call per value, where psycopg's own dumper makes three)."""

    format = Format.BINARY
    oid = pg_types["jsonb"].oid

    def dump(self, obj: Any) -> bytes:
        return b"\x01" + _encode(obj)


@contextlib.asynccontextmanager
async def copying(conninfo: str, table: str, columns: Sequence[str]) -> AsyncIterator[psycopg.AsyncCopy]:
    """A binary COPY into ``table`` (values in ``columns`` order; jsonb values are Python objects
    msgspec encodes), committed when the block ends, discarded if it raises."""
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        conn.adapters.register_dumper(None, _JsonbBinary)  # what set_types picks for jsonb columns
        await conn.execute("SET synchronous_commit = off")  # this session only: see the module's docstring
        types = await _types(conn, table, columns)
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        async with conn.cursor() as cur, cur.copy(statement) as copy:
            copy.set_types(types)
            yield copy


async def write_rows(copy: psycopg.AsyncCopy, rows: Sequence[Sequence[Any]]) -> None:
    """``rows`` into the COPY (waits only while PostgreSQL is behind)."""
    write = copy.write_row
    for row in rows:
        await write(row)


async def _types(conn: psycopg.AsyncConnection[Any], table: str, columns: Sequence[str]) -> list[int]:
    """The type oids of ``columns`` of ``table``, as the catalogue has them (binary COPY needs them exactly)."""
    cursor = await conn.execute("SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass"
                                " AND attnum > 0 AND NOT attisdropped", (table,))
    found = dict(await cursor.fetchall())
    return [found[c] for c in columns]
