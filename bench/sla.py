"""Benchmark of the SLA service: memory at 100,000 open tickets, firing lag, a simulated week.

Runs its own embedded PostgreSQL and NATS and the SLA service as a process. Tickets are
published straight to the HELPDESK stream as the relay would (intake at this volume
would take too long): 100,000 IMC error/urgent tickets in progress (a warning and a
breach timer each) and 2,000 tickets of a 24/7 bench policy whose 1-minute reaction
timers fall due over the next 20 s of real time. Printed:
1. load: how long the SLA service takes to take in the tickets and plan their timers;
2. RSS of the SLA process;
3. firing lag on the real clock: the stream time of each ``breached`` fact minus its due time;
4. the SLA service restarted on the simulated clock, then one simulated week: time until settled.

Usage: python bench/sla.py [--tickets 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for part in ("shared", "services/sla", "devstack", "."):
    sys.path.insert(0, str(ROOT / part))

import msgspec  # noqa: E402
import nats  # noqa: E402
import psycopg  # noqa: E402
from helpdesk_devstack import EmbeddedNats, EmbeddedPostgres, free_port  # noqa: E402

from bench._support import _wait_ready, percentile  # noqa: E402
from helpdesk_shared import events as ev  # noqa: E402
from helpdesk_shared import sla_events as sla  # noqa: E402
from helpdesk_shared import subjects  # noqa: E402
from helpdesk_shared.migrations_cli import migrate_all  # noqa: E402
from helpdesk_shared.clock_sync import NOW_KEY, SETTLED_KEY, Settled, open_bucket  # noqa: E402
from helpdesk_shared.stream import POSITION_HEADER, ensure_stream  # noqa: E402
from helpdesk_shared.vocabulary import Category, Channel, Priority, Role, Status  # noqa: E402

FAST_POLICY = """
id = "bench-fast"
name = "24/7, one-minute reaction"
[calendar]
timezone = "UTC"
[calendar.hours]
mon = ["00:00-24:00"]
tue = ["00:00-24:00"]
wed = ["00:00-24:00"]
thu = ["00:00-24:00"]
fri = ["00:00-24:00"]
sat = ["00:00-24:00"]
sun = ["00:00-24:00"]
[reaction]
api = "1m"
"""
ACTOR = ev.Actor(id="agent-1", role=Role.AGENT)


def facts(tid: str, policy: str, at: dt.datetime, accept: bool) -> list[ev.TicketFact]:
    common = dict(ticket_id=tid, customer_id="cust-1", actor=ACTOR)
    opened = ev.TicketOpened(**common, version=1, status=Status.NEW, occurred_at=at, number=f"B-{tid[:8]}",
                             subject="s", description="d", channel=Channel.API, category=Category.ERROR,
                             priority=Priority.URGENT, policy=policy)
    if not accept:
        return [opened]
    return [opened, ev.Accepted(**common, version=2, status=Status.IN_PROGRESS, occurred_at=at,
                                from_status=Status.NEW)]


async def publish(js, batch: list[ev.TicketFact], position: int) -> int:
    futures = []
    for fact in batch:
        position += 1
        envelope = ev.wrap(fact, event_id=f"{fact.ticket_id}.{fact.version}", sequence=position, number=None)
        futures.append(js.publish(subjects.ticket_subject(fact.ticket_id, ev.event_type(fact)),
                                  msgspec.json.encode(envelope),
                                  headers={"Nats-Msg-Id": envelope.id, POSITION_HEADER: str(position)}))
    await asyncio.gather(*futures)
    return position


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def position_of(url: str) -> int:
    with psycopg.connect(url) as conn:
        try:
            return conn.execute("SELECT position FROM sla.tracking").fetchone()[0]
        except psycopg.Error:
            return 0


def wait_position(url: str, target: int, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while position_of(url) < target:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the SLA service did not reach position {target}")
        time.sleep(0.5)


def start_sla(env: dict[str, str], log_dir: Path) -> subprocess.Popen:
    log = open(log_dir / "sla.log", "ab")  # noqa: SIM115 - lives with the process
    process = subprocess.Popen([sys.executable, "-m", "helpdesk_sla", "serve"], env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    _wait_ready(f"http://127.0.0.1:{env['HELPDESK_SLA_PORT']}", timeout=60)
    return process


async def main(tickets: int, fast: int) -> None:
    with tempfile.TemporaryDirectory(prefix="helpdesk-bench-sla-") as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "policies").mkdir()
        (tmp_path / "policies" / "fast.toml").write_text(FAST_POLICY)
        with EmbeddedPostgres(tmp_path / "pg", free_port()) as pg, EmbeddedNats(tmp_path / "nats", free_port()) as ns:
            migrate_all(pg.url, "helpdesk_app")
            env = {**os.environ, "HELPDESK_DATABASE_URL": pg.url, "HELPDESK_NATS_URL": ns.url,
                   "HELPDESK_SLA_PORT": str(free_port()), "HELPDESK_POLICY_DIR": str(tmp_path / "policies"),
                   "HELPDESK_INTAKE_URL": "http://127.0.0.1:9"}
            nc = await nats.connect(ns.url)
            js = nc.jetstream()
            await ensure_stream(js)
            sla_process = start_sla(env, tmp_path)

            # 1. load
            now = dt.datetime.now(dt.UTC)
            started, position, batch = time.perf_counter(), 0, []
            for _ in range(tickets):
                batch += facts(str(uuid.uuid4()), "imc", now, accept=True)
                if len(batch) >= 2000:
                    position, batch = await publish(js, batch, position), []
            position = await publish(js, batch, position)
            published = time.perf_counter() - started
            wait_position(pg.url, position)
            loaded = time.perf_counter() - started
            print(f"load: {tickets} tickets ({position} events) published in {published:.1f} s, "
                  f"taken in and planned by the SLA service in {loaded:.1f} s ({position / loaded:.0f} events/s)")

            # 2 + 3. firing lag on the real clock, 100,000 tickets loaded
            now = dt.datetime.now(dt.UTC)
            due = {}
            batch = []
            for i in range(fast):
                at = now - dt.timedelta(seconds=55) + dt.timedelta(seconds=20 * i / fast)
                tid = str(uuid.uuid4())
                due[tid] = at + dt.timedelta(minutes=1)
                batch += facts(tid, "bench-fast", at, accept=False)
            position = await publish(js, batch, position)
            lags: list[float] = []
            sub = await js.subscribe(f"{subjects.SLA_PREFIX}.*.breached", ordered_consumer=True)
            deadline = time.monotonic() + 120
            while len(lags) < fast and time.monotonic() < deadline:
                try:
                    msg = await sub.next_msg(timeout=5)
                except Exception:  # noqa: BLE001
                    continue
                fact = sla.decode(msg.data).data
                if fact.ticket_id in due:
                    lags.append((msg.metadata.timestamp - fact.due_at).total_seconds())
            await sub.unsubscribe()
            print(f"RSS of the SLA process: {rss_mb(sla_process.pid):.0f} MB (target < 300 MB)")
            print(f"firing lag on the real clock ({len(lags)}/{fast} timers): "
                  f"p50 {percentile(lags, 0.5) * 1000:.0f} ms  p99 {percentile(lags, 0.99) * 1000:.0f} ms  "
                  f"max {max(lags) * 1000:.0f} ms (target p99 < 1 s)")

            # 4. one simulated week over the loaded tickets
            sla_process.terminate()
            sla_process.wait(30)
            kv = await open_bucket(nc)
            start = dt.datetime.now(dt.UTC)
            await kv.put(NOW_KEY, start.isoformat().encode())
            sla_process = start_sla({**env, "HELPDESK_CLOCK": "simulated"}, tmp_path)
            with psycopg.connect(pg.url) as conn:
                pending = conn.execute("SELECT count(*) FROM sla.timers WHERE fired_at IS NULL").fetchone()[0]
            week = start + dt.timedelta(weeks=1)
            started = time.perf_counter()
            await kv.put(NOW_KEY, week.isoformat().encode())
            while True:
                try:
                    settled = msgspec.json.decode((await kv.get(SETTLED_KEY)).value, type=Settled)
                    if settled.now >= week and settled.position >= position:
                        break
                except Exception:  # noqa: BLE001 - not reported yet
                    pass
                await asyncio.sleep(0.1)
            took = time.perf_counter() - started
            print(f"one simulated week: {pending} due timers fired and published, settled in {took:.1f} s "
                  f"(target < 60 s); RSS {rss_mb(sla_process.pid):.0f} MB")
            sla_process.terminate()
            sla_process.wait(30)
            await nc.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--fast", type=int, default=2_000)
    args = parser.parse_args()
    asyncio.run(main(args.tickets, args.fast))
