"""The rebuild's bulk write: folded rows into a new generation's empty tables by binary COPY.

Binary COPY sends each value in PostgreSQL's own representation (no text to parse, no JSON
to unpack row by row: ``write_views``' ``json_populate_recordset`` was most of the
database's time in a rebuild). Each ``CopyPipe`` is one COPY on a connection of its own, fed
chunks of rows from a thread of its own while the rebuild is still making the next ones: the
comments (final once folded) go while the stream is still being read and folded, so
PostgreSQL stores them on the other core meanwhile; the tickets (final only at the end of
the stream) go at the end, in two halves over two pipes at once. A pipe holds at most
``depth`` chunks: when PostgreSQL falls behind, ``put`` waits (memory stays bounded).

``synchronous_commit`` is off for these sessions only: their commits do not wait for
the WAL flush. Nothing can be lost that matters: the generation is nobody's until the
switch, which commits synchronously on another connection and so flushes the WAL behind
these commits first (WAL is written in order); a crash before it leaves the old generation
active and the new one to be dropped by the next rebuild.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from typing import Any

import msgspec
import psycopg
from psycopg.adapt import Dumper
from psycopg.postgres import types as pg_types
from psycopg.pq import Format

_encode = msgspec.json.Encoder().encode
_DONE, _ABORT = object(), object()


class _JsonbBinary(Dumper):
    """A jsonb value in binary COPY: the format's version byte, then msgspec's JSON of the Python
    object (one call per value, where psycopg's own dumper makes three)."""

    format = Format.BINARY
    oid = pg_types["jsonb"].oid

    def dump(self, obj: Any) -> bytes:
        return b"\x01" + _encode(obj)


class _Aborted(Exception):
    """Raised inside the COPY so that PostgreSQL discards it and the session rolls back."""


class CopyPipe:
    """A binary COPY into ``table`` (values in ``columns`` order; jsonb values are Python objects
    msgspec encodes), fed chunk by chunk from any thread and run in a thread of its own."""

    def __init__(self, conninfo: str, table: str, columns: Sequence[str], depth: int = 4) -> None:
        self._chunks: queue.Queue[Any] = queue.Queue(depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(conninfo, table, columns), daemon=True,
                                        name=f"rebuild-copy-{table}")
        self._thread.start()

    def put(self, rows: Sequence[Sequence[Any]]) -> None:
        """Queue ``rows`` for the COPY; waits while ``depth`` chunks are queued; raises what the COPY raised."""
        while True:
            if self._error is not None:
                raise RuntimeError(f"the COPY failed: {self._error}") from self._error
            try:
                self._chunks.put(rows, timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """Finish and commit the COPY (every chunk queued is written first); raises what the COPY raised."""
        self.put(_DONE)  # type: ignore[arg-type]
        self._thread.join()
        if self._error is not None:
            raise RuntimeError(f"the COPY failed: {self._error}") from self._error

    def abort(self, wait: float = 5.0) -> None:
        """Discard the COPY (its session rolls back), waiting up to ``wait`` seconds for it to end."""
        while True:
            try:
                self._chunks.get_nowait()  # room for the word, and nothing more to write
            except queue.Empty:
                break
        try:
            self._chunks.put_nowait(_ABORT)
        except queue.Full:
            pass  # the thread is taking chunks again: the next get ends it
        self._thread.join(wait)

    def _run(self, conninfo: str, table: str, columns: Sequence[str]) -> None:
        try:
            with psycopg.connect(conninfo) as conn:
                conn.adapters.register_dumper(None, _JsonbBinary)  # what set_types picks for jsonb columns
                conn.execute("SET synchronous_commit = off")  # this session only: see the module's docstring
                types = _types(conn, table, columns)
                with (conn.cursor() as cur,
                      cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy):
                    copy.set_types(types)
                    write = copy.write_row
                    while (rows := self._chunks.get()) is not _DONE:
                        if rows is _ABORT:
                            raise _Aborted
                        for row in rows:
                            write(row)
        except _Aborted:
            pass
        except BaseException as e:  # noqa: BLE001 - handed to the thread that puts or closes
            self._error = e
            while True:  # unblock a put waiting for room
                try:
                    self._chunks.get_nowait()
                except queue.Empty:
                    break


def _types(conn: psycopg.Connection[Any], table: str, columns: Sequence[str]) -> list[int]:
    """The type oids of ``columns`` of ``table``, as the catalogue has them (binary COPY needs them exactly)."""
    found = dict(conn.execute("SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass"
                              " AND attnum > 0 AND NOT attisdropped", (table,)).fetchall())
    return [found[c] for c in columns]
