"""Credentials: login → user and password hash, in a table beside the events, never in them.

A user's registration writes its row in the same transaction as the ``User.Registered``
event (a ``SideRow``). Replacing a hash with a stronger one of the same password is no
fact of the domain: it updates the row alone, and no event (public or private) carries
any hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from helpdesk_intake.adapters.eventstore import SideRow


@dataclass(frozen=True)
class Credential:
    login: str
    user_id: str
    password_hash: str


def credential_row(login: str, user_id: Any, password_hash: str) -> SideRow:
    """The new user's credential, to commit with its registration."""
    return SideRow("INSERT INTO {schema}.credentials (login, user_id, password_hash) VALUES (%s, %s, %s)",
                   (login, user_id, password_hash))


class Credentials:
    """Reads credentials and upgrades their hashes."""

    def __init__(self, datastore: Any) -> None:
        self.datastore = datastore  # eventsourcing's PostgresDatastore: pooled, autocommit connections

    def find(self, login: str) -> Credential | None:
        with self.datastore.get_connection() as conn:
            row = conn.execute("SELECT login, user_id, password_hash FROM intake.credentials WHERE login = %s",
                               (login,)).fetchone()
        return Credential(row["login"], str(row["user_id"]), row["password_hash"]) if row else None

    def replace_hash(self, credential: Credential, password_hash: str) -> bool:
        """Store ``password_hash`` unless the password changed meanwhile; whether it was stored."""
        with self.datastore.get_connection() as conn:
            updated = conn.execute(
                "UPDATE intake.credentials SET password_hash = %s WHERE login = %s AND password_hash = %s",
                (password_hash, credential.login, credential.password_hash)).rowcount
        return updated == 1


def new_hash_row(user_id: Any, password_hash: str) -> SideRow:
    """A new password's hash for the user, to commit with the event that records the change."""
    return SideRow("UPDATE {schema}.credentials SET password_hash = %s WHERE user_id = %s",
                   (password_hash, user_id))


def stored_hash(datastore: Any, user_id: str) -> str | None:
    """The user's password hash, to check their current password before a change."""
    with datastore.get_connection() as conn:
        row = conn.execute("SELECT password_hash FROM intake.credentials WHERE user_id = %s",
                           (user_id,)).fetchone()
    return row["password_hash"] if row else None
