"""PostgreSQL and NATS killed under running services (issue #15 items 2 and 8, CONTRACT §7).

While a dependency is away, a request that needs it answers 503 ``not_ready`` with
``Retry-After``, never 500; once it is back, the same processes serve again by
themselves, and the relay neither exits nor spins.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from helpdesk_devstack import EmbeddedNats, EmbeddedPostgres, free_port

from tests.support import servers
from tests.support.desk import KS7, provision
from tests.support.processes import ServiceProcess, Services
from tests.support.stream import read_all
from tests.support.waiting import wait_until

RECOVERY = 90  # seconds a service may take to notice that its dependency is back


@pytest.fixture(scope="module")
def killable_postgres() -> Iterator[EmbeddedPostgres]:
    """This module's own PostgreSQL, so a test may SIGKILL it without harming the others.

    Durable (not ``fast``): with ``synchronous_commit=off`` a SIGKILL loses the last commits,
    which a production server would keep.
    """
    root = Path(tempfile.mkdtemp(prefix="helpdesk-test-outage-pg-"))
    try:
        with EmbeddedPostgres(root / "data", free_port()) as server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def database_url(killable_postgres: EmbeddedPostgres) -> Iterator[str]:
    """A fresh database on the killable server (overrides the suite's)."""
    server = servers.PostgresServer(killable_postgres.admin_url, "embedded")
    with servers.fresh_database(server) as url:
        try:
            yield url
        finally:
            if not killable_postgres.running():  # a failed test may leave it down
                killable_postgres.start()


@pytest.fixture
def killable_nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(tmp_path / f"nats-{uuid.uuid4().hex[:8]}", free_port()) as server:
        yield server


@pytest.fixture
def nats_url(killable_nats: EmbeddedNats) -> str:
    """The killable NATS (overrides the suite's)."""
    return killable_nats.url


def assert_not_ready(response: httpx.Response, what: str) -> None:
    assert response.status_code == 503, f"{what}: {response.status_code} {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json"), what
    assert response.json()["code"] == "not_ready", f"{what}: {response.text}"
    assert int(response.headers["Retry-After"]) > 0, what


def all_at_once(requests: dict[str, Callable[[], httpx.Response]]) -> dict[str, httpx.Response]:
    """Send the requests in parallel (each may wait for its pool's timeout) and collect the answers."""
    with ThreadPoolExecutor(len(requests)) as pool:
        return dict(zip(requests, pool.map(lambda send: send(), requests.values())))


def answers_again(send: Callable[[], httpx.Response], status: int) -> None:
    """Wait until ``send()`` answers ``status``; report the last answer if it never does."""
    last: list[httpx.Response] = []

    def answered() -> bool:
        last[:] = [send()]
        return last[0].status_code == status

    try:
        wait_until(answered, timeout=RECOVERY, interval=0.5)
    except TimeoutError:
        pytest.fail(f"still {last[0].status_code} {last[0].text} after {RECOVERY} s")


def cpu_share(pid: int, seconds: float) -> float:
    """The share of one core process ``pid`` used over the next ``seconds`` (from /proc/<pid>/stat)."""
    def used() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    start, began = used(), time.monotonic()
    time.sleep(seconds)  # a measurement over a window, not a wait for a condition
    return (used() - start) / (time.monotonic() - began)


def started(services: Services) -> tuple[ServiceProcess, ServiceProcess, ServiceProcess]:
    return (services.start("intake", "serve"), services.start("intake", "relay"),
            services.start("query", "serve"))


def still_the_same(processes: tuple[ServiceProcess, ...], pids: list[int]) -> None:
    for process, pid in zip(processes, pids):
        assert process.running() and process.pid == pid, f"{process.label} exited or was restarted"


def test_hardening_postgres_outage_is_503_not_ready_and_the_services_recover_by_themselves(
        services: Services, killable_postgres: EmbeddedPostgres) -> None:
    processes = intake, _, query = started(services)
    pids = [p.pid for p in processes]
    with httpx.Client(base_url=intake.url, timeout=60) as client, \
            httpx.Client(base_url=query.url, timeout=60) as reader:
        desk = provision(client)
        opened = client.post("/v1/tickets", json={"subject": "s", "description": "d", "details": KS7}, headers=desk.customer)
        ticket, position = opened.json()["id"], opened.headers["Helpdesk-Position"]
        assert reader.get(f"/v1/tickets/{ticket}", headers={**desk.agent, "Helpdesk-Min-Position": position},
                          ).status_code == 200
        killable_postgres.kill()
        answers = all_at_once({
            "open a ticket": lambda: client.post("/v1/tickets", json={"subject": "s", "description": "d", "details": KS7},
                                                 headers=desk.customer),
            "comment": lambda: client.post(f"/v1/tickets/{ticket}/comments", json={"body": "on it"},
                                           headers=desk.agent),
            "list": lambda: reader.get("/v1/tickets", headers=desk.agent),
            "detail": lambda: reader.get(f"/v1/tickets/{ticket}", headers=desk.agent),
        })
        for what, answer in answers.items():
            assert_not_ready(answer, what)
        killable_postgres.start()
        answers_again(lambda: client.post(f"/v1/tickets/{ticket}/comments", json={"body": "back"},
                                          headers=desk.agent), 201)
        answers_again(lambda: reader.get(f"/v1/tickets/{ticket}", headers=desk.agent), 200)
    still_the_same(processes, pids)


def test_hardening_nats_outage_is_503_where_a_read_needs_it_while_commands_go_on(
        services: Services, killable_nats: EmbeddedNats) -> None:
    processes = intake, _, query = started(services)
    pids = [p.pid for p in processes]
    with httpx.Client(base_url=intake.url, timeout=60) as client, \
            httpx.Client(base_url=query.url, timeout=60) as reader:
        desk = provision(client)

        def read_at(position: str) -> httpx.Response:
            return reader.get("/v1/tickets", headers={**desk.agent, "Helpdesk-Min-Position": position})

        opened = client.post("/v1/tickets", json={"subject": "s", "description": "d", "details": KS7}, headers=desk.customer)
        assert read_at(opened.headers["Helpdesk-Position"]).status_code == 200
        killable_nats.kill()
        meanwhile = client.post("/v1/tickets", json={"subject": "s", "description": "d", "details": KS7}, headers=desk.customer)
        assert meanwhile.status_code == 201, "commands need only PostgreSQL: the relay publishes later"
        assert_not_ready(read_at(meanwhile.headers["Helpdesk-Position"]), "read-your-writes wait")
        killable_nats.start()
        answers_again(lambda: read_at(meanwhile.headers["Helpdesk-Position"]), 200)
    still_the_same(processes, pids)


def test_hardening_relay_reconnects_after_postgres_and_nats_restarts_and_idles_at_idle(
        services: Services, killable_postgres: EmbeddedPostgres, killable_nats: EmbeddedNats,
        nats_url: str) -> None:
    intake, relay = services.start("intake", "serve"), services.start("intake", "relay")
    pid = relay.pid
    with httpx.Client(base_url=intake.url, timeout=60) as client:
        desk = provision(client)
        desk.open()
        wait_until(lambda: len(read_all(nats_url)) == 1, timeout=30)
        killable_postgres.kill()
        killable_postgres.start()
        wait_until(lambda: client.get("/readyz").status_code == 200, timeout=RECOVERY)
        killable_nats.kill()
        killable_nats.start()
        opened = wait_until(lambda: _opened(client, desk.customer), timeout=RECOVERY)
    wait_until(lambda: any(m.subject == f"helpdesk.ticket.{opened}.opened" for m in read_all(nats_url)),
               timeout=RECOVERY)
    idle = cpu_share(pid, 5.0)
    print(f"relay idle CPU after the restarts: {idle:.1%} of a core")
    assert relay.running() and relay.pid == pid, "the relay exited"
    assert idle < 0.05, f"the relay spins at {idle:.0%} of a core with nothing to relay"


def _opened(client: httpx.Client, customer: dict[str, str]) -> str | None:
    response = client.post("/v1/tickets", json={"subject": "s", "description": "d", "details": KS7}, headers=customer)
    return response.json()["id"] if response.status_code == 201 else None
