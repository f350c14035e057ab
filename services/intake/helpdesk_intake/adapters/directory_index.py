"""Pages of the directory (customers, a customer's users, staff) in registration order.

The address indexes (``customer_emails``, ``user_emails``) hold every customer and user,
written with their registration; a page is their ids ordered by the registration's
store position, which is also the cursor. The rows a page shows are the aggregates,
loaded by the caller, so a page is never staler than the store.
"""

from __future__ import annotations

from typing import Any

from helpdesk_intake.adapters.eventstore import IntakeEventStore

_CUSTOMERS = ("SELECT c.customer_id AS id, e.notification_id AS position FROM intake.customer_emails c"
              " JOIN intake.intake_events e ON e.originator_id = c.customer_id AND e.originator_version = 1"
              " WHERE e.notification_id > %s ORDER BY e.notification_id LIMIT %s")
_USERS = ("SELECT u.user_id AS id, e.notification_id AS position FROM intake.user_emails u"
          " JOIN intake.intake_events e ON e.originator_id = u.user_id AND e.originator_version = 1"
          " WHERE {where} AND e.notification_id > %s ORDER BY e.notification_id LIMIT %s")
_HISTORY = ("SELECT notification_id, originator_id, originator_version, topic, state FROM intake.intake_events"
            " WHERE originator_id = ANY(SELECT %s::uuid UNION ALL"
            " SELECT user_id FROM intake.user_emails WHERE customer_id = %s)"
            " AND notification_id > %s ORDER BY notification_id LIMIT %s")


class DirectoryIndex:
    def __init__(self, store: IntakeEventStore) -> None:
        self._store = store

    def customers(self, after: int, limit: int) -> list[tuple[str, int]]:
        """Up to ``limit`` customer ids registered after position ``after``, with their positions."""
        return self._page(_CUSTOMERS, (after, limit))

    def users(self, customer_id: str | None, after: int, limit: int) -> list[tuple[str, int]]:
        """A customer's users, or (``customer_id`` None) the staff, after position ``after``."""
        if customer_id is None:
            return self._page(_USERS.format(where="u.customer_id IS NULL"), (after, limit))
        return self._page(_USERS.format(where="u.customer_id = %s"), (customer_id, after, limit))

    def history(self, customer_id: str, after: int, limit: int) -> list[dict[str, Any]]:
        """The stored events of the customer and its users after ``after``, in store order."""
        with self._store.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
            return conn.execute(_HISTORY, (customer_id, customer_id, after, limit)).fetchall()

    def _page(self, query: str, params: tuple[Any, ...]) -> list[tuple[str, int]]:
        with self._store.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
            rows = conn.execute(query, params).fetchall()
        return [(str(row["id"]), row["position"]) for row in rows]
