"""The real PostgreSQL and NATS servers the suite runs against.

Containers (testcontainers) where a Docker engine answers, embedded binaries otherwise.
HELPDESK_TEST_INFRA=embedded|docker forces one; the default is auto.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from helpdesk_devstack import EmbeddedNats, EmbeddedPostgres, free_port
from helpdesk_shared.migrations_cli import migrate_all
from psycopg import sql

PG_IMAGE = "postgres:16-alpine"
NATS_IMAGE = "nats:2.10"
FAST_PG = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
# The services run as this role: it may read and write rows, never create anything (issue #14).
RUNTIME_ROLE = "helpdesk_app"
RUNTIME_PASSWORD = "helpdesk-app-test-password"
TEMPLATE = "helpdesk_migrated"
_templated: set[str] = set()  # admin URLs of the servers whose template is made


@cache
def use_docker() -> bool:
    """True when tests should run servers in containers."""
    choice = os.environ.get("HELPDESK_TEST_INFRA", "auto")
    if choice in ("docker", "embedded"):
        return choice == "docker"
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


@dataclass
class PostgresServer:
    """A running server: `admin_url` for maintenance, `url_for(db)` for a database on it."""

    admin_url: str
    kind: str

    def url_for(self, database: str) -> str:
        return self.admin_url.rsplit("/", 1)[0] + f"/{database}"


def runtime_url(owner_url: str) -> str:
    """The same database as ``owner_url``, connected as the services' runtime role."""
    url = urlsplit(owner_url)
    netloc = f"{RUNTIME_ROLE}:{quote(RUNTIME_PASSWORD)}@{url.hostname}:{url.port or 5432}"
    return urlunsplit(url._replace(netloc=netloc))


def prepare_database(owner_url: str) -> None:
    """The runtime role (LOGIN, once per server) and every service's migrations, run as the owner."""
    with psycopg.connect(owner_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (RUNTIME_ROLE,)).fetchone():
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(RUNTIME_ROLE), sql.Literal(RUNTIME_PASSWORD)))
    migrate_all(owner_url, RUNTIME_ROLE)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    if use_docker():
        try:
            from testcontainers.community.postgres import PostgresContainer
        except ImportError:
            from testcontainers.postgres import PostgresContainer
        container = PostgresContainer(
            PG_IMAGE, username="postgres", password="postgres", dbname="postgres", driver=None
        ).with_command(["postgres", *FAST_PG, "-c", "max_connections=300"])
        with container:
            yield PostgresServer(container.get_connection_url(), "container")
        return
    # mkdtemp, not pytest's tmp_path: its parent is private to root, and the server may run
    # as an unprivileged user that must reach the data directory
    root = Path(tempfile.mkdtemp(prefix="helpdesk-test-pg-"))
    try:
        with EmbeddedPostgres(root / "data", free_port(), fast=True) as server:
            yield PostgresServer(server.admin_url, "embedded")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _template(server: PostgresServer) -> str:
    """A migrated database to copy (once per server): a copy costs less than migrating each time."""
    if server.admin_url not in _templated:
        with psycopg.connect(server.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
        prepare_database(server.url_for(TEMPLATE))
        _templated.add(server.admin_url)
    return TEMPLATE


@contextmanager
def fresh_database(server: PostgresServer, migrated: bool = True) -> Iterator[str]:
    """A new database for one test, migrated (the owner's URL) unless told not to; dropped afterwards
    even if connections remain."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    template = f' TEMPLATE "{_template(server)}"' if migrated else ""
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{template}')
    try:
        yield server.url_for(name)
    finally:
        with psycopg.connect(server.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class NatsServer:
    url: str
    kind: str


@contextmanager
def nats_server(store_root: Path) -> Iterator[NatsServer]:
    """A NATS server with JetStream. Embedded ones are cheap (~50 ms), so one per test."""
    if use_docker():
        try:
            from testcontainers.community.nats import NatsContainer
        except ImportError:
            from testcontainers.nats import NatsContainer
        with NatsContainer(NATS_IMAGE, jetstream=True) as container:
            yield NatsServer(container.nats_uri(), "container")
        return
    with EmbeddedNats(store_root / f"nats-{uuid.uuid4().hex[:8]}", free_port()) as server:
        yield NatsServer(server.url, "embedded")


def purge_jetstream(url: str) -> None:
    """Delete every stream (KV and object buckets are streams too) on a shared server."""

    async def purge() -> None:
        import nats

        client = await nats.connect(url)
        try:
            jetstream = client.jetstream()
            for stream in await jetstream.streams_info():
                await jetstream.delete_stream(stream.config.name)
        finally:
            await client.close()

    # its own thread and loop: never disturb the loop pytest-asyncio keeps for the session
    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: _run_collecting(purge(), errors))
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def _run_collecting(coroutine: object, errors: list[BaseException]) -> None:
    try:
        asyncio.run(coroutine)  # type: ignore[arg-type]
    except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
        errors.append(error)
