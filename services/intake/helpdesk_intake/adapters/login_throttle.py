"""Login throttling state in PostgreSQL, shared by every intake replica (the rules: domain/throttling.py).

Two tables in intake's schema, written only here:
- ``login_attempts`` (address, window_start, attempts): one ``INSERT … ON CONFLICT DO
  UPDATE … RETURNING`` counts an attempt in the address's current window, atomically;
- ``login_failures`` (login, failures, last_failure, blocked_until): an attempt takes its
  login's row with an upsert (which locks it) and writes the outcome in the same
  transaction, so the attempts on one login are checked one at a time across replicas:
  a burst of parallel guesses cannot slip past a delay. A right password deletes the row.

Instants come from the service's clock (simulated in tests), never from PostgreSQL's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from psycopg import sql

from helpdesk_intake.domain.throttling import FAILURES_FORGOTTEN_AFTER, LoginLimits

SCHEMA = sql.Identifier("intake")
PURGE_EVERY = dt.timedelta(hours=1)

COUNT_ADDRESS = sql.SQL("""
INSERT INTO {schema}.login_attempts AS a (address, window_start, attempts) VALUES (%(address)s, %(now)s, 1)
ON CONFLICT (address) DO UPDATE SET
    window_start = CASE WHEN %(now)s - a.window_start >= %(window)s THEN %(now)s ELSE a.window_start END,
    attempts = CASE WHEN %(now)s - a.window_start >= %(window)s THEN 1 ELSE a.attempts + 1 END
RETURNING attempts, window_start
""").format(schema=SCHEMA)

TAKE_LOGIN = sql.SQL("""
INSERT INTO {schema}.login_failures AS f (login, failures) VALUES (%(login)s, 0)
ON CONFLICT (login) DO UPDATE SET login = f.login
RETURNING failures, last_failure, blocked_until
""").format(schema=SCHEMA)

RECORD_FAILURE = sql.SQL(
    "UPDATE {schema}.login_failures SET failures = %(failures)s, last_failure = %(now)s,"
    " blocked_until = %(blocked_until)s WHERE login = %(login)s").format(schema=SCHEMA)
FORGET_LOGIN = sql.SQL("DELETE FROM {schema}.login_failures WHERE login = %(login)s").format(schema=SCHEMA)
PURGE = [sql.SQL(statement).format(schema=SCHEMA) for statement in (
    "DELETE FROM {schema}.login_failures WHERE last_failure < %(forgotten)s"
    " AND coalesce(blocked_until, last_failure) < %(now)s",
    "DELETE FROM {schema}.login_attempts WHERE window_start < %(now)s - %(window)s")]


class LoginThrottle:
    """Decides, on the shared state, whether a login attempt may be checked, and records its outcome."""

    def __init__(self, datastore: Any, limits: LoginLimits) -> None:
        self._datastore = datastore  # eventsourcing's PostgresDatastore: pooled, autocommit connections
        self.limits = limits
        self._next_purge: dt.datetime | None = None

    def guard(self, login: str, address: str, now: dt.datetime, check: Callable[[], bool]) -> bool:
        """Run ``check`` (the password check) unless the address or the login must wait
        (``TooManyAttempts``); record what it answered and return it."""
        self._purge_stale(now)
        self._count_address(address, now)
        key = login.strip().casefold()
        with self._datastore.transaction(commit=True) as cursor:
            row = cursor.execute(TAKE_LOGIN, {"login": key}).fetchone()
            self.limits.check_login(row["blocked_until"], now)
            accepted = check()
            if accepted:
                cursor.execute(FORGET_LOGIN, {"login": key})
            else:
                failures = self.limits.failures_so_far(row["failures"], row["last_failure"], now) + 1
                wait = self.limits.wait_after(failures)
                cursor.execute(RECORD_FAILURE, {"login": key, "failures": failures, "now": now,
                                                "blocked_until": now + wait if wait else None})
        return accepted

    def _count_address(self, address: str, now: dt.datetime) -> None:
        with self._datastore.get_connection() as conn:
            row = conn.execute(COUNT_ADDRESS, {"address": address, "now": now,
                                               "window": self.limits.address_window}).fetchone()
        self.limits.check_address(row["attempts"], row["window_start"], now)

    def _purge_stale(self, now: dt.datetime) -> None:
        """Now and then, drop rows that no longer limit anyone (forgotten failures, past windows)."""
        if self._next_purge is not None and now < self._next_purge:
            return
        self._next_purge = now + PURGE_EVERY
        params = {"now": now, "forgotten": now - FAILURES_FORGOTTEN_AFTER, "window": self.limits.address_window}
        with self._datastore.get_connection() as conn:
            for statement in PURGE:
                conn.execute(statement, params)
