"""intake's command throughput and latency, next to PostgreSQL's raw single-row-insert ceiling.

Starts its own stack (embedded PostgreSQL with durable settings, NATS, intake and
the relay as processes), then:
1. closed loop, 16 connections: each opens a ticket, accepts it, comments twice — commands/s, p50/p99;
2. open loop at fixed rates (300 and 500 commands/s): p50/p99 from each request's scheduled start;
3. pgbench, 16 clients, one-row INSERTs into a bigserial table on the same server: the ceiling.
Each phase prints the CPU intake's processes (the server and its workers) and the relay spent per command.
``--profile DIR`` samples each worker and the relay with py-spy during the closed loop and prints their
top entries.

    .venv/bin/python bench/intake.py [--seconds 15] [--rate 300] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _support import ADMIN_TOKEN, Connection, _descendants, cpu_seconds, latency_line, stack  # noqa: E402

from bench._profile import sampled, top  # noqa: E402

CONCURRENCY = 16


def provision(base: str, policy: str = "keysystems") -> tuple[dict[str, str], dict[str, str]]:
    """A customer under ``policy`` with one user, and an agent: their tokens."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=base, timeout=30) as http:
        customer = http.post("/v1/customers", headers=admin,
                             json={"name": "bench", "email": "b@b.test", "policy": policy}).json()["id"]
        http.post(f"/v1/customers/{customer}/users", headers=admin, json={
            "name": "u", "email": "u@b.test", "login": "bench-user", "password": "bench-password",
            "phone": "+7 495 000-00-00"})  # KS-9
        http.post("/v1/staff", headers=admin, json={
            "name": "a", "email": "a@b.test", "login": "bench-agent", "password": "bench-password", "role": "agent"})

        def token(login: str) -> dict[str, str]:
            answer = http.post("/v1/auth/token", json={"login": login, "password": "bench-password"}).json()
            return {"Authorization": f"Bearer {answer['access_token']}"}

        return token("bench-user"), token("bench-agent")


KS7_DETAILS = {"entity": "invoice 42"}  # Keysystems's request form (KS-7): the entity concerned


def ticket_steps(customer: dict[str, str], agent: dict[str, str], details: dict[str, str] = KS7_DETAILS):
    """The command mix: one open (with the policy's form ``details``), then three commands on the ticket (1:3)."""
    yield "POST", "/v1/tickets", {"subject": "Printer", "description": "It is on fire",
                                  **({"details": details} if details else {})}, customer
    ticket_id = yield
    yield "POST", f"/v1/tickets/{ticket_id}/actions/accept", None, agent
    yield "POST", f"/v1/tickets/{ticket_id}/comments", {"body": "Looking into it"}, agent
    yield "POST", f"/v1/tickets/{ticket_id}/comments", {"body": "Fixed, please check"}, agent


async def run_ticket(conn: Connection, customer, agent, record, details: dict[str, str] = KS7_DETAILS) -> None:
    steps = ticket_steps(customer, agent, details)
    method, path, body, headers = next(steps)
    started = time.perf_counter()
    status, _, content = await conn.request(method, path, body, headers)
    record(status, time.perf_counter() - started)
    next(steps)
    for method, path, body, headers in [steps.send(_id_of(content))] + list(steps):
        started = time.perf_counter()
        status, _, _ = await conn.request(method, path, body, headers)
        record(status, time.perf_counter() - started)


def _id_of(content: bytes) -> str:
    return re.search(rb'"id":"([^"]+)"', content).group(1).decode()


async def closed_loop(host: str, port: int, customer, agent, seconds: float,
                      details: dict[str, str] = KS7_DETAILS) -> tuple[int, list[float], int]:
    latencies: list[float] = []
    errors = 0

    def record(status: int, elapsed: float) -> None:
        nonlocal errors
        latencies.append(elapsed)
        errors += status >= 400

    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        conn = Connection(host, port)
        while time.perf_counter() < deadline:
            await run_ticket(conn, customer, agent, record, details)
        conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return len(latencies), latencies, errors, time.perf_counter() - started


async def open_loop(host: str, port: int, customer, agent, rate: float, seconds: float) -> list[float]:
    """Start a ticket's four commands every 4/rate seconds; latency counts from the scheduled start."""
    latencies: list[float] = []
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(CONCURRENCY * 4):
        pool.put_nowait(Connection(host, port))

    async def one(scheduled: float) -> None:
        conn = await pool.get()
        first = True

        def record(status: int, elapsed: float) -> None:
            nonlocal first
            latencies.append(time.perf_counter() - scheduled if first else elapsed)
            first = False
        await run_ticket(conn, customer, agent, record)
        pool.put_nowait(conn)

    interval = 4 / rate
    start = time.perf_counter()
    tasks = []
    for i in range(int(seconds * rate / 4)):
        scheduled = start + i * interval
        await asyncio.sleep(max(0, scheduled - time.perf_counter()))
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    return latencies


def insert_ceiling(database_url: str, seconds: int) -> float:
    """pgbench: one-row INSERTs into a bigserial table, 16 clients, on the same server."""
    from helpdesk_devstack.pg_binaries import find_bin_dir

    pgbench = find_bin_dir() / "pgbench"
    subprocess.run([str(find_bin_dir() / "psql"), database_url, "-qc",
                    "CREATE TABLE IF NOT EXISTS bench_ceiling (id bigserial PRIMARY KEY, payload text)"],
                   check=True, capture_output=True)
    script = Path(os.environ.get("TMPDIR", "/tmp")) / "bench_ceiling.sql"
    script.write_text("INSERT INTO bench_ceiling (payload) VALUES ('a ticket event of about this size');\n")
    out = subprocess.run([str(pgbench), "-n", "-c", str(CONCURRENCY), "-j", "2", "-T", str(seconds),
                          "-f", str(script), database_url], check=True, capture_output=True, text=True).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


class CpuMeter:
    """The CPU intake's server processes and its relay spend over a phase, per command."""

    def __init__(self, env: dict[str, str]) -> None:
        self.pids = {name: int(env[f"BENCH_PID_helpdesk_intake_{name}"]) for name in ("serve", "relay")}
        self.start = self._now()
        self.system = system_seconds(self.pids["serve"])

    def _now(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def idle_line(self, seconds: float) -> str:
        """The background CPU (timers, stream consumers, the relay's polling) with no command coming."""
        time.sleep(seconds)
        spent = {name: now - self.start[name] for name, now in self._now().items()}
        return (f"idle, {seconds:.0f} s: intake {1000 * spent['serve'] / seconds:.0f} ms CPU/s,"
                f" relay {1000 * spent['relay'] / seconds:.0f} ms CPU/s (in every phase's CPU below)")

    def line(self, commands: int) -> str:
        spent = {name: now - self.start[name] for name, now in self._now().items()}
        per = {name: 1000 * seconds / max(commands, 1) for name, seconds in spent.items()}
        kernel = 1000 * (system_seconds(self.pids["serve"]) - self.system) / max(commands, 1)
        return (f"  intake CPU {per['serve']:.2f} ms/command ({spent['serve']:.1f} s over {commands} commands;"
                f" {kernel:.2f} ms of it in the kernel), relay {per['relay']:.2f} ms/command")


def system_seconds(pid: int) -> float:
    """The system (kernel) part of ``cpu_seconds``: socket writes, wake-ups, thread switches."""
    total = 0
    for current in [pid, *_descendants(pid)]:
        try:
            total += int(Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()[12])
        except OSError:
            continue
    return total / os.sysconf("SC_CLK_TCK")


def profiled(env: dict[str, str]) -> dict[str, int]:
    """The processes py-spy samples: each of intake's workers (the server's descendants) and the relay."""
    workers = _descendants(int(env["BENCH_PID_helpdesk_intake_serve"])) or [int(env["BENCH_PID_helpdesk_intake_serve"])]
    return {**{f"intake-{n}": pid for n, pid in enumerate(sorted(workers))},
            "relay": int(env["BENCH_PID_helpdesk_intake_relay"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rate", type=float, nargs="+", default=[300, 500],
                        help="open-loop rates in commands/s (the target's, and one this stack sustains)")
    parser.add_argument("--workers", type=int, default=2, help="intake's worker processes")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy's collapsed stacks go to this folder")
    args = parser.parse_args()
    with stack(("helpdesk_intake", "serve"), ("helpdesk_intake", "relay"),
               extra_env={"HELPDESK_WORKERS": str(args.workers)}) as env:
        port = int(env["HELPDESK_INTAKE_PORT"])
        customer, agent = provision(f"http://127.0.0.1:{port}")
        print(CpuMeter(env).idle_line(5))
        meter = CpuMeter(env)
        with sampled(profiled(env), args.profile, args.seconds, gil=True):
            count, latencies, errors, elapsed = asyncio.run(
                closed_loop("127.0.0.1", port, customer, agent, args.seconds))
        throughput = count / elapsed
        print(f"intake ({args.workers} workers), closed loop, {CONCURRENCY} connections, {elapsed:.0f} s,"
              " relay running:")
        print(f"  {throughput:,.0f} commands/s  ({count} commands, {errors} errors)  {latency_line(latencies)}")
        print(meter.line(count))
        for rate in args.rate:
            meter = CpuMeter(env)
            fixed = asyncio.run(open_loop("127.0.0.1", port, customer, agent, rate, args.seconds))
            print(f"intake, open loop at {rate:.0f} commands/s: {latency_line(fixed)}")
            print(meter.line(len(fixed)))
        ceiling = insert_ceiling(env["HELPDESK_DATABASE_URL"], int(args.seconds))
        print(f"PostgreSQL raw single-row inserts, {CONCURRENCY} clients: {ceiling:,.0f} inserts/s")
        print(f"ratio commands/s ÷ raw inserts/s: {throughput / ceiling:.2f}")
        for path in sorted(args.profile.glob("*.txt")) if args.profile else ():
            print("\n".join(top(path)))
        print("targets (issue 16): ≤ 1.0 ms intake CPU/command; ≥ 800 commands/s closed loop;"
              " p99 < 50 ms at 300 commands/s")


if __name__ == "__main__":
    main()
