"""Benchmark of ``helpdesk-query rebuild``: replay rate next to a raw sequential read of the same data.

Runs its own embedded PostgreSQL and NATS, publishes synthetic ticket histories straight to the
HELPDESK stream (as the relay would; 100,000 tickets ≈ 300,000 events by default), then:
1. raw: a sequential read of the whole stream through the rebuild's own reader (no decoding,
   no writing), wall and per CPU-second: the ceiling;
2. rebuild: read + fold + write into a new generation (the figure of issue #16's target 4),
   then indexes, catch-up and switch; its phases, events/s, events per CPU-second of the
   rebuilding process, its peak RSS and PostgreSQL's CPU over the rebuild are printed.

``--trees A B``: the rebuild runs with each worktree's code in turn (A, B, A, B, … ``--rounds``
times), over the same stream and database, each in a fresh process: an A/B on one machine.
``--profile DIR``: py-spy samples the rebuilding process (collapsed stacks; top entries printed).

Usage: python bench/replay.py [--tickets 100000] [--rounds 1] [--trees A B] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# the code measured: this tree's, or (a child of --trees) the tree named by BENCH_TREE
CODE = Path(os.environ.get("BENCH_TREE", ROOT))
for part in ("shared", "services/query", "devstack"):
    sys.path.insert(0, str(CODE / part))
sys.path.insert(0, str(ROOT))  # bench/ and tests/ of this tree


def _child(nats_url: str, database_url: str) -> None:
    """One rebuild with the code of ``CODE``; its figures as one JSON line on stdout."""
    import nats

    from helpdesk_query.adapters.eventstore import EventStream
    from helpdesk_query.entrypoints.rebuild import rebuild

    async def run() -> dict[str, Any]:
        nc = await nats.connect(nats_url)
        try:
            done = await rebuild(database_url, EventStream(nc), progress=False)
        finally:
            await nc.close()
        return {"events": done.events, "replay_s": done.replay_seconds, "replay_cpu_s": done.replay_cpu_seconds,
                "total_s": done.total_seconds, "phases": getattr(done, "phases", {}),
                "peak_rss_mb": _peak_rss_mb()}

    print(f"rebuilding with {sys.modules['helpdesk_query'].__file__}", file=sys.stderr)
    print(json.dumps(asyncio.run(run())), flush=True)


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM: ``ru_maxrss`` would count the bench's own, kept over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _seed(nats_url: str, tickets: int) -> int:
    import nats

    from tests.query.synthetic import histories, publish

    nc = await nats.connect(nats_url)
    try:
        events = list(histories(tickets=tickets, events_per_ticket=3, customers=50, seed=1, start_position=10_000_000))
        await publish(nc.jetstream(), events, window=5000)
    finally:
        await nc.close()
    return len(events)


async def _raw(nats_url: str) -> tuple[int, float, float]:
    """The stream read through the rebuild's reader, nothing else: messages, seconds, CPU seconds."""
    import nats

    from helpdesk_query.adapters.eventstore import EventStream

    nc = await nats.connect(nats_url)
    try:
        t0, cpu = time.perf_counter(), time.process_time()
        count = 0
        async with EventStream(nc).bulk_reader() as reader:
            async for batch in reader.batches(batch=5000):
                count += len(batch)
        return count, time.perf_counter() - t0, time.process_time() - cpu
    finally:
        await nc.close()


def _rebuild(tree: Path, nats_url: str, database_url: str, pg_pid: int, profile: Path | None,
             label: str) -> dict[str, Any]:
    from bench._profile import cpu_of, sampled, top

    python = tree / ".venv/bin/python"
    env = {**os.environ, "BENCH_TREE": str(tree)}
    before = cpu_of({"pg": pg_pid})["pg"]
    child = subprocess.Popen([str(python if python.exists() else sys.executable), __file__, "--child",
                              nats_url, database_url], env=env, stdout=subprocess.PIPE)
    with sampled({label: child.pid}, profile, None):
        out, _ = child.communicate()
    if child.returncode:
        raise SystemExit(f"the rebuild with {tree} failed ({child.returncode})")
    result = json.loads(out.decode().strip().splitlines()[-1])
    result["pg_cpu_s"] = cpu_of({"pg": pg_pid})["pg"] - before
    if profile is not None:
        print("\n".join(top(profile / f"{label}.txt", 20)))
    return result


def _print(label: str, r: dict[str, Any], raw: tuple[int, float, float]) -> None:
    events, (count, seconds, cpu) = r["events"], raw
    phases = "; ".join(f"{name} {s:.2f} s" for name, s in r["phases"].items())
    print(f"{label}: replay (read+fold+write) {events / r['replay_s']:,.0f} events/s over {events:,}"
          f" ({events / r['replay_cpu_s']:,.0f} per CPU-second, {r['replay_cpu_s'] / events * 1e6:.1f} µs CPU"
          f" per event); raw sequential read {count / seconds:,.0f}/s ({count / cpu:,.0f} per CPU-second);"
          f" ratio {events / r['replay_s'] / (count / seconds):.2f}; PostgreSQL {r['pg_cpu_s']:.2f} CPU-s over the"
          f" whole rebuild; whole rebuild {r['total_s']:.1f} s; peak RSS {r['peak_rss_mb']:,.0f} MB"
          + (f"\n  phases: {phases}" if phases else ""))
    print(f"  target: replay ≥ 60,000 events/s over ≥ 300,000 events — measured {events / r['replay_s']:,.0f}/s"
          f" over {events:,}; ceiling (raw stream read) {count / seconds:,.0f}/s")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets seeded (about 3 events each)")
    parser.add_argument("--rounds", type=int, default=1, help="rebuilds per tree")
    parser.add_argument("--trees", nargs="+", type=Path, help="worktrees whose code rebuilds, in turn")
    parser.add_argument("--profile", type=Path, help="py-spy the rebuilding process (collapsed stacks here)")
    args = parser.parse_args()
    from helpdesk_devstack import EmbeddedNats, EmbeddedPostgres, free_port

    from helpdesk_shared.migrations_cli import migrate_all

    trees = [t.resolve() for t in args.trees or [ROOT]]
    root = Path(tempfile.mkdtemp(prefix="helpdesk-bench-replay-"))
    try:
        with (EmbeddedPostgres(root / "pg", free_port(), fast=True) as pg,
              EmbeddedNats(root / "nats", free_port()) as ns):
            migrate_all(pg.url, "helpdesk_app")
            seeded = asyncio.run(_seed(ns.url, args.tickets))
            print(f"seeded {seeded:,} events of {args.tickets:,} tickets")
            for round_ in range(args.rounds):
                for i, tree in enumerate(trees):
                    raw = asyncio.run(_raw(ns.url))
                    label = f"round {round_ + 1} {chr(65 + i)} {tree}"
                    _print(label, _rebuild(tree, ns.url, pg.url, pg.pid, args.profile, f"rebuild-{chr(65 + i)}"), raw)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
