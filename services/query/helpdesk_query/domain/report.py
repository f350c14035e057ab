"""The SLA compliance report (CONTRACT §4): targets met, breached and open, grouped.

Computed from the tickets' ``sla`` blocks (folded from the SLA facts) at an instant: a
target counts in the period its due time falls in; a stopped target is met or breached
as its ``met`` fact said, a running one is breached once past due (judged where an
executor's paused clock froze it) and open until then. Release-bound targets without a
due time are not counted. Each kind counts with its latest run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

GROUPS = ("customer_id", "category", "priority", "kind", "week", "month")
Outcome = Literal["met", "breached", "open"]


@dataclass(frozen=True)
class TargetRow:
    """One target of one ticket, as the report reads it."""

    customer_id: str
    category: str | None
    priority: str
    kind: str
    due_at: dt.datetime
    stopped: bool
    breached: bool
    frozen_at: dt.datetime | None = None  # an executor's target whose clock is paused


def outcome(target: TargetRow, now: dt.datetime) -> Outcome:
    """Where ``target`` stands at ``now``."""
    if target.stopped:
        return "breached" if target.breached else "met"
    at = target.frozen_at or now
    return "breached" if target.breached or at > target.due_at else "open"


def _key(target: TargetRow, group_by: Sequence[str]) -> tuple[Any, ...]:
    due = target.due_at.astimezone(dt.UTC)
    values = {"week": f"{due.isocalendar().year}-W{due.isocalendar().week:02d}",
              "month": f"{due.year}-{due.month:02d}"}
    return tuple(values[g] if g in values else getattr(target, g) for g in group_by)


def report(targets: Iterable[TargetRow], group_by: Sequence[str], now: dt.datetime) -> list[dict[str, Any]]:
    """One row per group, in group order: the group's values, ``met``, ``breached``, ``open`` and
    ``compliance`` (met / (met + breached), None while nothing was decided)."""
    counts: dict[tuple[Any, ...], dict[str, int]] = {}
    for target in targets:
        row = counts.setdefault(_key(target, group_by), {"met": 0, "breached": 0, "open": 0})
        row[outcome(target, now)] += 1
    rows = []
    for key in sorted(counts, key=lambda k: tuple("" if v is None else str(v) for v in k)):
        met, breached = counts[key]["met"], counts[key]["breached"]
        decided = met + breached
        rows.append({**dict(zip(group_by, key, strict=True)), **counts[key],
                     "compliance": round(met / decided, 4) if decided else None})
    return rows
