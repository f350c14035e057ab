"""Benchmark of the SLA service at scale (issue #16, target 5): memory, a burst, a restart.

Runs its own embedded PostgreSQL and NATS and the SLA service as a process. Tickets are
published straight to the HELPDESK stream as the relay would (intake at this volume
would take too long). Printed, each beside its target with the ratio (measured ÷ target):
1. load: N open IMC error/urgent tickets in progress (default 1,000,000; a resolution
   target with its warning each) taken in and planned, and the RSS of the SLA process —
   timers live in PostgreSQL, so memory should not grow with the number of tickets;
2. burst: 10,000 warnings and breaches due in the same second, all on the stream within 5 s
   (printed with the outbox's backlog at that second: other tickets' facts not yet published);
3. firing lag on the real clock: 2,000 one-minute timers falling due over 20 s;
4. restart: the SLA process stopped with 50,000 tickets planned, restarted when their
   100,000 warnings and breaches are overdue; all published within 30 s, each exactly once;
5. with ``--week``: one simulated week over everything loaded.
Automatic transitions are not exercised here: each is a command to intake, bounded by
intake's rate (bench/intake.py).
The bench's own NATS connection never waits with its event loop blocked (the server drops a
client that leaves its PINGs unanswered), and a reconnect is printed and survived, not fatal.

``--backlog N`` puts N planning facts (``target_set``) of other tickets into the SLA's outbox just
before the burst's tickets are published (their own planning facts land behind them): the
unpublished facts a 1,000,000-ticket load leaves (415,238 were measured), reproduced at a smaller
``--tickets`` where the load leaves few or none. The publisher drains some before the burst is
due; the count left then is printed.

Usage: python bench/sla.py [--tickets 1000000] [--burst 10000] [--backlog 0] [--overdue 100000] [--week]"""

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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
for part in ("shared", "services/sla", "devstack", "."):
    sys.path.insert(0, str(ROOT / part))

import msgspec  # noqa: E402
import nats  # noqa: E402
import nats.errors  # noqa: E402
from nats.js.api import DeliverPolicy  # noqa: E402
import psycopg  # noqa: E402
from helpdesk_devstack import EmbeddedNats, EmbeddedPostgres, free_port  # noqa: E402

from bench._support import _wait_ready, cpu_seconds, percentile  # noqa: E402
from helpdesk_shared import events as ev  # noqa: E402
from helpdesk_shared import sla_events as sla  # noqa: E402
from helpdesk_shared import subjects  # noqa: E402
from helpdesk_shared.migrations_cli import migrate_all  # noqa: E402
from helpdesk_shared.clock_sync import NOW_KEY, SETTLED_KEY, Settled, open_bucket  # noqa: E402
from helpdesk_shared.stream import POSITION_HEADER, ensure_stream  # noqa: E402
from helpdesk_shared.vocabulary import Category, Channel, Priority, Role, Status  # noqa: E402

_HOURS = "\n".join(f'{day} = ["00:00-24:00"]' for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
FAST_POLICY = f"""
id = "bench-fast"
name = "24/7, one-minute reaction"
[calendar]
timezone = "UTC"
[calendar.hours]
{_HOURS}
[reaction]
api = "1m"
"""
BURST_POLICY = f"""
id = "bench-burst"
name = "24/7, first response in two minutes, at risk one minute before"
[calendar]
timezone = "UTC"
[calendar.hours]
{_HOURS}
[[targets]]
first_response = "2m"
warning = "1m"
"""
RESTART_POLICY = f"""
id = "bench-restart"
name = "24/7, first response in four minutes, at risk two minutes before"
[calendar]
timezone = "UTC"
[calendar.hours]
{_HOURS}
[[targets]]
first_response = "4m"
warning = "2m"
"""
ACTOR = ev.Actor(id="agent-1", role=Role.AGENT)
FIRED = ("at_risk", "breached")
T = TypeVar("T")


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
    """Publish the events with every acknowledgement in flight; a batch not acknowledged within a
    minute (a loaded machine) is sent again, harmlessly: the stream drops a ``Nats-Msg-Id`` it has."""
    messages = []
    for fact in batch:
        position += 1
        envelope = ev.wrap(fact, event_id=f"{fact.ticket_id}.{fact.version}", sequence=position, number=None)
        messages.append((subjects.ticket_subject(fact.ticket_id, ev.event_type(fact)), msgspec.json.encode(envelope),
                         {"Nats-Msg-Id": envelope.id, POSITION_HEADER: str(position)}))
    for attempt in range(5):
        futures = [await js.publish_async(subject, payload, headers=dict(headers))
                   for subject, payload, headers in messages]
        try:
            await asyncio.wait_for(asyncio.gather(*futures), 60)
            return position
        except (TimeoutError, nats.errors.Error):
            if attempt == 4:
                raise
    return position


async def publish_tickets(js, openings: list[tuple[str, str, dt.datetime, bool]], position: int) -> int:
    """Publish ``(ticket id, policy, opened at, accepted)`` tickets' events in batches of 2,000."""
    batch: list[ev.TicketFact] = []
    for tid, policy, at, accept in openings:
        batch += facts(tid, policy, at, accept)
        if len(batch) >= 2000:
            position, batch = await publish(js, batch, position), []
    return await publish(js, batch, position)


def against(measured: float, target: float, unit: str) -> str:
    """A figure beside its target (issue #16: each target printed next to the measured figure, with the ratio)."""
    verdict = "met" if measured < target else "NOT met"
    return f"target < {target:g} {unit}: ratio {measured / target:.2f}, {verdict}"


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


async def wait_position(url: str, target: int, timeout: float = 3600) -> None:
    """Wait, without blocking the event loop, until the SLA service has taken in ``target``.

    The loop must keep running: the bench's NATS connection answers the server's PINGs from it,
    and a loop blocked for ~3 ping intervals (2 min each by default) is dropped as stale — it
    was, after the 1,000,000-ticket load (a broken pipe, then a hung bench)."""
    deadline = time.monotonic() + timeout
    while await asyncio.to_thread(position_of, url) < target:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the SLA service did not reach position {target}")
        await asyncio.sleep(0.5)


def pending_timers(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM sla.timers WHERE fired_at IS NULL").fetchone()[0]


def outbox_backlog(url: str) -> int:
    """The SLA facts recorded and not yet published (rows in the SLA's outbox)."""
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM sla.outbox").fetchone()[0]


def add_backlog(url: str, count: int) -> None:
    """``count`` planning facts of as many other tickets, in the outbox as the SLA service records them."""
    fact = sla.TargetSet(ticket_id="backlog", customer_id="cust-1", policy="imc", ticket_version=1,
                         occurred_at=dt.datetime.now(dt.UTC), kind="resolution", due_at=None, warn_at=None,
                         started_at=dt.datetime.now(dt.UTC))
    payload = msgspec.json.encode(sla.wrap(fact, event_id="sla-backlog", sequence=0, number=None))
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO sla.outbox (ticket_id, subject, payload) SELECT t, 'helpdesk.sla.' || t ||"
                     " '.target_set', %s FROM (SELECT gen_random_uuid()::text AS t FROM generate_series(1, %s)) n",
                     (payload, count))


async def backlog_at(url: str, at: dt.datetime) -> int:
    """The outbox backlog at ``at`` (counted as that instant comes, off the event loop)."""
    await asyncio.sleep(max(0.0, (at - dt.datetime.now(dt.UTC)).total_seconds()))
    return await asyncio.to_thread(outbox_backlog, url)


def start_sla(env: dict[str, str], log_dir: Path) -> subprocess.Popen:
    log = open(log_dir / "sla.log", "ab")  # noqa: SIM115 - lives with the process
    process = subprocess.Popen([sys.executable, "-m", "helpdesk_sla", "serve"], env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    _wait_ready(f"http://127.0.0.1:{env['HELPDESK_SLA_PORT']}", timeout=60)
    return process


def stop_sla(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(30)


class Link:
    """The bench's own NATS connection: a disconnect or reconnect is printed and counted, never fatal."""

    def __init__(self) -> None:
        self.disconnects = self.reconnects = 0
        self.closing = False

    async def connect(self, url: str) -> nats.NATS:
        return await nats.connect(url, max_reconnect_attempts=-1, error_cb=self._error,
                                  disconnected_cb=self._disconnected, reconnected_cb=self._reconnected)

    async def _error(self, error: Exception) -> None:
        print(f"bench: NATS connection error: {error!r}", flush=True)

    async def _disconnected(self) -> None:
        if self.closing:
            return
        self.disconnects += 1
        print(f"bench: NATS connection lost ({self.disconnects} so far); reconnecting", flush=True)

    async def _reconnected(self) -> None:
        self.reconnects += 1
        print(f"bench: NATS connection re-established ({self.reconnects} so far)", flush=True)


async def retrying(call: Callable[[], Awaitable[T]], what: str, attempts: int = 12) -> T:
    """``call()``, again while the connection is being re-established (a request then times out)."""
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except nats.errors.Error as error:
            if attempt == attempts:
                raise
            print(f"bench: {what} failed ({error!r}); again in 5 s", flush=True)
            await asyncio.sleep(5)
    raise AssertionError("unreachable")


class Watch:
    """The ``at_risk`` and ``breached`` facts of chosen tickets as they reach the stream: when, and how often."""

    def __init__(self, wanted: dict[tuple[str, str], dt.datetime]) -> None:
        self.wanted = wanted  # (ticket id, fact) → due at
        self.seen: dict[tuple[str, str], list[dt.datetime]] = {}
        self.others = 0

    async def until_all(self, js, timeout: float, grace: float = 2.0) -> None:
        """Collect until every wanted fact arrived (then ``grace`` seconds more, to catch duplicates)."""
        sub = await retrying(lambda: js.subscribe(f"{subjects.SLA_PREFIX}.*.*", ordered_consumer=True,
                                                  deliver_policy=DeliverPolicy.NEW), "subscribing to the SLA facts")
        self.sub = sub
        deadline, done_at = time.monotonic() + timeout, None
        while time.monotonic() < (deadline if done_at is None else min(deadline, done_at + grace)):
            try:
                msg = await sub.next_msg(timeout=0.5)
            except Exception:  # noqa: BLE001 - nothing new yet
                continue
            kind = msg.subject.rsplit(".", 1)[-1]
            key = (sla.decode(msg.data).data.ticket_id, kind)
            if key in self.wanted:
                self.seen.setdefault(key, []).append(msg.metadata.timestamp)
                if done_at is None and len(self.seen) == len(self.wanted):
                    done_at = time.monotonic()
            elif kind in FIRED:
                self.others += 1
        await sub.unsubscribe()

    def lags(self) -> list[float]:
        return sorted((min(times) - self.wanted[key]).total_seconds() for key, times in self.seen.items())

    def last(self) -> dt.datetime:
        return max(max(times) for times in self.seen.values())

    def duplicates(self) -> int:
        return sum(len(times) - 1 for times in self.seen.values())


async def subscribed(js, watch: Watch, timeout: float) -> asyncio.Task[None]:
    """Start watching now (the subscription exists when this returns)."""
    task = asyncio.create_task(watch.until_all(js, timeout))
    while not hasattr(watch, "sub"):
        if task.done():
            task.result()  # the subscription failed: say why rather than wait forever
        await asyncio.sleep(0.01)
    return task


async def main(tickets: int, burst: int, fast: int, overdue: int, week: bool, backlog: int = 0) -> None:
    with tempfile.TemporaryDirectory(prefix="helpdesk-bench-sla-") as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "policies").mkdir()
        for name, text in (("fast", FAST_POLICY), ("burst", BURST_POLICY), ("restart", RESTART_POLICY)):
            (tmp_path / "policies" / f"{name}.toml").write_text(text)
        with EmbeddedPostgres(tmp_path / "pg", free_port()) as pg, EmbeddedNats(tmp_path / "nats", free_port()) as ns:
            migrate_all(pg.url, "helpdesk_app")
            env = {**os.environ, "HELPDESK_DATABASE_URL": pg.url, "HELPDESK_NATS_URL": ns.url,
                   "HELPDESK_SLA_PORT": str(free_port()), "HELPDESK_POLICY_DIR": str(tmp_path / "policies"),
                   "HELPDESK_INTAKE_URL": "http://127.0.0.1:9"}
            link = Link()
            nc = await link.connect(ns.url)
            live: list[subprocess.Popen] = []  # stopped however the bench ends
            try:
                js = nc.jetstream()
                await ensure_stream(js)
                sla_process = await asyncio.to_thread(start_sla, env, tmp_path)
                live.append(sla_process)
                rss_before = rss_mb(sla_process.pid)

                # 1. load
                now = dt.datetime.now(dt.UTC)
                started, cpu = time.perf_counter(), cpu_seconds(sla_process.pid)
                position = await publish_tickets(js, [(str(uuid.uuid4()), "imc", now, True) for _ in range(tickets)], 0)
                published = time.perf_counter() - started
                ceiling = position / published  # the stream's pace for the bench's own publishing, this run
                await wait_position(pg.url, position)
                loaded, cpu = time.perf_counter() - started, cpu_seconds(sla_process.pid) - cpu
                planned = await asyncio.to_thread(pending_timers, pg.url)
                print(f"load: {tickets} tickets ({position} events) published in {published:.1f} s, "
                      f"taken in and planned by the SLA service in {loaded:.1f} s ({position / loaded:.0f} events/s); "
                      f"{planned} timers pending; SLA process CPU {cpu * 1000 / position:.2f} ms per event "
                      f"(its facts published included); {await asyncio.to_thread(outbox_backlog, pg.url)} "
                      f"of its facts still unpublished in the outbox")
                rss = rss_mb(sla_process.pid)
                print(f"RSS of the SLA process with {tickets} open tickets: {rss:.0f} MB "
                      f"({rss_before:.0f} MB before the load); {against(rss, 300, 'MB')}")

                # 2. a burst: warnings and breaches of `burst` timers due in the same second
                due = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=45)).replace(microsecond=0)
                half = burst // 2
                breaching = [(str(uuid.uuid4()), "bench-burst", due - dt.timedelta(minutes=2), False) for _ in range(half)]
                warned = [(str(uuid.uuid4()), "bench-burst", due - dt.timedelta(minutes=1), False)
                          for _ in range(burst - half)]
                watch = Watch({**{(t[0], "breached"): due for t in breaching}, **{(t[0], "at_risk"): due for t in warned}})
                task = await subscribed(js, watch, timeout=120)
                if backlog:  # before the burst's tickets: their own planning facts go behind it, as after a load
                    await asyncio.to_thread(add_backlog, pg.url, backlog)
                position = await publish_tickets(js, breaching + warned, position)
                await wait_position(pg.url, position)
                cpu = cpu_seconds(sla_process.pid)  # from here on: firing and publishing
                if dt.datetime.now(dt.UTC) >= due:
                    print("burst: the SLA service took the tickets in after their due second; the burst is not clean")
                left = asyncio.create_task(backlog_at(pg.url, due))
                await task
                cpu = cpu_seconds(sla_process.pid) - cpu
                lags, took = watch.lags(), (watch.last() - due).total_seconds()
                print(f"burst: {len(watch.seen)}/{burst} warnings and breaches due at the same second published "
                      f"{took:.2f} s after it ({against(took, 5, 's')}); lag p50 "
                      f"{percentile(lags, 0.5):.2f} s  p99 {percentile(lags, 0.99):.2f} s; duplicates {watch.duplicates()}; "
                      f"SLA process CPU {cpu * 1000 / burst:.2f} ms per fact fired and published; "
                      f"{await left} unpublished SLA facts in the outbox when the burst was due"
                      f"{f' ({backlog} added before it)' if backlog else ''}")

                # 3. firing lag on the real clock
                now = dt.datetime.now(dt.UTC)
                spread = [(str(uuid.uuid4()), "bench-fast", now - dt.timedelta(seconds=55) + dt.timedelta(seconds=20 * i / fast),
                           False) for i in range(fast)]
                watch = Watch({(t[0], "breached"): t[2] + dt.timedelta(minutes=1) for t in spread})
                task = await subscribed(js, watch, timeout=120)
                position = await publish_tickets(js, spread, position)
                await task
                lags = watch.lags()
                print(f"firing lag on the real clock ({len(lags)}/{fast} timers): p50 {percentile(lags, 0.5) * 1000:.0f} ms  "
                      f"p99 {percentile(lags, 0.99) * 1000:.0f} ms  max {max(lags) * 1000:.0f} ms "
                      f"(p99 {against(percentile(lags, 0.99), 1, 's')})")

                # 4. a restart with `overdue` warnings and breaches overdue
                now = dt.datetime.now(dt.UTC)
                restart = [(str(uuid.uuid4()), "bench-restart", now, False) for _ in range(overdue // 2)]
                position = await publish_tickets(js, restart, position)
                await wait_position(pg.url, position)
                await asyncio.to_thread(stop_sla, live.pop())
                kv = await retrying(lambda: open_bucket(nc), "opening the clock bucket")
                later = now + dt.timedelta(minutes=5)
                await retrying(lambda: kv.put(NOW_KEY, later.isoformat().encode()), "moving the clock")
                watch = Watch({(t[0], fact): now + dt.timedelta(minutes=2 if fact == "at_risk" else 4)
                               for t in restart for fact in FIRED})
                task = await subscribed(js, watch, timeout=max(180.0, overdue / 200))
                started, restarted = time.perf_counter(), dt.datetime.now(dt.UTC)
                sla_process = await asyncio.to_thread(start_sla, {**env, "HELPDESK_CLOCK": "simulated"}, tmp_path)
                live.append(sla_process)
                ready = time.perf_counter() - started
                await task
                cpu = cpu_seconds(sla_process.pid)
                took = (watch.last() - restarted).total_seconds() if watch.seen else float("nan")
                print(f"restart: {len(watch.seen)}/{len(watch.wanted)} overdue warnings and breaches published "
                      f"{took:.1f} s after the process started ({against(took, 30, 's')}; ready after {ready:.1f} s); "
                      f"{len(watch.seen) / took:.0f} facts/s beside a ceiling of {ceiling:.0f} events/s (the bench's own "
                      f"publishing to the stream at the load, this run: ratio {len(watch.seen) / took / ceiling:.2f}); "
                      f"each once: duplicates {watch.duplicates()}; SLA process CPU "
                      f"{cpu * 1000 / max(len(watch.seen), 1):.2f} ms per fact, start included; "
                      f"RSS {rss_mb(sla_process.pid):.0f} MB")
                print("restart: automatic transitions are not among them; each would be one command to intake, "
                      "sent at intake's rate (bench/intake.py prints it: commands/s closed loop)")

                # 5. one simulated week over everything loaded
                if week:
                    pending = await asyncio.to_thread(pending_timers, pg.url)
                    end = later + dt.timedelta(weeks=1)
                    started = time.perf_counter()
                    await retrying(lambda: kv.put(NOW_KEY, end.isoformat().encode()), "moving the clock")
                    while True:
                        try:
                            settled = msgspec.json.decode((await kv.get(SETTLED_KEY)).value, type=Settled)
                            if settled.now >= end and settled.position >= position:
                                break
                        except Exception:  # noqa: BLE001 - not reported yet
                            pass
                        await asyncio.sleep(0.1)
                    print(f"one simulated week: {pending} due timers fired and published, settled in "
                          f"{time.perf_counter() - started:.1f} s; RSS {rss_mb(sla_process.pid):.0f} MB")
            finally:
                for process in live:
                    await asyncio.to_thread(stop_sla, process)
                link.closing = True
                await nc.close()
            print(f"bench: its NATS connection was lost {link.disconnects} times, re-established {link.reconnects} times")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--fast", type=int, default=2_000)
    parser.add_argument("--backlog", type=int, default=0)
    parser.add_argument("--overdue", type=int, default=100_000)
    parser.add_argument("--week", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.tickets, args.burst, args.fast, args.overdue, args.week, args.backlog))
