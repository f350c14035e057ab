"""Who a mail is from and what it names, from the indexes kept beside the events.

The address indexes (``user_emails``, ``customer_emails``) and the ticket-number index
are written in the same transaction as the events they index (``eventstore.py``), so
they are as current as the store.
"""

from __future__ import annotations

from typing import Any

from helpdesk_intake.adapters.eventstore import IntakeEventStore, email_domain


class MailDirectory:
    def __init__(self, store: IntakeEventStore, public_domains: frozenset[str] = frozenset()) -> None:
        self._store = store
        self._public_domains = public_domains

    def customer_user(self, email: str) -> tuple[str, str] | None:
        """(user id, customer id) of the customer user with this address; the first registered wins."""
        row = self._one("SELECT u.user_id, u.customer_id FROM intake.user_emails u"
                        " JOIN intake.intake_events e ON e.originator_id = u.user_id AND e.originator_version = 1"
                        " WHERE u.email = %s AND u.role = 'customer' AND u.customer_id IS NOT NULL"
                        " ORDER BY e.notification_id LIMIT 1", (email.strip().lower(),))
        return (str(row["user_id"]), str(row["customer_id"])) if row else None

    def domain_customer(self, email: str) -> str | None:
        """The one customer whose own address or users' addresses share the sender's domain, if exactly one.

        Public mail services (``public_domains``: gmail.com, mail.ru, ...) identify nobody.
        """
        domain = email_domain(email)
        if not domain or domain in self._public_domains:
            return None
        with self._store.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
            rows = conn.execute(
                "SELECT customer_id::text AS customer_id FROM intake.customer_emails WHERE domain = %s"
                " UNION SELECT customer_id FROM intake.user_emails WHERE domain = %s AND role = 'customer'"
                " AND customer_id IS NOT NULL LIMIT 2", (domain, domain)).fetchall()
        return str(rows[0]["customer_id"]) if len(rows) == 1 else None

    def ticket_id(self, number: str) -> str | None:
        row = self._one("SELECT ticket_id FROM intake.ticket_numbers WHERE number = %s", (number,))
        return str(row["ticket_id"]) if row else None

    def _one(self, query: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
        with self._store.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
            return conn.execute(query, params).fetchone()
