import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest
from helpdesk_devstack import EmbeddedPostgres, free_port


@pytest.fixture
def pg_dir():
    root = Path(tempfile.mkdtemp(prefix="helpdesk-test-pgdev-"))
    yield root / "data"
    shutil.rmtree(root, ignore_errors=True)


def test_starts_and_answers_a_query_in_database_helpdesk(pg_dir):
    with EmbeddedPostgres(pg_dir, free_port(), fast=True) as server:
        with psycopg.connect(server.url) as conn:
            row = conn.execute("SELECT current_database(), upper('привет')").fetchone()
    assert row == ("helpdesk", "ПРИВЕТ")
    assert server.url.startswith("postgresql://postgres@127.0.0.1:")


def test_keeps_data_across_stop_and_start(pg_dir):
    server = EmbeddedPostgres(pg_dir, free_port())
    with server:
        with psycopg.connect(server.url) as conn:
            conn.execute("CREATE TABLE kept (note text)")
            conn.execute("INSERT INTO kept VALUES ('survives')")
    with server:
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SELECT note FROM kept").fetchall() == [("survives",)]


def test_recovers_from_a_killed_run(pg_dir):
    crashed = EmbeddedPostgres(pg_dir, free_port(), fast=True).start()
    crashed._process.kill()  # SIGKILL: postmaster.pid stays behind
    crashed._process.wait()
    assert (pg_dir / "postmaster.pid").exists()
    with EmbeddedPostgres(pg_dir, free_port(), fast=True) as server:
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)


def test_stops_an_orphaned_server_of_the_same_data_dir(pg_dir):
    orphan = EmbeddedPostgres(pg_dir, free_port(), fast=True).start()
    orphan_pid = orphan.pid
    with EmbeddedPostgres(pg_dir, free_port(), fast=True) as server:
        assert server.pid != orphan_pid
        assert orphan._process.wait(10) is not None
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)


def test_hardening_a_killed_server_starts_again_on_its_port_with_its_data(pg_dir):
    server = EmbeddedPostgres(pg_dir, free_port())
    with server:
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (note text)")
            conn.execute("INSERT INTO kept VALUES ('committed before the crash')")
        server.kill()  # the postmaster and its backends at once: no shutdown checkpoint
        assert not server.running()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(server.url, connect_timeout=2)
        server.start()
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SELECT note FROM kept").fetchall() == [("committed before the crash",)]
