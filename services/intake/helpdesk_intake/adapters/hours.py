"""The norm-hours tally: each customer's planned and spent minutes per month (MED-12).

Kept in intake's store and written as side rows in the same transaction as the
acceptance or time entry that consumes the hours, so the tally and the events never
disagree. The acceptance row also carries the month's budget, and the table's CHECK
refuses a commit that would take planned minutes past it: two acceptances racing
on different replicas cannot both squeeze into the last hour (the loser re-decides).
The tally is read by the event store's ``hours_used`` (adapters/eventstore.py).
"""

from __future__ import annotations

from helpdesk_intake.adapters.eventstore import SideRow

BUDGET_CHECK = "hours_within_budget"
DDL = f"""
CREATE TABLE IF NOT EXISTS intake.hours_tally (
    customer_id text NOT NULL,
    month text NOT NULL,
    planned_minutes bigint NOT NULL DEFAULT 0,
    spent_minutes bigint NOT NULL DEFAULT 0,
    planned_limit bigint,
    PRIMARY KEY (customer_id, month),
    CONSTRAINT {BUDGET_CHECK} CHECK (planned_limit IS NULL OR planned_minutes <= planned_limit)
);
"""


def planned_row(customer_id: str, month: str, minutes: int, limit: int | None) -> SideRow:
    """Count an acceptance's planned minutes; ``limit`` (planned measure only) is the month's budget."""
    return SideRow(
        "INSERT INTO {schema}.hours_tally (customer_id, month, planned_minutes, planned_limit)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (customer_id, month) DO UPDATE SET"
        " planned_minutes = hours_tally.planned_minutes + EXCLUDED.planned_minutes,"
        " planned_limit = EXCLUDED.planned_limit", (customer_id, month, minutes, limit))


def spent_row(customer_id: str, month: str, minutes: int) -> SideRow:
    """Count a time entry's minutes in its month."""
    return SideRow(
        "INSERT INTO {schema}.hours_tally (customer_id, month, spent_minutes) VALUES (%s, %s, %s)"
        " ON CONFLICT (customer_id, month) DO UPDATE SET"
        " spent_minutes = hours_tally.spent_minutes + EXCLUDED.spent_minutes", (customer_id, month, minutes))
