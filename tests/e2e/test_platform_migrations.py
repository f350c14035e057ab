"""Issue #14 item 3: schema changes run once, as migrations; the services run without DDL rights.

The suite's ``services`` run as the runtime role ``helpdesk_app`` (tests/support/servers.py)
on a database migrated by the owner: these tests prove that role can create nothing, that
the services work under it, and how the migrations behave (idempotent, concurrent, adopting
a database made before them, refused when missing).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from helpdesk_shared.migrations_cli import installed

from tests.support import servers
from tests.support.processes import Services
from tests.support.stack import start_stack
from tests.support.waiting import wait_until
from tests.support.desk import KS7

SERVICES = ("intake", "notify", "query", "sla")


def _every_step() -> list[tuple[str, int]]:
    """(service, version) of every step the installed services declare."""
    found = installed()
    assert list(found) == list(SERVICES)
    return [(name, version) for name in SERVICES for version in range(1, len(found[name].steps) + 1)]
SCHEMAS = ("intake", "query", "query_g1", "sla", "notify", "public")


@pytest.fixture
def empty_database_url(postgres_server: servers.PostgresServer) -> Iterator[str]:
    """A database no migration has touched."""
    with servers.fresh_database(postgres_server, migrated=False) as url:
        yield url


def _versions(url: str) -> list[tuple[str, int, object]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT service, version, applied_at FROM helpdesk_migrations ORDER BY 1, 2").fetchall()


def _helpdesk_migrate(url: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update(HELPDESK_MIGRATION_DATABASE_URL=url, HELPDESK_RUNTIME_ROLE=servers.RUNTIME_ROLE)
    return subprocess.Popen([sys.executable, "-m", "helpdesk_shared.migrations_cli"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_platform_migrations_the_runtime_role_cannot_create_anything(database_url: str) -> None:
    with psycopg.connect(servers.runtime_url(database_url), autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (servers.RUNTIME_ROLE,)
        for schema in SCHEMAS:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"CREATE TABLE {schema}.intruder (id int)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE SCHEMA intruder")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE sla.timers ADD COLUMN intruder int")


def test_platform_migrations_the_services_work_under_the_runtime_role_across_a_rebuild(
        services: Services, database_url: str, nats_url: str) -> None:
    stack = start_stack(services, nats_url, database_url)
    with httpx.Client(base_url=stack.urls["query"], timeout=30) as reader:
        _round_trip(stack.desk, reader)
        with psycopg.connect(database_url) as conn:
            users = conn.execute("SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = current_database()"
                                 " AND pid <> pg_backend_pid()").fetchall()
        assert users == [(servers.RUNTIME_ROLE,)], "every service connects as the runtime role"
        rebuilt = subprocess.run([sys.executable, "-m", "helpdesk_query", "rebuild", "--no-progress"],
                                 env={**services._process_env(), "HELPDESK_DATABASE_URL": database_url},
                                 capture_output=True, text=True, timeout=120)
        assert rebuilt.returncode == 0, rebuilt.stderr
        _round_trip(stack.desk, reader)  # the projector, as the runtime role, writes the new generation


def _round_trip(desk, reader: httpx.Client) -> None:
    opened = desk.client.post("/v1/tickets", json={"subject": "s", "description": "d", "details": KS7}, headers=desk.customer)
    assert opened.status_code == 201, opened.text
    read = reader.get(f"/v1/tickets/{opened.json()['id']}",
                      headers={**desk.agent, "Helpdesk-Min-Position": opened.headers["Helpdesk-Position"]})
    assert read.status_code == 200, read.text


def test_platform_migrations_query_rebuild_refuses_under_the_runtime_role(
        services: Services, database_url: str) -> None:
    refused = subprocess.run([sys.executable, "-m", "helpdesk_query", "rebuild", "--no-progress"],
                             env=services._process_env(), capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "may not create schemas: run this command with the migration role's URL" in refused.stderr
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT active FROM query.generation").fetchone() == ("query_g1",)


def test_platform_migrations_run_concurrently_apply_each_step_once_and_again_change_nothing(
        empty_database_url: str) -> None:
    runs = [_helpdesk_migrate(empty_database_url) for _ in range(3)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    first = _versions(empty_database_url)
    assert [(service, version) for service, version, _ in first] == _every_step()
    again = _helpdesk_migrate(empty_database_url)
    assert again.wait(60) == 0
    assert _versions(empty_database_url) == first, "a second run applies nothing"


def test_platform_migrations_adopt_a_database_made_before_them(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:  # what the old code left: the tables with rows, no versions
        conn.execute("DROP TABLE helpdesk_migrations")
        conn.execute("INSERT INTO sla.policies (id, fingerprint) VALUES ('imc', 'f')")
    run = _helpdesk_migrate(database_url)
    assert run.wait(60) == 0, run.communicate()[0]
    assert [(service, version) for service, version, _ in _versions(database_url)] == _every_step()
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT id FROM sla.policies").fetchall() == [("imc",)]


def test_platform_migrations_a_service_on_an_unmigrated_database_is_not_ready_and_says_run_helpdesk_migrate(
        services: Services, empty_database_url: str) -> None:
    env = {"HELPDESK_DATABASE_URL": empty_database_url}
    started = [services.start(name, "serve", env=env, wait_ready=False) for name in SERVICES]
    started.append(services.start("intake", "relay", env=env, wait_ready=False))
    for process in started:
        wait_until(lambda: not process.running(), timeout=30)
        assert process.returncode != 0, process.log_tail()
        assert "run helpdesk-migrate" in process.log_path.read_text(), process.log_tail()
        if process.url:
            with pytest.raises(httpx.HTTPError):
                httpx.get(f"{process.url}/readyz", timeout=1)
    with psycopg.connect(empty_database_url) as conn:
        schemas = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", (list(SCHEMAS),)).fetchall()
    assert schemas == [("public",)], "no service created its schema"
