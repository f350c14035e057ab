"""Schema migrations: each service's ordered steps, applied once, recorded in a version table.

A service lists its steps in ``helpdesk_<name>/adapters/migrations.py`` (a ``Migrations``)
and names it under the ``helpdesk.migrations`` entry-point group of its package, so
``helpdesk-migrate`` (migrations_cli.py) finds every installed service without any
service importing another. Migrations run as the database owner; the services run as a
runtime role that may read and write rows but create nothing, and only check at start
that their schema is at the version they need (``require``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

VERSION_TABLE = "public.helpdesk_migrations"
LOCK_ID = 0x48444D47  # "HDMG": one migration run at a time, whatever the service
Step = str | Callable[[psycopg.Connection, str], None]  # plain SQL, or Python given the connection and its URL

_VERSION_TABLE_DDL = f"""
CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (
    service text NOT NULL, version integer NOT NULL, description text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (service, version)
)"""


@dataclass(frozen=True)
class Migration:
    """One step of a service's schema; its version is its place in the list (1, 2, ...)."""

    description: str
    apply: Step


@dataclass(frozen=True)
class Migrations:
    """A service's steps, and the schemas (LIKE patterns) whose rows its runtime role may touch."""

    service: str
    schemas: tuple[str, ...]
    steps: tuple[Migration, ...]

    @property
    def version(self) -> int:
        """The version this build of the service needs."""
        return len(self.steps)


class SchemaNotMigrated(Exception):
    """The database schema is older than this build of the service needs."""


class MissingPrivilege(Exception):
    """The role connected may not do what the command needs (DDL, under the runtime role)."""


def migrate(conninfo: str, migrations: Migrations, runtime_role: str) -> list[int]:
    """Apply the steps not yet applied, each in its own transaction; the versions applied.

    An advisory lock makes concurrent runs (two Jobs, several services' migrations) wait
    for each other, and a run that waited finds the steps done and applies nothing.
    """
    applied: list[int] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_ID,))
        try:
            conn.execute(_VERSION_TABLE_DDL)
            current = _version(conn, migrations.service)
            for version, step in enumerate(migrations.steps, start=1):
                if version > current:
                    with conn.transaction():
                        _apply(conn, step.apply, conninfo)
                        conn.execute(f"INSERT INTO {VERSION_TABLE} (service, version, description)"
                                     " VALUES (%s, %s, %s)", (migrations.service, version, step.description))
                    applied.append(version)
            grant_runtime(conn, migrations.schemas, runtime_role)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_ID,))
    return applied


def _apply(conn: psycopg.Connection, step: Step, conninfo: str) -> None:
    if isinstance(step, str):
        conn.execute(step)  # several statements, no parameters
    else:
        step(conn, conninfo)


def _version(conn: psycopg.Connection, service: str) -> int:
    row = conn.execute(f"SELECT coalesce(max(version), 0) FROM {VERSION_TABLE} WHERE service = %s",
                       (service,)).fetchone()
    return int(row[0]) if row else 0


def grant_runtime(conn: psycopg.Connection, patterns: Sequence[str], role: str) -> None:
    """Let ``role`` use the rows (never the DDL) of the schemas matching ``patterns``, now and later.

    The role is made (NOLOGIN) if missing; an operator gives it LOGIN and a password.
    Default privileges cover what this owner creates later: the generations that
    ``helpdesk-query rebuild`` makes under the migration role.
    """
    ident = sql.Identifier(role)
    if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(ident))
    conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(sql.SQL(VERSION_TABLE), ident))
    if conn.execute("SELECT has_schema_privilege(%s, 'public', 'CREATE')", (role,)).fetchone()[0]:  # type: ignore[index]
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")  # before PostgreSQL 15 anyone could
    schemas = [row[0] for row in conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE ANY(%s) ORDER BY nspname", (list(patterns),))]
    for schema in map(sql.Identifier, schemas):
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, ident))
        conn.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}")
                     .format(schema, ident))
        conn.execute(sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {} TO {}")
                     .format(schema, ident))
    for grant in ("USAGE ON SCHEMAS", "SELECT, INSERT, UPDATE, DELETE ON TABLES",
                  "USAGE, SELECT, UPDATE ON SEQUENCES"):
        conn.execute(sql.SQL(f"ALTER DEFAULT PRIVILEGES GRANT {grant} TO {{}}").format(ident))


def version_of(conninfo: str, service: str) -> int:
    """The version ``service``'s schema is at (0: never migrated)."""
    with psycopg.connect(conninfo, connect_timeout=5) as conn:
        if conn.execute("SELECT to_regclass(%s) IS NULL", (VERSION_TABLE,)).fetchone()[0]:  # type: ignore[index]
            return 0
        return _version(conn, service)


def require(conninfo: str, migrations: Migrations) -> None:
    """Refuse to start on a schema older than this build needs: say to run ``helpdesk-migrate``."""
    current = version_of(conninfo, migrations.service)
    if current < migrations.version:
        raise SchemaNotMigrated(
            f"the database schema of {migrations.service} is at version {current}, this build needs "
            f"{migrations.version}: run helpdesk-migrate (as the database owner) first")


DDL_PRIVILEGE = "SELECT current_user, has_database_privilege(current_database(), 'CREATE')"


def require_ddl(privilege: tuple[str, bool] | None) -> None:
    """Refuse a command that creates schemas when the role connected may not (the runtime role).

    ``privilege`` is the row ``DDL_PRIVILEGE`` answers on the command's connection.
    """
    if privilege and not privilege[1]:
        raise MissingPrivilege(
            f"role {privilege[0]} may not create schemas: run this command with the migration role's URL "
            "(HELPDESK_DATABASE_URL of the database owner, as for helpdesk-migrate)")
