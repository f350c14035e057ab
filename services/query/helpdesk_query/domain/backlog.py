"""The backlog report (CONTRACT §4): open tickets by status and age band.

A ticket's age is the calendar time since it was registered (``created_at``), at the
instant of the read. The bands, each including its lower bound and excluding its upper:
``<1d`` [0, 1 day), ``1-3d`` [1, 3 days), ``3-7d`` [3, 7 days), ``7-30d`` [7, 30 days),
``>30d`` 30 days and more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from helpdesk_shared.vocabulary import Status

from helpdesk_query.domain.csvtable import table

BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("<1d", 0, 1), ("1-3d", 1, 3), ("3-7d", 3, 7), ("7-30d", 7, 30), (">30d", 30, None),
)
OPEN = tuple(s for s in Status if s.is_open)  # in the workflow's order
CSV_COLUMNS = ("status", "age_band", "count")


def cutoffs(now: dt.datetime) -> list[tuple[str, dt.datetime]]:
    """Each band but the oldest, with the registration instant a ticket must be after to be in it or a younger one."""
    return [(name, now - dt.timedelta(days=upper)) for name, _, upper in BANDS if upper is not None]


def report(counts: Mapping[tuple[str, str], int], now: dt.datetime, customer_id: str | None) -> dict[str, Any]:
    """Every open status × band, zeros included, from the counts the read model found."""
    items = [{"status": status.value, "age_band": band, "count": counts.get((status.value, band), 0)}
             for status in OPEN for band, _, _ in BANDS]
    return {
        "as_of": now.isoformat(), "customer_id": customer_id,
        "bands": [{"age_band": name, "from_days": lower, "to_days": upper} for name, lower, upper in BANDS],
        "items": items, "total": sum(item["count"] for item in items),
    }


def as_csv(body: Mapping[str, Any]) -> str:
    """The report's rows as CSV, with a header line."""
    return table(CSV_COLUMNS, body["items"])
