"""The suite's own fixtures, exercised with a stand-in service module."""

import time

import httpx
import psycopg
import pytest

from tests.devstack.fakes import write_fake_package
from tests.support.servers import runtime_url


@pytest.fixture
def fake_env(tmp_path):
    return {"PYTHONPATH": write_fake_package(tmp_path / "fakepkg")}


def test_database_url_is_a_fresh_migrated_database(database_url, postgres_server):
    with psycopg.connect(database_url) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
        services = conn.execute("SELECT DISTINCT service FROM helpdesk_migrations ORDER BY 1").fetchall()
        tickets = conn.execute("SELECT count(*) FROM query.tickets").fetchone()
    assert tables == (1,)  # the version table only
    assert services == [("intake",), ("notify",), ("query",), ("sla",)]
    assert tickets == (0,)
    assert database_url != postgres_server.admin_url


def test_a_fresh_database_is_a_copy_of_the_migrated_template_not_migrated_again(postgres_server):
    """Each test's database is copied from one migrated template (cheap), so its migration
    records carry the template's times instead of new ones."""
    import psycopg

    from tests.support.servers import TEMPLATE, fresh_database

    def applied(url: str) -> list[tuple]:
        with psycopg.connect(url) as conn:
            return conn.execute("SELECT service, version, applied_at FROM public.helpdesk_migrations"
                                " ORDER BY service, version").fetchall()

    with fresh_database(postgres_server):  # the first one also migrates the template it copies
        pass
    with fresh_database(postgres_server) as url:
        copied = applied(url)
    assert copied and copied == applied(postgres_server.url_for(TEMPLATE))


def test_services_start_ready_with_the_test_environment(services, fake_env, database_url, nats_url):
    fake = services.start("fake", "serve", env=fake_env)
    seen = httpx.get(f"{fake.url}/readyz").json()
    assert seen["HELPDESK_DATABASE_URL"] == runtime_url(database_url)
    assert seen["HELPDESK_MIGRATION_DATABASE_URL"] == database_url
    assert seen["HELPDESK_NATS_URL"] == nats_url
    assert seen["HELPDESK_ADMIN_TOKEN"] == "test-admin-token"
    assert seen["HELPDESK_FAKE_PORT"] == str(fake.port)


def test_later_services_learn_the_urls_of_earlier_ones(services, fake_env):
    first = services.start("fake", "serve", env=fake_env)
    second = services.start("fake", "serve", env=fake_env, port=None, http=True)
    assert httpx.get(f"{second.url}/readyz").json()["HELPDESK_FAKE_URL"] == first.url


def test_restart_keeps_the_port_and_kill_is_a_crash(services, fake_env):
    fake = services.start("fake", "serve", env=fake_env)
    first_pid = fake.pid
    fake.restart()
    assert fake.pid != first_pid and httpx.get(f"{fake.url}/readyz").status_code == 200
    assert fake.kill() == -9
    assert fake.terminate() == -9


def test_a_service_that_dies_while_starting_fails_fast_with_its_log(services, fake_env):
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="boom: cannot start"):
        services.start("fake", "crash", env=fake_env, http=True)
    assert time.monotonic() - started < 5
