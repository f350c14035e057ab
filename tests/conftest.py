"""Fixtures: real PostgreSQL, NATS and SMTP servers, and the services as real processes.

Helpers live in tests/support/: servers.py, processes.py, waiting.py (wait_until).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from helpdesk_devstack import NatsCluster, SmtpCatcher, free_port

from tests.support import servers
from tests.support.processes import Services, base_env

SERVICES_KEY = pytest.StashKey[Services]()
# Property tests check properties, not speed (benchmarks do that): under parallel workers a
# single example may take longer than hypothesis' default 200 ms deadline without anything wrong.
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")
PORTS_PER_WORKER = 2500  # worker N draws ports from 10000 + N*2500, below the kernel's ephemeral range


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, give each worker its own range of ports, so workers never race for one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw"):
        first = 10000 + int(worker[2:]) * PORTS_PER_WORKER
        os.environ["HELPDESK_PORT_RANGE"] = f"{first}-{first + PORTS_PER_WORKER - 1}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[servers.PostgresServer]:
    """One server for the session; `.admin_url`, `.url_for(name)`."""
    with servers.postgres_server() as server:
        yield server


@pytest.fixture
def database_url(postgres_server: servers.PostgresServer) -> Iterator[str]:
    """A fresh, empty database for this test (dropped afterwards)."""
    with servers.fresh_database(postgres_server) as url:
        yield url


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.NatsServer]:
    """A session-wide NATS server; tests normally want `nats_url` instead."""
    with servers.nats_server(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture
def nats_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A NATS with JetStream and no streams: a fresh embedded server, or the purged container."""
    if servers.use_docker():
        server = request.getfixturevalue("nats_server")
        servers.purge_jetstream(server.url)
        yield server.url
        return
    with servers.nats_server(tmp_path) as server:
        yield server.url


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    """Three embedded nats-server processes routed into one JetStream cluster, each with its own store
    (ports from this worker's range): `.url` lists every node, `.nodes[i]` can be killed and started."""
    with NatsCluster(tmp_path / "nats-cluster") as cluster:
        yield cluster


@pytest.fixture
def smtp_catcher(tmp_path: Path) -> Iterator[SmtpCatcher]:
    """A real SMTP server keeping mail as .eml files: `.url`, `.messages()`, `.wait(count)`."""
    with SmtpCatcher(tmp_path / "mail", free_port()) as catcher:
        yield catcher


@pytest.fixture
def services(
    request: pytest.FixtureRequest,
    database_url: str,
    nats_url: str,
    smtp_catcher: SmtpCatcher,
    tmp_path: Path,
) -> Iterator[Services]:
    """`services.start("intake", "serve")` → a running process with `.url`; all stopped after."""
    factory = Services(
        base_env(database_url, nats_url, smtp_catcher.url, tmp_path / "data"), tmp_path
    )
    request.node.stash[SERVICES_KEY] = factory
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture
def whole_cluster(request: pytest.FixtureRequest, nats_cluster: NatsCluster, database_url: str,
                  smtp_catcher: SmtpCatcher, tmp_path: Path) -> Iterator[Services]:
    """`services` on `nats_cluster`: every process given all its nodes, keeping three copies of the stream."""
    env = {**base_env(database_url, nats_cluster.url, smtp_catcher.url, tmp_path / "data"),
           "HELPDESK_STREAM_REPLICAS": "3"}
    factory = Services(env, tmp_path)
    request.node.stash[SERVICES_KEY] = factory
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Attach the services' log tails to a failing test's report."""
    report = yield
    factory = item.stash.get(SERVICES_KEY, None)
    if report.failed and factory is not None and factory.started:
        report.sections.append(("service logs", factory.log_report()))
    return report
