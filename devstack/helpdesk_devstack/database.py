"""The database step of ``make up``: the runtime role, then every service's migrations, first.

The services never create tables (issue #14): ``helpdesk-migrate``'s runner applies each
installed service's migrations as the database owner, then the services are started as
``helpdesk_app``, a login role that may read and write rows and nothing more. Its password
is generated once and kept in the data directory, like the JWT secret.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from helpdesk_shared.migrations_cli import migrate_all

RUNTIME_ROLE = "helpdesk_app"


def prepare_database(env: dict[str, str]) -> None:
    """Migrate as the owner in ``HELPDESK_DATABASE_URL``, then point it at the runtime role.

    The owner's URL stays in ``HELPDESK_MIGRATION_DATABASE_URL`` for commands that create
    schemas (``helpdesk-query rebuild``).
    """
    owner = env["HELPDESK_DATABASE_URL"]
    role = env.setdefault("HELPDESK_RUNTIME_ROLE", RUNTIME_ROLE)
    password = kept_secret(Path(env["HELPDESK_DATA_DIR"]), "database-password")
    with psycopg.connect(owner, autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
    migrate_all(owner, role)
    env["HELPDESK_MIGRATION_DATABASE_URL"] = owner
    env["HELPDESK_DATABASE_URL"] = login_url(owner, role, password)


def login_url(url: str, user: str, password: str) -> str:
    """``url`` with another user and password."""
    parts = urlsplit(url)
    netloc = f"{quote(user)}:{quote(password, safe='')}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def kept_secret(data_dir: Path, name: str, size: int = 32) -> str:
    """A random secret generated once and kept (mode 0600) in the data dir, so it survives restarts."""
    path = data_dir / name
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(size)
    path.touch(mode=0o600)
    path.write_text(secret + "\n")
    return secret
