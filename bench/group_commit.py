"""intake's group commit alone: CPU and voluntary context switches per commit, lone and from 16 threads.

A new ticket's events committed through ``GroupCommitter`` on an embedded PostgreSQL, first
one commit at a time from one thread (the open loop's case: each command saved alone), then
from 16 threads at once (the closed loop's: batches). A voluntary switch is a thread that
blocked: a wait for PostgreSQL, or a hand-off to another thread and back. Neighbours on a
shared machine change the CPU figures; they barely change the switches.

    .venv/bin/python bench/group_commit.py [--commits 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
THREADS = 16
NOW = dt.datetime(2026, 1, 12, 9, tzinfo=dt.UTC)


def ticket_events() -> list[Any]:
    from helpdesk_intake.domain.base import Context
    from helpdesk_intake.domain.rules import PermissiveRules
    from helpdesk_intake.domain.ticket import Ticket
    from helpdesk_shared.vocabulary import Role

    ticket = Ticket.open(Context("u", Role.AGENT, NOW), PermissiveRules(), id=uuid.uuid4(), number="HD-1",
                         customer_id="c", requester_id=None, subject="s", description="d", channel="email",
                         category=None, priority="normal", service=None, policy=None)
    return ticket.collect_events()


def committed(committer: Any, threads: int, commits: int) -> str:
    """``commits`` commits spread over ``threads`` threads: CPU and voluntary switches per commit, rate."""
    work = [[ticket_events() for _ in range(commits // threads)] for _ in range(threads)]
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    running = [threading.Thread(target=lambda mine=mine: [committer.commit(events) for events in mine])
               for mine in work]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    after, done = resource.getrusage(resource.RUSAGE_SELF), sum(len(mine) for mine in work)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return (f"{1e6 * cpu / done:5.0f} µs CPU/commit, {(after.ru_nvcsw - before.ru_nvcsw) / done:4.2f}"
            f" voluntary switches/commit, {done / (time.perf_counter() - started):5.0f} commits/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from helpdesk_devstack import EmbeddedPostgres, free_port
    from helpdesk_intake.adapters.committer import GroupCommitter
    from helpdesk_intake.adapters.eventstore import open_event_store
    from helpdesk_shared.migrations_cli import migrate_all

    with tempfile.TemporaryDirectory(prefix="helpdesk-bench-") as tmp, \
            EmbeddedPostgres(Path(tmp) / "pg", free_port()) as pg:
        migrate_all(pg.url, "helpdesk_app")
        store = open_event_store(pg.url, pool_size=4)
        try:
            committer = GroupCommitter(store)
            committed(committer, 1, 200)  # warm: connections, caches
            for _ in range(args.rounds):
                print(f"lone commits, 1 thread: {committed(committer, 1, args.commits)}")
                print(f"{THREADS} threads at once:   {committed(committer, THREADS, args.commits)}")
        finally:
            store.close()


if __name__ == "__main__":
    main()
