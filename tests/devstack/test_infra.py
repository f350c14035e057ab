from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest
from helpdesk_devstack import free_port
from helpdesk_devstack.infra import InfraError, start_infra
from helpdesk_devstack.ports import port_open
from helpdesk_devstack.up import PROCESSES
from helpdesk_shared.web.keys import read_key_set


@pytest.fixture
def environ(tmp_path):
    return {
        "HELPDESK_DATA_DIR": str(tmp_path / "helpdesk"),
        "HELPDESK_PG_PORT": str(free_port()),
        "HELPDESK_NATS_PORT": str(free_port()),
        "HELPDESK_SMTP_CATCHER_PORT": str(free_port()),
    }


def test_starts_postgres_nats_and_mail_under_the_data_dir(environ, tmp_path):
    with ExitStack() as stack:
        infra = start_infra(stack, environ, fast=True)
        env = infra.env
        with psycopg.connect(env["HELPDESK_DATABASE_URL"]) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("helpdesk",)
        assert env["HELPDESK_NATS_URL"] == f"nats://127.0.0.1:{environ['HELPDESK_NATS_PORT']}"
        assert (
            env["HELPDESK_SMTP_URL"] == f"smtp://127.0.0.1:{environ['HELPDESK_SMTP_CATCHER_PORT']}"
        )
        assert env["HELPDESK_ADMIN_TOKEN"] == "dev-admin-token"
        assert env["HELPDESK_INTAKE_URL"] == "http://127.0.0.1:8001"
        assert (tmp_path / "helpdesk" / "mail").is_dir()
        assert (tmp_path / "helpdesk" / "postgres" / "PG_VERSION").exists()
    assert not port_open("127.0.0.1", int(environ["HELPDESK_PG_PORT"]))
    assert not port_open("127.0.0.1", int(environ["HELPDESK_NATS_PORT"]))


def test_platform_keys_devstack_generates_a_signing_key_and_service_token_once(environ):
    with ExitStack() as stack:
        first = start_infra(stack, environ, fast=True).env
    with ExitStack() as stack:
        second = start_infra(stack, environ, fast=True).env
    keys = sorted(Path(first["HELPDESK_JWT_KEYS_DIR"]).glob("*.pem"))
    assert len(keys) == 1 and keys[0].stat().st_mode & 0o777 == 0o600
    assert read_key_set(keys[0].parent).active_kid == keys[0].stem
    assert second["HELPDESK_JWT_KEYS_DIR"] == first["HELPDESK_JWT_KEYS_DIR"]
    assert sorted(Path(second["HELPDESK_JWT_KEYS_DIR"]).glob("*.pem")) == keys
    assert first["HELPDESK_SERVICE_TOKEN"] == second["HELPDESK_SERVICE_TOKEN"]
    assert len(first["HELPDESK_SERVICE_TOKEN"]) >= 32


def test_given_urls_are_used_instead_of_embedded_servers(environ):
    given = {
        **environ,
        "HELPDESK_DATABASE_URL": "postgresql://elsewhere/db",
        "HELPDESK_NATS_URL": "nats://elsewhere:4222",
        "HELPDESK_SMTP_URL": "smtp://elsewhere:25",
        "HELPDESK_ADMIN_TOKEN": "mine",
    }
    with ExitStack() as stack:
        infra = start_infra(stack, given)
    assert infra.notes == []
    assert {k: infra.env[k] for k in given} == given | {
        "HELPDESK_DATA_DIR": infra.env["HELPDESK_DATA_DIR"]
    }


def test_a_busy_port_is_reported_with_the_variable_to_change(environ, smtp_catcher):
    busy = {
        **environ,
        "HELPDESK_SMTP_CATCHER_PORT": str(smtp_catcher.port),
        "HELPDESK_DATABASE_URL": "postgresql://x/y",
        "HELPDESK_NATS_URL": "nats://x:1",
    }
    with ExitStack() as stack, pytest.raises(InfraError, match="HELPDESK_SMTP_CATCHER_PORT"):
        start_infra(stack, busy)


def test_process_table_runs_each_service_package_as_a_module():
    commands = {p.name: p.command()[1:] for p in PROCESSES}
    assert commands["intake"] == ["-m", "helpdesk_intake", "serve"]
    assert commands["relay"] == ["-m", "helpdesk_intake", "relay"]
    assert commands["projector"] == ["-m", "helpdesk_query", "project"]  # production's shape (issue #16)
    assert {"query", "sla", "notify"} <= commands.keys()
