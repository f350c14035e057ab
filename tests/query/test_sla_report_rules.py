"""The SLA compliance report's counting rules (pure): outcomes at an instant, groups, compliance."""

from __future__ import annotations

import datetime as dt

from helpdesk_query.domain.report import TargetRow, outcome, report

NOW = dt.datetime(2026, 2, 10, 12, tzinfo=dt.UTC)


def _target(due_day: int, stopped: bool = False, breached: bool = False, kind: str = "resolution",
            frozen_at: dt.datetime | None = None) -> TargetRow:
    return TargetRow("c-1", "error", "high", kind, dt.datetime(2026, 2, due_day, 9, tzinfo=dt.UTC),
                     stopped, breached, frozen_at)


def test_sla_report_a_running_target_is_open_until_due_and_breached_after():
    assert outcome(_target(11), NOW) == "open"
    assert outcome(_target(9), NOW) == "breached"
    assert outcome(_target(9, frozen_at=dt.datetime(2026, 2, 8, tzinfo=dt.UTC)), NOW) == "open"  # paused before due
    assert outcome(_target(9, stopped=True), NOW) == "met"
    assert outcome(_target(9, stopped=True, breached=True), NOW) == "breached"


def test_sla_report_rows_group_by_the_list_and_compliance_is_met_over_decided():
    targets = [_target(2, stopped=True), _target(3, stopped=True, breached=True), _target(11),
               _target(11, kind="acceptance")]
    assert report(targets, ["week", "kind"], NOW) == [
        {"week": "2026-W06", "kind": "resolution", "met": 1, "breached": 1, "open": 0, "compliance": 0.5},
        {"week": "2026-W07", "kind": "acceptance", "met": 0, "breached": 0, "open": 1, "compliance": None},
        {"week": "2026-W07", "kind": "resolution", "met": 0, "breached": 0, "open": 1, "compliance": None},
    ]
    assert report(targets, [], NOW) == [{"met": 1, "breached": 1, "open": 2, "compliance": 0.5}]
