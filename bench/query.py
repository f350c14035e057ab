"""Benchmark of the query service: replay rate, visibility latency, list latency at 100,000 tickets.

Runs its own embedded PostgreSQL and NATS, intake (serve + relay) and query as processes:
by default as in production, ``serve`` reading only (HELPDESK_RUN_PROJECTOR=false) beside
``project`` (the projectors in their own process); ``--projector in-serve`` measures the
single-process shape (``serve`` projects too). The shape is printed. Phases:
1. visibility: commands at 200/s through intake, from one asyncio loop (a lean client: on 2 cores
   a thread pool of sync clients measured mostly itself); each answer's Helpdesk-Position is
   read back from query with Helpdesk-Min-Position; latency = answer → visible, split into its
   stages (bench/_pipeline.py: answered → published → committed → read), beside the servers'
   own request histograms (bench/_server_time.py) and every process's CPU, this client's too.
   Every ``--floor-every``-th command's ticket is read again without a position: the floor.
2. load: 100,000 synthetic tickets (about 300,000 events) are published straight to the
   HELPDESK stream, as the relay would (intake at this volume would take too long), encoded before
   the clock starts and published with one reply subject for every acknowledgement (``publish``: the
   publisher is a load generator, and ``publish_async``'s 54-59 µs CPU per event was a core's share
   taken from the processes measured; the stream, the messages and their acknowledgements are the same);
   the live projector catches up (its rate is printed too, and the CPU time per event of the
   process that projects, of PostgreSQL, of NATS and of this bench's publisher: the cores the
   phase needs, beside the 2 the machine has; ``--profile`` samples the projector here too).
3. replay: ``rebuild`` into a new generation, next to a raw sequential read of the same
   stream through the rebuild's own reader (wall and per CPU-second) and of intake's events table.
4. list latency: a mix of filtered list queries over HTTP.

Usage: python bench/query.py [--tickets 100000] [--seconds 10] [--projector process|in-serve] [--load-only]
                             [--visibility-only] [--floor-every 10]
"""

from __future__ import annotations

import sys
from pathlib import Path


import argparse
import asyncio
import bisect
import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for part in ("shared", "services/intake", "services/query", "devstack", "."):
    sys.path.insert(0, str(ROOT / part))

import httpx  # noqa: E402
import nats  # noqa: E402
import psycopg  # noqa: E402
from helpdesk_devstack import EmbeddedNats, EmbeddedPostgres, free_port  # noqa: E402

from helpdesk_shared.migrations_cli import migrate_all  # noqa: E402

from helpdesk_query.adapters.eventstore import EventStream  # noqa: E402
from helpdesk_query.entrypoints.rebuild import rebuild  # noqa: E402
from helpdesk_shared.stream import ensure_stream  # noqa: E402
from tests.query.synthetic import histories, message  # noqa: E402
from bench import _server_time  # noqa: E402
from bench._pipeline import STAGES, Pipeline  # noqa: E402
from bench._profile import cpu_of, machine_busy, sampled, top  # noqa: E402
from bench._support import Connection, once_more, percentile  # noqa: E402

ADMIN = "bench-admin"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
POOL = 64  # commands in flight at most, each with its read-back: the old client's 64 threads


def start(module: str, command: str, env: dict[str, str], port: int | None, log_dir: Path) -> subprocess.Popen:
    log = open(log_dir / f"{module}-{command}.log", "ab")  # noqa: SIM115 - lives with the process
    process = subprocess.Popen([sys.executable, "-m", module, command], env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while port and time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return process


async def visibility(intake: str, query: str, rate: int, seconds: int, floor_every: int) -> Visibility:
    """Commands at ``rate`` from one asyncio loop, each answer read back with Helpdesk-Min-Position.

    Every ``floor_every``-th command's ticket is read once more without a position (the floor):
    a plain read per command would be load that is no part of visibility.
    """
    setup = httpx.Client(timeout=10)
    customer = setup.post(f"{intake}/v1/customers", headers=AUTH,
                          json={"name": "Bench", "email": "b@bench.test", "policy": "medis"}).json()["id"]
    requester = setup.post(f"{intake}/v1/customers/{customer}/users", headers=AUTH, json={
        "name": "Bench", "email": "u@bench.test", "login": "bench-visibility", "password": "bench-password"}
    ).json()["id"]  # TEL-7: a staff-filed request names its requester
    tickets = [setup.post(f"{intake}/v1/tickets", headers=AUTH,
                          json={"subject": f"bench {i}", "description": "visibility", "customer_id": customer,
                                "requester_id": requester}).json()["id"] for i in range(50)]
    setup.close()
    run = Visibility()
    pairs = _pairs(intake, query)

    async def one(i: int, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        ticket = f"/v1/tickets/{tickets[i % 50]}"
        async with _borrowed(pairs) as (to_intake, to_query):  # as a thread of the old pool took the command
            sent = time.perf_counter()
            status, headers, _ = await once_more(to_intake, "POST", f"{ticket}/comments", {"body": f"comment {i}"},
                                                 AUTH)
            answered, answered_wall = time.perf_counter(), time.time()
            if status != 201:
                run.errors[f"command {status}"] += 1
                return
            position = headers["helpdesk-position"]
            status, _, _ = await once_more(to_query, "GET", ticket, None, {**AUTH, "Helpdesk-Min-Position": position})
            read = time.perf_counter()
            if status != 200:  # an overloaded server's 503 or 504: counted, not timed
                run.errors[f"read {status}"] += 1
                return
            run.reads.append((int(position), answered_wall, answered_wall + (read - answered)))
            run.seen.append((read - answered) * 1000)
            run.commands.append((answered - sent) * 1000)
            if i % floor_every == 0:
                started = time.perf_counter()
                await once_more(to_query, "GET", ticket, None, AUTH)
                run.plain.append((time.perf_counter() - started) * 1000)

    begin = time.perf_counter() + 0.2
    await asyncio.gather(*(one(i, begin + i / rate) for i in range(rate * seconds)))
    while not pairs.empty():
        for conn in pairs.get_nowait():
            conn.close()
    return run


@dataclass
class Visibility:
    """One visibility run, milliseconds: answer → visible, the commands, the plain reads, the stages."""

    seen: list[float] = field(default_factory=list)
    commands: list[float] = field(default_factory=list)
    plain: list[float] = field(default_factory=list)  # a read without a position to wait for: the floor
    reads: list[tuple[int, float, float]] = field(default_factory=list)  # (position, answered, read), wall clock
    stages: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)  # answers that were not a success, by status


def _pairs(intake: str, query: str) -> asyncio.Queue[tuple[Connection, Connection]]:
    """A keep-alive connection to intake and one to query for each command in flight (at most ``POOL``)."""
    pairs: asyncio.Queue[tuple[Connection, Connection]] = asyncio.Queue()
    for _ in range(POOL):
        pairs.put_nowait(tuple(Connection(*_host_port(url)) for url in (intake, query)))  # type: ignore[arg-type]
    return pairs


def _host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


@contextlib.asynccontextmanager
async def _borrowed(pool: asyncio.Queue[Any]) -> AsyncIterator[Any]:
    conn = await pool.get()
    try:
        yield conn
    finally:
        pool.put_nowait(conn)




async def load_and_replay(nats_url: str, database_url: str, tickets: int, watched: dict[str, int],
                          projecting: str, profile: Path | None, replay: bool = True) -> dict[str, Any]:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    stream = EventStream(nc)
    events = list(histories(tickets=tickets, events_per_ticket=3, customers=50, seed=1,
                            start_position=10_000_000))
    messages = [message(event) for event in events]  # encoded before the clock starts, as the relay's are
    with sampled(loading := {"load-" + projecting.replace(" ", "-"): watched[projecting]}, profile, None):
        cpu0, busy0 = cpu_of(watched), machine_busy()
        t0 = time.perf_counter()
        await publish(nc, js, messages, window=5000)
        published = time.perf_counter() - t0
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            behind = None  # events still to apply when the publishing ended
            while True:  # the live projector (in query serve) catches up
                row = await (await conn.execute("SELECT position FROM query.tracking")).fetchone()
                if behind is None:
                    behind = len(events) - bisect.bisect_right([e.sequence for e in events], row[0])
                if row[0] >= events[-1].sequence:
                    break
                await asyncio.sleep(0.05)
        live = time.perf_counter() - t0
        cpu = {name: used - cpu0[name] for name, used in cpu_of(watched).items()}
        busy = machine_busy() - busy0
    for name in loading if profile else ():
        print("\n".join(top(profile / f"{name}.txt")))
    result: dict[str, Any] = {"events": len(events), "published_per_s": len(events) / published,
                              "live_s": live, "live_per_s": len(events) / live,
                              "alone_per_s": behind / max(live - published, 1e-9), "behind": behind,
                              "live_per_cpu_s": len(events) / cpu[projecting],
                              "live_cpu_us_per_event": cpu[projecting] / len(events) * 1e6,
                              "load_cpu": cpu, "machine_busy_s": busy}
    if replay:
        result.update(await _replay(nats_url, stream, database_url))
    await nc.close()
    return result


async def publish(nc: Any, js: Any, messages: list[tuple[str, bytes, dict[str, str]]], window: int) -> None:
    """Publish the encoded ``messages`` in order, as the relay would: each with its ``Nats-Msg-Id``,
    each acknowledged by JetStream, ``window`` at a time (all of a window's acknowledgements are
    awaited before the next one is sent). A load generator, so as lean as it can be: every
    acknowledgement comes to one reply subject and is counted (an error raises), where
    ``publish_async`` made a token, a future, a semaphore and a callback per message (its 54-59 µs
    CPU per event took a core's share from the processes under measurement)."""
    await ensure_stream(js)
    reply, failed, acked, window_acked = nc.new_inbox(), [], [0], asyncio.Event()
    expected = [0]

    async def counted(msg: Any) -> None:
        if b'"error"' in msg.data or msg.headers:  # a failed store, or "no responders"
            failed.append(msg.data or str(msg.headers))
        acked[0] += 1
        if acked[0] == expected[0]:
            window_acked.set()

    sub = await nc.subscribe(reply, cb=counted, pending_msgs_limit=2 * window)
    try:
        for i in range(0, len(messages), window):
            part = messages[i:i + window]
            window_acked.clear()
            expected[0] += len(part)
            for subject, payload, headers in part:
                await nc.publish(subject, payload, reply=reply, headers=headers)
            await window_acked.wait()
            if failed:
                raise RuntimeError(f"JetStream refused {len(failed)} messages: {failed[0]!r}")
    finally:
        await sub.unsubscribe()


async def _replay(nats_url: str, stream: EventStream, database_url: str) -> dict[str, float]:
    # raw sequential read of the same stream through the rebuild's own reader, no decoding or writing
    t0, cpu = time.perf_counter(), time.process_time()
    raw = 0
    async with stream.bulk_reader() as reader:
        async for batch in reader.batches(batch=5000):
            raw += len(batch)
    raw_stream, raw_stream_cpu = raw / (time.perf_counter() - t0), raw / (time.process_time() - cpu)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        t0 = time.perf_counter()
        rows = 0
        async with conn.cursor(name="raw") as cur:
            await cur.execute("SELECT * FROM intake.intake_events ORDER BY notification_id")
            while batch := await cur.fetchmany(5000):
                rows += len(batch)
        raw_table = rows / (time.perf_counter() - t0)
    done = await rebuild(database_url, stream, progress=True)
    return {"replayed": done.events,
            "replay_per_s": done.events / done.replay_seconds, "replay_per_cpu_s": done.events / done.replay_cpu_seconds,
            "rebuild_total_s": done.total_seconds, "raw_stream_per_s": raw_stream, "raw_stream_per_cpu_s": raw_stream_cpu,
            "raw_table_rows": rows, "raw_table_per_s": raw_table}


def print_load(r: dict[str, Any], projecting: str) -> None:
    """The load phase: the live rate, and each process's CPU per event (what the rate would need in cores)."""
    events, cpu = r["events"], r["load_cpu"]
    print(f"load: {events:,.0f} events published at {r['published_per_s']:,.0f}/s;"
          f" live projector kept up at {r['live_per_s']:,.0f} events/s"
          f" ({r['live_per_cpu_s']:,.0f} events per CPU-second of {projecting},"
          f" {r['live_cpu_us_per_event']:.0f} µs CPU per event); once the publishing ended, it applied the"
          f" {r['behind']:,} it was behind at {r['alone_per_s']:,.0f} events/s")
    ours = sum(cpu.values())
    r["cpu_ceiling"] = 2 * events / ours
    print("  CPU per event during the load phase: "
          + "; ".join(f"{name} {used / events * 1e6:.0f} µs ({used:.1f} s)" for name, used in cpu.items())
          + f"; together {ours / events * 1e6:.0f} µs per event = {events / ours:,.0f} events per CPU-second"
          f" → at most {2 * events / ours:,.0f} events/s on 2 cores")
    print(f"  cores busy over the phase's {r['live_s']:.1f} s: ours {ours / r['live_s']:.2f},"
          f" the whole machine {r['machine_busy_s'] / r['live_s']:.2f} (other users included)")


def list_latency(query: str, rounds: int) -> dict[str, tuple[float, float]]:
    client = httpx.Client(base_url=query, headers=AUTH, timeout=10)
    page2 = client.get("/v1/tickets", params={"status": "in_progress", "order": "queue"}).json()["next_cursor"]
    cases = {
        "newest": {}, "queue": {"order": "queue"},
        "status+queue": {"status": "new", "order": "queue"},
        "priority+status": {"priority": "urgent", "status": "in_progress"},
        "customer": {"customer_id": "cust-7"}, "customer+queue": {"customer_id": "cust-7", "order": "queue"},
        "assignee": {"assignee_id": "agent-2"}, "q=принтер": {"q": "принтер"}, "q=printer": {"q": "printer"},
        "cursor page 2": {"status": "in_progress", "order": "queue", "cursor": page2},
    }
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, params in cases.items():
            t0 = time.perf_counter()
            answer = client.get("/v1/tickets", params=params)
            results[name].append((time.perf_counter() - t0) * 1000)
            assert answer.status_code == 200, answer.text
    everything = [v for values in results.values() for v in values]
    summary = {name: (percentile(v, 0.50), percentile(v, 0.99)) for name, v in results.items()}
    summary["ALL"] = (percentile(everything, 0.50), percentile(everything, 0.99))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--projector", choices=["process", "in-serve"], default="process",
                        help="process: `helpdesk-query project` beside a reading `serve` (production);"
                             " in-serve: `serve` projects too")
    parser.add_argument("--profile", type=Path, help="py-spy query's processes during the visibility phase"
                        " and the projecting one during the load phase (collapsed stacks into this folder;"
                        " top entries printed)")
    parser.add_argument("--floor-every", type=int, default=10, help="a plain read (no position to wait for:"
                        " the floor) after every N-th command's read-back (1: after each, as before)")
    parser.add_argument("--projector-batch", type=int, help="HELPDESK_PROJECTOR_BATCH for query (default: its own)")
    parser.add_argument("--visibility-only", action="store_true", help="only the visibility phase")
    parser.add_argument("--load-only", action="store_true", help="only the load phase (the live projector's"
                        " rate and the CPU per event of every process in it)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="helpdesk-bench-"))
    try:
        measure(args, root)
    finally:  # the database and the stream: gigabytes at 100,000 tickets
        shutil.rmtree(root, ignore_errors=True)


def measure_visibility(args: argparse.Namespace, intake: str, query: str, urls: tuple[str, str],
                       watched: dict[str, int]) -> tuple[list[float], list[float]]:
    """Phase 1, printed: answer → visible at ``--rate``, its three stages, the servers' own request times,
    and every process's CPU meanwhile (this bench's client too)."""
    everyone = {"bench client": 0, **watched}
    cpu0, scraped = cpu_of(everyone), {name: _server_time.scrape(url) for name, url in (("intake", intake),
                                                                                         ("query", query))}
    profiled = {name.replace(" ", "-"): pid for name, pid in watched.items() if name.startswith("query")}
    with sampled(profiled, args.profile, args.seconds):
        run = asyncio.run(_followed(intake, query, urls, args))
    used = {name: cpu - cpu0[name] for name, cpu in cpu_of(everyone).items()}
    seen, plain = run.seen, run.plain
    print(f"visibility at {args.rate} commands/s for {args.seconds} s ({len(seen)} commands):"
          f" answer → read-model visible p50 {percentile(seen, 0.50):.1f} ms, p99 {percentile(seen, 0.99):.1f} ms"
          f"  (command itself p50 {percentile(run.commands, 0.50):.1f} ms, p99 {percentile(run.commands, 0.99):.1f} ms;"
          f" a plain read after every {args.floor_every}th command (--floor-every; {len(plain)} reads), p50 {percentile(plain, 0.50):.1f} ms,"
          f" p99 {percentile(plain, 0.99):.1f} ms)" + (f"; NOT ANSWERED: {dict(run.errors)}" if run.errors else ""))
    print("  stages (wall clock; " + f"{len(run.stages[STAGES[0]])} of {len(seen)} commands seen at every stage): "
          + "; ".join(f"{name} p50 {percentile(ms, 0.50):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms"
                      for name, ms in run.stages.items()))
    for name, url in (("intake", intake), ("query", query)):
        for route in _server_time.between(name, scraped[name], _server_time.scrape(url))[:3]:
            print("  " + route.line())
    print(f"  CPU over the {args.seconds} s: " + "; ".join(
        f"{name} {cpu:.2f} s ({cpu / args.seconds:.2f} cores, {cpu / (args.rate * args.seconds) * 1000:.2f} ms per command)"
        for name, cpu in used.items()))
    for name in profiled if args.profile else ():
        print("\n".join(top(args.profile / f"{name}.txt")))
    return seen, plain


async def _followed(intake: str, query: str, urls: tuple[str, str], args: argparse.Namespace) -> Visibility:
    async with Pipeline(*urls) as pipeline:
        run = await visibility(intake, query, args.rate, args.seconds, args.floor_every)
    run.stages = pipeline.stages(run.reads)
    return run


def print_replay(r: dict[str, Any]) -> None:
    print(f"replay (rebuild, read+fold+write): {r['replay_per_s']:,.0f} events/s"
          f" ({r['replay_per_cpu_s']:,.0f} events per CPU-second of the rebuilding process);"
          f" raw sequential read of the HELPDESK stream (the rebuild's reader): {r['raw_stream_per_s']:,.0f} msgs/s"
          f" ({r['raw_stream_per_cpu_s']:,.0f} per CPU-second); ratio {r['replay_per_s'] / r['raw_stream_per_s']:.2f}"
          f" (per CPU-second {r['replay_per_cpu_s'] / r['raw_stream_per_cpu_s']:.2f})")
    print(f"raw sequential read of intake.intake_events: {r['raw_table_per_s']:,.0f} rows/s"
          f" ({r['raw_table_rows']:,} rows); replay/raw-table ratio"
          f" {r['replay_per_s'] / r['raw_table_per_s']:.2f}; whole rebuild incl. indexes"
          f" {r['rebuild_total_s']:.1f} s")


def measure(args: argparse.Namespace, root: Path) -> None:
    with (EmbeddedPostgres(root / "pg", free_port(), fast=True) as pg,
          EmbeddedNats(root / "nats", free_port()) as ns):
        migrate_all(pg.url, "helpdesk_app")
        intake_port, query_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
        env.update(HELPDESK_DATABASE_URL=pg.url, HELPDESK_NATS_URL=ns.url, HELPDESK_ADMIN_TOKEN=ADMIN,
                   HELPDESK_JWT_KEYS_DIR=str(root / "jwt-keys"), HELPDESK_JWT_GENERATE_KEY="true",
                   HELPDESK_INTAKE_PORT=str(intake_port), HELPDESK_INTAKE_URL=f"http://127.0.0.1:{intake_port}",
                   HELPDESK_QUERY_PORT=str(query_port), PYTHONPATH=os.pathsep.join(sys.path))
        own_process = args.projector == "process"
        metrics_port = free_port()
        env.update(HELPDESK_RUN_PROJECTOR=str(not own_process).lower(),
                   HELPDESK_PROJECTOR_METRICS_PORT=str(metrics_port))
        if args.projector_batch:
            env["HELPDESK_PROJECTOR_BATCH"] = str(args.projector_batch)
        processes = [start("helpdesk_intake", "serve", env, intake_port, root),
                     start("helpdesk_intake", "relay", env, None, root),
                     start("helpdesk_query", "serve", env, query_port, root)]
        if own_process:  # ready once its /readyz (on the metrics port) answers
            processes.append(start("helpdesk_query", "project", env, metrics_port, root))
        print("shape: " + ("query serve (reads only, HELPDESK_RUN_PROJECTOR=false) + query project"
                           " (the projectors, own process) — as in production" if own_process
                           else "query serve with the projectors on its event loop (single process)"))
        try:
            intake, query = f"http://127.0.0.1:{intake_port}", f"http://127.0.0.1:{query_port}"
            watched = {"query serve": processes[2].pid}
            if own_process:
                watched["query project"] = processes[3].pid
            everyone = {**watched, "intake serve": processes[0].pid, "intake relay": processes[1].pid,
                        "PostgreSQL": pg.pid, "NATS": ns.pid}
            seen, plain = ([0.0], [1.0]) if args.load_only else measure_visibility(args, intake, query,
                                                                                    (ns.url, pg.url), everyone)
            if args.visibility_only:
                print(f"target: visibility p99 ≤ 100 ms at {args.rate}/s — measured {percentile(seen, 0.99):.0f} ms;"
                      f" floor (plain read p99) {percentile(plain, 0.99):.0f} ms")
                return
            projecting = "query project" if own_process else "query serve"
            r = asyncio.run(load_and_replay(ns.url, pg.url, args.tickets,
                                            {**watched, "PostgreSQL": pg.pid, "NATS": ns.pid, "bench publisher": 0},
                                            projecting, args.profile, replay=not args.load_only))
            print_load(r, projecting)
            if args.load_only:
                return
            print_replay(r)
            raw = r["raw_stream_per_s"]
            print(f"target: visibility p99 ≤ 100 ms at {args.rate}/s — measured {percentile(seen, 0.99):.0f} ms;"
                  f" floor (plain read p99) {percentile(plain, 0.99):.0f} ms; ratio {percentile(seen, 0.99) / percentile(plain, 0.99):.1f}")
            print(f"target: live projector ≥ 10,000 events/s — measured {r['live_per_s']:,.0f}/s;"
                  f" ceiling (raw stream read) {raw:,.0f}/s; ratio {r['live_per_s'] / raw:.2f};"
                  f" CPU ceiling (the load phase's CPU per event, every process, on 2 cores) {r['cpu_ceiling']:,.0f}/s,"
                  f" ratio {r['live_per_s'] / r['cpu_ceiling']:.2f}")
            print(f"target: replay ≥ 60,000 events/s over ≥ 300,000 events — measured {r['replay_per_s']:,.0f}/s"
                  f" over {r['replayed']:,.0f}; ceiling (raw stream read) {raw:,.0f}/s; ratio {r['replay_per_s'] / raw:.2f}")
            summary = list_latency(query, rounds=100)
            print(f"list latency over {args.tickets:,} tickets (HTTP, {100} rounds per query):")
            for name, (p50, p99) in summary.items():
                print(f"  {name:16s} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(10)


if __name__ == "__main__":
    main()
