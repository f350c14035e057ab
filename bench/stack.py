"""The whole stack under load: the highest command rate at which every consumer keeps up.

Runs its own embedded PostgreSQL, NATS and SMTP catcher, and intake (serve + relay),
query, sla and notify as processes — query as in production: ``serve`` reading only beside
``project`` (its projectors in their own process); ``--projector in-serve`` runs the
single-process shape. The shape is printed. Then:
1. ceiling: intake's closed loop (bench/intake.py's command mix and client) with every
   consumer running — what the stack can be asked to do;
2. rates: an open loop at each rate of the ladder for ``--seconds``; every second the lag
   of every durable consumer of the HELPDESK stream (pending + unacknowledged) and the
   relay's (intake's newest position minus the stream's) is sampled. A rate is kept up when
   intake answered 95 % of it without errors and every lag stayed bounded: over the second
   half of the step it grew by less than 5 % of the rate per second and ended below five
   seconds' worth of commands. The ladder stops at the first rate not kept up;
3. visibility at ``--visibility-rate``: each command's answer is read back from query with
   its ``Helpdesk-Min-Position`` — the read waits for the read model and, the SLA service
   running, for the ticket's deadlines (the SLA block) — and every ``--floor-every``-th read
   next to a plain read of the same ticket (the floor: a plain read per command would be load
   that is no part of visibility, as in bench/query.py); the reads' time split into stages
   (bench/_pipeline.py: published, committed, SLA marked, SLA committed, read), the servers'
   own request times and every process's CPU, PostgreSQL's and NATS's included.

    .venv/bin/python bench/stack.py [--seconds 60] [--rates 100 200 300 400 500] [--projector process|in-serve]
                                    [--visibility-only] [--pg-statements]

``--pg-statements`` loads pg_stat_statements into the stack's PostgreSQL and prints, after the
visibility step, PostgreSQL's CPU per command by client service, its top statements and its tables'
row traffic (bench/_pg_statements.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import sys

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(ROOT))
from _support import (ADMIN_TOKEN, DROPPED, Connection, latency_line, once_more,  # noqa: E402
                      percentile, stack)
from intake import closed_loop, provision, ticket_steps, _id_of  # noqa: E402
import _server_time  # noqa: E402
from _pipeline import Pipeline  # noqa: E402
from _pg_statements import SETTINGS as PG_STATEMENTS, Statements  # noqa: E402
from bench._profile import cpu_of  # noqa: E402

import nats  # noqa: E402
import psycopg  # noqa: E402
from helpdesk_devstack import SmtpCatcher, free_port  # noqa: E402

from helpdesk_shared import subjects  # noqa: E402
from helpdesk_shared.stream import last_store_position  # noqa: E402

TARGET_RATE = 300
VISIBILITY_P99_MS = 250
POOL = 256  # open-loop connections to intake (and as many to query)
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# The customer's policy: MedIS's first-response target (MED-10) gives every ticket deadlines when it
# opens (a warning and a breach timer, planned by the SLA) and meets them at accept, so the SLA does
# its real work and the SLA block waits for deadlines. (bench/intake.py's Keysystems has no target.)
POLICY = "medis"
DETAILS: dict[str, str] = {}  # an uncategorised MedIS request has no form fields


@dataclass
class Step:
    """One open-loop step: what intake answered and how each consumer's lag moved."""

    rate: float
    seconds: float
    elapsed: float = 0.0  # from the first command sent to the last answer
    answered: int = 0
    errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)  # the error answers, by status
    latencies: list[float] = field(default_factory=list)
    lags: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    visible: list[float] = field(default_factory=list)  # answer → read with Helpdesk-Min-Position
    reads: list[tuple[int, float, float]] = field(default_factory=list)  # (position, answered, read), wall clock
    plain: list[float] = field(default_factory=list)  # a plain read of the same ticket (every floor_every-th)
    floor_every: int = 10
    stages: dict[str, list[float]] = field(default_factory=dict)  # the reads' stages, ms (bench/_pipeline.py)

    def bounded(self, name: str) -> tuple[bool, float, int]:
        """(kept up, slope in messages/s over the second half, final lag) of one consumer."""
        samples = self.lags[name]
        half = [s for s in samples if s[0] >= self.seconds / 2] or samples[-2:]
        slope = _slope(half)
        final = samples[-1][1]
        return slope < 0.05 * self.rate and final < 5 * self.rate, slope, final

    @property
    def kept_up(self) -> bool:
        answered_enough = self.answered / self.elapsed >= 0.95 * self.rate and self.errors == 0
        return answered_enough and all(self.bounded(name)[0] for name in self.lags)


def _slope(samples: list[tuple[float, int]]) -> float:
    """Least-squares growth of the lag, messages per second."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    return sum((t - mean_t) * (v - mean_v) for t, v in samples) / var if var else 0.0


class Lags:
    """Samples the lag of every durable consumer of the stream, and the relay's."""

    def __init__(self, nats_url: str, database_url: str) -> None:
        self.nats_url, self.database_url = nats_url, database_url

    async def __aenter__(self) -> Lags:
        self.nc = await nats.connect(self.nats_url)
        self.js = self.nc.jetstream()
        self.db = await psycopg.AsyncConnection.connect(self.database_url, autocommit=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.db.close()
        await self.nc.close()

    async def sample(self) -> dict[str, int]:
        lags = {}
        for info in await self.js.consumers_info(subjects.STREAM):
            if info.config.durable_name:
                lags[info.config.durable_name] = (info.num_pending or 0) + (info.num_ack_pending or 0)
        row = await (await self.db.execute("SELECT coalesce(max(notification_id), 0) FROM intake.intake_events")
                     ).fetchone()
        lags["relay (positions)"] = max(0, int(row[0]) - await last_store_position(self.js))
        return lags

    async def follow(self, step: Step, stop: asyncio.Event) -> None:
        started = time.perf_counter()
        while not stop.is_set():
            at = time.perf_counter() - started
            for name, lag in (await self.sample()).items():
                step.lags.setdefault(name, []).append((at, lag))
            await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - started - at)))

    async def drained(self, timeout: float) -> float | None:
        """Seconds until every lag is zero (None: not within ``timeout``)."""
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            if not any((await self.sample()).values()):
                return time.perf_counter() - started
            await asyncio.sleep(0.5)
        return None


async def open_loop(intake: tuple[str, int], query: tuple[str, int] | None, customer: dict[str, str],
                    agent: dict[str, str], step: Step) -> None:
    """Start a ticket's four commands every 4/rate seconds; with ``query``, read each answer back."""
    intakes: asyncio.Queue[Connection] = asyncio.Queue()
    queries: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(POOL):
        intakes.put_nowait(Connection(*intake))
        if query:
            queries.put_nowait(Connection(*query))

    async def command(conn: Connection, method: str, path: str, body: object, headers: dict[str, str]
                      ) -> bytes | None:
        started = time.perf_counter()
        try:
            status, answer_headers, content = await once_more(conn, method, path, body, headers)
        except DROPPED:
            step.errors += 1
            return None
        answered = time.perf_counter()
        step.latencies.append(answered - started)
        step.answered += 1
        if status >= 400:
            step.errors += 1
            step.statuses[status] += 1
            return None
        if query and (ticket_id := _ticket_of(path, content)):
            await read_back(ticket_id, answer_headers.get("helpdesk-position", "0"), answered, time.time())
        return content

    async def read_back(ticket_id: str, position: str, answered: float, answered_wall: float) -> None:
        reader = await queries.get()
        try:
            status, _, _ = await once_more(reader, "GET", f"/v1/tickets/{ticket_id}", None,
                                          {**ADMIN, "Helpdesk-Min-Position": position})
            step.visible.append(read := time.perf_counter() - answered)
            step.reads.append((int(position), answered_wall, answered_wall + read))
            if (len(step.reads) - 1) % step.floor_every == 0:
                started = time.perf_counter()
                await once_more(reader, "GET", f"/v1/tickets/{ticket_id}", None, ADMIN)
                step.plain.append(time.perf_counter() - started)
            if status != 200:
                step.errors += 1
                step.statuses[status] += 1
        finally:
            queries.put_nowait(reader)

    async def ticket() -> None:
        conn = await intakes.get()
        try:
            steps = ticket_steps(customer, agent, DETAILS)
            content = await command(conn, *next(steps))
            next(steps)
            if content is None:
                return
            for request in [steps.send(_id_of(content))] + list(steps):
                await command(conn, *request)
        finally:
            intakes.put_nowait(conn)

    interval = 4 / step.rate
    start = time.perf_counter()
    tasks = []
    for i in range(int(step.seconds * step.rate / 4)):
        await asyncio.sleep(max(0.0, start + i * interval - time.perf_counter()))
        tasks.append(asyncio.create_task(ticket()))
    await asyncio.gather(*tasks)
    step.elapsed = time.perf_counter() - start
    for queue in (intakes, queries):
        while not queue.empty():
            queue.get_nowait().close()


def _ticket_of(path: str, content: bytes) -> str | None:
    if path == "/v1/tickets":
        return _id_of(content)
    parts = path.split("/")
    return parts[3] if len(parts) > 3 and parts[2] == "tickets" else None


async def run_step(env: dict[str, str], customer: dict[str, str], agent: dict[str, str], rate: float,
                   seconds: float, read_back: bool = False, floor_every: int = 10) -> tuple[Step, float | None]:
    step = Step(rate, seconds, floor_every=floor_every)
    intake = ("127.0.0.1", int(env["HELPDESK_INTAKE_PORT"]))
    query = ("127.0.0.1", int(env["HELPDESK_QUERY_PORT"])) if read_back else None
    async with Lags(env["HELPDESK_NATS_URL"], env["HELPDESK_DATABASE_URL"]) as lags:
        stop = asyncio.Event()
        sampler = asyncio.create_task(lags.follow(step, stop))
        await open_loop(intake, query, customer, agent, step)
        stop.set()
        await sampler
        return step, await lags.drained(timeout=max(30.0, seconds))


def report(step: Step, drained: float | None) -> None:
    achieved = step.answered / step.elapsed
    print(f"  {step.rate:5.0f} commands/s offered, {achieved:5.0f}/s answered, {step.errors} errors"
          f" {dict(step.statuses) or ''};"
          f" commands {latency_line(step.latencies) if step.latencies else '-'}")
    for name in sorted(step.lags):
        ok, slope, final = step.bounded(name)
        peak = max(v for _, v in step.lags[name])
        print(f"      {name:22s} lag max {peak:6d}  end {final:6d}  growth {slope:+8.1f} msgs/s"
              f"  {'bounded' if ok else 'NOT KEPT UP'}")
    print(f"      drained {'in %.1f s' % drained if drained is not None else 'NOT within the timeout'}"
          f" -> {'kept up' if step.kept_up else 'not kept up'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="duration of each rate step")
    parser.add_argument("--rates", type=float, nargs="+", default=[100, 200, 300, 400, 500, 600])
    parser.add_argument("--ceiling-seconds", type=float, default=15)
    parser.add_argument("--visibility-rate", type=float, default=200)
    parser.add_argument("--visibility-only", action="store_true", help="only the visibility step (no ceiling,"
                        " no ladder)")
    parser.add_argument("--floor-every", type=int, default=10, help="in the visibility step, a plain read (no"
                        " position to wait for: the floor) after every n-th read")
    parser.add_argument("--workers", type=int, default=2, help="intake's uvicorn worker processes")
    parser.add_argument("--projector", choices=["process", "in-serve"], default="process",
                        help="process: `helpdesk-query project` beside a reading `serve` (production);"
                             " in-serve: `serve` projects too")
    parser.add_argument("--pg-statements", type=int, nargs="?", const=12, metavar="TOP", help="PostgreSQL's CPU,"
                        " its TOP statements and its tables per command in the visibility step (pg_stat_statements"
                        " loaded)")
    args = parser.parse_args()
    own_process = args.projector == "process"
    query = [("helpdesk_query", "serve")] + ([("helpdesk_query", "project")] if own_process else [])
    with tempfile.TemporaryDirectory(prefix="helpdesk-bench-smtp-") as tmp, \
            SmtpCatcher(Path(tmp) / "mail", free_port()) as smtp:
        ports = {f"HELPDESK_{name}": str(free_port()) for name in (
            "SLA_PORT", "NOTIFY_PORT", "RELAY_METRICS_PORT", "SMTP_METRICS_PORT", "INBOUND_SMTP_PORT",
            "PROJECTOR_METRICS_PORT")}
        with stack(("helpdesk_intake", "serve"), ("helpdesk_intake", "relay"), *query,
                   ("helpdesk_sla", "serve"), ("helpdesk_notify", "serve"),
                   extra_env={"HELPDESK_WORKERS": str(args.workers), "HELPDESK_SMTP_URL": smtp.url,
                              "HELPDESK_RUN_PROJECTOR": str(not own_process).lower(), **ports},
                   pg_settings=PG_STATEMENTS if args.pg_statements else None) as env:
            print("shape: " + ("query serve (reads only, HELPDESK_RUN_PROJECTOR=false) + query project"
                               " (the projectors, own process) — as in production" if own_process
                               else "query serve with the projectors on its event loop (single process)"))
            measure(env, args)


def measure(env: dict[str, str], args: argparse.Namespace) -> None:
    port = int(env["HELPDESK_INTAKE_PORT"])
    customer, agent = provision(f"http://127.0.0.1:{port}", POLICY)
    if args.visibility_only:
        visibility_target(*visibility(env, args, customer, agent), args.visibility_rate)
        return
    count, _, errors, elapsed = asyncio.run(closed_loop("127.0.0.1", port, customer, agent, args.ceiling_seconds,
                                                         DETAILS))
    ceiling = count / elapsed
    print(f"ceiling: intake closed loop with every consumer running: {ceiling:,.0f} commands/s ({errors} errors)")
    asyncio.run(_settle(env))
    print(f"open loop, {args.seconds:g} s per rate (intake, relay, query, sla, notify):")
    kept = 0.0
    for rate in args.rates:
        step, drained = asyncio.run(run_step(env, customer, agent, rate, args.seconds))
        report(step, drained)
        if not (step.kept_up and drained is not None):
            break
        kept = rate
    p99, floor = visibility(env, args, customer, agent)
    print(f"target: every consumer keeps up at ≥ {TARGET_RATE} commands/s — measured {kept:g}/s;"
          f" ceiling {ceiling:,.0f}/s (intake alone); ratio {kept / ceiling:.2f}"
          f" -> {'met' if kept >= TARGET_RATE else 'NOT met'}")
    visibility_target(p99, floor, args.visibility_rate)


def visibility_target(p99: float, floor: float, rate: float) -> None:
    print(f"target: visibility with the SLA block p99 ≤ {VISIBILITY_P99_MS} ms at {rate:g}/s —"
          f" measured {p99:.0f} ms; floor (plain read p99) {floor:.0f} ms; ratio {p99 / floor:.1f}"
          f" -> {'met' if p99 <= VISIBILITY_P99_MS else 'NOT met'}")


def visibility(env: dict[str, str], args: argparse.Namespace, customer: dict[str, str], agent: dict[str, str]
               ) -> tuple[float, float]:
    """The visibility step, printed with its stages (bench/_pipeline.py), the servers' own request times
    (bench/_server_time.py) and every process's CPU (this client's too); its p99 and the floor's, ms."""
    urls = {name: f"http://127.0.0.1:{env[f'HELPDESK_{name.upper()}_PORT']}" for name in ("intake", "query")}
    pids = {"bench client": 0, **{name.removeprefix("BENCH_PID_").removeprefix("helpdesk_").replace("_", " "): int(pid)
                                  for name, pid in env.items() if name.startswith("BENCH_PID_")}}
    clients = {name: pid for name, pid in pids.items() if name not in ("PostgreSQL", "NATS")}
    statements = Statements(env["HELPDESK_DATABASE_URL"], clients) if args.pg_statements else None
    cpu0, scraped = cpu_of(pids), {name: _server_time.scrape(url) for name, url in urls.items()}
    with statements or contextlib.nullcontext():
        step, drained = asyncio.run(_followed(env, customer, agent, args.visibility_rate, min(args.seconds, 20),
                                              args.floor_every))
    cpu = {name: seconds - cpu0[name] for name, seconds in cpu_of(pids).items()}
    print(f"visibility at {args.visibility_rate:g} commands/s, read back with Helpdesk-Min-Position"
          f" (read model + SLA block):")
    report(step, drained)
    print(f"  answer → visible {latency_line(step.visible)};  plain read of the ticket {latency_line(step.plain)}")
    print("  stages (wall clock): " + "; ".join(
        f"{name} p50 {percentile(ms, 0.50):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms"
        for name, ms in step.stages.items()) + f" ({len(next(iter(step.stages.values())))} of {len(step.reads)} reads)")
    for name, url in urls.items():
        for route in _server_time.between(name, scraped[name], _server_time.scrape(url))[:4]:
            print("  " + route.line())
    print(f"  CPU over the {step.elapsed:.0f} s: " + "; ".join(
        f"{name} {seconds:.2f} s ({seconds / step.elapsed:.2f} cores, {seconds / max(1, step.answered) * 1000:.2f} ms"
        " per command)" for name, seconds in cpu.items()))
    total = sum(cpu.values())
    print(f"  together {total / max(1, step.answered) * 1000:.2f} ms per command = {total / step.elapsed:.2f} cores"
          f" of the machine's {os.cpu_count()}")
    if statements:
        statements.report(step.answered, args.pg_statements)
    return percentile([v * 1000 for v in step.visible], 0.99), percentile([v * 1000 for v in step.plain], 0.99)


async def _followed(env: dict[str, str], customer: dict[str, str], agent: dict[str, str], rate: float,
                    seconds: float, floor_every: int) -> tuple[Step, float | None]:
    async with Pipeline(env["HELPDESK_NATS_URL"], env["HELPDESK_DATABASE_URL"], sla=True) as pipeline:
        step, drained = await run_step(env, customer, agent, rate, seconds, read_back=True, floor_every=floor_every)
    step.stages = pipeline.stages(step.reads)
    return step, drained


async def _settle(env: dict[str, str]) -> None:
    async with Lags(env["HELPDESK_NATS_URL"], env["HELPDESK_DATABASE_URL"]) as lags:
        drained = await lags.drained(timeout=120)
        print(f"  the consumers caught up with the ceiling's commands in {drained or float('nan'):.1f} s")


if __name__ == "__main__":
    main()
