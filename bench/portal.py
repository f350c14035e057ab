"""Benchmark of the portal: server time of the queue and ticket pages at 8 concurrent users over a
large read model, and the time from a command to the live update the portal relays to an open page.

Runs its own embedded PostgreSQL and NATS, intake (serve + relay), query and the portal as processes.
1. live: an agent's page listens on the portal's ``/live``; a customer's comment goes through intake;
   latency = the command's answer → the ``change`` event at the listening page (target p99 < 1 s).
2. load: ``--tickets`` synthetic tickets are published straight to the stream (as bench/query.py does)
   and projected in bulk by query's blue/green ``rebuild`` (fold in memory, COPY); the live projector (its
   own ``helpdesk_query project`` process, stopped meanwhile) then catches up from there.
3. pages: 8 signed-in agents load the queue page (``order=queue``, 25 rows) and the ticket page
   (workspace with timeline) in a loop for ``--seconds``; p50/p99 per page (target p99 < 150 ms).

Each process's CPU time during 3. is printed per page load (steadier than wall time on a shared machine);
``--profile DIR`` also samples portal, query and intake with py-spy and prints their top entries.

Usage: python bench/portal.py [--tickets 100000] [--seconds 15] [--users 8] [--updates 30] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for part in ("shared", "services/intake", "services/query", "services/portal", "devstack", "."):
    sys.path.insert(0, str(ROOT / part))

import httpx  # noqa: E402
import nats  # noqa: E402
import psycopg  # noqa: E402

from bench._profile import cpu_used, sampled, serving, settle, top  # noqa: E402
from bench._support import ADMIN_TOKEN, Connection, latency_line, stack  # noqa: E402
from helpdesk_devstack import free_port  # noqa: E402
from helpdesk_query.adapters.eventstore import EventStream  # noqa: E402
from helpdesk_query.entrypoints.rebuild import rebuild  # noqa: E402
from tests.query.synthetic import histories, publish  # noqa: E402

PASSWORD = "bench-password-1"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def provision(intake: str) -> tuple[str, str, str]:
    """A customer with one user and an agent; their logins, and the customer user's token."""
    with httpx.Client(base_url=intake, headers=ADMIN, timeout=30) as client:
        customer = client.post("/v1/customers", json={"name": "Bench", "email": "it@bench.test", "policy": "medis"})
        customer_id = customer.json()["id"]
        client.post(f"/v1/customers/{customer_id}/users", json={
            "name": "User", "email": "u@bench.test", "login": "bench-user", "password": PASSWORD})
        client.post("/v1/staff", json={"name": "Agent", "email": "a@bench.test", "login": "bench-agent",
                                       "password": PASSWORD, "role": "agent"})
        token = client.post("/v1/auth/token", json={"login": "bench-user", "password": PASSWORD}).json()
    return "bench-user", "bench-agent", token["access_token"]


def portal_session(portal: str, login: str) -> str:
    """The Cookie header of a portal session, signed in through the login form."""
    with httpx.Client(base_url=portal) as client:
        page = client.get("/login").text
        marker = 'name="_csrf_token" value="'
        csrf = page[page.index(marker) + len(marker):].split('"', 1)[0]
        answer = client.post("/login", data={"login": login, "password": PASSWORD, "_csrf_token": csrf})
        assert answer.status_code == 303, answer.text
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


async def live_updates(portal: str, intake: str, cookie: str, token: str, ticket_id: str, count: int) -> list[float]:
    """Command answered → ``change`` seen on the portal's relayed stream, ``count`` times."""
    samples: list[float] = []
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=30) as client, client.stream(
            "GET", f"{portal}/live", params={"ticket": ticket_id}, headers={"Cookie": cookie}) as events:
        ids: asyncio.Queue[str] = asyncio.Queue()
        reading = asyncio.create_task(_ids(events, ids))
        while True:  # the portal subscribes upstream once the page's stream is open: warm up until it has
            await client.post(f"{intake}/v1/tickets/{ticket_id}/comments", json={"body": "warm-up"}, headers=auth)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ids.get(), 1.0)
                break
        for n in range(count):
            answer = await client.post(f"{intake}/v1/tickets/{ticket_id}/comments", json={"body": f"ping {n}"},
                                       headers=auth)
            answered = time.perf_counter()
            assert answer.status_code == 201, answer.text
            while (await asyncio.wait_for(ids.get(), 30)) != answer.headers["Helpdesk-Position"]:
                pass
            samples.append(time.perf_counter() - answered)
        reading.cancel()
    return samples


async def _ids(events: httpx.Response, ids: asyncio.Queue[str]) -> None:
    """The position part of each event id (``id: <position>:<sequence>``) the portal relays."""
    async for line in events.aiter_lines():
        if line.startswith("id:"):
            ids.put_nowait(line[3:].strip().split(":")[0])


def projector(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """query's live projector as a process of its own (``serve`` runs without one here)."""
    return subprocess.Popen([sys.executable, "-m", "helpdesk_query", "project"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def load(nats_url: str, tickets: int) -> tuple[int, float]:
    """Publish the synthetic tickets, then project them in bulk (rebuild); the last position and the time."""
    nc = await nats.connect(nats_url)
    events = list(histories(tickets=tickets, events_per_ticket=3, customers=50, seed=1, start_position=10_000_000))
    t0 = time.perf_counter()
    await publish(nc.jetstream(), events, window=5000)
    await nc.close()
    return events[-1].sequence, time.perf_counter() - t0


async def bulk(env: dict[str, str]) -> None:
    """query's rebuild: the stream folded in memory and written with COPY into a new generation."""
    nc = await nats.connect(env["HELPDESK_NATS_URL"])
    try:
        await rebuild(env["HELPDESK_DATABASE_URL"], EventStream(nc), progress=False)
    finally:
        await nc.close()


async def caught_up(database_url: str, last: int) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        while (await (await conn.execute("SELECT position FROM query.tracking")).fetchone())[0] < last:
            await asyncio.sleep(0.2)


async def pages(portal_port: int, cookie: str, ticket_id: str, users: int, seconds: float) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = collections.defaultdict(list)  # a failed load is counted apart
    paths = {"queue": "/tickets", "ticket": f"/tickets/{ticket_id}"}
    deadline = time.perf_counter() + seconds

    async def user() -> None:
        connection = Connection("127.0.0.1", portal_port)
        try:
            while time.perf_counter() < deadline:
                for name, path in paths.items():
                    t0 = time.perf_counter()
                    status, _, _ = await connection.request("GET", path, headers={"Cookie": cookie})
                    timings[name if status == 200 else f"{name} failed ({status})"].append(time.perf_counter() - t0)
        finally:
            connection.close()

    await asyncio.gather(*(user() for _ in range(users)))
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--updates", type=int, default=30)
    parser.add_argument("--profile", type=Path, default=None, help="py-spy's collapsed stacks go to this folder")
    args = parser.parse_args()
    portal_port, query_port = free_port(), free_port()
    env = {"HELPDESK_PORTAL_PORT": str(portal_port), "HELPDESK_QUERY_PORT": str(query_port),
           "HELPDESK_QUERY_URL": f"http://127.0.0.1:{query_port}", "HELPDESK_PORTAL_SECURE_COOKIES": "false",
           "HELPDESK_PORTAL_SECRET": "bench-portal-secret", "HELPDESK_LOG_LEVEL": "WARNING",
           "HELPDESK_RUN_PROJECTOR": "false"}
    commands = (("helpdesk_intake", "serve"), ("helpdesk_intake", "relay"), ("helpdesk_query", "serve"),
                ("helpdesk_portal", "serve"))
    with stack(*commands, extra_env=env) as running:
        intake, portal = running["HELPDESK_INTAKE_URL"], f"http://127.0.0.1:{portal_port}"
        user, agent, token = provision(intake)
        opened = httpx.post(f"{intake}/v1/tickets", json={"subject": "Bench", "description": "Live"},
                            headers={"Authorization": f"Bearer {token}"})
        ticket = opened.json()
        cookie = portal_session(portal, agent)
        live_projector = projector(running)
        try:
            asyncio.run(caught_up(running["HELPDESK_DATABASE_URL"], int(opened.headers["Helpdesk-Position"])))
            live = asyncio.run(live_updates(portal, intake, cookie, token, ticket["id"], args.updates))
        finally:
            live_projector.terminate()
            live_projector.wait(timeout=15)
        print(f"command → live update at an open page ({len(live)}): {latency_line(live)}")
        last, published = asyncio.run(load(running["HELPDESK_NATS_URL"], args.tickets))
        t0 = time.perf_counter()
        asyncio.run(bulk(running))
        live_projector = projector(running)
        try:
            asyncio.run(caught_up(running["HELPDESK_DATABASE_URL"], last))
            print(f"{args.tickets} synthetic tickets published in {published:.0f} s,"
                  f" projected in {time.perf_counter() - t0:.0f} s")
            measure(args, serving(running), portal_port, cookie, ticket["id"])
        finally:
            live_projector.terminate()
            live_projector.wait(timeout=15)


def measure(args: argparse.Namespace, pids: dict[str, int], portal_port: int, cookie: str, ticket_id: str) -> None:
    """Step 3, with each service's CPU time per page load and, with ``--profile``, py-spy's top entries."""
    print(f"services quiet after {settle(pids):.0f} s")
    asyncio.run(pages(portal_port, cookie, ticket_id, args.users, 1.0))  # warm-up (templates compiled), not counted
    with cpu_used(pids) as used, sampled(pids, args.profile, args.seconds):
        timings = asyncio.run(pages(portal_port, cookie, ticket_id, args.users, args.seconds))
    for name, samples in timings.items():
        print(f"{name} page, {args.users} users ({len(samples)} loads): {latency_line(samples)}")
    loads = sum(len(samples) for samples in timings.values())
    print("CPU per page load (queue and ticket pages alike): " + ", ".join(
        f"{name} {1000 * seconds / loads:.1f} ms" for name, seconds in used.items()))
    for path in sorted(args.profile.glob("*.txt")) if args.profile else ():
        print("\n".join(top(path)))


if __name__ == "__main__":
    main()
