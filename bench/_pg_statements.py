"""Where PostgreSQL's CPU goes under a benchmark, per command: by client (each backend's CPU from /proc,
its client found by the TCP port of its connection), by statement (pg_stat_statements) and by table
(pg_stat_user_tables: rows written, how many updates were HOT, scans).

The server needs ``SETTINGS`` at start (``stack(pg_settings=...)``); ``Statements`` is entered around
the measured step. A statement's time is the server's wall time in it (waits and the machine's other
load included): a ranking, not CPU; the CPU is the backends'.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg

from _support import _descendants

SETTINGS = {"shared_preload_libraries": "pg_stat_statements", "pg_stat_statements.track_planning": "on",
            "pg_stat_statements.max": "2000"}
_TICK = os.sysconf("SC_CLK_TCK")
_TABLE_COLUMNS = ("n_tup_ins", "n_tup_upd", "n_tup_hot_upd", "n_tup_del", "seq_scan", "idx_scan")
_SCHEMA = re.compile(r"\b(intake|query\w*|sla|notify|directory|portal)\"?\.")


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _local_ports(pid: int) -> set[int]:
    """The local TCP ports of the sockets that a process and its descendants hold."""
    inodes = set()
    for current in (pid, *_descendants(pid)):
        with contextlib.suppress(OSError):
            for fd in os.scandir(f"/proc/{current}/fd"):
                with contextlib.suppress(OSError):
                    if (link := os.readlink(fd.path)).startswith("socket:["):
                        inodes.add(link[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _schema(query: str) -> str:
    """The first schema a statement names ("-": none, as BEGIN and COMMIT)."""
    return m.group(1) if (m := _SCHEMA.search(query)) else "-"


class Statements:
    """Snapshots at ``__enter__`` and ``__exit__``; ``report(commands)`` prints the differences."""

    def __init__(self, database_url: str, clients: dict[str, int]) -> None:
        self.url, self.clients = database_url, clients  # client name → pid (0: this process)

    def __enter__(self) -> Statements:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            conn.execute("SELECT pg_stat_statements_reset()")
            self._tables = self._table_counts(conn)
            self._backends = self._backend_cpu(conn)
        return self

    def __exit__(self, *exc: object) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            backends = self._backend_cpu(conn)
            tables = self._table_counts(conn)
            self.statements = conn.execute(
                "SELECT query, calls, total_exec_time, total_plan_time, rows FROM pg_stat_statements"
                " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " ORDER BY total_exec_time + total_plan_time DESC").fetchall()
        self.by_client: Counter[str] = Counter()
        for pid, (owner, cpu) in backends.items():
            self.by_client[owner] += cpu - self._backends.get(pid, (owner, 0.0))[1]
        self.tables = {name: [a - b for a, b in zip(now, self._tables.get(name, (0,) * len(now)), strict=True)]
                       for name, now in tables.items()}

    def _backend_cpu(self, conn: psycopg.Connection[Any]) -> dict[int, tuple[str, float]]:
        """Each PostgreSQL process: (its client's name, or its kind; CPU seconds so far)."""
        owners = {port: name for name, pid in self.clients.items() for port in _local_ports(pid or os.getpid())}
        rows = conn.execute("SELECT pid, client_port, backend_type FROM pg_stat_activity").fetchall()
        return {pid: (owners.get(port, "unknown client") if kind == "client backend" else kind, _cpu(pid))
                for pid, port, kind in rows}

    @staticmethod
    def _table_counts(conn: psycopg.Connection[Any]) -> dict[str, tuple[int, ...]]:
        rows = conn.execute(f"SELECT schemaname || '.' || relname, {', '.join(f'coalesce({c}, 0)' for c in _TABLE_COLUMNS)}"
                            " FROM pg_stat_user_tables").fetchall()
        return {r[0]: tuple(int(v) for v in r[1:]) for r in rows}

    def report(self, commands: int, top: int = 12, width: int = 150) -> None:
        per = 1000 / max(1, commands)
        total = sum(self.by_client.values())
        print(f"  PostgreSQL backends' CPU by client, ms per command (together {total * per:.2f}; the postmaster's"
              " other processes and ended backends are not in it): " + "; ".join(
                  f"{name} {seconds * per:.2f}" for name, seconds in self.by_client.most_common() if seconds > 0))
        schemas: dict[str, list[float]] = {}
        for query, calls, exec_ms, plan_ms, _ in self.statements:
            sums = schemas.setdefault(_schema(query), [0, 0.0, 0.0])
            sums[0], sums[1], sums[2] = sums[0] + calls, sums[1] + exec_ms, sums[2] + plan_ms
        print("  statements by the schema they name, per command: calls, ms exec + plan: " + "; ".join(
            f"{name} {calls / commands:.2f}, {exec_ms / commands:.3f} + {plan_ms / commands:.3f}"
            for name, (calls, exec_ms, plan_ms) in sorted(schemas.items(), key=lambda item: -item[1][1])))
        print(f"  top {top} statements by server time (pg_stat_statements), per command: calls, ms exec + plan, rows:")
        for query, calls, exec_ms, plan_ms, rows in self.statements[:top]:
            print(f"    {calls / commands:6.2f} {exec_ms / commands:6.3f} + {plan_ms / commands:5.3f}"
                  f" {rows / commands:7.2f}  [{_schema(query)}] {' '.join(query.split())[:width]}")
        print("  tables, per command: inserted, updated (HOT), deleted rows; seq scans, index scans:")
        busy = sorted(self.tables.items(), key=lambda item: -sum(item[1][:4]) - sum(item[1][4:]) / 10)
        for name, (ins, upd, hot, dele, seq, idx) in busy[:20]:
            if ins or upd or dele:
                print(f"    {name:32s} {ins / commands:5.2f} {upd / commands:5.2f} ({hot / commands:5.2f})"
                      f" {dele / commands:5.2f}; {seq / commands:6.2f} {idx / commands:7.2f}")
